"""Do the 90 % prediction intervals cover a GPU the fit saw little or nothing of as well as the fitted GPU's rows?

The bundled ML.ENERGY v2 rows (A100-SXM4-40GB, H100-SXM5-80GB). Per repeat (seeds 0..repeats-1): hold out 20 % of
the source GPU's rows (the seen-GPU check), train ``EnergyModel(bootstrap=200, seed=repeat)`` on the other 80 %
plus ``k`` random rows of the target GPU, and count the held-out source rows (``seen``) and the target GPU's other
rows (``target``) inside their ``predict_interval(level)``, below its lower bound and above its upper. ``k = 0``:
the target GPU is unseen (``unseen_gpu`` True, UnseenGpuWarning); ``k = 5``: the brief's "A100 rows + 5 H100".
Both directions (A100 -> H100, H100 -> A100). Also the median relative width (hi - lo) / prediction, the MAPE and
the median log(measured / predicted) of the target rows (the GPU transfer's bias), and the coverage of the latency
model's TPOT intervals (``tpot_coverage``, ``tpot_below`` / ``tpot_above``, ``tpot_median_log_bias``; the search's
limit_confidence reproduces them). ``--transfer-sd 0`` gives the energy intervals as they were before rows on an
unseen GPU drew the GPU transfer factor (:data:`energylens.model.intervals.GPU_TRANSFER_LOG_SD`), ``--tpot-transfer-sd
0`` the TPOT intervals before theirs (:data:`energylens.model.intervals.TPOT_TRANSFER_LOG_SD`).

    python bench/unseen_gpu_coverage.py      # JSON to bench/results/unseen_gpu_coverage.json (~20 s on 2 cores)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from energylens.model import EnergyModel, intervals
from energylens.profiles import read_profiles
from energylens.profiles.gpu_table import gpu_table_name

OUT = Path(__file__).parent / "results" / "unseen_gpu_coverage.json"


def _tally(model: EnergyModel, rows, level: float) -> dict:
    """Inside / below / above counts of ``rows``' measured energy against the model's ``level`` interval."""
    e = rows["energy_j"].to_numpy(dtype=float)
    iv = model.predict_interval(rows, level, check_range=False)
    lo, hi = iv["energy_j_lo"].to_numpy(), iv["energy_j_hi"].to_numpy()
    pred = model.predict(rows, check_range=False)
    return {"n": len(e), "inside": int(np.sum((e >= lo) & (e <= hi))), "below": int(np.sum(e < lo)),
            "above": int(np.sum(e > hi)), "width_rel": ((hi - lo) / pred).tolist(),
            "ape": np.abs(pred / e - 1.0).tolist(), "log_bias": float(np.median(np.log(e / pred)))}


def _tpot_coverage(model: EnergyModel, rows, level: float) -> tuple:
    """(rows with a measured TPOT, of them inside the latency model's ``level`` TPOT interval, below it, above it,
    their median log(measured / predicted), every row's relative width (hi - lo) / prediction)."""
    e = rows["tpot_s"].to_numpy(dtype=float)
    iv = model.latency_model.predict_interval(rows, level, check_range=False)
    pred = model.latency_model.predict(rows, check_range=False)["tpot_s_pred"].to_numpy()
    ok = np.isfinite(e)
    lo, hi = iv["tpot_s_lo"].to_numpy(), iv["tpot_s_hi"].to_numpy()
    inside = (e >= lo) & (e <= hi)
    return (int(ok.sum()), int((inside & ok).sum()), int((ok & (e < lo)).sum()), int((ok & (e > hi)).sum()),
            float(np.median(np.log(e[ok] / pred[ok]))), ((hi - lo) / pred).tolist())


def _summary(parts: list[dict]) -> dict:
    n = sum(p["n"] for p in parts)
    per = [p["inside"] / p["n"] for p in parts]
    return {"rows": n, "coverage": sum(p["inside"] for p in parts) / n, "coverage_min": min(per),
            "coverage_max": max(per), "below": sum(p["below"] for p in parts) / n,
            "above": sum(p["above"] for p in parts) / n,
            "median_width_rel": float(np.median(np.concatenate([p["width_rel"] for p in parts]))),
            "mape": float(np.mean(np.concatenate([p["ape"] for p in parts]))),
            "median_log_bias": float(np.mean([p["log_bias"] for p in parts])),
            **_tpot_summary([p["tpot"] for p in parts])}


def _tpot_summary(tallies: list[tuple]) -> dict:
    n = max(1, sum(t[0] for t in tallies))
    return {"tpot_coverage": sum(t[1] for t in tallies) / n, "tpot_below": sum(t[2] for t in tallies) / n,
            "tpot_above": sum(t[3] for t in tallies) / n, "tpot_median_log_bias": float(np.mean([t[4] for t in tallies])),
            "tpot_median_width_rel": float(np.median(np.concatenate([t[5] for t in tallies])))}


def run(df, src: str, dst: str, k: int, repeats: int, level: float, bootstrap: int) -> dict:
    """Coverage of ``src``'s held-out rows (seen) and ``dst``'s rows (target) for ``repeats`` fits."""
    src_idx = np.flatnonzero(df["gpu_name"] == src)
    dst_idx = np.flatnonzero(df["gpu_name"] == dst)
    seen, target = [], []
    for r in range(repeats):
        rng = np.random.default_rng(r)
        perm = rng.permutation(src_idx)
        cut = int(round(0.8 * len(perm)))
        shots = rng.permutation(dst_idx)
        train = np.concatenate([perm[:cut], shots[:k]])
        model = EnergyModel(bootstrap=bootstrap, seed=r).fit(df.iloc[np.sort(train)].drop(columns="gpu_name"))
        for rows, out in ((np.sort(perm[cut:]), seen), (np.sort(shots[k:]), target)):
            part = df.iloc[rows].drop(columns="gpu_name")
            out.append({**_tally(model, part, level), "tpot": _tpot_coverage(model, part, level)})
    return {"src": src, "dst": dst, "k": k, "seen": _summary(seen), "target": _summary(target)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--shots", default="0,5", help="k values: target-GPU rows in training (comma-separated)")
    ap.add_argument("--transfer-sd", type=float, default=None,
                    help="GPU transfer log sd of the unseen GPU's intervals (default: the library's "
                         f"GPU_TRANSFER_LOG_SD, {intervals.GPU_TRANSFER_LOG_SD}; 0: none, the intervals before)")
    ap.add_argument("--tpot-transfer-sd", type=float, default=None,
                    help="GPU transfer log sd of the unseen GPU's TPOT intervals (default: the library's "
                         f"TPOT_TRANSFER_LOG_SD, {intervals.TPOT_TRANSFER_LOG_SD}; 0: none, the intervals before)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    if args.transfer_sd is not None:
        intervals.GPU_TRANSFER_LOG_SD = args.transfer_sd
    if args.tpot_transfer_sd is not None:
        intervals.TPOT_TRANSFER_LOG_SD = args.tpot_transfer_sd
    warnings.simplefilter("ignore")  # (UnseenGpuWarning at k = 0: the point of the measurement)
    df = read_profiles("bundled").reset_index(drop=True)
    df = df.assign(gpu_name=[gpu_table_name(g) for g in df["gpu"]])
    gpus = sorted(set(df["gpu_name"]))
    t0 = time.perf_counter()
    out = {"level": args.level, "repeats": args.repeats, "bootstrap": args.bootstrap,
           "transfer_log_sd": intervals.GPU_TRANSFER_LOG_SD, "tpot_transfer_log_sd": intervals.TPOT_TRANSFER_LOG_SD,
           "runs": []}
    for src in gpus:
        for dst in gpus:
            if src == dst:
                continue
            for k in (int(s) for s in args.shots.split(",")):
                res = run(df, src, dst, k, args.repeats, args.level, args.bootstrap)
                out["runs"].append(res)
                t = res["target"]
                print(f"{src} -> {dst} k={k}: TPOT seen {res['seen']['tpot_coverage']:.3f} target "
                      f"{t['tpot_coverage']:.3f} (below {t['tpot_below']:.3f}, above {t['tpot_above']:.3f}, width "
                      f"{res['seen']['tpot_median_width_rel']:.2f} / {t['tpot_median_width_rel']:.2f}, median "
                      f"log bias {t['tpot_median_log_bias']:+.3f}); energy seen {res['seen']['coverage']:.3f} "
                      f"(width {res['seen']['median_width_rel']:.2f}, MAPE {res['seen']['mape']:.3f}); "
                      f"target {res['target']['coverage']:.3f} (below {res['target']['below']:.3f}, above "
                      f"{res['target']['above']:.3f}, width {res['target']['median_width_rel']:.2f}, MAPE "
                      f"{res['target']['mape']:.3f}, median log bias {res['target']['median_log_bias']:+.3f})",
                      file=sys.stderr)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
