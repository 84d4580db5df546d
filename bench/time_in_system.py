#!/usr/bin/env python3
"""A request's time in the system: the latency model's TTFT + L_out x TPOT against the measured one, and
with the prefill-stall term sigma x B_r x t_p (docs/model.md, section 4; docs/search.md, load mode).

The measured steady-state time in the system is Little's law on the export's own columns: running batch x
output tokens / output token throughput (schema batch_size, output_tokens, token_throughput_tok_s). The
prediction is W = TTFT + L_out x TPOT + sigma x B_r x t_p, where B_r is the running batch of a replica
(batch_size / dp) and t_p the latency template's device prefill time of one prompt on it (its TTFT without
the pp stages, the prompt batching and the per-layer launch and sync terms): in steady state a replica
admits B_r new requests during one request's lifetime, each stalling the running batch for about t_p.

Per data set (ML.ENERGY v3 H100 from the shared data, the bundled v2), 20 random 50-row splits
(energylens.compare.splits.random_splits, seed 0, as the other benches): the latency model fitted on the
training rows (EnergyModel(bootstrap=0).fit(...).latency_model, which fits sigma on the same rows: a 1-D
bounded least squares of log(W_measured / W_pred) over [0, 2], energylens.model.time_in_system), and on the held-out rows the median and
mean |log(W_measured / W_pred)| and the median ratio W_measured / W_pred with sigma = 0 (the search before
the term), sigma = 1 and the fitted sigma; and the fitted sigma's median over the splits. Also in sample
(fitted on every row): sigma and the median ratio per task at sigma 0, 1 and fitted.

    python bench/time_in_system.py [--repeats 20] [--train-size 50] [--json bench/results/time_in_system.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from data_paths import V3  # noqa: E402
from energylens.compare.splits import random_splits  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.model.intervals import PREDICT_CHUNK_ROWS  # noqa: E402
from energylens.model.time_in_system import measured_time_in_system, stall_outputs  # noqa: E402
from energylens.profiles import read_profiles  # noqa: E402

OUT = Path(__file__).parent / "results" / "time_in_system.json"


def parts(lat, frame) -> tuple[np.ndarray, np.ndarray]:
    """(TTFT + L_out TPOT, B_r t_p) per row of ``frame`` under the fitted (uncalibrated) latency model ``lat``:
    predict's own parts (stall_outputs), whose stall is the search engine's (LatencyTemplate::eval_stall)."""
    ttft, tpot, stall, lo = stall_outputs(lat, frame, PREDICT_CHUNK_ROWS, False, "bench")
    return ttft + lo * tpot, stall


def scores(ratio: np.ndarray) -> dict:
    """Median and mean |log ratio| and the median ratio of the finite ratios."""
    r = ratio[np.isfinite(ratio) & (ratio > 0)]
    return {"median_abs_log": float(np.median(np.abs(np.log(r)))),
            "mean_abs_log": float(np.mean(np.abs(np.log(r)))), "median_ratio": float(np.median(r))}


def one_set(frame, repeats: int, train_size: int) -> dict:
    """The held-out figures of one data set (module docstring)."""
    meas = measured_time_in_system(frame)
    rows = {"sigma_0": [], "sigma_1": [], "sigma_fitted": []}
    sigmas = []
    for sp in random_splits(len(frame), train_size, repeats, seed=0):
        tr, te = frame.iloc[sp.train_idx], frame.iloc[sp.test_idx]
        lat = EnergyModel(bootstrap=0, seed=sp.repeat).fit(tr).latency_model  # sigma fitted on tr with the rest
        sigma = lat.prefill_stall
        sigmas.append(sigma)
        base, stall = parts(lat, te)
        w = lat.predict(te, check_range=False)["time_in_system_s_pred"].to_numpy()
        assert np.array_equal(w, base + sigma * stall), "predict's time in system, bit for bit"
        for key, s in (("sigma_0", 0.0), ("sigma_1", 1.0), ("sigma_fitted", sigma)):
            rows[key].append(scores(meas[sp.test_idx] / (base + s * stall)))
    out = {key: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for key, v in rows.items()}
    return {**out, "fitted_sigma_median": float(np.median(sigmas)),
            "fitted_sigma_range": [float(min(sigmas)), float(max(sigmas))], "rows": len(frame),
            "rows_with_measured_w": int(np.isfinite(meas).sum())}


def in_sample(frame) -> dict:
    """The latency model (and sigma) fitted on every row: its sigma, and on the same rows the median ratio
    W_measured / W_pred at sigma 0, 1 and fitted, overall and per task."""
    meas = measured_time_in_system(frame)
    lat = EnergyModel(bootstrap=0, seed=0).fit(frame).latency_model
    base, stall = parts(lat, frame)
    task = frame["task"].astype(str).to_numpy() if "task" in frame else np.full(len(frame), "")
    out = {"sigma": float(lat.prefill_stall)}
    for key, s in (("sigma_0", 0.0), ("sigma_1", 1.0), ("sigma_fitted", lat.prefill_stall)):
        ratio = meas / (base + s * stall)
        out[key] = {**scores(ratio), "median_ratio_by_task": {t: scores(ratio[task == t])["median_ratio"]
                                                               for t in sorted(set(task))}}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--train-size", type=int, default=50)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    sets = {"v2_bundled": "bundled"}
    if V3.is_file():
        sets = {"v3_h100": str(V3), **sets}
    else:
        print(f"{V3} not found: v2 only", file=sys.stderr)
    result = {"repeats": args.repeats, "train_size": args.train_size,
              "note": "per split the held-out median / mean |log(W_meas / W_pred)| and median ratio, then the "
                      "mean over splits"}
    for name, path in sets.items():
        frame = read_profiles(path)
        result[name] = {**one_set(frame, args.repeats, args.train_size), "in_sample": in_sample(frame)}
        print(name, json.dumps(result[name], indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
