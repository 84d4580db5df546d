"""A candidate table of model-table rows skips the schema's full pass (candidates._valid_rows): the combos'
rows it gives are those the full pass gives, value and type, for every model-table row in its checkpoint's
format and others, on a bundled and a registered GPU; and a table the light path declines still gets the
full pass's errors."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.profiles import tables
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.search import candidates as cand
from energylens.search.candidates import candidate_space


def _table():
    names = list(tables.models()["name"])
    rows = [(n, p) for n in names for p in dict.fromkeys([checkpoint_precision(n), "bf16", "fp8"])]
    return pd.DataFrame({"model": [n for n, _ in rows], "gpu": ["H100"] * len(rows), "tp": 1,
                         "precision": [p for _, p in rows], "batch_size": 8.0,
                         "input_tokens": np.linspace(100, 4000, len(rows)), "output_tokens": 256.0})


def _rows(df, monkeypatch, light: bool):
    with monkeypatch.context() as m:
        if not light:
            m.setattr(cand, "light_profiles", lambda *a, **k: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return candidate_space(df)[0].profile_rows


def _same(a, b):
    assert list(a) == list(b)
    for c in a:
        assert type(a[c]) is type(b[c]), c
        assert a[c] == b[c] or (isinstance(a[c], float) and math.isnan(a[c]) and math.isnan(b[c])), c


def test_light_rows_equal_the_full_pass(monkeypatch):
    df = _table()
    calls = []
    real = cand.light_profiles
    monkeypatch.setattr(cand, "light_profiles", lambda *a, **k: calls.append(1) or real(*a, **k))
    light = _rows(df, monkeypatch, True)
    monkeypatch.setattr(cand, "light_profiles", real)
    full = _rows(df, monkeypatch, False)
    assert calls and len(light) == len(full) > 50
    assert real(pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "gpu": ["H100"], "tp": [1.0],
                              "batch_size": [1.0], "input_tokens": [5.0], "output_tokens": [5.0]}),
                require_energy=False) is not None  # the light path is taken for such rows
    for a, b in zip(light, full, strict=True):
        _same(a, b)


@pytest.mark.parametrize("cell, match", [("input_tokens", "input_tokens"), ("gpu", "gpu")])
def test_declined_tables_get_the_full_pass_errors(cell, match):
    df = pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "gpu": ["H100"], "tp": [1],
                       "batch_size": [8.0], "input_tokens": [512.0], "output_tokens": [64.0]})
    df[cell] = [1e12] if cell == "input_tokens" else ["NoSuchGpu"]
    with pytest.raises(Exception, match=match):
        candidate_space(df)
