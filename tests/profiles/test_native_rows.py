"""The native pass of predict(df) on the light path (energylens.profiles.native_rows, cpp/src/row_features.cpp)
against the NumPy features (features.py) and the NumPy prediction path; the native text coder against
pandas.factorize; the native number checks against the schema's rules."""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.model import EnergyModel, LatencyModel
from energylens.model import chunks as _chunks
from energylens.parallel import supported_isas, threads, use_isa
from energylens.profiles import cells, tables
from energylens.profiles import features as _features
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import FEATURE_NAMES, features_of
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import feature_rows, row_inputs

GPUS = ("A100-SXM4-40GB", "H100-SXM5-80GB", "H200-SXM-141GB", "B200", "L40S", "MI300X")
PRECISIONS = ("bf16", "fp16", "fp8", "int8", "int4", "mxfp4", "fp32")


def _one_row_ok(model: str, gpu: str, precision: str) -> bool:
    row = pd.DataFrame({"model": [model], "gpu": [gpu], "precision": [precision], "params_b": [7.0], "tp": [1],
                        "pp": [1], "batch_size": [8.0], "input_tokens": [512.0], "output_tokens": [128.0]})
    light = light_profiles(row, require_energy=False)
    if light is None:
        return False
    try:
        features_of(light, light.gpu_specs, light.model_specs)
    except (ValueError, KeyError):
        return False
    return True


@functools.lru_cache(maxsize=1)
def _triples() -> list[tuple[str, str, str, float]]:
    """(model, GPU, precision, params_b) the NumPy features accept on the light path: every table model,
    so MoE (Mixtral, Qwen3 MoE, gpt-oss mxfp4), hybrid and sliding-window (Gemma, Jamba-like), recurrent
    state and fp8 block-scaled rows are all covered."""
    names = [g for g in GPUS if _known_gpu(g)]
    out = []
    for i, spec in enumerate(tables.models().itertuples()):
        gpu = names[i % len(names)]
        for precision in PRECISIONS[: 2 + i % (len(PRECISIONS) - 1)]:
            if _one_row_ok(spec.name, gpu, precision):
                out.append((spec.name, gpu, precision, float(spec.params_b)))
    return out


def _known_gpu(name: str) -> bool:
    try:
        tables.gpu_spec(name)
    except Exception:  # noqa: BLE001 - a GPU this table version lacks is skipped
        return False
    return True


