"""Two candidate rows that differ only in how a cell is written describe one configuration and are refused as
duplicates, as identical rows are: a modality 'Image' and 'image', 'text' and no modality, a row giving the
model table's own n_layers beside one leaving it blank, a compute precision 'FP8' and 'fp8'. Before, each was a
combination of its own, both rows were ranked at the same energy and shared P(best) with themselves. And a bad
n_layers cell is named by the schema's rule, not as "pp=1, more than the -1 layers"."""

import numpy as np
import pandas as pd
import pytest

from energylens.search.candidates import candidate_space

ROW = dict(gpu="H100", tp=1, batch_size=8, input_tokens=1000, output_tokens=200)
LLAMA, VL = "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-VL-8B-Instruct"


@pytest.mark.parametrize(("first", "second"), [
    (dict(model=VL, modality="Image"), dict(model=VL, modality="image")),
    (dict(model=VL, modality="text"), dict(model=VL)),
    (dict(model=LLAMA, n_layers=32), dict(model=LLAMA, n_layers=np.nan)),
    (dict(model=LLAMA, precision="fp8", compute_precision="FP8"), dict(model=LLAMA, precision="fp8", compute_precision="fp8")),
    (dict(model="nvidia/NVIDIA-Nemotron-Nano-12B-v2", mamba_ssm_cache_dtype="Float32"),
     dict(model="nvidia/NVIDIA-Nemotron-Nano-12B-v2", mamba_ssm_cache_dtype="float32")),
])
def test_rows_written_differently_are_the_same_configuration(first, second):
    df = pd.DataFrame([dict(ROW, model=LLAMA, tp=2), dict(ROW, **first), dict(ROW, **second)])
    with pytest.raises(ValueError, match=r"rows \[1, 2\] \(0-based\) describe the same configuration"):
        candidate_space(df)


def test_rows_that_differ_are_kept_apart():
    df = pd.DataFrame([dict(ROW, model=VL, modality="image"), dict(ROW, model=VL, modality="text"),
                       dict(ROW, model=LLAMA, n_layers=16), dict(ROW, model=LLAMA)])
    space, index = candidate_space(df)
    assert len(set(index.tolist())) == 4 and len(space.combos) == 4


def test_a_bad_n_layers_cell_is_named_by_its_rule():
    df = pd.DataFrame([dict(ROW, model=LLAMA), dict(ROW, model=LLAMA, n_layers=-1)])
    with pytest.raises(ValueError, match=r"column 'n_layers': must be an integer >= 1 in data row 2"):
        candidate_space(df)
