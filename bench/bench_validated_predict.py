"""``EnergyModel.predict`` on a validated frame (what ``read_profiles`` / ``mlenergy_v2()`` return, 37
columns) against the same rows as a user's freshly read 8-column table (the light path), and the feature
build of the validated frame through :class:`energylens.profiles.frame_columns.FrameColumns` against the
pandas path it replaced (``features_of`` reading the DataFrame itself), in the same run; and one
data / expert-parallel row (Qwen3-30B-A3B, tp 2, dp 2, ep 4, an fp8 KV cache) as a raw table, which takes the
light path since 2026-12-05, against the same row with an ``n_gpus`` column, which keeps it on the full path
(the schema on every call, as every dp / ep row did before); and that row as a dict (a scheduler's request),
which takes the light path since 2026-12-06, against the schema pass a dict took before, then predict; and the
smallest request (no params_b, no pp: the model table's count and 1) on the light path against the same request
with a blank params_b, which takes the full path every such request took before.

``--concat`` runs only the concatenations of validated frames (1e5 rows of the bundled table): predict on
``pd.concat`` of frames read from one source (pandas keeps the schema mark), from two sources (pandas drops
differing attrs, the mark with them) and of validated and raw rows (no mark), each as a ratio to the same rows
as a fresh 8-column table, and to a frame validated by ``load_profiles``, in the same run, sampled in
alternation (text rows only: the 8 columns
drop an image row's modality); it prints and writes nothing.

``--slices`` runs only the selections of a validated frame (1e5 and 1e6 text rows of the bundled table, sampled):
the validation itself, then per selection (``iloc`` half, a boolean mask, a ``.loc`` label range, ``sample``)
whether it keeps the mark, the re-check alone (``as_profiles``) and ``predict``, against the same rows as a fresh
8-column table validated on the way (medians of 3); it prints and writes nothing.

``--check [V3_CSV]`` compares, bit for bit, what predict and LatencyModel.predict give a validated frame with the
features.py path (before), the same frame unmarked (validated again) and its rows as a raw 12-column table (text
rows): the bundled table, its text rows as 8 columns validated, an ML.ENERGY v3 export where given (its text rows of
non-hybrid models too) and 1e5 synthetic rows (tests/profiles/test_validated_light.py's tables: 40 table models;
and with image rows, ep, fp8 and a GPU given by spec columns); it prints and writes nothing.

Every mode also prices the validated frames on the path they took before 2026-12-07 (``before``: every chunk
through features.py, re-checked again per chunk; :func:`features_py_path`), in the same run.

Medians of 15 samples (a sample of a call shorter than 2 ms repeats it and divides). Writes
bench/results/validated_predict.json.

    python bench/bench_validated_predict.py
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.model import EnergyModel, LatencyModel
from energylens.model import chunks as _chunks
from energylens.model.configs import load_configs
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features, features_of
from energylens.profiles.mlenergy_v3 import mlenergy_v3
from energylens.profiles.schema import as_profiles, load_profiles
from energylens.profiles.validated_light import validated_light

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_public import sample  # noqa: E402  (the benches' shared sampler)

RAW = ("model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens")
OUT = Path(__file__).resolve().parent / "results" / "validated_predict.json"


@contextlib.contextmanager
def features_py_path():
    """predict as before 2026-12-07: a validated chunk never takes the native row pass (features.py reads it) and
    features.py re-checks each chunk again."""
    light, checked = _chunks.validated_light, _chunks.checked_columns
    _chunks.validated_light, _chunks.checked_columns = (lambda part: None), (lambda part: part)
    try:
        yield
    finally:
        _chunks.validated_light, _chunks.checked_columns = light, checked


def before(fn):
    """``fn`` on the path of :func:`features_py_path`."""
    def call():
        with features_py_path():
            return fn()
    return call


def median_seconds(fn, repeats: int = 15) -> float:
    """bench_public.sample's median (a sample of a call shorter than 2 ms repeats it and divides)."""
    return sample(fn, repeats)["median_s"]


