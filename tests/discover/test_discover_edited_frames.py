"""discover's own messages about a frame: the held-out counts' grammar, and a frame edited after it was read."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sympy")

from energylens.discover import backends as be  # noqa: E402
from energylens.discover import search as ds  # noqa: E402
from energylens.profiles.datasets import load_profiles_or_bundled  # noqa: E402


def test_one_of_each_held_out_count_is_singular():
    """'1 TP x PP choices' (and '1 groups', '1 pairs') read as plurals."""
    text = ds.heldout_counts({"top1_groups": 1, "pairs": 1, "parallelism_choices": 1})
    assert text == "held-out scores over 1 group with a choice (Top-1), 1 pair (pairwise), 1 TP x PP choice"
    text = ds.heldout_counts({"top1_groups": 0, "pairs": 2, "parallelism_choices": 4})
    assert text == "held-out scores over 0 groups with a choice (Top-1), 2 pairs (pairwise), 4 TP x PP choices"


def test_a_frame_edited_after_it_was_read_is_named_so(monkeypatch):
    """A frame whose energies were changed after reading was named '<DataFrame read from FILE>' by the target
    check, as if its rows were the file's."""
    monkeypatch.setattr(ds, "select_backend", lambda backend: be.BackendChoice("operon", "test"))
    df = load_profiles_or_bundled("bundled").iloc[10:].copy()
    df["prefill_energy_j"] = df["energy_j"] * 0.1
    df.loc[df.index[[3, 7]], "prefill_energy_j"] = np.nan
    df["energy_j"] = df["energy_j"] * 2.0  # an edit of the measured values
    with pytest.raises(ValueError, match=r"^<DataFrame edited after it was read from .*llm_configs_flat.csv>: target "
                                         r"'prefill' .* data rows 4, 8 of the DataFrame \(1-based positions; index "
                                         r"labels 13, 17\)"):
        ds.discover(df, target="prefill")
