#!/usr/bin/env python3
"""Does ``calibration="gpu"`` (one shrunk offset per GPU) remove the bias a few rows of a new GPU leave?

The question: a user with many rows on one GPU and a few of another. Bundled ML.ENERGY v2 rows
(``energylens.profiles.datasets.mlenergy_v2()``: A100-SXM4-40GB, H100-SXM5-80GB), bench/unseen_gpu_coverage.py's
protocol: per seed (0..repeats-1) hold out 20 % of the source GPU's rows (``seen``), train on the other 80 % plus
``k`` random rows of the target GPU, score the target GPU's other rows (``target``). Both directions, k = 0, 2, 5,
10; the default model and ``EnergyModel(calibration="gpu")`` on identical splits (its 12 shared parameters are the
default's: the offsets are fitted after them). Scores: MAPE, Top-1 within (task, model, GPU) groups (mean over
groups, then over seeds; a per-GPU factor cannot reorder a group of one GPU, so it must be equal), 90 % interval
coverage, median log(measured / predicted), the target GPU's fitted factor and the shrinkage k.

Not adopted (docs/model.md, "Tried and not adopted: one offset per GPU"): the library has no ``gpu`` key, so
this script adds it for its own run (:func:`install_gpu_key`: the key is the row's ``gpu`` as the GPU table names
it; everything else, the estimate, predict and predict_interval, is energylens.model.calibration's as for
``family`` / ``model``). ``fixed_tau`` is a diagnostic, not a method: the target GPU's offset with the between-GPU
sd fixed at :data:`energylens.model.intervals.GPU_TRANSFER_LOG_SD` (0.1, itself derived from these two transfers:
in-sample) instead of its moment estimate from two GPUs, u = sum r / (n + sigma^2 / 0.1^2) over the target GPU's
training residuals r; MAPE and log bias only. ``oracle_mape``: the target rows' MAPE with the offset that zeroes
their own median log bias (chosen on the scored rows: a bound no per-GPU factor fitted on training rows reaches).

Also one GPU (ML.ENERGY v3 H100, /work/shared/data, when present; and the bundled v2 with both GPUs mixed):
``energylens evaluate --calibrate gpu``'s protocol (50 random training rows, ``repeats`` splits,
energylens.compare.run_evaluation) and the largest |factor - 1| over the v3 fits (one GPU: the offset of its
only key).

    python bench/gpu_calibration.py                 # JSON to bench/results/gpu_calibration.json (~40 s on 2 cores)
    python bench/gpu_calibration.py --repeats 5     # quicker
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from data_paths import V3  # noqa: E402
from energylens.compare.methods import ClosedForm  # noqa: E402
from energylens.compare.registry import register_method, unregister_method  # noqa: E402
from energylens.compare.result import summarize  # noqa: E402
from energylens.compare.runner import run_evaluation  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.model import calibration as CAL  # noqa: E402
from energylens.model.intervals import GPU_TRANSFER_LOG_SD  # noqa: E402
from energylens.profiles import datasets, read_profiles  # noqa: E402
from energylens.profiles.cells import Coded, codes  # noqa: E402
from energylens.profiles.gpu_table import gpu_table_name  # noqa: E402
from modern_serving import _group_scores, metric_means  # noqa: E402

OUT = Path(__file__).parent / "results" / "gpu_calibration.json"
METHODS = {"default": None, "gpu": "gpu"}


def install_gpu_key() -> None:
    """Give energylens.model.calibration a ``gpu`` key for this process: the row's ``gpu``, as the GPU table names it
    (the trial; the estimate and its use are the module's own)."""
    model_keys = CAL.row_keys

    def row_keys(configs, by):
        if by != "gpu":
            return model_keys(configs, by)
        col = configs["gpu"]
        c, names = codes(col if isinstance(col, Coded) else pd.Series(col))
        return c, [gpu_table_name(n) if isinstance(n, str) and n else None for n in names]

    CAL.CALIBRATION_KEYS["gpu"] = "the GPU table's name of the row's `gpu` (bench/gpu_calibration.py's trial)"
    CAL.row_keys = row_keys


def _fixed_tau(model: EnergyModel, train: pd.DataFrame, target: pd.DataFrame, dst: str) -> dict:
    """The diagnostic ``fixed_tau`` (module docstring): target MAPE and log bias with that offset."""
    on_dst = np.array([gpu_table_name(g) == dst for g in train["gpu"]])
    sigma2 = model.calibration.within_var
    e = target["energy_j"].to_numpy(dtype=float)
    pred = model.predict(target, check_range=False) / model.calibration.factors(target)  # the shared model's
    u = 0.0
    if on_dst.any() and np.isfinite(sigma2):
        r = np.log(train["energy_j"].to_numpy(dtype=float)[on_dst]
                   / (model.predict(train[on_dst], check_range=False) / model.calibration.factors(train[on_dst])))
        u = float(r.sum() / (len(r) + sigma2 / GPU_TRANSFER_LOG_SD**2))
    best = pred * np.exp(np.median(np.log(e / pred)))  # the oracle: the scored rows' own median offset
    pred = pred * np.exp(u)
    return {"n": len(e), "ape": np.abs(pred / e - 1.0), "log_bias": float(np.median(np.log(e / pred))), "u": u,
            "oracle_ape": np.abs(best / e - 1.0)}


def _scores(model: EnergyModel, rows: pd.DataFrame, level: float) -> dict:
    e = rows["energy_j"].to_numpy(dtype=float)
    pred = model.predict(rows, check_range=False)
    iv = model.predict_interval(rows, level, check_range=False)
    lo, hi = iv["energy_j_lo"].to_numpy(), iv["energy_j_hi"].to_numpy()
    hits = _group_scores(rows, pred)[0]
    return {"n": len(e), "ape": np.abs(pred / e - 1.0), "inside": int(np.sum((e >= lo) & (e <= hi))),
            "below": int(np.sum(e < lo)), "above": int(np.sum(e > hi)), "width": (hi - lo) / pred,
            "top1": float(np.mean(hits)) if hits else float("nan"), "log_bias": float(np.median(np.log(e / pred)))}


def _summary(parts: list[dict]) -> dict:
    n = sum(p["n"] for p in parts)
    return {"rows": n, "mape": float(np.mean(np.concatenate([p["ape"] for p in parts]))),
            "top1": float(np.nanmean([p["top1"] for p in parts])),
            "coverage": sum(p["inside"] for p in parts) / n, "below": sum(p["below"] for p in parts) / n,
            "above": sum(p["above"] for p in parts) / n,
            "median_width_rel": float(np.median(np.concatenate([p["width"] for p in parts]))),
            "median_log_bias": float(np.mean([p["log_bias"] for p in parts]))}


def transfer(df: pd.DataFrame, src: str, dst: str, k: int, repeats: int, level: float, bootstrap: int) -> dict:
    """Every method's seen and target scores over ``repeats`` splits (bench/unseen_gpu_coverage.py's)."""
    src_idx = np.flatnonzero(df["gpu_name"] == src)
    dst_idx = np.flatnonzero(df["gpu_name"] == dst)
    parts: dict = {m: {"seen": [], "target": []} for m in METHODS}
    factors, ks, fixed, within = [], [], [], []
    for r in range(repeats):
        rng = np.random.default_rng(r)
        perm = rng.permutation(src_idx)
        cut = int(round(0.8 * len(perm)))
        shots = rng.permutation(dst_idx)
        train = df.iloc[np.sort(np.concatenate([perm[:cut], shots[:k]]))].drop(columns="gpu_name")
        rows = {"seen": df.iloc[np.sort(perm[cut:])].drop(columns="gpu_name"),
                "target": df.iloc[np.sort(shots[k:])].drop(columns="gpu_name")}
        for name, key in METHODS.items():
            model = EnergyModel(bootstrap=bootstrap, seed=r, calibration=key).fit(train, latency=False)
            for part, te in rows.items():
                parts[name][part].append(_scores(model, te.reset_index(drop=True), level))
            if model.calibration is not None:
                cal = model.calibration
                factors.append(float(cal.factors(rows["target"].iloc[:1])[0]))
                ks.append(cal.k)
                within.append(cal.within_var)
                fixed.append(_fixed_tau(model, train, rows["target"], dst))
    finite = [x for x in ks if np.isfinite(x)]
    return {"src": src, "dst": dst, "k": k,
            **{m: {p: _summary(v) for p, v in parts[m].items()} for m in METHODS},
            "gpu_factor_of_target": {"median": float(np.median(factors)), "min": float(np.min(factors)),
                                     "max": float(np.max(factors))},
            "fixed_tau": {"mape": float(np.mean(np.concatenate([f["ape"] for f in fixed]))),
                          "median_log_bias": float(np.mean([f["log_bias"] for f in fixed])),
                          "median_factor": float(np.exp(np.median([f["u"] for f in fixed]))),
                          "oracle_mape": float(np.mean(np.concatenate([f["oracle_ape"] for f in fixed])))},
            "within_sd_median": float(np.sqrt(np.nanmedian(within))),
            "shrinkage_k": {"fits_all_offsets_zero": len(ks) - len(finite),
                            "median_finite": float(np.median(finite)) if finite else None}}


def one_protocol(df: pd.DataFrame, repeats: int) -> dict:
    """``energylens evaluate --calibrate gpu``'s methods (50 random training rows) on ``df``."""
    register_method("energylens+gpu", lambda seed, _g: ClosedForm(name="energylens+gpu", seed=seed, calibration="gpu"))
    try:
        res = run_evaluation(df, train_size=50, repeats=repeats, splits=("random",),
                             method_names=["energylens", "energylens+gpu"], progress=False)
    finally:
        unregister_method("energylens+gpu")
    s = summarize(res.table, by=("method",))
    return {str(r["method"]): metric_means(r) for _, r in s.iterrows()}


def one_gpu_factors(df: pd.DataFrame, repeats: int) -> dict:
    """The largest |factor - 1| of the only GPU's offset over ``repeats`` 50-row fits, and its predictions'
    largest relative difference from the default's."""
    worst, diff = 0.0, 0.0
    for r in range(repeats):
        idx = np.random.default_rng(r).permutation(len(df))
        tr, te = df.iloc[idx[:50]], df.iloc[idx[50:]]
        base = EnergyModel(bootstrap=0, seed=r).fit(tr, latency=False).predict(te, check_range=False)
        m = EnergyModel(bootstrap=0, seed=r, calibration="gpu").fit(tr, latency=False)
        worst = max(worst, float(np.max(np.abs(m.calibration.factors(te) - 1.0))))
        diff = max(diff, float(np.max(np.abs(m.predict(te, check_range=False) / base - 1.0))))
    return {"max_abs_factor_minus_1": worst, "max_rel_diff_vs_default": diff}


def _line(res: dict) -> str:
    t0, t1 = res["default"]["target"], res["gpu"]["target"]
    return (f"{res['src'][:4]} -> {res['dst'][:4]} k={res['k']:>2}: target MAPE {t0['mape']:.3f} -> {t1['mape']:.3f}, "
            f"Top-1 {t0['top1']:.3f} -> {t1['top1']:.3f}, coverage {t0['coverage']:.3f} -> {t1['coverage']:.3f}, "
            f"log bias {t0['median_log_bias']:+.3f} -> {t1['median_log_bias']:+.3f}; factor "
            f"x{res['gpu_factor_of_target']['median']:.3f} (within sd {res['within_sd_median']:.3f}); fixed tau: MAPE {res['fixed_tau']['mape']:.3f}, log bias "
            f"{res['fixed_tau']['median_log_bias']:+.3f}, oracle MAPE {res['fixed_tau']['oracle_mape']:.3f}; seen MAPE {res['default']['seen']['mape']:.3f} -> "
            f"{res['gpu']['seen']['mape']:.3f}, coverage {res['default']['seen']['coverage']:.3f} -> "
            f"{res['gpu']['seen']['coverage']:.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--shots", default="0,2,5,10", help="k values: target-GPU rows in training (comma-separated)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # (UnseenGpuWarning at k = 0: the point of the measurement)
    install_gpu_key()
    df = datasets.mlenergy_v2().reset_index(drop=True)
    df = df.assign(gpu_name=[gpu_table_name(g) for g in df["gpu"]])
    gpus = sorted(set(df["gpu_name"]))
    t0 = time.perf_counter()
    out: dict = {"level": args.level, "repeats": args.repeats, "bootstrap": args.bootstrap, "transfer": []}
    for src in gpus:
        for dst in (g for g in gpus if g != src):
            for k in (int(s) for s in args.shots.split(",")):
                out["transfer"].append(transfer(df, src, dst, k, args.repeats, args.level, args.bootstrap))
                print(_line(out["transfer"][-1]), file=sys.stderr)
    out["v2_mixed_50_rows"] = one_protocol(df.drop(columns="gpu_name"), args.repeats)
    print(f"v2 mixed, 50 rows: {out['v2_mixed_50_rows']}", file=sys.stderr)
    if V3.is_file():
        v3 = read_profiles(str(V3))
        out["v3_h100_50_rows"] = {**one_protocol(v3, args.repeats), "one_gpu": one_gpu_factors(v3, args.repeats)}
        print(f"v3 H100, 50 rows: {out['v3_h100_50_rows']}", file=sys.stderr)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
