"""The calls users make, timed against what a user would otherwise run, in the same run and dtype.

- ``EnergyModel.predict_features``: every column given; the sweep layout (the 11 model and GPU
  columns as scalars); float32 (``dtype=np.float32``) against NumPy float32; 1 thread and all threads.
  Baseline: ``numpy_forward.energy_forward`` (plain forward-only NumPy of the same formula, same dtype,
  checked equal to the native result first). The native core (``_core.evaluate`` into ``out=``) is
  timed separately.
- ``EnergyModel.predict(df)`` on a raw frame (as read from a CSV) against scikit-learn's
  ``RandomForestRegressor.predict`` on the same rows (up to ``--forest-max-rows``); its peak memory
  (VmHWM) in a fresh process; the name columns as pandas ``str``, Python objects and categoricals, with
  the cost of one ``pd.factorize`` of each name column (the part that stays per row whatever the code).
- ``EnergyModel.fit`` on 50 raw rows: one start without bootstrap (medians of ``--repeats`` samples, and
  a standalone loop of 300 calls timed one by one), and the defaults; the native fit on prebuilt columns
  separately.
- "Other core busy": a busy-loop process pinned to the last CPU while 1 and all threads run, every
  column given up to ``--busy-max-rows`` and the sweep layout up to ``--busy-sweep-max-rows`` (1e8 rows:
  ~5 GB in float64, where every column would need 17.6 GB).

Every figure is the median of >= 7 samples with min and max (a sample of a call shorter than 2 ms
repeats the call and divides); the two sides of a ratio are sampled in alternation. Ratios are baseline median / ours median, with the range from the
extremes. Writes bench/results/public.json.

    python bench/bench_public.py [--max-rows 10000000] [--df-max-rows 10000000] [--repeats 7] [--only fit,busy]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_env import call_seconds  # noqa: E402
from bench_model import _features_at, _sweep_features  # noqa: E402
from numpy_forward import energy_forward  # noqa: E402

#: What --only picks from (default: all, in this order).
SECTIONS = ("features", "df", "fit", "busy", "memory")
RAW_COLUMNS = ("model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens")


def sample(fn, repeats: int) -> dict:
    """Median/min/max seconds per call over ``repeats`` samples after a warm-up."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    inner = max(1, int(0.002 / max(once, 1e-9)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return {"median_s": float(np.median(times)), "min_s": min(times), "max_s": max(times), "samples": repeats,
            "calls_per_sample": inner}


def per_call(fn, calls: int, warm_up: int = 20) -> dict:
    """Median/min/max seconds of each of ``calls`` consecutive calls after ``warm_up`` calls: a standalone
    loop, warm caches (sample() times a few calls between other work)."""
    times = call_seconds(fn, calls, warm_up)
    return {"median_s": float(np.median(times)), "min_s": min(times), "max_s": max(times), "samples": calls,
            "calls_per_sample": 1}


def paired(fa, fb, repeats: int) -> tuple[dict, dict]:
    """Like sample() for two calls, their samples interleaved (a, b, a, b, ...), so a change in the load of a
    shared machine during the run hits both alike."""
    fa(), fb()
    t0 = time.perf_counter()
    fa()
    inner = max(1, int(0.002 / max(time.perf_counter() - t0, 1e-9)))
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((fa, times[0]), (fb, times[1])):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            out.append((time.perf_counter() - t0) / inner)
    return tuple({"median_s": float(np.median(t)), "min_s": min(t), "max_s": max(t), "samples": repeats,
                  "calls_per_sample": inner} for t in times)  # type: ignore[return-value]


def ratio(base: dict, ours: dict) -> dict:
    return {"median": base["median_s"] / ours["median_s"], "low": base["min_s"] / ours["max_s"],
            "high": base["max_s"] / ours["min_s"]}


def fitted_model():
    from energylens.model import EnergyModel
    from energylens.profiles.datasets import mlenergy_v2

    return EnergyModel(n_starts=1, bootstrap=0).fit(mlenergy_v2())