def _frame(n: int, seed: int, *, precision: bool = True, object_text: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    triples = _triples()
    pick = rng.integers(0, len(triples), n)
    model, gpu, prec, params = (np.array([t[k] for t in triples], dtype=object)[pick] for k in range(4))
    df = pd.DataFrame({
        "model": model, "gpu": gpu, "params_b": params.astype(float) * rng.choice([1.0, 0.5, 2.0], n),
        "tp": rng.choice([1, 2, 4, 8], n), "pp": rng.choice([1, 2, 4], n), "batch_size": rng.uniform(1, 512, n),
        "input_tokens": rng.choice([1.0, 37.0, 512.0, 4096.0, 30000.0], n), "output_tokens": rng.uniform(1, 4000, n),
    })
    # rows across scale-up domains too (tp x pp over the GPU's domain): the native pass prices them
    domain = np.array([tables.gpu_spec(g).domain_gpus() for g in df["gpu"]])
    assert n < 1000 or (df["tp"] * df["pp"] > domain).sum() > n // 10
    if precision:
        df["precision"] = prec
    if object_text:
        df = df.astype({c: object for c in ("model", "gpu", "precision") if c in df})
    return df


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    return EnergyModel(n_starts=1, bootstrap=0).fit(mlenergy_v2())


def _native_features(df: pd.DataFrame) -> dict[str, np.ndarray]:
    light = light_profiles(df, require_energy=False)
    assert light is not None
    ri = row_inputs(light)
    assert ri is not None
    table = _core.row_features(ri.numbers, ri.codes, ri.n_gpu, ri.n_precision, ri.combos, ri.kv_head_replication)
    return dict(zip(FEATURE_NAMES, table, strict=True))


def _numpy_features(df: pd.DataFrame) -> dict[str, np.ndarray]:
    light = light_profiles(df, require_energy=False)
    assert light is not None
    return features_of(light, light.gpu_specs, light.model_specs)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("precision", [True, False])
def test_row_features_equal_numpy_features(seed, precision):
    df = _frame(3000, seed, precision=precision)
    got, want = _native_features(df), _numpy_features(df)
    for name in FEATURE_NAMES:
        if name == "weight_bytes_per_step":  # MoE rows: pow may round differently from NumPy's in the last bit
            np.testing.assert_allclose(got[name], want[name], rtol=1e-14, atol=0, err_msg=name)
        else:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("precision", [True, False])
def test_fit_feature_rows_equal_numpy_features_bit_for_bit(seed, precision):
    """feature_rows (what fit stacks) hands the native code NumPy's MoE touched fraction, so even the MoE
    rows' weight bytes are features.py's bits (every table model, random batch sizes)."""
    df = _frame(3000, seed, precision=precision)
    light = light_profiles(df, require_energy=False)
    stacked = feature_rows(light)
    assert stacked is not None and stacked.shape == (len(FEATURE_NAMES), len(df)) and stacked.flags.c_contiguous
    want = _numpy_features(df)
    moe = (want["moe_layers"] > 0) | (want["experts_per_token"] > 1)
    assert moe.sum() > 100  # MoE rows are there to be checked
    for k, name in enumerate(FEATURE_NAMES):
        np.testing.assert_array_equal(stacked[k], want[name], err_msg=name)
    again = feature_rows(light_profiles(df, require_energy=False))  # the combination table from the cache
    np.testing.assert_array_equal(again, stacked)


@pytest.mark.parametrize("switch,value", [("KV_HEAD_REPLICATION", False), ("MOE_LAUNCH_LAYERS", False),
                                          ("FP8_BLOCK_SCALED", False), ("STATE_TRAFFIC_PER_STEP", 1.0),
                                          ("ACT_QUANT_LAUNCH_LAYERS", 0.0), ("ACT_QUANT_LAUNCH_LAYERS", 0.5),
                                          ("DECODE_WEIGHT_READS", False), ("TOKEN_FLOPS_AND_ENCODERS", False)])
def test_fit_feature_rows_follow_the_ablation_switches(monkeypatch, switch, value):
    df = _frame(1500, 6)
    feature_rows(light_profiles(df, require_energy=False))  # cached under the default switches first
    monkeypatch.setattr(_features, switch, value)
    stacked = feature_rows(light_profiles(df, require_energy=False))
    want = _numpy_features(df)
    for k, name in enumerate(FEATURE_NAMES):
        np.testing.assert_array_equal(stacked[k], want[name], err_msg=name)


def test_row_features_touch_must_be_one_value_per_row():
    light = light_profiles(_frame(20, 1), require_energy=False)
    ri = row_inputs(light)
    with pytest.raises(ValueError, match="touch must be 1-D, one value per row"):
        _core.row_features(ri.numbers, ri.codes, ri.n_gpu, ri.n_precision, ri.combos, True, touch=np.ones(19))


@pytest.mark.parametrize("switch,value", [("KV_HEAD_REPLICATION", False), ("MOE_LAUNCH_LAYERS", False),
                                          ("FP8_BLOCK_SCALED", False), ("STATE_TRAFFIC_PER_STEP", 1.0),
                                          ("ACT_QUANT_LAUNCH_LAYERS", 0.0), ("ACT_QUANT_LAUNCH_LAYERS", 0.5),
                                          ("DECODE_WEIGHT_READS", False), ("TOKEN_FLOPS_AND_ENCODERS", False)])
def test_row_features_follow_the_ablation_switches(monkeypatch, switch, value):
    monkeypatch.setattr(_features, switch, value)
    df = _frame(2000, 5)
    got, want = _native_features(df), _numpy_features(df)
    for name in FEATURE_NAMES:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-14, atol=0, err_msg=name)


def _numpy_path(monkeypatch) -> None:
    monkeypatch.setattr(_chunks, "row_inputs", lambda part: None)


@pytest.mark.parametrize("object_text", [False, True])
def test_predict_native_equals_the_numpy_path(model, monkeypatch, object_text):
    df = _frame(20000, 7, object_text=object_text)
    native = model.predict(df, check_range=False)
    phases = model.predict_phases(df, check_range=False)
    with monkeypatch.context() as m:
        _numpy_path(m)
        numpy_ = model.predict(df, check_range=False)
        numpy_phases = model.predict_phases(df, check_range=False)
    np.testing.assert_allclose(native, numpy_, rtol=1e-12, atol=0)
    assert np.mean(native == numpy_) > 0.9  # bit for bit except rows whose MoE pow rounds differently
    for c in phases.columns:
        np.testing.assert_allclose(phases[c], numpy_phases[c], rtol=1e-12, atol=0, err_msg=c)


