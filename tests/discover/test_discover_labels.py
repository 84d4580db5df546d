"""discover renumbers its rows (0..n-1) before building features; a schema error in them names the user's own
index labels, not the renumbered ones."""
import warnings

import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles.datasets import mlenergy_v2

pytest.importorskip("sympy", reason="discover needs the symbolic extra (pip install 'energylens[symbolic]')")
from energylens.discover import search as discover_module  # noqa: E402 (after the optional-extra check)


def test_a_bad_cell_is_named_by_the_frames_own_index_label():
    df = mlenergy_v2().iloc[:40].copy()
    df.index = range(100, 140)
    df.loc[105, "batch_size"] = -3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ProfileSchemaError, match=r"data row 6 of the DataFrame \(1-based position; index label 105\)"):
            discover_module.discover(df, backend="operon", time_budget_s=1)