def bench_features(model, n: int, repeats: int, all_threads: int) -> dict:
    from energylens import _core

    theta = model.theta
    feats = _features_at(n)
    sweep, what = _sweep_features(n)
    f32 = {k: v.astype(np.float32) for k, v in feats.items()}
    cols = [feats[k] for k in model.feature_names]
    out = (np.empty(n), np.empty(n))
    got, ref = model.predict_features(feats), energy_forward(feats, theta)
    got32 = model.predict_features(f32, dtype=np.float32)
    checks = {"max_rel_full_vs_numpy": float(np.max(np.abs(got / ref - 1))),
              "max_rel_sweep_vs_numpy": float(np.max(np.abs(model.predict_features(sweep)
                                                            / energy_forward(sweep, theta) - 1))),
              "max_rel_float32_vs_float64": float(np.max(np.abs(got32 / got - 1)))}
    assert checks["max_rel_full_vs_numpy"] < 1e-12 and checks["max_rel_sweep_vs_numpy"] < 1e-12, checks
    assert checks["max_rel_float32_vs_float64"] < 1e-5, checks
    r = {"rows": n, "sweep_of": what, "checks": checks}
    # each public call and its baseline sampled in alternation (paired), so load changes on a shared
    # machine hit both sides of a ratio alike
    r["public_full_s"], r["numpy_full_s"] = paired(lambda: model.predict_features(feats, n_threads=all_threads),
                                                   lambda: energy_forward(feats, theta), repeats)
    r["public_full_1thread_s"], r["public_full_all_s"] = paired(
        lambda: model.predict_features(feats, n_threads=1),
        lambda: model.predict_features(feats, n_threads=all_threads), repeats)
    r["core_full_out_s"], r["numpy_full_again_s"] = paired(lambda: _core.evaluate("energy", cols, theta, out=out),
                                                           lambda: energy_forward(feats, theta), repeats)
    r["public_sweep_s"], r["numpy_sweep_s"] = paired(lambda: model.predict_features(sweep),
                                                     lambda: energy_forward(sweep, theta), repeats)
    r["public_float32_s"], r["numpy_float32_s"] = paired(lambda: model.predict_features(f32, dtype=np.float32),
                                                         lambda: energy_forward(f32, theta, np.float32), repeats)
    r["ratio_full_vs_numpy"] = ratio(r["numpy_full_s"], r["public_full_s"])
    r["ratio_core_vs_numpy"] = ratio(r["numpy_full_again_s"], r["core_full_out_s"])
    r["ratio_sweep_vs_numpy"] = ratio(r["numpy_sweep_s"], r["public_sweep_s"])
    r["ratio_float32_vs_numpy_float32"] = ratio(r["numpy_float32_s"], r["public_float32_s"])
    r["ratio_all_threads_vs_1"] = ratio(r["public_full_1thread_s"], r["public_full_all_s"])
    return r


def raw_frame(n: int, seed: int = 0):
    """n configurations as a user's freshly read table: the required columns, unvalidated."""
    import pandas as pd

    from energylens.profiles.datasets import mlenergy_v2

    base = mlenergy_v2()
    idx = np.random.default_rng(seed).integers(0, len(base), n)
    return pd.DataFrame({c: base[c].to_numpy()[idx] for c in RAW_COLUMNS}), base


def bench_predict_df(model, n: int, repeats: int, forest_max_rows: int) -> dict:
    from sklearn.ensemble import RandomForestRegressor

    df, base = raw_frame(n)
    ours = sample(lambda: model.predict(df), repeats)
    r = {"rows": n, "predict_df_s": ours, "configs_per_s": n / ours["median_s"],
         "input_bytes": int(df.memory_usage(deep=True).sum())}
    if n <= forest_max_rows:
        num = [c for c in RAW_COLUMNS if c not in ("model", "gpu")]
        rf = RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=-1).fit(
            base[num].to_numpy(float), base["energy_j"].to_numpy(float))
        X = df[num].to_numpy(float)
        r["random_forest_predict_s"] = forest = sample(lambda: rf.predict(X), repeats)
        r["ratio_vs_random_forest"] = ratio(forest, ours)
    return r