def test_latency_predict_native_equals_the_numpy_path(monkeypatch):
    prof = mlenergy_v2()
    latency = LatencyModel(n_starts=1, bootstrap=0).fit(prof)
    df = _frame(5000, 8)
    native = latency.predict(df, check_range=False)
    with monkeypatch.context() as m:
        _numpy_path(m)
        want = latency.predict(df, check_range=False)
    pd.testing.assert_frame_equal(native, want, check_exact=False, rtol=1e-12)


def test_chunked_and_threads_agree_bit_for_bit(model):
    df = _frame(50000, 9)
    whole = model.predict(df, check_range=False)
    np.testing.assert_array_equal(model.predict(df, chunk_rows=7777, check_range=False), whole)
    np.testing.assert_array_equal(model.predict(df, check_range=False, n_threads=1), whole)


def test_every_isa_level_matches_the_numpy_path_at_that_level(model, monkeypatch):
    """The row loop's clones give the same features (no FMA contraction in that file); the evaluator's clones
    differ in rounding as they always have, identically on both paths."""
    df = _frame(20000, 16)
    for isa in supported_isas():
        with use_isa(isa):
            native = model.predict(df, check_range=False)
            with monkeypatch.context() as m:
                _numpy_path(m)
                want = model.predict(df, check_range=False)
        np.testing.assert_allclose(native, want, rtol=1e-12, atol=0, err_msg=isa)
        assert np.mean(native == want) > 0.9, isa


def test_extrapolation_warning_is_the_numpy_paths(model, monkeypatch):
    df = _frame(6000, 10)
    with warnings.catch_warnings(record=True) as native:
        warnings.simplefilter("always")
        model.predict(df, chunk_rows=2500)
    with monkeypatch.context() as m, warnings.catch_warnings(record=True) as numpy_:
        _numpy_path(m)
        warnings.simplefilter("always")
        model.predict(df, chunk_rows=2500)
    assert [str(w.message) for w in native] == [str(w.message) for w in numpy_]
    assert any("outside the fitted data's range" in str(w.message) for w in native)


def test_a_combination_features_py_rejects_takes_the_numpy_path_and_its_error(model, monkeypatch):
    bad = _frame(30, 11)
    bad.loc[17, ["gpu", "precision"]] = ["A10G", "fp8"]  # light accepts it; the GPU has no fp8 peak
    light = light_profiles(bad, require_energy=False)
    assert light is not None and row_inputs(light) is None
    with pytest.raises(ValueError) as native:
        model.predict(bad)
    with monkeypatch.context() as m, pytest.raises(ValueError) as numpy_:
        _numpy_path(m)
        model.predict(bad)
    assert "profile column 'precision'" in str(native.value) and str(native.value) == str(numpy_.value)


def test_rows_features_py_rejects_keep_its_error(model, monkeypatch):
    df = _frame(50, 15)
    df.loc[[3, 7], "input_tokens"] = 0.0  # the schema refuses it, naming the rows (1-based)
    assert light_profiles(df, require_energy=False) is None
    with pytest.raises(ValueError, match=r"'input_tokens': must be > 0 .* data rows 4, 8"):
        model.predict(df)


