"""Text cells given as bytes (a NumPy 'S' array, an HDF5 or Arrow binary column turned into a frame) were read as
their repr: model "b'meta-llama/Llama-3.1-8B-Instruct'", a model the table does not know, so with params_b its
architecture was estimated (one warning naming the repr) and without it the row was refused; the Parquet reader
already decoded a binary column as UTF-8. A DataFrame's bytes cells in model, gpu, task and the choice columns are
now decoded the same way."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from energylens.profiles import load_profiles

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_bytes_cells_read_as_their_text():
    text = pd.DataFrame({"model": [LLAMA] * 2, "gpu": ["H100"] * 2, "tp": [1, 2], "batch_size": [8.0, 16.0],
                         "input_tokens": [512.0] * 2, "output_tokens": [256.0] * 2, "energy_j": [1.0, 2.0],
                         "precision": ["BF16"] * 2, "task": ["chat"] * 2})
    raw = text.copy()
    for col in ("model", "gpu", "precision", "task"):
        raw[col] = np.array(text[col].tolist(), dtype="S")
    assert isinstance(raw["model"].iloc[0], bytes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no EstimatedArchitectureWarning for "b'meta-llama/...'"
        got = load_profiles(raw)
    pd.testing.assert_frame_equal(got, load_profiles(text))
