"""A row without a ``precision`` (the column absent, or a blank cell) is keyed by the format its checkpoint is
published in (``checkpoint_precision``), as the schema fills it from a file: a plain DataFrame and the same
rows read from a CSV get one latency-calibration key and one factor (a raw frame of
Llama-3.1-405B-Instruct-FP8 rows was keyed bf16 and got factor 1.0 against the file's fp8 0.905)."""

import numpy as np
import pandas as pd
import pytest

from energylens.model.latency_calibration import latency_keys
from energylens.profiles import read_profiles

_MODELS = ["meta-llama/Llama-3.1-405B-Instruct-FP8", "openai/gpt-oss-120b", "Qwen/Qwen3-14B"]


def _frame(precision=None) -> dict:
    frame = {"model": np.array(_MODELS, dtype=object), "gpu": np.array(["H100"] * 3, dtype=object)}
    if precision is not None:
        frame["precision"] = np.array(precision, dtype=object)
    return frame


def _precisions(frame) -> list[str]:
    k, names = latency_keys(frame, "model")
    return [names[i].split(" @ ")[1] for i in k]


@pytest.mark.parametrize("precision", [None, [None, "", "  "]])
def test_a_missing_precision_is_the_checkpoints_format(precision):
    assert _precisions(_frame(precision)) == ["fp8", "mxfp4", "bf16"]


def test_a_given_precision_is_kept():
    assert _precisions(_frame(["bf16", "fp8", None])) == ["bf16", "fp8", "bf16"]


def test_a_frame_and_the_same_rows_from_a_file_get_one_key(tmp_path):
    raw = pd.DataFrame({"model": _MODELS, "params_b": [405.0, 117.0, 14.0], "gpu": "H100", "tp": 8, "pp": 1,
                        "batch_size": 8, "input_tokens": 512, "output_tokens": 256})
    path = tmp_path / "rows.csv"
    raw.to_csv(path, index=False)
    from_file = read_profiles(str(path), require_energy=False)
    k_raw, n_raw = latency_keys(raw, "model")
    k_file, n_file = latency_keys(from_file, "model")
    assert [n_raw[i] for i in k_raw] == [n_file[i] for i in k_file]
