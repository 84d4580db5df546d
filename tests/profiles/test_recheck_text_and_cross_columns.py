"""A validated frame whose text cells or cross-column counts were edited afterwards (profiles/recheck.py): before
2026-12-05 the re-check looked at the numbers only, so ``modality="Image"`` predicted as a text row,
``model=""`` and ``ep=2`` on a dense row predicted, a ``tp`` edited alone kept its stale ``n_gpus`` and
predicted, and ``precision="fp7"`` failed deep in the features with no row named. Now every such edit sends the
frame through the schema again: a spelling it accepts is rewritten (``Image`` -> ``image``) and predicts as the
schema's own frame does, anything else is the schema's ``ProfileSchemaError`` naming the column and row."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_paths_differential import _model, _predicted, raw_tables
from test_validated_edits_differential import _SETTINGS, _afresh, _same_prediction, _validated

from energylens.errors import ProfileSchemaError
from energylens.profiles import read_profiles, schema
from energylens.profiles.limits import MAX_GPU_COUNT
from energylens.profiles.recheck import CHOICES, still_valid

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_profiles("bundled")


def _edit(frame: pd.DataFrame, column: str, value: object, row: int = 1) -> pd.DataFrame:
    """The first five rows of ``frame`` with one cell set (attrs kept, as pandas keeps them)."""
    out = frame.head(5).copy()
    if isinstance(value, str) or value is None:
        out[column] = out[column].astype(object)
    out.loc[out.index[row], column] = value
    out.attrs = dict(frame.attrs)
    return out


def test_the_choices_are_the_schemas():
    assert CHOICES == {"precision": set(schema.PRECISIONS), "kv_cache_dtype": set(schema.KV_CACHE_DTYPES),
                       "modality": set(schema.MODALITIES), "architecture": set(schema.ARCHITECTURES)}


def test_an_unedited_frame_and_its_selections_stay_on_the_fast_path(bundled):
    assert still_valid(bundled, MAX_GPU_COUNT)
    for part in (bundled.head(1), bundled.sample(50, random_state=1), bundled[bundled["tp"] > 1], bundled.iloc[::-1]):
        assert still_valid(part, MAX_GPU_COUNT)
    for column in ("model", "gpu", "precision", "modality", "architecture", "task"):
        for dtype in ("category", "object"):
            edited = bundled.astype({column: dtype})
            edited.attrs = dict(bundled.attrs)
            assert still_valid(edited, MAX_GPU_COUNT), (column, dtype)


@pytest.mark.parametrize(("column", "value", "named"), [
    ("precision", "fp7", "precision"), ("kv_cache_dtype", "fp9", "kv_cache_dtype"), ("modality", "audio", "modality"),
    ("model", "", "model"), ("model", np.nan, "model"), ("gpu", "   ", "gpu"), ("architecture", "sparse", "architecture"),
    ("ep", 2, "ep"), ("n_gpus", 8, "n_gpus"), ("tp", "doubled", "n_gpus")])
def test_an_edit_the_schema_refuses_is_its_error_naming_column_and_row(bundled, column, value, named):
    """ep 2 on a dense row; n_gpus no longer tp * pp * dp; tp doubled alone (n_gpus and dp keep the old count)."""
    if value == "doubled":
        value = int(bundled["tp"].iloc[1]) * 2
    edited = _edit(bundled, column, value)
    assert not still_valid(edited, MAX_GPU_COUNT)
    with pytest.raises(ProfileSchemaError, match=r"edited after it was read") as err:
        _model().predict(edited)
    assert err.value.column == named and err.value.rows == [1], (err.value.column, err.value.rows, str(err.value))
    assert "data row 2 of the DataFrame" in str(err.value)


@pytest.mark.parametrize(("column", "value", "canonical"), [
    ("precision", "BF16", "bf16"), ("precision", " bfloat16", "bf16"), ("modality", "Image", "image"),
    ("kv_cache_dtype", "FP8", "fp8"), ("architecture", "Dense", "dense"), ("gpu", " H100 ", "H100"),
    ("model", "meta-llama/Meta-Llama-3.1-8B-Instruct ", "meta-llama/Meta-Llama-3.1-8B-Instruct")])
def test_a_spelling_the_schema_rewrites_predicts_as_the_canonical_value(bundled, column, value, canonical):
    edited = _edit(bundled, column, value)
    assert not still_valid(edited, MAX_GPU_COUNT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(_model().predict(edited), _model().predict(_edit(bundled, column, canonical)))


def test_a_missing_precision_takes_the_checkpoints_format_as_on_a_first_read(bundled):
    edited = _edit(bundled, "precision", None)
    assert not still_valid(edited, MAX_GPU_COUNT)
    _same_prediction(edited, _afresh(edited))


def test_modality_image_edited_in_predicts_an_image_row(bundled):
    """The silent case: 'Image' was read as a text row (the features compare with 'image')."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = _model().predict(bundled.head(5))
        image = _model().predict(_edit(bundled, "modality", "Image"))
    assert image[1] != text[1] and np.array_equal(np.delete(image, 1), np.delete(text, 1))


