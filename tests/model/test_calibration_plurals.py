"""The calibration summary `energylens fit --calibrate` prints read 'calibration by model (opt-in): 1 keys' for
a table of one model, '(1 rows)' for a key seen once and '1 more keys with smaller ones'; each count now takes
its noun in the singular for 1."""

from __future__ import annotations

import numpy as np

from energylens.model.calibration import shrunk_calibration


def _describe(keys, top=8) -> str:
    keys = np.array(keys, dtype=object)
    pred = np.full(len(keys), 10.0)
    meas = pred * np.linspace(0.8, 1.3, len(keys))
    return "\n".join(shrunk_calibration("model", keys, meas, pred).describe(top))


def test_one_key_and_one_row():
    text = _describe(["a"] * 4 + ["b"])
    assert "2 keys," in text and "(4 rows)" in text and "(1 row)" in text and "(1 rows)" not in text
    one = _describe(["a"] * 4)
    assert "opt-in): 1 key," in one and "1 keys" not in one, one


def test_one_more_key_than_shown():
    text = _describe(["a", "a", "b", "b", "c", "c"], top=2)
    assert "(the 2 largest offsets; 1 more key with a smaller one)" in text, text
    text = _describe(["a", "a", "b", "b", "c", "c", "d", "d"], top=2)
    assert "(the 2 largest offsets; 2 more keys with smaller ones)" in text, text
