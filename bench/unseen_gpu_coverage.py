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
0`` the TPOT intervals before theirs (:data:`energylens.model.intervals.TPOT_TRANSFER_LOG_SD`). At 0 < k <= 12 (the
template's parameters) the target GPU is a few-row GPU (:func:`energylens.model.intervals.few_row_scales`): its rows
draw the transfer factor at (1 - w) of the unseen GPU's log sd, w its share of the training rows; ``--no-few-row``
gives the intervals before (a fitted GPU, no factor).

With the shared measurements (``bench/data_paths.py``; skipped without them, never bundled): ``splitwise`` does the
same on the Splitwise A100 / H100 latency rows with a ``LatencyModel`` (TTFT and TPOT coverage; ``--ttft-transfer-sd
0``: TTFT before its transfer factor); ``v3_to_v2`` trains on 80 % of the ML.ENERGY v3 H100 rows plus k v2 H100 rows and
scores the other v2 H100 rows (the same GPU under another serving stack: no transfer factor applies); ``v3_random``
is the held-out 90 % coverage of energy and TPOT on v3 H100 rows for fits on 50 random v3 rows (the rest held out).

    python bench/unseen_gpu_coverage.py      # JSON to bench/results/unseen_gpu_coverage.json (~90 s on 2 cores)
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

from data_paths import SPLITWISE, V3
from energylens.model import EnergyModel, LatencyModel, gpu_domain, intervals
from energylens.profiles import datasets, read_profiles
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
    for r, (train, held, rest) in enumerate(_draws(src_idx, dst_idx, k, repeats)):
        model = EnergyModel(bootstrap=bootstrap, seed=r).fit(df.iloc[train].drop(columns="gpu_name"))
        for rows, out in ((held, seen), (rest, target)):
            part = df.iloc[rows].drop(columns="gpu_name")
            out.append({**_tally(model, part, level), "tpot": _tpot_coverage(model, part, level)})
    return {"src": src, "dst": dst, "k": k, "seen": _summary(seen), "target": _summary(target)}


def _draws(src_idx, dst_idx, k: int, repeats: int):
    """Per repeat r (default_rng(r)): (training rows: 80 % of ``src_idx`` plus k of ``dst_idx``, the other source
    rows, the other target rows), each sorted."""
    for r in range(repeats):
        rng = np.random.default_rng(r)
        perm = rng.permutation(src_idx)
        cut = int(round(0.8 * len(perm)))
        shots = rng.permutation(dst_idx)
        yield np.sort(np.concatenate([perm[:cut], shots[:k]])), np.sort(perm[cut:]), np.sort(shots[k:])


def _covered(measured, lo, hi) -> list:
    """[rows with a finite measurement, of them inside [lo, hi], below, above]."""
    ok = np.isfinite(measured)
    return [int(ok.sum()), int((ok & (measured >= lo) & (measured <= hi)).sum()), int((ok & (measured < lo)).sum()),
            int((ok & (measured > hi)).sum())]


def _rates(counts: list) -> dict:
    n = max(1, sum(c[0] for c in counts))
    return {"rows": sum(c[0] for c in counts), "coverage": sum(c[1] for c in counts) / n,
            "below": sum(c[2] for c in counts) / n, "above": sum(c[3] for c in counts) / n}


def run_latency(df, src: str, dst: str, k: int, repeats: int, level: float, bootstrap: int) -> dict:
    """:func:`run` for a ``LatencyModel`` on latency-only rows (Splitwise): TTFT and TPOT coverage, seen and target."""
    src_idx, dst_idx = np.flatnonzero(df["gpu"] == src), np.flatnonzero(df["gpu"] == dst)
    out: dict = {"src": src, "dst": dst, "k": k}
    counts: dict = {}
    for r, (train, held, rest) in enumerate(_draws(src_idx, dst_idx, k, repeats)):
        model = LatencyModel(bootstrap=bootstrap, seed=r).fit(df.iloc[train])
        for name, rows in (("seen", held), ("target", rest)):
            part = df.iloc[rows]
            iv = model.predict_interval(part, level, check_range=False)
            for col in ("ttft_s", "tpot_s"):
                counts.setdefault((name, col), []).append(
                    _covered(part[col].to_numpy(float), iv[f"{col}_lo"].to_numpy(), iv[f"{col}_hi"].to_numpy()))
    for (name, col), c in counts.items():
        out.setdefault(name, {})[col.removesuffix("_s")] = _rates(c)
    return out


def full_fit_bias(df, src: str, dst: str) -> dict:
    """Median log(measured / predicted) of ``dst``'s TTFT and TPOT for a LatencyModel fitted on every ``src`` row (how
    TTFT_TRANSFER_LOG_SD is derived)."""
    model = LatencyModel(bootstrap=0, seed=0).fit(df[df["gpu"] == src])
    part = df[df["gpu"] == dst]
    pred = model.predict(part, check_range=False)
    return {c: float(np.median(np.log(part[f"{c}_s"].to_numpy(float) / pred[f"{c}_s_pred"].to_numpy())))
            for c in ("ttft", "tpot")}


def v2_full_fit_tpot_bias(df, src: str, dst: str) -> float:
    """Median log(measured / predicted) of ``dst``'s TPOT for an EnergyModel's latency model fitted on every ``src`` row
    of the bundled v2 rows (how TPOT_TRANSFER_LOG_SD's v2 transfers are measured)."""
    model = EnergyModel(bootstrap=0, seed=0).fit(df[df["gpu_name"] == src].drop(columns="gpu_name"))
    part = df[df["gpu_name"] == dst].drop(columns="gpu_name")
    pred = model.latency_model.predict(part, check_range=False)["tpot_s_pred"].to_numpy()
    e = part["tpot_s"].to_numpy(dtype=float)
    ok = np.isfinite(e)
    return float(np.median(np.log(e[ok] / pred[ok])))


def run_tpot_loo(v2, sw, repeats: int, level: float, bootstrap: int) -> dict:
    """Leave one transfer out: the four measured unseen-GPU TPOT transfers (v2 A100 <-> H100, Splitwise A100 <-> H100,
    each the median TPOT log bias of a full fit on one GPU), and for each the TPOT coverage at k = 0 of its target
    rows with the log sd the other three give (their root mean square): the coverage of a rule that never saw the
    transfer it is judged on. Also the sd of all four (the rule's value) and the coverage at the library's sd."""
    gv = sorted(set(v2["gpu_name"]))
    cases = [("v2", a, b) for a in gv for b in gv if a != b]
    cases += [("splitwise", a, b) for a, b in (("A100-SXM4-80GB", "H100-SXM5-80GB"), ("H100-SXM5-80GB", "A100-SXM4-80GB"))]
    bias = [v2_full_fit_tpot_bias(v2, a, b) if d == "v2" else full_fit_bias(sw, a, b)["tpot"] for d, a, b in cases]
    lib = intervals.TPOT_TRANSFER_LOG_SD
    out = {"transfers": [], "rms_all": float(np.sqrt(np.mean(np.square(bias))))}
    for i, (data, a, b) in enumerate(cases):
        others = [x for j, x in enumerate(bias) if j != i]
        row = {"data": data, "src": a, "dst": b, "tpot_log_bias": bias[i], "sd_from_others": float(np.sqrt(np.mean(
            np.square(others))))}
        for name, sd in (("coverage_held_out_sd", row["sd_from_others"]), ("coverage_library_sd", lib)):
            intervals.TPOT_TRANSFER_LOG_SD = sd
            try:
                if data == "v2":
                    row[name] = run(v2, a, b, 0, repeats, level, bootstrap)["target"]["tpot_coverage"]
                else:
                    row[name] = run_latency(sw, a, b, 0, repeats, level, bootstrap)["target"]["tpot"]["coverage"]
            finally:
                intervals.TPOT_TRANSFER_LOG_SD = lib
        out["transfers"].append(row)
        print(f"TPOT leave-one-out {data} {a} -> {b}: log bias {bias[i]:+.3f}; sd of the other three "
              f"{row['sd_from_others']:.3f}: coverage {row['coverage_held_out_sd']:.3f} (at the library's {lib}: "
              f"{row['coverage_library_sd']:.3f})", file=sys.stderr)
    return out


def run_v3_to_v2(v3, v2, k: int, repeats: int, level: float, bootstrap: int) -> dict:
    """80 % of the v3 H100 rows plus k v2 H100 rows; energy and TPOT coverage of the other v3 (seen) and v2 rows."""
    both = pd.concat([v3, v2], ignore_index=True)
    src_idx, dst_idx = np.arange(len(v3)), len(v3) + np.arange(len(v2))
    seen, target = [], []
    for r, (train, held, rest) in enumerate(_draws(src_idx, dst_idx, k, repeats)):
        model = EnergyModel(bootstrap=bootstrap, seed=r).fit(both.iloc[train])
        for rows, out in ((held, seen), (rest, target)):
            part = both.iloc[rows]
            out.append({**_tally(model, part, level), "tpot": _tpot_coverage(model, part, level)})
    return {"src": "v3 H100", "dst": "v2 H100", "k": k, "seen": _summary(seen), "target": _summary(target)}


def run_v3_random(v3, repeats: int, level: float, bootstrap: int, train_rows: int = 50) -> dict:
    """Fits on ``train_rows`` random v3 rows (default_rng(r).permutation), energy and TPOT coverage of the rest."""
    parts = []
    for r in range(repeats):
        perm = np.random.default_rng(r).permutation(len(v3))
        model = EnergyModel(bootstrap=bootstrap, seed=r).fit(v3.iloc[np.sort(perm[:train_rows])])
        part = v3.iloc[np.sort(perm[train_rows:])]
        parts.append({**_tally(model, part, level), "tpot": _tpot_coverage(model, part, level)})
    return {"train_rows": train_rows, "held_out": _summary(parts)}


def _line(res: dict) -> str:
    t, seen = res["target"], res["seen"]
    return (f"{res['src']} -> {res['dst']} k={res['k']}: TPOT seen {seen['tpot_coverage']:.3f} target "
            f"{t['tpot_coverage']:.3f} (below {t['tpot_below']:.3f}, above {t['tpot_above']:.3f}, width "
            f"{seen['tpot_median_width_rel']:.2f} / {t['tpot_median_width_rel']:.2f}, median "
            f"log bias {t['tpot_median_log_bias']:+.3f}); energy seen {seen['coverage']:.3f} "
            f"(width {seen['median_width_rel']:.2f}, MAPE {seen['mape']:.3f}); "
            f"target {t['coverage']:.3f} (below {t['below']:.3f}, above "
            f"{t['above']:.3f}, width {t['median_width_rel']:.2f}, MAPE "
            f"{t['mape']:.3f}, median log bias {t['median_log_bias']:+.3f})")


def _arguments(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--shots", default="0,2,5,10,20", help="k values: target-GPU rows in training (comma-separated)")
    for flag, name in (("transfer-sd", "GPU_TRANSFER_LOG_SD"), ("tpot-transfer-sd", "TPOT_TRANSFER_LOG_SD"),
                       ("ttft-transfer-sd", "TTFT_TRANSFER_LOG_SD")):
        ap.add_argument(f"--{flag}", type=float, default=None,
                        help=f"GPU transfer log sd (default: the library's {name}, {getattr(intervals, name)}; 0: "
                             "none, the intervals before)")
    ap.add_argument("--few-row-rule", choices=("sqrt", "linear", "step"), default=None,
                    help="the few-row GPUs' share of the transfer sd: sqrt (1 - w) x min(1, sqrt(p / n)), linear "
                         "(1 - w) x min(1, p / n), step (1 - w) up to n = p (default: the library's "
                         "intervals.FEW_ROW_RULE)")
    ap.add_argument("--no-few-row", action="store_true",
                    help="a GPU with a few training rows draws no transfer factor (the intervals before)")
    ap.add_argument("--sections", default="v2,splitwise,v3",
                    help="which runs (comma-separated; also tpot_loo: the TPOT transfer sd left one transfer out, "
                         "with the Splitwise data)")
    ap.add_argument("--out", default=str(OUT))
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = _arguments(argv)
    for value, name in ((args.transfer_sd, "GPU_TRANSFER_LOG_SD"), (args.tpot_transfer_sd, "TPOT_TRANSFER_LOG_SD"),
                        (args.ttft_transfer_sd, "TTFT_TRANSFER_LOG_SD")):
        if value is not None:
            setattr(intervals, name, value)
    if args.few_row_rule is not None:
        intervals.FEW_ROW_RULE = args.few_row_rule
    if args.no_few_row:
        gpu_domain.few_row_scales = lambda *a: {}
    warnings.simplefilter("ignore")  # (UnseenGpuWarning at k = 0: the point of the measurement)
    shots = [int(s) for s in args.shots.split(",")]
    sections = set(args.sections.split(","))
    t0 = time.perf_counter()
    out = {"level": args.level, "repeats": args.repeats, "bootstrap": args.bootstrap,
           "transfer_log_sd": intervals.GPU_TRANSFER_LOG_SD, "tpot_transfer_log_sd": intervals.TPOT_TRANSFER_LOG_SD,
           "ttft_transfer_log_sd": intervals.TTFT_TRANSFER_LOG_SD, "few_row": not args.no_few_row,
           "few_row_rule": intervals.FEW_ROW_RULE, "runs": []}
    if "v2" in sections:
        df = read_profiles("bundled").reset_index(drop=True)
        df = df.assign(gpu_name=[gpu_table_name(g) for g in df["gpu"]])
        gpus = sorted(set(df["gpu_name"]))
        for src, dst in ((a, b) for a in gpus for b in gpus if a != b):
            for k in shots:
                out["runs"].append(run(df, src, dst, k, args.repeats, args.level, args.bootstrap))
                print(_line(out["runs"][-1]), file=sys.stderr)
    if "splitwise" in sections and SPLITWISE.is_file():
        sw = datasets.splitwise(SPLITWISE).reset_index(drop=True)
        out["splitwise"], out["splitwise_full_fit_log_bias"] = [], {}
        for src, dst in (("A100-SXM4-80GB", "H100-SXM5-80GB"), ("H100-SXM5-80GB", "A100-SXM4-80GB")):
            bias = out["splitwise_full_fit_log_bias"][f"{src} -> {dst}"] = full_fit_bias(sw, src, dst)
            print(f"splitwise fitted on every {src} row, {dst} rows' median log(measured / predicted): TTFT "
                  f"{bias['ttft']:+.3f}, TPOT {bias['tpot']:+.3f}", file=sys.stderr)
            for k in shots:
                res = run_latency(sw, src, dst, k, args.repeats, args.level, args.bootstrap)
                out["splitwise"].append(res)
                print(f"splitwise {src} -> {dst} k={k}: " + "; ".join(
                    f"{c} seen {res['seen'][c]['coverage']:.3f} target {res['target'][c]['coverage']:.3f} (below "
                    f"{res['target'][c]['below']:.3f}, above {res['target'][c]['above']:.3f})" for c in ("ttft", "tpot")),
                    file=sys.stderr)
    if "v3" in sections and V3.is_file():
        v3 = read_profiles(str(V3)).reset_index(drop=True)
        v2 = read_profiles("bundled")
        v2 = v2[[gpu_table_name(g) == "H100-SXM5-80GB" for g in v2["gpu"]]].reset_index(drop=True)
        out["v3_to_v2"] = [run_v3_to_v2(v3, v2, k, args.repeats, args.level, args.bootstrap) for k in shots]
        for res in out["v3_to_v2"]:
            print(_line(res), file=sys.stderr)
        out["v3_random"] = run_v3_random(v3, args.repeats, args.level, args.bootstrap)
        h = out["v3_random"]["held_out"]
        print(f"v3 H100 random {out['v3_random']['train_rows']}-row fits, held-out rows: energy {h['coverage']:.3f} "
              f"(min {h['coverage_min']:.3f}, below {h['below']:.3f}, above {h['above']:.3f}); TPOT "
              f"{h['tpot_coverage']:.3f} (below {h['tpot_below']:.3f}, above {h['tpot_above']:.3f})", file=sys.stderr)
    if "tpot_loo" in sections and SPLITWISE.is_file():
        v2 = read_profiles("bundled").reset_index(drop=True)
        v2 = v2.assign(gpu_name=[gpu_table_name(g) for g in v2["gpu"]])
        out["tpot_loo"] = run_tpot_loo(v2, datasets.splitwise(SPLITWISE).reset_index(drop=True), args.repeats,
                                       args.level, args.bootstrap)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
