"""A differential audit of the two paths a raw table may take (docs/performance.md, "Two paths for a table"):
random raw tables (models of the model table, MoE / hybrid / fp8 checkpoints and unknown names; GPUs known
and unknown; every count, batch and length at and around the plausibility limits, NaN, inf, 0, negative,
fractional and huge; precision and KV-cache dtype aliases, case and spaces; int / float / object / str /
categorical dtypes; extra columns) checked against the schema:

1. the light path accepts a table only where ``load_profiles`` takes it unchanged (no error, no warning,
   no cell rewritten), and then its features equal ``build_features`` of the validated frame bit for bit;
2. where the native row pass takes the light rows, ``predict`` equals ``predict`` on the validated frame bit
   for bit;
3. where the light path declines, ``predict`` raises what ``load_profiles`` raises (its type), or predicts
   what the validated frame predicts.

The validated-frame re-check (an edit after validation) is audited in test_validated_edits_differential.py.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from feature_parity import assert_same_features

from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features, features_of
from energylens.profiles.light import light_profiles
from energylens.profiles.limits import MAX_BATCH, MAX_GPU_COUNT, MAX_TOKENS
from energylens.profiles.native_rows import row_inputs

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: (name, params_b): dense, MoE, hybrid, fp8 / mxfp4 / int4 checkpoints (by table and by name), an alias, a
#: case variant, a name with a space, unknown names.
MODELS = (("meta-llama/Meta-Llama-3.1-8B-Instruct", 8.03), ("meta-llama/Meta-Llama-3.1-70B-Instruct", 70.552),
          ("Qwen/Qwen3-30B-A3B", 30.532), ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.703),
          ("openai/gpt-oss-20b", 20.908), ("deepseek-ai/DeepSeek-V3", 671.026),
          ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", 8.89), ("Qwen/Qwen3-8B-FP8", 8.19),
          ("moonshotai/Kimi-K2-Thinking", 1026.408), ("llama-3.1-8b", 8.03),
          ("META-LLAMA/Meta-Llama-3.1-8B-Instruct", 8.03), (" Qwen/Qwen3-8B", 8.19), ("acme/unknown-7b", 7.0),
          ("google/gemma-2-9b-it", 9.24), ("microsoft/Phi-3.5-MoE-instruct", 41.872))
GPUS = ("A100-SXM4-40GB", "H100-SXM5-80GB", "H200", "H100 SXM", "MI300X", "L4", "B200", "h100", " A100",
        "Unknown-GPU-9000", "V100-SXM2-32GB")
_NEAR = 1 + 1e-9
COUNTS = (1, 1, 2, 4, 8, 3, 16, 0, -1, 1.5, np.nan, np.inf, 2**10, MAX_GPU_COUNT, MAX_GPU_COUNT + 1, 1e300)
BATCHES = (1.0, 64.0, 0.5, 1e-6, 1e-6 / _NEAR, 1e-7, MAX_BATCH, MAX_BATCH * _NEAR, 0.0, -1.0, np.nan, np.inf,
           1e-310, 1e300, 7.25)
TOKENS = (1.0, 512.0, 0.999, 0.0, -5.0, 1.5, MAX_TOKENS, MAX_TOKENS + 1, np.nan, np.inf, 1e300, 1e-310, 3000.0)
PARAMS = (1e-9, 1e-10, 1e5, 1.1e5, 0.0, np.nan, np.inf, 7.0, -3.0)
ENERGY = (100.0, 1e-9, 1e-10, 1e12, 1e13, np.nan, 0.0, -1.0, np.inf, 3.5)
PRECISIONS = ("bf16", "fp8", "FP8", " fp8", "float16", "fp16", "int4", "mxfp4", "awq", "nvfp4", "", None,
              "bogus", "BF16", "w8a8")
KV_DTYPES = ("auto", "fp8", "fp16", "bf16", "fp32", "float16", "AUTO", " auto", "fp8_e4m3", "", None, "bogus")
EXTRAS = ("notes", "task", "n_gpus", "architecture", "Precision", "tpot_s", "ttft_s", "gpu_hbm_gb",
          "active_params_b", "scale_up_domain_gpus", "modality", "avg_power_w")
EXTRA_CELLS = (1.0, 2.0, np.nan, "x", "text", "dense", "", 0.5, 100.0)


def _typed(values: list, draw, text: bool) -> object:
    """``values`` as a column of a dtype a user's frame might hold."""
    kinds = ["object", "category"] + (["str", "string"] if text else ["float64", "float32", "int64", "str"])
    kind = draw(st.sampled_from(kinds))
    if kind == "object":
        return pd.Series(values, dtype=object)
    if kind == "category":
        return pd.Series(values, dtype=object).astype("category")
    if kind in ("str", "string"):
        strs = [v if isinstance(v, str) or v is None else str(v) for v in values]
        if kind == "string":
            return pd.Series(strs, dtype="string")
        return pd.Series(strs, dtype=object).astype("str") if None not in strs else pd.Series(strs, dtype=object)
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if kind == "int64":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all() and (np.abs(arr) < 2**62).all()):
            return pd.Series(arr)
        return pd.Series(arr.astype(np.int64))
    if kind == "float32":
        with np.errstate(over="ignore"):
            return pd.Series(arr.astype(np.float32))
    return pd.Series(arr)


