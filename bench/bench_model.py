"""Throughput of the native closed-form model against its baselines, measured in the same run.

- Evaluator: native float64 / float32 (OpenMP + SIMD) vs the NumPy reference at N rows
  (default 1e7), in configurations per second, and the ratio.
- Fitter: one 50-row fit (native bounded LM, one start) vs scipy.optimize.least_squares (trf, the
  same analytic Jacobian, same start, same residuals), median over many draws of 50 rows; ratio.
  The problem is EnergyModel's default fit: log(energy_pred / energy_j) for every row plus
  log(step_time / tpot_s) for the rows with a measured TPOT (docs/model.md, section 5).
- Sweep layout: one dense model on one GPU, TP/PP/batch/lengths varying per row, the 11 model and GPU
  columns given once (broadcast) vs materialised per row; each against the NumPy reference on the same
  inputs.
- Bootstrap: 1000 refits of a 50-row fit (native, all cores).

Rows are real configurations (the bundled ML.ENERGY v2 data) resampled with jittered batch and
lengths, so every code path of the template is exercised.

    python bench/bench_model.py [--rows 10000000] [--json bench/results/model.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench_env import median_seconds


def _features_at(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    base = build_features(mlenergy_v2())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(base["tp"]), size=n)
    out = {k: np.ascontiguousarray(v[idx]) for k, v in base.items()}
    for key in ("batch_size", "input_tokens", "output_tokens"):
        if key in out:
            out[key] *= rng.uniform(0.5, 1.5, size=n)
    return out


def bench_evaluator(n: int, repeats: int) -> dict:
    from energylens import _core
    from energylens.model import reference as _reference

    desc = _core.describe_template("energy")
    feats = _features_at(n)
    cols64 = [feats[name] for name in desc.feature_names]
    cols32 = [c.astype(np.float32) for c in cols64]
    theta = desc.init
    t_native64 = median_seconds(lambda: _core.evaluate("energy", cols64, theta), repeats)
    out64 = (np.empty(n), np.empty(n))
    t_native64_out = median_seconds(lambda: _core.evaluate("energy", cols64, theta, out=out64), repeats)
    t_native32 = median_seconds(lambda: _core.evaluate("energy", cols32, theta, False, "float32"), repeats)
    t_numpy = median_seconds(lambda: _reference.energy_phases(feats, theta), max(1, repeats // 2))
    ev = _core.evaluate("energy", cols64, theta)
    native = ev.out0 + ev.out1
    ref = _reference.energy(feats, theta)
    max_rel = float(np.max(np.abs(native / ref - 1.0)))
    return {
        "rows": n,
        "native_float64_s": t_native64,
        "native_float32_s": t_native32,
        "numpy_reference_s": t_numpy,
        "native_float64_out_s": t_native64_out,
        "native_float64_configs_per_s": n / t_native64,
        "native_float64_out_configs_per_s": n / t_native64_out,
        "speedup_float64_out_vs_numpy": t_numpy / t_native64_out,
        "native_float32_configs_per_s": n / t_native32,
        "numpy_configs_per_s": n / t_numpy,
        "speedup_float64_vs_numpy": t_numpy / t_native64,
        "speedup_float32_vs_numpy": t_numpy / t_native32,
        "max_relative_difference_vs_reference": max_rel,
        "target_speedup_float64": 20.0,
    }


def _sweep_features(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray | float], str]:
    """A configuration sweep for one dense model on one GPU (Llama-3.1-70B on H100 from the bundled data):
    TP, PP, batch and lengths vary per row; the 11 model and GPU columns are single values."""
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    frame = mlenergy_v2()
    base = build_features(frame)
    pick = frame["model"].str.contains("Llama-3.1-70B") & frame["gpu"].str.contains("H100")
    i = int(np.flatnonzero(pick.to_numpy())[0])
    rng = np.random.default_rng(seed)
    varying = {"tp": rng.choice([1.0, 2.0, 4.0, 8.0], n), "pp": rng.choice([1.0, 2.0], n),
               "batch_size": rng.uniform(1, 1024, n), "input_tokens": rng.uniform(16, 4096, n),
               "output_tokens": rng.uniform(16, 2048, n)}
    feats = {k: (varying[k] if k in varying else float(base[k][i])) for k in base}
    return feats, f"{frame['model'].iloc[i]} on {frame['gpu'].iloc[i]}"


def bench_sweep(n: int, repeats: int) -> dict:
    """The same template on a sweep layout: full columns vs single-value (broadcast) spec columns, each
    against the NumPy reference given the same inputs (NumPy broadcasts the scalars too)."""
    from energylens import _core
    from energylens.model import reference as _reference

    desc = _core.describe_template("energy")
    names = desc.feature_names
    feats, what = _sweep_features(n)
    short = [np.atleast_1d(np.asarray(feats[k], dtype=np.float64)) for k in names]
    full = [np.ascontiguousarray(np.broadcast_to(c, (n,))) for c in short]
    full_feats = dict(zip(names, full, strict=True))
    theta = desc.init
    out = (np.empty(n), np.empty(n))
    t_full = median_seconds(lambda: _core.evaluate("energy", full, theta, out=out), repeats)
    t_bcast = median_seconds(lambda: _core.evaluate("energy", short, theta, out=out), repeats)
    t_np_full = median_seconds(lambda: _reference.energy_phases(full_feats, theta), max(1, repeats // 2))
    t_np_bcast = median_seconds(lambda: _reference.energy_phases(feats, theta), max(1, repeats // 2))
    ev = _core.evaluate("energy", short, theta)
    got = ev.out0 + ev.out1
    max_rel = float(np.max(np.abs(got / _reference.energy(feats, theta) - 1.0)))
    return {
        "rows": n, "sweep_of": what, "varying_columns": 5, "single_value_columns": len(names) - 5,
        "native_full_columns_s": t_full, "native_broadcast_columns_s": t_bcast,
        "numpy_full_columns_s": t_np_full, "numpy_broadcast_columns_s": t_np_bcast,
        "native_broadcast_configs_per_s": n / t_bcast,
        "speedup_full_vs_numpy_full": t_np_full / t_full,
        "speedup_broadcast_vs_numpy_broadcast": t_np_bcast / t_bcast,
        "max_relative_difference_vs_reference": max_rel,
    }


def bench_fitter(draws: int, rows: int = 50) -> dict:
    from scipy.optimize import least_squares

    from energylens import _core
    from energylens.model import reference as _reference
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    frame = mlenergy_v2()
    feats = build_features(frame)
    desc = _core.describe_template("energy")
    y_all = frame["energy_j"].to_numpy(dtype=np.float64)
    lower, upper, x0 = desc.lower, desc.upper, desc.init
    tpot_all = frame["tpot_s"].to_numpy(dtype=np.float64)
    opts = _core.FitOptions(target="sum_with_aux", residual="log", n_starts=1)
    rng = np.random.default_rng(1)
    native_s, scipy_s, native_cost, scipy_cost = [], [], [], []
    for _ in range(draws):
        idx = rng.choice(len(y_all), size=rows, replace=False)
        sub = {k: np.ascontiguousarray(v[idx]) for k, v in feats.items()}
        cols = [sub[name] for name in desc.feature_names]
        y = y_all[idx]
        tpot = tpot_all[idx]

        def run_native(cols=cols, y=y, tpot=tpot):
            return _core.fit("energy", cols, [y, tpot], None, opts)

        def resid(theta, sub=sub, y=y, tpot=tpot):
            return np.r_[np.log(_reference.energy(sub, theta) / y), np.log(_reference.energy_tpot(sub, theta) / tpot)]

        def jac(theta, sub=sub):
            e = _reference.energy_jacobian(sub, theta) / _reference.energy(sub, theta)[:, None]
            t = _reference.energy_tpot_jacobian(sub, theta) / _reference.energy_tpot(sub, theta)[:, None]
            return np.vstack([e, t])

        def run_scipy(resid=resid, jac=jac):
            return least_squares(resid, x0, jac=jac, bounds=(lower, upper), method="trf")

        run_native()
        reps = 20
        t0 = time.perf_counter()
        for _ in range(reps):
            r = run_native()
        native_s.append((time.perf_counter() - t0) / reps)
        t0 = time.perf_counter()
        s = run_scipy()
        scipy_s.append(time.perf_counter() - t0)
        native_cost.append(r.best.cost)
        scipy_cost.append(float(s.cost))
    med_native = statistics.median(native_s)
    med_scipy = statistics.median(scipy_s)
    better_or_equal = float(np.mean(np.asarray(native_cost) <= np.asarray(scipy_cost) * (1 + 1e-6) + 1e-12))
    return {
        "rows": rows,
        "draws": draws,
        "native_fit_median_us": med_native * 1e6,
        "scipy_least_squares_median_us": med_scipy * 1e6,
        "speedup_vs_scipy": med_scipy / med_native,
        "native_cost_le_scipy_fraction": better_or_equal,
        "target_native_fit_us": 100.0,
        "target_speedup_vs_scipy": 50.0,
    }


def bench_bootstrap(replicates: int = 1000, rows: int = 50) -> dict:
    from energylens import _core
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    frame = mlenergy_v2()
    feats = build_features(frame)
    desc = _core.describe_template("energy")
    rng = np.random.default_rng(2)
    idx = rng.choice(len(frame), size=rows, replace=False)
    cols = [np.ascontiguousarray(feats[name][idx]) for name in desc.feature_names]
    y = frame["energy_j"].to_numpy(dtype=np.float64)[idx]
    tpot = frame["tpot_s"].to_numpy(dtype=np.float64)[idx]
    opts = _core.FitOptions(target="sum_with_aux", residual="log", n_starts=1)
    theta = _core.fit("energy", cols, [y, tpot], None, opts).best.params
    seconds = median_seconds(lambda: _core.bootstrap("energy", cols, [y, tpot], theta, replicates, opts), 3)
    conv = _core.bootstrap("energy", cols, [y, tpot], theta, replicates, opts).converged
    return {"replicates": replicates, "rows": rows, "seconds": seconds, "converged_fraction": float(conv.mean()),
            "target_seconds": 0.2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fit-draws", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import energylens

    caps = energylens.capabilities()
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "openmp_threads": caps.openmp_threads,
                    "python": sys.version.split()[0], "energylens": energylens.__version__},
        "evaluator": bench_evaluator(args.rows, args.repeats),
        "sweep": bench_sweep(args.rows, args.repeats),
        "fitter": bench_fitter(args.fit_draws),
        "bootstrap": bench_bootstrap(),
    }
    ev, fi, bo = result["evaluator"], result["fitter"], result["bootstrap"]
    print(f"evaluator N={ev['rows']:.0e}: native f64 {ev['native_float64_configs_per_s']:.3g} cfg/s, "
          f"f32 {ev['native_float32_configs_per_s']:.3g} cfg/s, NumPy {ev['numpy_configs_per_s']:.3g} cfg/s "
          f"-> {ev['speedup_float64_vs_numpy']:.1f}x (f64), {ev['speedup_float64_out_vs_numpy']:.1f}x (f64 into "
          f"preallocated out=), {ev['speedup_float32_vs_numpy']:.1f}x (f32); "
          f"target >= 20x; max rel diff {ev['max_relative_difference_vs_reference']:.1e}")
    sw = result["sweep"]
    print(f"sweep layout N={sw['rows']:.0e} ({sw['sweep_of']}, {sw['single_value_columns']} spec columns as single "
          f"values): full columns {sw['speedup_full_vs_numpy_full']:.1f}x NumPy, broadcast "
          f"{sw['native_broadcast_configs_per_s']:.3g} cfg/s = {sw['speedup_broadcast_vs_numpy_broadcast']:.1f}x "
          f"NumPy (same inputs); max rel diff {sw['max_relative_difference_vs_reference']:.1e}")
    print(f"fitter 50 rows: native {fi['native_fit_median_us']:.0f} us median, scipy "
          f"{fi['scipy_least_squares_median_us']:.0f} us -> {fi['speedup_vs_scipy']:.0f}x "
          f"(targets <= 100 us, >= 50x); native cost <= scipy in {fi['native_cost_le_scipy_fraction']:.0%} of draws")
    print(f"bootstrap: {bo['replicates']} refits in {bo['seconds'] * 1e3:.0f} ms "
          f"(target <= 200 ms), {bo['converged_fraction']:.0%} converged")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
