"""``load_profiles(load_profiles(raw))`` is ``load_profiles(raw)``: a validated frame read again is accepted as it
is. Regression: the schema fills ``active_params_b = params_b x`` the model's active share, so a row at
``params_b``'s lower limit (1e-9, one parameter) got a filled ``active_params_b`` below that same limit (Mixtral
2.8e-10, and 9.99...e-10 for a dense model whose share is 1, by rounding), which the schema then refused on the
re-read: ``column 'active_params_b': must be between 1e-09 and 100,000``. The re-check of a validated frame
(``limits.within_limits``) already kept such a value; the schema now keeps it too (``limits.filled_share``)."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles, tables


def _row(model: str, params_b: float, **extra) -> pd.DataFrame:
    return pd.DataFrame({"model": [model], "params_b": [params_b], "gpu": ["H100"], "tp": [1], "pp": [1],
                         "batch_size": [1.0], "input_tokens": [10.0], "output_tokens": [10.0], "energy_j": [1.0],
                         **{k: [v] for k, v in extra.items()}})


def _load(frame: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_profiles(frame)


@pytest.mark.parametrize("params_b", [1e-9, 2e-9, 1e-9 * (1 + 1e-12), 1e-6, 1e5])
def test_a_validated_frame_loads_again_unchanged_for_every_table_model(params_b):
    refused = []
    for name in tables.models()["name"]:
        once = _load(_row(name, params_b))
        try:
            twice = _load(once)
        except ProfileSchemaError as exc:
            refused.append((name, float(once["active_params_b"].iloc[0]), str(exc).splitlines()[0][-90:]))
            continue
        pd.testing.assert_frame_equal(twice, once)
    assert not refused, refused


def test_a_given_active_params_below_the_limit_is_kept_only_as_a_share_the_fill_could_give():
    assert _load(_row("acme/tiny-moe", 1e-9, active_params_b=5e-10))["active_params_b"].iloc[0] == 5e-10
    for active in (1e-13, 0.5e-9 * 1e-3):  # below a thousandth of params_b: no model's share
        with pytest.raises(ProfileSchemaError, match=r"column 'active_params_b': must be between 1e-09 and 100,000"):
            _load(_row("acme/tiny-moe", 1e-9, active_params_b=active))
    with pytest.raises(ProfileSchemaError, match=r"column 'active_params_b': must be between 1e-09"):
        _load(_row("acme/small", 1.0, active_params_b=1e-10))  # a real-sized row: the limit as it was