#: Values a user may write into a text column: canonical, other spellings the schema rewrites, unknown, blank.
TEXT_EDITS = {
    "precision": ("bf16", "fp8", "BF16", " fp8", "bfloat16", "awq", "fp7", "", None, np.nan, 16),
    "kv_cache_dtype": ("auto", "fp8", "AUTO", "float16", "fp8_e4m3", "fp9", "", None),
    "modality": ("text", "image", "Image", " video", "audio", "", None),
    "architecture": ("dense", "moe", "hybrid", "MoE", "sparse", "", None),
    "model": ("meta-llama/Meta-Llama-3.1-70B-Instruct", " Qwen/Qwen3-8B", "acme/unknown-7b", "", None, 3.0),
    "gpu": ("H100", " H100", "h100", "A100-SXM4-40GB", "Unknown-GPU-9000", "", None),
    "task": ("chat", "", "  ", None, 1.0),
}


def check_text_edit(frame: pd.DataFrame, column: str, row: int, value: object, dtype: str) -> None:
    """A text cell edited: ``predict`` raises what the schema raises on the edited frame read afresh (type and
    column), or predicts what that frame predicts; a frame the re-check keeps is one the schema leaves as it is."""
    edited = frame.copy()
    cells = edited[column].astype(object).to_numpy().copy()
    cells[row] = value
    edited[column] = pd.Series(cells, index=edited.index, dtype=object)
    if dtype != "object":
        edited[column] = edited[column].astype(dtype)
    edited.attrs = dict(frame.attrs)
    fresh = _afresh(edited)
    if isinstance(fresh, Exception):
        assert not still_valid(edited, MAX_GPU_COUNT), f"the re-check keeps an edit the schema refuses: {fresh}"
        got = _predicted(edited)
        assert type(got) is type(fresh), (got, fresh)
        if isinstance(fresh, ProfileSchemaError):
            assert got.column == fresh.column, (got, fresh)
        return
    if still_valid(edited, MAX_GPU_COUNT):  # kept as it is: the schema rewrites nothing in that column
        np.testing.assert_array_equal(fresh[column].astype(object).to_numpy(), edited[column].astype(object).to_numpy())
    _same_prediction(edited, fresh)


@st.composite
def text_edits(draw):
    frame = _validated(draw(raw_tables()))
    assume(frame is not None and isinstance(_afresh(frame), pd.DataFrame))
    column = draw(st.sampled_from(sorted(TEXT_EDITS)))
    return (frame, column, draw(st.integers(0, len(frame) - 1)), draw(st.sampled_from(TEXT_EDITS[column])),
            draw(st.sampled_from(("object", "category"))))


@_SETTINGS
@given(text_edits())
def test_a_text_edit_after_validation_meets_the_schemas_decision(edit):
    check_text_edit(*edit)