def concatenations(model: EnergyModel, data: pd.DataFrame, n: int = 100_000, repeats: int = 7) -> None:
    """predict on concatenated validated frames against the same ``n`` rows as a fresh 8-column table (see the
    module docstring): medians of ``repeats`` samples, one call of each frame per round. Text rows only: the 8
    columns drop an image row's modality and image tokens, which a validated frame prices (printed)."""
    image = (data["modality"] != "text").to_numpy()
    eight = pd.DataFrame({c: data[c].to_numpy() for c in RAW})
    shift = np.abs(model.predict(data)[image] / model.predict(eight)[image] - 1)
    print(f"{image.sum()} image rows as 8 columns: energy {shift.max() * 1e2:.0f} % off the validated frame's at most")
    data = data[~image]
    reps = -(-n // len(data))
    one_source = pd.concat([data] * reps, ignore_index=True).iloc[:n]
    a, b = data.copy(), data.copy()
    a.attrs["source"], b.attrs["source"] = "a.csv", "b.csv"  # two files' frames: attrs differ
    two_sources = pd.concat([a, b] * (reps // 2 + 1), ignore_index=True).iloc[:n]
    fresh = pd.DataFrame({c: one_source[c].to_numpy() for c in RAW})
    with_raw = pd.concat([one_source.iloc[:-len(data)], fresh.iloc[-len(data):]], ignore_index=True)
    frames = {"fresh 8-column table": fresh, "validated by load_profiles": load_profiles(one_source, require_energy=False),
              "concat, one source (marked)": one_source, "concat, two sources (mark dropped)": two_sources,
              "concat, validated + raw (no mark)": with_raw}
    frames["validated, before 2026-12-07"] = frames["validated by load_profiles"]
    frames["concat, one source, before"] = one_source
    expected = model.predict(fresh)
    times: dict[str, list[float]] = {k: [] for k in frames}
    for _ in range(repeats + 1):  # the first round warms up
        for name, frame in frames.items():
            path = features_py_path() if "before" in name else contextlib.nullcontext()
            with path:
                t0 = time.perf_counter()
                got = model.predict(frame)
                times[name].append(time.perf_counter() - t0)
            assert np.allclose(got, expected, rtol=1e-12, atol=0), name
    base = float(np.median(times["fresh 8-column table"][1:]))
    for name, ts in times.items():
        t = float(np.median(ts[1:]))
        marked = frames[name].attrs.get("schema_version") is not None
        print(f"{n} rows, {name:36s} {t * 1e3:8.1f} ms ({t / base:4.1f}x the fresh table; mark {marked})")


def checks(v3_csv: str | None) -> None:
    """The comparisons of ``--check`` (see the module docstring), printed."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "profiles"))
    import test_validated_light as tables  # (the test's synthetic tables: tests/ is no package)

    data = mlenergy_v2()
    rows = data.sample(60, random_state=0)
    energy, latency = EnergyModel(bootstrap=0, n_starts=1).fit(rows), LatencyModel(bootstrap=0, n_starts=1).fit(rows)

    def prices(frame):
        return np.concatenate([energy.predict(frame), latency.predict(frame).to_numpy().ravel()])

    def unmarked(frame):
        out = frame.copy()
        out.attrs = {}
        return out

    cases = {"bundled table (file)": data,
             "its text rows as 8 columns, validated": load_profiles(tables._as_raw(data[data["modality"] == "text"]),
                                                                    require_energy=False)}
    if v3_csv:
        v3 = mlenergy_v3(v3_csv)
        cases["v3 export"] = v3
        cases["v3 text rows, non-hybrid"] = v3[(v3["modality"] == "text") & (v3["architecture"] != "hybrid")]
    cases["1e5 synthetic text rows"] = tables._validated(tables._raw(100_000, 11, False))
    cases["1e5 synthetic mixed rows"] = tables._validated(tables._raw(100_000, 12, True))
    twelve = [*RAW, "precision", "ep", "dp", "kv_cache_dtype"]
    for name, frame in cases.items():
        got, old = prices(frame), before(lambda f=frame: prices(f))()
        line = (f"{name}: {len(frame)} rows, native pass {validated_light(frame) is not None}; equal to features.py "
                f"{np.array_equal(got, old)} (largest relative difference {np.nanmax(np.abs(got / old - 1)):.1e}), "
                f"to the frame validated again {np.array_equal(got, prices(unmarked(frame)))}")
        if not any(c.startswith("gpu_") for c in frame.columns):
            text = np.tile((frame["modality"] == "text").to_numpy(), 4)
            raw = pd.DataFrame({c: frame[c].to_numpy() for c in twelve})
            line += f", to the raw rows (text) {np.array_equal(got[text], prices(raw)[text])}"
        print(line)


def selections(model: EnergyModel, data: pd.DataFrame, sizes=(100_000, 1_000_000), repeats: int = 3) -> None:
    """Selections of a validated frame (see the module docstring): medians of ``repeats`` calls, printed."""
    def median(fn) -> float:
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    text = data[data["modality"] == "text"]
    for n in sizes:
        raw = pd.DataFrame({c: text[c].to_numpy() for c in RAW}).sample(n, replace=True, random_state=1)
        raw = raw.reset_index(drop=True)
        t0 = time.perf_counter()
        validated = load_profiles(raw, require_energy=False)
        assert np.array_equal(model.predict(validated), model.predict(raw))
        print(f"{n} rows: load_profiles {time.perf_counter() - t0:.3f} s; predict on it "
              f"{median(lambda v=validated: model.predict(v)):.3f} s (before: "
              f"{median(before(lambda v=validated: model.predict(v))):.3f} s), on the raw table "
              f"{median(lambda r=raw: model.predict(r)):.3f} s")
        cuts = {"iloc[:n/2]": lambda v: v.iloc[: len(v) // 2], "mask batch_size > 100": lambda v: v[v["batch_size"] > 100],
                ".loc[label range]": lambda v: v.loc[v.index[len(v) // 4]: v.index[3 * len(v) // 4]],
                "sample(n/2)": lambda v: v.sample(len(v) // 2, random_state=0)}
        for name, cut in cuts.items():
            part = cut(validated)
            fresh = pd.DataFrame({c: part[c].to_numpy() for c in RAW})
            assert np.array_equal(model.predict(part), model.predict(fresh)), name
            print(f"  {name:22s} {len(part):8d} rows, mark {part.attrs.get('schema_version') is not None}: re-check "
                  f"{median(lambda p=part: as_profiles(p, require_energy=False)) * 1e3:6.1f} ms, predict "
                  f"{median(lambda p=part: model.predict(p)):.3f} s (before: "
                  f"{median(before(lambda p=part: model.predict(p))):.3f} s); the same rows as a fresh table "
                  f"{median(lambda f=fresh: model.predict(f)):.3f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concat", action="store_true", help="only the concatenations (prints, writes nothing)")
    parser.add_argument("--slices", action="store_true",
                        help="only the selections of a validated frame (prints, writes nothing)")
    parser.add_argument("--check", nargs="?", const="", metavar="V3_CSV",
                        help="only the bit-for-bit comparisons of validated frames (prints, writes nothing)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0, n_starts=1).fit(data.sample(50, random_state=0))
    if args.check is not None:
        checks(args.check or None)
        return
    if args.concat:
        concatenations(model, data)
        return
    if args.slices:
        selections(model, data)
        return
    rows = []
    for n in (1, 50, len(data)):
        validated = data.iloc[:n]
        raw = pd.DataFrame({c: validated[c].to_numpy() for c in RAW})  # a user's table: no validated marker
        frame = as_profiles(validated, require_energy=False).reset_index(drop=True)
        t_valid = median_seconds(lambda v=validated: model.predict(v))
        t_before = median_seconds(before(lambda v=validated: model.predict(v)))
        t_raw = median_seconds(lambda r=raw: model.predict(r))
        # (as features.py prices them, to a MoE row's last bit: the raw rows differ, the file gives active_params_b)
        assert np.allclose(model.predict(validated), before(lambda v=validated: model.predict(v))(), rtol=1e-14, atol=0)
        t_columns = median_seconds(lambda v=validated: build_features(v))
        t_frame = median_seconds(lambda f=frame: features_of(f))
        rows.append({"rows": n, "predict_validated_ms": t_valid * 1e3, "predict_validated_before_ms": t_before * 1e3,
                     "predict_raw_ms": t_raw * 1e3, "validated_over_raw": t_valid / t_raw, "features_frame_columns_ms": t_columns * 1e3,
                     "features_pandas_frame_ms": t_frame * 1e3, "features_speedup": t_frame / t_columns})
        r = rows[-1]
        print(f"{n:4d} rows: predict validated {r['predict_validated_ms']:.3f} ms (before: "
              f"{r['predict_validated_before_ms']:.3f} ms), raw {r['predict_raw_ms']:.3f} ms "
              f"({r['validated_over_raw']:.1f}x); features via FrameColumns {r['features_frame_columns_ms']:.3f} ms "
              f"against the pandas frame {r['features_pandas_frame_ms']:.3f} ms ({r['features_speedup']:.1f}x faster)")
    dp_ep = pd.DataFrame({"model": ["Qwen/Qwen3-30B-A3B"], "params_b": [30.5], "gpu": ["H100"], "tp": [2], "pp": [1],
                          "dp": [2], "ep": [4], "kv_cache_dtype": ["fp8"], "batch_size": [64.0],
                          "input_tokens": [512.0], "output_tokens": [256.0]})
    full = dp_ep.assign(n_gpus=4)  # a derived column: the full path
    assert np.array_equal(model.predict(dp_ep), model.predict(full))
    parallel = {"light_ms": median_seconds(lambda: model.predict(dp_ep)) * 1e3,
                "full_path_ms": median_seconds(lambda: model.predict(full)) * 1e3}
    print(f"one dp 2 / ep 4 row: light path {parallel['light_ms']:.3f} ms, full path {parallel['full_path_ms']:.3f} ms "
          f"({parallel['full_path_ms'] / parallel['light_ms']:.1f}x)")
    request = dp_ep.iloc[0].to_dict()  # a scheduler's request as a dict: the light path since 2026-12-06
    schema_first = lambda: model.predict(load_configs(request, require_energy=False))  # noqa: E731 (its old path)
    assert np.array_equal(model.predict(request), schema_first())
    mapping = {"dict_ms": median_seconds(lambda: model.predict(request)) * 1e3,
               "schema_then_predict_ms": median_seconds(schema_first) * 1e3}
    print(f"the same row as a dict: {mapping['dict_ms']:.3f} ms, through the schema first (the path a dict took "
          f"before 2026-12-06) {mapping['schema_then_predict_ms']:.3f} ms "
          f"({mapping['schema_then_predict_ms'] / mapping['dict_ms']:.1f}x)")
    # the smallest request a scheduler sends: no params_b (the model table's count) and no pp (1); light path
    # since 2026-12-06, against the same request with a blank params_b, which takes the full path it took before
    minimal = {"model": "meta-llama/Llama-3.1-8B-Instruct", "gpu": "H100", "tp": 1, "batch_size": 64,
               "input_tokens": 512, "output_tokens": 256}
    blank = dict(minimal, params_b=None)
    assert np.array_equal(model.predict(minimal), model.predict(blank))
    minimal_row = {"light_ms": median_seconds(lambda: model.predict(minimal)) * 1e3,
                   "full_path_ms": median_seconds(lambda: model.predict(blank)) * 1e3}
    print(f"a request without params_b / pp as a dict: {minimal_row['light_ms']:.3f} ms, on the full path (blank "
          f"params_b; every such request before 2026-12-06) {minimal_row['full_path_ms']:.3f} ms "
          f"({minimal_row['full_path_ms'] / minimal_row['light_ms']:.1f}x)")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"python": sys.version.split()[0], "rows": rows, "dp_ep_row": parallel,
                               "dict_row": mapping, "minimal_request": minimal_row}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