def bench_text_columns(model, n: int, repeats: int) -> dict:
    """predict(df) with the name columns as pandas str (Arrow), Python objects and categoricals, and the
    part no implementation avoids: one hash pass over each name column (pd.factorize of model and gpu)."""
    import pandas as pd

    df, _ = raw_frame(n)
    as_object = df.astype({"model": object, "gpu": object})
    as_category = df.astype({"model": "category", "gpu": "category"})
    r = {"rows": n, "dtypes": {"str": str(df["model"].dtype), "object": str(as_object["model"].dtype),
                               "category": str(as_category["model"].dtype)}}
    for name, frame in (("str", df), ("object", as_object), ("category", as_category)):
        r[f"predict_{name}_s"] = t = sample(lambda f=frame: model.predict(f), repeats)
        r[f"configs_per_s_{name}"] = n / t["median_s"]
        r[f"factorize_{name}_s"] = sample(
            lambda f=frame: (pd.factorize(f["model"]), pd.factorize(f["gpu"])), repeats)
    return r


def bench_fit(repeats: int) -> dict:
    from energylens import _core
    from energylens.model import EnergyModel

    df, base = raw_frame(50, seed=1)
    rows = base.sample(50, random_state=1).reset_index(drop=True)
    raw = rows[[*RAW_COLUMNS, "energy_j", "tpot_s"]].copy()
    raw.attrs = {}  # a user's table: not marked validated (column selection keeps the bundled frame's attrs)
    light = EnergyModel(n_starts=1, bootstrap=0)
    cols = light._columns(rows)
    targets = light._targets(rows)
    opts = light._native_options(targets)
    if opts.target == "sum":
        targets = targets[:1]
    return {"rows": 50,
            "public_fit_one_start_no_bootstrap_s": sample(lambda: EnergyModel(n_starts=1, bootstrap=0).fit(raw),
                                                          repeats),
            "public_fit_one_start_loop_s": per_call(lambda: EnergyModel(n_starts=1, bootstrap=0).fit(raw), 300),
            "public_fit_defaults_s": sample(lambda: EnergyModel().fit(raw), repeats),
            "core_fit_one_start_s": sample(lambda: _core.fit("energy", cols, targets, None, opts), repeats)}


def bench_busy(model, sizes: list[int], sweep_sizes: list[int], repeats: int, all_threads: int) -> dict:
    """1 vs all threads while a busy loop holds the last CPU of this process's mask (samples interleaved):
    every column given at ``sizes``, and the sweep layout (model and GPU columns as scalars, five varying
    columns: 40 bytes a row in float64) at ``sweep_sizes``, which reach 1e8 rows in ~5 GB where every
    column (22 x 8 bytes a row, 17.6 GB, and the output) does not fit this machine."""
    cpus = sorted(os.sched_getaffinity(0))
    busy = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpus[-1]}}})\nwhile True: pass"])
    try:
        time.sleep(0.5)
        rows = [_busy_row(model, n, "full", repeats, all_threads) for n in sizes]
        rows += [_busy_row(model, n, "sweep", repeats, all_threads) for n in sweep_sizes]
    finally:
        busy.kill()
        busy.wait()
    timed = [r for r in rows if "all_over_one_median" in r]
    return {"busy_cpu": cpus[-1], "threads": all_threads, "by_rows": rows,
            "worst_all_over_one": max((r["all_over_one_median"] for r in timed), default=None),  # None: no size
            "worst_all_over_one_min": max((r["all_over_one_min"] for r in timed), default=None)}  # was timed


def _busy_row(model, n: int, layout: str, repeats: int, all_threads: int) -> dict:
    """One size of bench_busy; skipped (with the reason) when its arrays would not fit in the memory
    available now."""
    columns = len(model.feature_names) if layout == "full" else 5
    need = n * 8 * (columns + 1) * 1.25  # the float64 columns, the output, headroom
    available = _meminfo_bytes("MemAvailable")
    if need > available:
        return {"rows": n, "layout": layout, "skipped": f"needs ~{need / 2**30:.1f} GiB, "
                                                        f"{available / 2**30:.1f} GiB available"}
    feats = _features_at(n) if layout == "full" else _sweep_features(n)[0]
    one, every = paired(lambda f=feats: model.predict_features(f, n_threads=1),
                        lambda f=feats: model.predict_features(f, n_threads=all_threads), repeats)
    return {"rows": n, "layout": layout, "one_thread_s": one, "all_threads_s": every,
            "all_over_one_median": every["median_s"] / one["median_s"],
            "all_over_one_min": every["min_s"] / one["min_s"]}


