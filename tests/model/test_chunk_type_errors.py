"""A table predicted in several chunks (energylens.model.chunks) validates the whole table again on a validation error,
so that the error names every bad row of the table, not only those of the chunk that met it. That fallback caught every
TypeError: one raised by a bug in energylens' own chunk pass went through a validation of the whole table first
(seconds on 1e6 rows), and where a later chunk held a bad value, that chunk's ProfileSchemaError was raised in the
bug's place. Now only the validation's own errors take the fallback: ValueError, KeyError and the mapping's mistyped
value (configs.MistypedValueError, a TypeError); any other TypeError propagates as it was raised."""

import warnings

import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel, chunks
from energylens.model.configs import MistypedValueError
from energylens.profiles.datasets import mlenergy_v2

REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="A100-SXM4-40GB", tp=1, batch_size=64, input_tokens=512,
               output_tokens=256)


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(60))


@pytest.fixture
def whole_table_checks(monkeypatch) -> list:
    """The whole-table validations the chunk loop runs (its fallback calls chunks.load_configs)."""
    calls = []

    def counted(configs, **kwargs):
        calls.append(len(configs))
        return real(configs, **kwargs)

    real = chunks.load_configs
    monkeypatch.setattr(chunks, "load_configs", counted)
    return calls


@pytest.fixture(params=["light", "features_py"])
def chunk_pass(request, monkeypatch) -> str:
    """Which pass the chunks take: the light path's native one (chunks.row_inputs, where these requests go), or the
    schema and features.py (the model's _columns, where a chunk goes that the light path declines). Both, explicitly:
    the bug below was planted in row_inputs alone, so where the rows left the light path (a full-suite run of
    2026-12-07) nothing raised and the first two tests failed ("DID NOT RAISE"; ProfileSchemaError) though each
    passed alone."""
    if request.param == "features_py":
        monkeypatch.setattr(chunks, "light_profiles", lambda *a, **k: None)
    return request.param


def _bug_in_second_chunk(monkeypatch) -> None:
    """A TypeError from energylens' own code in the second chunk's pass (a stand-in for a bug), whichever pass it
    takes: the native rows (chunks.row_inputs) or the feature columns (the model's _columns)."""
    seen = []

    def buggy(real):
        def call(*args):
            seen.append(1)
            if len(seen) == 2:
                raise TypeError("unsupported operand type(s): a bug inside energylens")
            return real(*args)
        return call

    monkeypatch.setattr(chunks, "row_inputs", buggy(chunks.row_inputs))
    monkeypatch.setattr(EnergyModel, "_columns", buggy(EnergyModel._columns))


def test_an_unrelated_type_error_propagates_without_a_whole_table_validation(model, monkeypatch, whole_table_checks,
                                                                              chunk_pass):
    _bug_in_second_chunk(monkeypatch)
    with pytest.raises(TypeError, match="a bug inside energylens") as info:
        model.predict([REQUEST] * 6, chunk_rows=2)
    assert not isinstance(info.value, MistypedValueError)
    assert whole_table_checks == []  # was [6]: the whole list validated again before the bug was raised


def test_a_later_chunks_bad_value_does_not_stand_in_for_the_bug(model, monkeypatch, chunk_pass):
    # the bug meets chunk 2 first; chunk 3 holds tp=0. The fallback's whole-table validation raised tp's
    # ProfileSchemaError, and the TypeError was never seen.
    _bug_in_second_chunk(monkeypatch)
    with pytest.raises(TypeError, match="a bug inside energylens"):
        model.predict([REQUEST] * 5 + [dict(REQUEST, tp=0)], chunk_rows=2)


def test_a_validation_error_still_names_rows_of_the_whole_table(model, whole_table_checks, chunk_pass):
    with pytest.raises(ProfileSchemaError) as info:
        model.predict([REQUEST] * 3 + [dict(REQUEST, tp=0)] * 3, chunk_rows=2)
    assert "requests 4, 5, 6 of 6" in str(info.value), str(info.value)  # not "requests 2, 3 of 3" (a chunk)
    assert whole_table_checks == [6]


def test_a_mistyped_value_is_still_named_in_every_chunk(model, whole_table_checks, chunk_pass):
    rows = [dict(REQUEST, tp="2")] + [REQUEST] * 4 + [dict(REQUEST, batch_size="64")]
    with pytest.raises(MistypedValueError) as info:  # a TypeError, as before
        model.predict(rows, chunk_rows=2)
    text = str(info.value)
    assert "request 1 of 6: key 'tp'" in text and "request 6 of 6: key 'batch_size'" in text, text
    assert isinstance(info.value, TypeError) and whole_table_checks == [6]