def _column(draw, n: int, pool: tuple, plain, text: bool = False, name: str = "") -> object:
    """A column of n cells: ``plain`` (a valid value), or in a noisy column cells drawn from ``pool``
    (boundary values, valid and not); mostly a plain NumPy array (text: object), else another dtype. How
    noisy a table is was drawn once (:func:`raw_tables`), so that clean tables are common too."""
    noisy = name == _NOISE[1] or draw(st.integers(0, 7)) < _NOISE[0]
    values = [draw(st.sampled_from(pool)) if noisy and draw(st.booleans()) else plain for _ in range(n)]
    if draw(st.integers(0, 7)) >= _NOISE[0]:
        return pd.Series(values, dtype=object) if text else np.array(values, dtype=np.float64)
    return _typed(values, draw, text)


#: The table being drawn: out of 8, how likely a column is noisy or of another dtype; and the one column that is
#: noisy whatever the level (a clean table with one spoilt column is the light path's hardest case).
_NOISE: list = [0, ""]


_SPOILT = ("tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j", "dp", "ep", "precision",
           "kv_cache_dtype", "")


def _params(draw, sizes: list[float]) -> object:
    """The models' own sizes, sometimes with a boundary value in, as float64 or another dtype."""
    values = [p if draw(st.integers(0, 7)) >= _NOISE[0] else draw(st.sampled_from(PARAMS)) for p in sizes]
    return np.array(values, dtype=np.float64) if draw(st.integers(0, 7)) >= _NOISE[0] else _typed(values, draw, False)


@st.composite
def raw_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 5))
    _NOISE[:] = [draw(st.sampled_from((0, 0, 0, 1, 2, 3))), draw(st.sampled_from(_SPOILT))]
    picks = [draw(st.sampled_from(MODELS[:8])) if draw(st.integers(0, 3)) else draw(st.sampled_from(MODELS))
             for _ in range(n)]
    gpu = [draw(st.sampled_from(GPUS[:3])) if draw(st.integers(0, 3)) else draw(st.sampled_from(GPUS))
           for _ in range(n)]
    cols: dict[str, object] = {
        "model": _typed([m for m, _ in picks], draw, text=True),
        "params_b": _params(draw, [p for _, p in picks]),
        "gpu": _typed(gpu, draw, text=True),
        "tp": _column(draw, n, COUNTS, draw(st.sampled_from((1, 2, 4, 8))), name="tp"),
        "batch_size": _column(draw, n, BATCHES, 32.0, name="batch_size"),
        "input_tokens": _column(draw, n, TOKENS, 1024.0, name="input_tokens"),
        "output_tokens": _column(draw, n, TOKENS, 256.0, name="output_tokens"),
    }
    if _NOISE[1] == "pp" or draw(st.integers(0, 2)):  # optional since 2026-12-06: absent in a third of the tables
        cols["pp"] = _column(draw, n, COUNTS, 1, name="pp")
    if _NOISE[1] == "energy_j" or draw(st.booleans()):
        cols["energy_j"] = _column(draw, n, ENERGY, 120.0, name="energy_j")
    if _NOISE[1] == "dp" or draw(st.booleans()):
        cols["dp"] = _column(draw, n, COUNTS, draw(st.sampled_from((1, 2))), name="dp")
    if _NOISE[1] == "ep" or draw(st.booleans()):
        cols["ep"] = _column(draw, n, COUNTS, draw(st.sampled_from((1, 2, 8))), name="ep")
    if _NOISE[1] == "precision" or draw(st.booleans()):
        cols["precision"] = _column(draw, n, PRECISIONS, draw(st.sampled_from(("bf16", "fp8"))), True,
                                    "precision")
    if _NOISE[1] == "kv_cache_dtype" or draw(st.booleans()):
        cols["kv_cache_dtype"] = _column(draw, n, KV_DTYPES, draw(st.sampled_from(("auto", "fp8"))), True,
                                         "kv_cache_dtype")
    for extra in draw(st.lists(st.sampled_from(EXTRAS), max_size=2, unique=True)) if draw(st.booleans()) else ():
        cols[extra] = [draw(st.sampled_from(EXTRA_CELLS)) for _ in range(n)]
    frame = pd.DataFrame({c: (v.to_numpy() if isinstance(v, pd.Series) and v.dtype == object else v)
                          for c, v in cols.items()})
    order = draw(st.permutations(list(frame.columns)))
    return frame[list(order)]