def _meminfo_bytes(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/meminfo")


def memory_probe(n: int) -> None:
    """(In a fresh process) peak resident memory of predict(df) at n rows, input built first."""
    df, _ = raw_frame(n)
    model = fitted_model()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    model.predict(df)
    seconds = time.perf_counter() - t0  # one sample, cold: the medians are in predict_df
    print(json.dumps({"rows": n, "rss_before_predict_bytes": before * 1024, "peak_rss_bytes": _status_kib("VmHWM") * 1024,
                      "one_cold_predict_s": seconds, "configs_per_s_one_cold_sample": n / seconds,
                      "input_bytes": int(df.memory_usage(deep=True).sum())}))


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def machine() -> dict:
    from energylens import parallel

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cpus_in_mask": len(os.sched_getaffinity(0)), "isa": parallel.isa(),
            "python": platform.python_version(), "numpy": np.__version__, "load_average": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-rows", type=int, default=10_000_000)
    ap.add_argument("--df-max-rows", type=int, default=10_000_000)
    ap.add_argument("--memory-rows", type=int, default=10_000_000, help="0 skips the memory probe")
    ap.add_argument("--forest-max-rows", type=int, default=1_000_000,
                    help="largest predict(df) size also timed against the RandomForest (its predict is slow)")
    ap.add_argument("--busy-max-rows", type=int, default=10_000_000,
                    help="largest size of the other-core-busy check with every column given")
    ap.add_argument("--busy-sweep-max-rows", type=int, default=100_000_000,
                    help="largest size of the other-core-busy check in the sweep layout (1e8: ~5 GB)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default="", help=f"comma-separated sections to run (default all): {', '.join(SECTIONS)}")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "public.json")
    ap.add_argument("--memory-probe", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe)
        return
    if args.repeats < 7:
        ap.error("--repeats must be >= 7 (medians over at least 7 samples)")
    only = [x.strip() for x in args.only.split(",") if x.strip()] or list(SECTIONS)
    if any(x not in SECTIONS for x in only):
        ap.error(f"--only: unknown section(s) {[x for x in only if x not in SECTIONS]}; known: {', '.join(SECTIONS)}")
    from energylens import parallel

    all_threads = parallel.num_threads()
    sizes = [n for n in (10**3, 10**4, 10**5, 10**6, 10**7, 10**8) if n <= args.max_rows]
    model = fitted_model()
    result = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if "features" in only:
        result["predict_features"] = [bench_features(model, n, args.repeats, all_threads) for n in sizes]
        _show(result["predict_features"])
    if "df" in only:
        result["predict_df"] = [bench_predict_df(model, n, args.repeats, args.forest_max_rows)
                                for n in sizes if n <= args.df_max_rows]
        result["predict_df_text_columns"] = bench_text_columns(model, min(args.df_max_rows, 10**6), args.repeats)
        print(json.dumps({"predict_df": result["predict_df"], "text": result["predict_df_text_columns"]}, indent=1),
              flush=True)
    if "fit" in only:
        result["fit"] = bench_fit(args.repeats)
    if "busy" in only:
        result["other_core_busy"] = bench_busy(
            model, [n for n in sizes if n <= args.busy_max_rows],
            [n for n in (10**3, 10**4, 10**5, 10**6, 10**7, 10**8) if n <= args.busy_sweep_max_rows], args.repeats,
            all_threads)
    if "memory" in only and args.memory_rows:
        out = subprocess.run([sys.executable, __file__, "--memory-probe", str(args.memory_rows)],
                             capture_output=True, text=True, check=True)
        result["predict_df_memory"] = json.loads(out.stdout.strip().splitlines()[-1])
    result["machine"]["load_average_after"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "predict_features"}, indent=1))
    print(f"wrote {args.json}")


def _show(rows: list[dict]) -> None:
    for r in rows:
        print(f"N={r['rows']:>9}: full {r['ratio_full_vs_numpy']['median']:.1f}x, "
              f"core {r['ratio_core_vs_numpy']['median']:.1f}x, sweep {r['ratio_sweep_vs_numpy']['median']:.1f}x, "
              f"float32 {r['ratio_float32_vs_numpy_float32']['median']:.1f}x, "
              f"all/1 threads {r['ratio_all_threads_vs_1']['median']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
