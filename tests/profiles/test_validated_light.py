"""A frame load_profiles validated (and its slices) takes the native row pass where its filled cells are the
model table's (energylens.profiles.validated_light): predict on a validated 1e6-row frame was 8-15x the same rows
as a raw table, because every validated chunk went through features.py. The prices are now the raw rows' bit for
bit (before, a MoE row could differ in the last bit: the native pass's pow rounds unlike NumPy's,
tests/profiles/test_native_rows.py), and the feature builder's where a chunk keeps it: on a frame of every kind of
row (MoE, image, a GPU given by spec columns, dp / ep, fp8), on a frame whose filled cells were edited to other
valid values (the builder reads the frame's own; so must predict), and for every column the builder reads."""
from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel, LatencyModel
from energylens.model import base as _base
from energylens.model import chunks as _chunks
from energylens.profiles import features, load_profiles, schema, tables, topology
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import ARCH_LOOKUP
from energylens.profiles.light import _HANDLED
from energylens.profiles.validated_light import validated_light

RAW = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]
_READS = re.compile(r'_col\(df, "(\w+)"\)|df\["(\w+)"\]|"(\w+)" in df\.columns')
TEXT_COLUMNS = {"modality": "image", "mamba_ssm_cache_dtype": "float32", "architecture": "moe",
                "compute_precision": "fp8", "weight_layout": "expert_only", "layer_pattern": "M*", "task": "chat",
                "kv_cache_dtype": "fp8"}


@pytest.fixture(scope="module")
def models() -> tuple[EnergyModel, LatencyModel]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = mlenergy_v2().sample(60, random_state=0)
        return EnergyModel(bootstrap=0, n_starts=1).fit(rows), LatencyModel(bootstrap=0, n_starts=1).fit(rows)


def _raw(n: int, seed: int, mixed: bool) -> pd.DataFrame:
    """n rows of table models on table GPUs; ``mixed``: with image rows, MoE rows on dp / ep, fp8 and a GPU given
    by spec columns (every column given on every row, NaN where it does not apply)."""
    rng = np.random.default_rng(seed)
    specs = [s for s in tables.models().itertuples() if s.params_b > 0 and not s.name.endswith(("-FP8", "-AWQ"))]
    picked = [specs[i] for i in rng.choice(len(specs), 40, replace=False)]
    spec = [picked[i] for i in rng.integers(0, len(picked), n)]
    raw = pd.DataFrame({"model": [s.name for s in spec], "params_b": [float(s.params_b) for s in spec],
                        "gpu": rng.choice(["H100-SXM5-80GB", "A100-SXM4-80GB", "H200-SXM-141GB"], n),
                        "tp": rng.choice([1, 2, 4, 8], n), "pp": rng.choice([1, 1, 2], n),
                        "batch_size": rng.uniform(1, 256, n), "input_tokens": rng.uniform(16, 4096, n),
                        "output_tokens": rng.uniform(16, 2048, n)})
    if not mixed:
        return raw
    moe = np.array([s.architecture == "moe" and s.n_experts > 1 for s in spec])
    raw["ep"] = np.where(moe & (raw["tp"] >= 2) & (rng.random(n) < 0.5), raw["tp"], 1)
    raw["precision"] = np.where(rng.random(n) < 0.2, "fp8", "bf16")
    vision = np.array([s.vision_params_b > 0 if s.vision_params_b == s.vision_params_b else False for s in spec])
    raw["modality"] = np.where(vision & (rng.random(n) < 0.5), "image", "text")
    inline = rng.random(n) < 0.1
    raw.loc[inline, "gpu"] = "Inline-7"
    for col, value in (("gpu_hbm_bw_gbs", 3000.0), ("gpu_tdp_w", 700.0), ("gpu_interconnect_bw_gbs", 900.0),
                       ("gpu_peak_bf16_tflops", 900.0), ("gpu_peak_fp8_tflops", 1800.0)):
        raw[col] = np.where(inline, value, np.nan)
    return raw