def test_predict_rows_rejects_codes_out_of_range():
    df = _frame(10, 12)
    ri = row_inputs(light_profiles(df, require_energy=False))
    codes = [ri.codes[0].copy(), ri.codes[1], ri.codes[2]]
    codes[0][4] = 10**6
    with pytest.raises(ValueError, match="model code 1000000 at row 4"):
        _core.predict_rows("energy", ri.numbers, codes, ri.n_gpu, ri.n_precision, ri.combos, np.ones(12))
    with pytest.raises(ValueError, match="model code"):
        _core.used_combos(codes, int(ri.combos.shape[0] // (ri.n_gpu * ri.n_precision)), ri.n_gpu, ri.n_precision)
    with pytest.raises(ValueError, match="params"):
        _core.predict_rows("energy", ri.numbers, ri.codes, ri.n_gpu, ri.n_precision, ri.combos, np.ones(3))
    with pytest.raises(ValueError, match="out0"):
        _core.predict_rows("energy", ri.numbers, ri.codes, ri.n_gpu, ri.n_precision, ri.combos, np.ones(12),
                           out0=np.empty(3))


# ---- text coding -------------------------------------------------------------------------------------

_NAMES = np.array(["a", "ab", "abcdefgh", "abcdefghi", "abcdefgh12345678", "abcdefghX2345678", "abcdefgh123456789",
                   "abcdefgh1234567Z9", "é" * 9, "x" * 40, "x" * 39 + "y", "x" * 20 + "z" * 20, "NVIDIA H100 80GB HBM3",
                   "NVIDIA A100-SXM4-40GB", "🙂 model"], dtype=object)


@pytest.mark.parametrize("kind", ["str", "object", "python_str", "sliced", "chunked"])
def test_text_codes_equal_factorize(kind):
    rng = np.random.default_rng(3)
    values = _NAMES[rng.integers(0, len(_NAMES), 20000)]
    series = {"str": lambda: pd.Series(values, dtype="str"),
              "object": lambda: pd.Series(values, dtype=object),
              "python_str": lambda: pd.Series(values, dtype=pd.StringDtype("python")),
              "sliced": lambda: pd.Series(values, dtype="str").iloc[1234:17001],
              "chunked": lambda: pd.concat([pd.Series(values[:7000], dtype="str"),
                                            pd.Series(values[7000:], dtype="str")], ignore_index=True)}[kind]()
    got = cells.text_codes(series)
    assert got is not None
    codes, uniques = pd.factorize(series)
    np.testing.assert_array_equal(got[0], codes)
    assert list(got[1]) == list(uniques)


@pytest.mark.parametrize("values", [["a", None, "b"], ["a", np.nan], ["a", 1], ["a", b"b"], ["a", "\ud800"]])
def test_text_codes_leave_missing_and_non_text_cells_to_pandas(values):
    assert cells.text_codes(pd.Series(values, dtype=object)) is None


def test_text_codes_of_str_subclasses_are_by_value():
    class Name(str):
        pass

    series = pd.Series([Name("x"), "x", Name("y")], dtype=object)
    codes, uniques = cells.text_codes(series)
    assert codes.tolist() == [0, 0, 1] and uniques == ["x", "y"]


def test_light_path_text_errors_stay_the_full_paths(model):
    df = _frame(20, 13)
    df["model"] = df["model"].astype(object)
    df.loc[5, "model"] = None
    with pytest.raises(ValueError, match="model"):
        model.predict(df)


# ---- number checks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("lower,inclusive,whole,allow_nan", [(1.0, True, True, False), (0.0, False, False, False),
                                                             (0.0, True, False, False), (0.0, False, False, True)])
def test_numbers_ok_is_the_schemas_rule(lower, inclusive, whole, allow_nan):
    rng = np.random.default_rng(4)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.5, -1.0, 2.0, 1e-300])
    for _ in range(300):
        x = rng.uniform(0.5, 10, int(rng.integers(1, 40)))
        if whole:
            x = np.round(x)
        if rng.random() < 0.7:
            x[rng.integers(0, len(x))] = rng.choice(specials)
        finite = np.isfinite(x)
        ok = (x >= lower) if inclusive else (x > lower)
        if whole:
            ok &= x == np.round(np.where(finite, x, 0))
        want = bool(np.all((finite & ok) | (allow_nan & np.isnan(x))))
        assert _core.numbers_ok(x, lower, inclusive, whole=whole, allow_nan=allow_nan) == want, x


def test_threads_do_not_change_the_native_pass(model):
    df = _frame(300000, 14)
    with threads(1):
        one = model.predict(df, check_range=False)
    with threads(2):
        two = model.predict(df, check_range=False)
    np.testing.assert_array_equal(one, two)


def test_code_arrow_columns_takes_int32_and_int64_offsets_and_rejects_bad_buffers():
    data = np.frombuffer(b"abbbcabbb", dtype=np.uint8)
    for kind in (np.int32, np.int64):
        offsets = np.array([0, 1, 4, 5, 6, 9], dtype=kind)  # a, bbb, c, a, bbb
        (codes, values), = _core.code_arrow_columns([[(offsets, data)]])
        assert codes.tolist() == [0, 1, 2, 0, 1] and values == ["a", "bbb", "c"]
    with pytest.raises(ValueError, match="outside the data buffer"):
        _core.code_arrow_columns([[(np.array([0, 20], dtype=np.int64), data)]])
    with pytest.raises(ValueError, match="decrease at row 1"):
        _core.code_arrow_columns([[(np.array([0, 3, 2], dtype=np.int64), data)]])
    with pytest.raises(ValueError, match="int32 or int64"):
        _core.code_arrow_columns([[(np.array([0, 1], dtype=np.float64), data)]])
