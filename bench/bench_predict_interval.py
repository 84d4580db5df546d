"""``EnergyModel.predict_interval`` and ``LatencyModel.predict_interval`` (200 bootstrap refits, the default)
on 1, 10, 1000 and 100,000 rows of the bundled data, against the same public call running the code before
2026-12-06 in the same run: :func:`energylens.model.intervals.reference_interval_bounds`, a Python loop of
one ``_core.evaluate`` per replicate followed by NumPy's draws, ``np.quantile`` and the extrapolation check
``RangeCheck.flags``, with a raw table's features built by features.py (both patched in for the baseline
side, and checked to give the same bounds bit for bit first). The interval work alone
(``interval_bounds`` on prebuilt feature columns, the part that changed) is timed the same way, and the
point ``predict`` of the same rows is given for scale. ``ExpressionEnergyModel.predict_interval`` (an expression
fitted the same way) is timed against its NumPy draws and ``np.quantile`` (what it ran before
``intervals.drawn_quantiles``, patched in for the baseline side and checked bit for bit first).

The two sides are sampled in alternation (bench_public.paired; a sample of a call shorter than 2 ms repeats
it and divides); ratios are baseline median / ours median, with the range from the extremes. Rows are a
validated frame (what ``mlenergy_v2()`` returns, resampled); ``raw 1`` is one row of a user's 8-column table.
Writes bench/results/predict_interval.json (``--out`` to write elsewhere).

    python bench/bench_predict_interval.py [--repeats 15] [--sizes 1 10 1000 100000]
        [--out bench/results/predict_interval.json]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from energylens import parallel
from energylens.model import EnergyModel, LatencyModel
from energylens.model import base as model_base
from energylens.model import intervals as iv
from energylens.profiles.datasets import mlenergy_v2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_public import RAW_COLUMNS, paired, ratio  # noqa: E402  (the benches' shared sampler)

OUT = Path(__file__).resolve().parent / "results" / "predict_interval.json"
SIZES = (1, 10, 1000, 100_000)
EXPRESSION = "1.0*tp*pp*tdp_w*output_tokens/batch_size + 5.0"


def numpy_drawn_quantiles(values, factors, *, keys, seed, q_lo, q_hi):
    """intervals.drawn_quantiles as ExpressionEnergyModel computed it before: NumPy's draws and np.quantile, in
    blocks of 4096 rows (in place on the replicates x chunk values, as it did)."""
    lo, hi = np.empty(values.shape[1]), np.empty(values.shape[1])
    for first in range(0, values.shape[1], 4096):
        block = values[:, first:first + 4096]
        last = first + block.shape[1]
        block *= factors[iv._draw_indices_numpy(seed, len(values), keys[first:last], len(factors))]
        lo[first:last], hi[first:last] = np.quantile(block, [q_lo, q_hi], axis=0)
    return lo, hi


@contextlib.contextmanager
def numpy_quantiles():
    """ExpressionEnergyModel.predict_interval with the NumPy draws and quantiles (the baseline side)."""
    native = iv.drawn_quantiles  # (the expression model's runs through intervals.GpuTransfer)
    iv.drawn_quantiles = numpy_drawn_quantiles
    try:
        yield
    finally:
        iv.drawn_quantiles = native


@contextlib.contextmanager
def replicate_loop():
    """predict_interval as it ran before 2026-12-06: the replicate loop, and a raw table's features from
    features.py (no native feature pass)."""
    native, features = iv.interval_bounds, model_base.feature_rows  # (base's runs through intervals.GpuTransfer)
    iv.interval_bounds, model_base.feature_rows = iv.reference_interval_bounds, lambda *a: None
    try:
        yield
    finally:
        iv.interval_bounds, model_base.feature_rows = native, features


def pair(call, baseline_side, repeats: int) -> dict:
    """``call`` as it runs against ``call`` inside ``baseline_side()`` (the context that swaps the baseline in):
    the same table bit for bit, then both timed in pairs."""
    def baseline():
        with baseline_side():
            call()

    with baseline_side():
        ref = call()
    pd.testing.assert_frame_equal(call(), ref, check_exact=True)  # same bounds, bit for bit
    ours_t, base_t = paired(call, baseline, repeats)
    return {"ours_ms": ours_t["median_s"] * 1e3, "baseline_ms": base_t["median_s"] * 1e3,
            "ours": ours_t, "baseline": base_t, "speedup": ratio(base_t, ours_t)}


def kernel_pair(model, rows: pd.DataFrame, picks, repeats: int) -> dict:
    """interval_bounds alone on prebuilt feature columns (one chunk), against the replicate loop."""
    _, chunks = model._chunks(rows, len(rows), None)
    ((_, _, columns),) = list(chunks)
    samples = [model.measurement_factors(k) for k in range(len(picks))]
    args = (model._template, columns, model._boot, samples)
    kw = dict(seed=model.options["seed"], level=0.9, picks=picks)
    new, ref = iv.interval_bounds(*args, **kw), iv.reference_interval_bounds(*args, **kw)
    assert all(a.tobytes() == b.tobytes() for p, q in zip(new, ref, strict=True) for a, b in zip(p, q, strict=True))
    ours_t, base_t = paired(lambda: iv.interval_bounds(*args, **kw), lambda: iv.reference_interval_bounds(*args, **kw),
                            repeats)
    return {"ours_ms": ours_t["median_s"] * 1e3, "baseline_ms": base_t["median_s"] * 1e3,
            "speedup": ratio(base_t, ours_t)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                    help="row counts to time (a quick check: --sizes 1 10 --repeats 1 --out /tmp/pi.json)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    data = mlenergy_v2()
    energy = EnergyModel(seed=0).fit(data, latency=False)
    latency = LatencyModel(seed=0).fit(data)
    expr = EnergyModel.from_expression(EXPRESSION, seed=0, n_starts=1).fit(data)
    big = data.sample(max(args.sizes), replace=True, random_state=0).reset_index(drop=True)
    raw = pd.DataFrame({c: data[c].to_numpy()[:1] for c in RAW_COLUMNS})
    cases = [(f"{n}", big.iloc[:n]) for n in args.sizes] + [("raw 1", raw)]
    results = []
    for name, rows in cases:
        repeats = args.repeats if len(rows) < 10_000 else max(3, args.repeats // 3)
        entry = {"rows": name, "replicates": len(energy.bootstrap_params)}
        entry["energy"] = pair(lambda r=rows: energy.predict_interval(r), replicate_loop, repeats)
        entry["energy_kernel"] = kernel_pair(energy, rows, (iv.OUT_SUM,), repeats)
        if len(rows) <= 1000:
            entry["latency"] = pair(lambda r=rows: latency.predict_interval(r), replicate_loop, repeats)
        if name != "raw 1":
            entry["expression"] = pair(lambda r=rows: expr.predict_interval(r), numpy_quantiles, repeats)
        point, _ = paired(lambda r=rows: energy.predict(r), lambda: None, repeats)
        entry["predict_ms"] = point["median_s"] * 1e3
        results.append(entry)
        e, k = entry["energy"], entry["energy_kernel"]
        lat = (f"; latency {entry['latency']['ours_ms']:.3f} vs {entry['latency']['baseline_ms']:.3f} ms "
               f"({entry['latency']['speedup']['median']:.1f}x)") if "latency" in entry else ""
        if "expression" in entry:
            x = entry["expression"]
            lat += (f"; expression {x['ours_ms']:.3f} vs {x['baseline_ms']:.3f} ms ({x['speedup']['median']:.1f}x, "
                    f"{x['speedup']['low']:.1f}-{x['speedup']['high']:.1f})")
        print(f"{name:>7} rows: energy predict_interval {e['ours_ms']:.3f} ms vs loop {e['baseline_ms']:.3f} ms "
              f"({e['speedup']['median']:.1f}x, {e['speedup']['low']:.1f}-{e['speedup']['high']:.1f}); "
              f"interval work {k['ours_ms']:.3f} vs {k['baseline_ms']:.3f} ms ({k['speedup']['median']:.1f}x){lat}; "
              f"point predict {entry['predict_ms']:.3f} ms")
    meta = {"python": sys.version.split()[0], "numpy": np.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count(), "threads": parallel.num_threads(), "isa": parallel.isa(),
            "load_avg_at_end": os.getloadavg()}
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