def _validated(raw: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_profiles(raw, require_energy=False)


def _builder(monkeypatch, fn):
    """``fn()`` with every validated chunk read by features.py (as before validated_light)."""
    with monkeypatch.context() as m:
        m.setattr(_chunks, "validated_light", lambda part: None)
        return fn()


def _prices(models, frame) -> list[np.ndarray]:
    energy, latency = models
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [energy.predict(frame, chunk_rows=4096), latency.predict(frame, chunk_rows=4096).to_numpy(),
                energy.extrapolated(frame, chunk_rows=4096)]


def _same(a: list[np.ndarray], b: list[np.ndarray], rtol: float = 0.0) -> None:
    for x, y in zip(a, b, strict=True):
        if rtol:  # native pass against features.py: a MoE row's pow may round differently in the last bit
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0)
        else:
            np.testing.assert_array_equal(x, y)


def _as_raw(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as a user's fresh table (no mark): the light path."""
    return pd.DataFrame({c: frame[c].to_numpy() for c in RAW})


def test_a_validated_text_frame_takes_the_native_pass(models, monkeypatch):
    validated = _validated(_raw(20_000, 1, mixed=False))
    assert validated_light(validated) is not None
    builder = _builder(monkeypatch, lambda: _prices(models, validated))
    part = validated.sample(5000, random_state=3)
    expected, expected_part = _prices(models, _as_raw(validated)), _prices(models, _as_raw(part))

    def refused(frame):
        raise AssertionError("features.py ran on a validated text frame")

    monkeypatch.setattr(_base, "build_features", refused)
    got = _prices(models, validated)
    _same(got, expected)
    _same(got, builder, rtol=1e-14)
    _same(_prices(models, part), expected_part)


@pytest.mark.parametrize("mixed", [False, True])
def test_validated_prices_are_the_builders_and_the_raw_rows(models, monkeypatch, mixed):
    raw = _raw(20_000, 2, mixed)
    validated = _validated(raw)
    got = _prices(models, validated)
    _same(got, _prices(models, raw))
    _same(got, _builder(monkeypatch, lambda: _prices(models, validated)), rtol=0.0 if mixed else 1e-14)
    for part in (validated.iloc[3000:15000], validated[validated["batch_size"] > 100], validated.iloc[::7]):
        _same(_prices(models, part), _prices(models, raw.loc[part.index]))


@pytest.mark.parametrize("edit", ["n_layers", "n_experts", "active_params_b", "model", "nan_n_layers"])
def test_an_edited_filled_cell_is_read_as_the_builder_reads_it(models, monkeypatch, edit):
    validated = _validated(_raw(3000, 4, mixed=False))
    rows = validated.index[100:110]
    if edit == "model":  # another valid model: its filled cells stay the first model's (the builder's reading)
        validated.loc[rows, "model"] = "meta-llama/Llama-3.1-70B-Instruct"
    elif edit == "nan_n_layers":  # a blank filled cell: the builder takes the table's, as the native pass does
        validated.loc[rows, "n_layers"] = np.nan
    else:
        validated.loc[rows, edit] = validated.loc[rows, edit] * 0.5 + (1.0 if edit == "n_experts" else 0.0)
    light = validated_light(validated)
    assert (light is not None) == (edit == "nan_n_layers")
    expected = _prices(models, _as_raw(validated)) if light is not None else \
        _builder(monkeypatch, lambda: _prices(models, validated))  # the frame's own cells, as the builder reads them
    _same(_prices(models, validated), expected)


def _columns_the_builder_reads() -> set[str]:
    source = inspect.getsource(features)
    found = {name for groups in _READS.findall(source) for name in groups if name}
    return found | set(ARCH_LOOKUP) | {topology.DOMAIN_COLUMN}


def test_the_scan_finds_the_columns_it_should():
    assert {"compute_precision", "video_frames", "mamba_ssm_cache_dtype", "fp8_weight_block", "modality",
            "n_layers", "active_params_b"} <= _columns_the_builder_reads()


@pytest.mark.parametrize("column", sorted(_columns_the_builder_reads() - _HANDLED - {"model"}))
@pytest.mark.parametrize("value", ["a", "b"])
def test_any_column_the_builder_reads_prices_as_the_builder(models, monkeypatch, column, value):
    validated = _validated(_raw(600, 5, mixed=False))
    if column in TEXT_COLUMNS:
        cell = TEXT_COLUMNS[column] if value == "a" else ("text" if column == "modality" else "auto")
    else:
        cell = 3.0 if value == "a" else 1.0
    frame = validated.assign(**{column: cell})

    def prices():
        try:
            return _prices(models, frame)
        except Exception as exc:  # noqa: BLE001 - the builder's error, which the native pass must give too
            return type(exc)

    got = prices()
    expected = _builder(monkeypatch, prices)
    if isinstance(expected, type):
        assert got is expected
    elif validated_light(frame) is not None:  # the column changes nothing: the raw rows' prices
        _same(got, _prices(models, _as_raw(frame)))
        _same(got, expected, rtol=1e-14)
    else:
        _same(got, expected)


@pytest.mark.parametrize("mixed", [False, True])
def test_a_validated_frame_is_re_checked_once_per_call(models, monkeypatch, mixed):
    """The whole frame is re-checked once; its chunks were each re-checked again by features.py (three re-checks
    of a two-chunk 1e6-row frame, ~0.1 s of its 1.0 s)."""
    validated = _validated(_raw(9000, 6, mixed))
    calls, real = [], schema.still_valid

    def counted(frame, *args):
        calls.append(len(frame))
        return real(frame, *args)

    monkeypatch.setattr(schema, "still_valid", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models[0].predict(validated, chunk_rows=2048)
    assert calls == [9000]


def test_a_frame_validated_again_after_an_edit_keeps_the_re_check_per_chunk(models):
    """A marked frame whose re-check fails is validated again inside predict; that frame's chunks are re-checked
    as before (the trust is for the caller's frame, re-checked as it is): a categorical model column edited to ''
    passes the schema's pass (a categorical's text is not read as blank) but not the re-check of its output, and
    stays the schema's missing-value error, not a price for a model named ''."""
    validated = _validated(_raw(40, 7, mixed=False))
    edited = validated.copy()
    names = edited["model"].astype(object).to_numpy().copy()
    names[3] = ""
    edited["model"] = pd.Series(names, index=edited.index, dtype=object).astype("category")
    edited.attrs = dict(validated.attrs)
    with pytest.raises(ProfileSchemaError) as info:
        models[0].predict(edited, chunk_rows=16)
    assert info.value.column == "model"


def test_an_edited_experts_per_token_without_n_experts_is_read_as_the_builder_reads_it(models, monkeypatch):
    """A frame with ``experts_per_token`` but no ``n_experts`` column: the builder caps k at the table's E (8 for
    Mixtral), so k = 4 is read as 4. It was compared under E = 1 (both sides clamped to 1), a match: the native pass
    then priced the table's k = 2."""
    raw = pd.DataFrame({"model": "mistralai/Mixtral-8x7B-Instruct-v0.1", "params_b": 46.7, "gpu": "H100-SXM5-80GB",
                        "tp": [2, 4, 8, 2], "pp": 1, "batch_size": [8.0, 32.0, 64.0, 128.0],
                        "input_tokens": 512.0, "output_tokens": 256.0})
    validated = _validated(raw)
    assert validated_light(validated) is not None  # as loaded: the table's values, the native pass
    edited = validated.drop(columns="n_experts")
    assert validated_light(edited) is not None  # no edit yet: the table's E is the builder's too
    edited["experts_per_token"] = 4
    assert validated_light(edited) is None
    got = _prices(models, edited)
    _same(got, _builder(monkeypatch, lambda: _prices(models, edited)))
    assert not np.array_equal(got[0], _prices(models, validated)[0])  # priced at k = 4, not the table's k = 2
