"""Close matches against the bundled model table are gathered once: every load of a table naming a model the table
lacks rebuilt the table's names and aliases (itertuples) and ran difflib again for each such model, about half of a
compare run on synthetic models. The answers must stay those of the uncached search."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from energylens.profiles import load_profiles, tables
from energylens.profiles.tables import EstimatedArchitectureWarning

QUERIES = ("org/m2", "llama-3-8b", "Qwen3 30B", "acme/unknown-7b", "", "mixtral", "kimi k2", "zzzzzz")


def _unknown_table() -> pd.DataFrame:
    return pd.DataFrame({"model": ["org/m2", "acme/unknown-7b"], "params_b": [13.0, 7.0], "gpu": "H100-SXM5-80GB",
                         "tp": 1, "batch_size": 8.0, "input_tokens": 512.0, "output_tokens": 128.0,
                         "energy_j": 90.0})


@pytest.mark.parametrize("n", [3, 5])
def test_the_cached_answer_is_the_uncached_search(n):
    frame = tables._model_frame()
    copy = frame.copy()  # not the bundled frame itself: searched afresh
    for query in QUERIES:
        assert tables._close_matches(query, frame, n) == tables._close_matches(query, copy, n), query


def test_the_model_table_is_read_once_over_many_loads(monkeypatch):
    calls = []
    real = tables._candidates
    monkeypatch.setattr(tables, "_candidates", lambda frame: calls.append(len(frame)) or real(frame))
    tables._model_candidates.cache_clear()
    tables._bundled_close_matches.cache_clear()
    for _ in range(3):
        with pytest.warns(EstimatedArchitectureWarning, match="close: ") as rec:
            load_profiles(_unknown_table())
    assert calls == [len(tables._model_frame())]
    assert len({str(r.message) for r in rec}) == 1


def test_a_caller_changing_the_list_changes_no_later_answer():
    frame = tables._model_frame()
    first = tables._close_matches("org/m2", frame, 3)
    assert first
    first.append("not a model")
    first[0] = "changed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tables._close_matches("org/m2", frame, 3) == tables._close_matches("org/m2", frame.copy(), 3)
