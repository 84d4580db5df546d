"""``energylens fit``: fit the closed-form energy (and latency) model on measured profiles, write JSON."""

from __future__ import annotations

import argparse

import numpy as np

from energylens.model import EnergyModel, LatencyModel
from energylens.profiles.datasets import load_profiles_or_bundled

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens fit``."""
    fit = sub.add_parser("fit", help="fit the closed-form energy (and latency) model on measured profiles")
    fit.add_argument("profiles", metavar="PROFILES", help="profile table (CSV/Parquet, schema v1), an ML.ENERGY v2 flat CSV, or 'bundled'")
    fit.add_argument("-o", "--output", required=True, help="model file to write (JSON)")
    fit.add_argument("--residual", choices=("relative", "log"), default="log")
    fit.add_argument("--loss", choices=("linear", "soft_l1", "huber"), default="linear")
    fit.add_argument("--starts", type=int, default=6, help="multi-start count")
    fit.add_argument("--bootstrap", type=int, default=200, help="bootstrap refits for intervals (0: none)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--no-latency", action="store_true", help="do not fit the latency model")
    fit.set_defaults(func=_cmd_fit)


def _print_params(model) -> None:
    for p in model.params.values():
        print(f"  {p.name:<24} {p.value:>11.4g}  [{p.ci_low:.3g}, {p.ci_high:.3g}]  {p.unit}")


def _cmd_fit(args: argparse.Namespace) -> int:
    profiles = load_profiles_or_bundled(args.profiles, require_energy=False)
    opts = dict(residual=args.residual, loss=args.loss, n_starts=args.starts, bootstrap=args.bootstrap,
                seed=args.seed)
    energy = profiles["energy_j"].to_numpy(dtype=float) if "energy_j" in profiles else np.full(len(profiles), np.nan)
    if not np.isfinite(energy).any():
        # Latency-only profiles (ttft_s / tpot_s, no energy_j): the companion latency model alone.
        if args.no_latency:
            raise ValueError(f"{args.profiles}: no energy_j measurements, and --no-latency leaves nothing to fit")
        lat = LatencyModel(**opts).fit(profiles)
        ls = lat.summary
        assert ls is not None
        print(f"{args.profiles}: no energy_j measurements; fitted the latency model only")
        print(f"fitted {lat.template_id} on {ls.n_measurements} TTFT/TPOT measurements of {ls.n_rows} rows: "
              f"{ls.status}, training MAPE {ls.train_mape:.3f}")
        _print_params(lat)
        lat.save(args.output)
        print(f"wrote {args.output}")
        return 0
    if not np.isfinite(energy).all():
        missing = np.flatnonzero(~np.isfinite(energy))[:20].tolist()
        raise ValueError(f"{args.profiles}: energy_j is missing in data rows {[r + 1 for r in missing]} (1-based); "
                         "fit on rows that all have it, or on none (latency only)")
    model = EnergyModel(**opts)
    model.fit(profiles, latency=not args.no_latency)
    s = model.summary
    assert s is not None
    print(f"fitted {model.template_id} on {s.n_rows} rows: {s.status} after {s.iterations} iterations "
          f"({'converged' if s.converged else 'NOT converged'}), training MAPE {s.train_mape:.3f}, "
          f"{s.bootstrap_converged}/{s.bootstrap_replicates} bootstrap refits, {s.fit_seconds * 1e3:.1f} ms")
    _print_params(model)
    if model.latency_model is not None and model.latency_model.summary is not None:
        ls = model.latency_model.summary
        print(f"latency model: {ls.n_measurements} measurements, training MAPE {ls.train_mape:.3f}")
    model.save(args.output)
    print(f"wrote {args.output}")
    return 0