_MODEL: list[EnergyModel] = []


def _model() -> EnergyModel:
    if not _MODEL:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _MODEL.append(EnergyModel(bootstrap=0, n_starts=1).fit(mlenergy_v2().sample(60, random_state=0)))
    return _MODEL[0]


def _schema(raw: pd.DataFrame, *, strict: bool):
    """load_profiles(raw) (require_energy False): the frame, or the exception it raised; ``strict``: a
    warning is raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore")
        try:
            return load_profiles(raw, require_energy=False)
        except Exception as exc:  # noqa: BLE001 - compared by type
            return exc


def _unchanged(raw: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Every cell of ``raw`` the validated ``frame`` holds too is the same value there (no rewrite)."""
    for c in raw.columns:
        if c not in frame.columns:
            continue
        got, want = frame[c].to_numpy(), pd.Series(raw[c]).to_numpy()
        if got.dtype.kind in "iuf":
            np.testing.assert_array_equal(got.astype(np.float64), np.asarray(want, dtype=np.float64), err_msg=c)
        else:
            assert [str(v) for v in got] == [str(v) for v in want], c


def check_light_against_schema(raw: pd.DataFrame) -> None:
    if "energy_j" in raw.columns and light_profiles(raw, require_energy=True) is not None:  # what fit takes
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_profiles(raw)
    light = light_profiles(raw, require_energy=False)
    if light is None:
        return
    frame = _schema(raw, strict=True)
    assert isinstance(frame, pd.DataFrame), f"light path accepted what the schema refuses or warns about: {frame!r}"
    _unchanged(raw, frame)
    got = features_of(light, light.gpu_specs, light.model_specs)
    want = build_features(frame)
    assert_same_features(got, want)
    if row_inputs(light) is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (an extrapolation warning: the same on both paths)
            np.testing.assert_array_equal(_model().predict(raw), _model().predict(frame))


def _predicted(configs) -> object:
    """``predict(configs)``, or the exception it raised (warnings ignored)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _model().predict(configs)
        except Exception as exc:  # noqa: BLE001 - compared by type
            return exc


def check_declined_error_parity(raw: pd.DataFrame) -> None:
    """A table the light path declines: predict raises the schema's error where load_profiles refuses it,
    and otherwise predicts (or fails) as predict on the validated frame does."""
    if light_profiles(raw, require_energy=False) is not None:
        return
    frame = _schema(raw, strict=False)
    got = _predicted(raw)
    want = frame if isinstance(frame, Exception) else _predicted(frame)
    if isinstance(want, Exception) or isinstance(got, Exception):
        assert type(got) is type(want), (got, want)
        if isinstance(frame, Exception):
            assert str(got) == str(frame)  # the schema's message, word for word
    else:
        np.testing.assert_array_equal(got, want)


_SETTINGS = settings(max_examples=int(os.environ.get("AUDIT_EXAMPLES", 150)), deadline=None,
                     suppress_health_check=list(HealthCheck), derandomize=not os.environ.get("AUDIT_EXAMPLES"))


@_SETTINGS
@given(raw_tables())
def test_the_light_path_accepts_only_what_the_schema_keeps(raw):
    check_light_against_schema(raw)


@_SETTINGS
@given(raw_tables())
def test_a_declined_table_predicts_or_fails_as_the_schema_decides(raw):
    check_declined_error_parity(raw)


def _one_row(**cells) -> pd.DataFrame:
    row = {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "params_b": 8.03, "gpu": "A100-SXM4-40GB", "tp": 1,
           "pp": 1, "batch_size": 32.0, "input_tokens": 1024.0, "output_tokens": 256.0, **cells}
    return pd.DataFrame({c: [v] for c, v in row.items()})


@pytest.mark.parametrize("precision", ["BF16", "FP8", "Fp8", "INT4", "MXFP4"])
def test_a_precision_in_another_case_takes_the_full_path(precision):
    """Regression (found by this audit): the light path took ``BF16`` as ``bf16``, a cell the schema rewrites
    (docs/performance.md lists it among what goes to the full path)."""
    raw = _one_row(precision=precision)
    assert light_profiles(raw, require_energy=False) is None
    assert load_profiles(raw, require_energy=False)["precision"].tolist() == [precision.lower()]
    check_declined_error_parity(raw)
