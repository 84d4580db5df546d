"""The runner validates a frame once: a frame :func:`energylens.profiles.load_profiles` validated (what every
``energylens evaluate`` reads) is not validated again for any split or method, although each method gets its
own copy of the rows (docs/evaluation.md, "Method"); and the figures equal a run in which every method's
rows are validated again (an unvalidated frame handed to ``run_evaluation``)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from test_methods import synthetic_profiles
from test_runner import _run

from energylens.profiles import load_profiles, schema


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return synthetic_profiles()


@pytest.fixture(scope="module")
def validated(raw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_profiles(raw)


def _counting(monkeypatch) -> list[int]:
    """Counts the schema's full validations (``_load``, which ``load_profiles`` and ``as_profiles`` run)."""
    calls: list[int] = []
    full = schema._load

    def counted(*args, **kwargs):
        calls.append(1)
        return full(*args, **kwargs)

    monkeypatch.setattr(schema, "_load", counted)
    return calls


def _quiet_run(frame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run(frame, splits=("random", "unseen_model"), **kw)


def test_a_validated_frame_is_not_validated_again_for_any_split_or_method(validated, monkeypatch):
    calls = _counting(monkeypatch)
    res = _quiet_run(validated)
    assert len(res.table) and res.info["n_splits"] > 2
    assert calls == [], f"{len(calls)} full validations of an already validated frame"


def test_the_figures_equal_a_run_that_validates_every_methods_rows(raw, validated, monkeypatch):
    once = _quiet_run(validated)
    calls = _counting(monkeypatch)
    forced = _quiet_run(raw)  # not validated: each method's copy goes through the schema
    assert len(calls) >= forced.info["n_splits"]
    pd.testing.assert_frame_equal(once.table.drop(columns="error"), forced.table.drop(columns="error"))
    assert once.table["error"].fillna("").eq("").all() and forced.table["error"].fillna("").eq("").all()
    pd.testing.assert_frame_equal(once.predictions, forced.predictions)
