"""A ``compute_precision`` cell naming the fp4 GEMM (``fp4``, ``mxfp4`` or ``nvfp4``: W4A4 on FP4 tensor cores)
prices the GEMMs at the GPU's fp4 peak. It was read through the weight-format alias (bare ``fp4`` -> mxfp4, whose
GEMMs vLLM runs at 16 bit), so docs/profile-schema.md's way to declare fp4 activations gave the bf16 peak: a
gpt-oss row on a B200 at 2.25e15 FLOP/s instead of 9e15."""

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import load_profiles, precision
from energylens.profiles.features import build_features
from energylens.profiles.gpu_table import gpu_spec
from energylens.search.api import bundled_model

ROW = dict(model="openai/gpt-oss-120b", gpu="B200", tp=1, pp=1, batch_size=64, input_tokens=512, output_tokens=256,
           precision="mxfp4")


def _peak(**cells) -> float:
    frame = load_profiles(pd.DataFrame([{**ROW, **cells}]), require_energy=False)
    return float(build_features(frame)["peak_flops_per_s"][0])


@pytest.mark.parametrize("cell", ["fp4", "FP4", "mxfp4", "nvfp4", "MXFP4"])
def test_an_fp4_gemm_cell_gets_the_fp4_peak(cell):
    b200 = gpu_spec("B200")
    assert _peak(compute_precision=cell) == b200.peak_fp4_tflops * 1e12 == 9e15
    assert _peak() == b200.peak_bf16_tflops * 1e12  # no cell: mxfp4 weights compute at bf16 (vLLM's W4A16)


def test_a_gpu_without_fp4_tensor_cores_keeps_its_16_bit_peak():
    assert _peak(gpu="H100", compute_precision="fp4") == gpu_spec("H100").peak_bf16_tflops * 1e12


def test_other_cells_are_their_weight_format_names():
    assert [precision.normalize_compute_precision(v) for v in ("fp4", "NVFP4", "mxfp4", "fp8", "bfloat16", "int4")] \
        == ["fp4", "fp4", "fp4", "fp8", "bf16", "int4"]
    with pytest.raises(ValueError, match="unknown precision 'fp5'"):
        precision.normalize_compute_precision("fp5")


def test_a_candidate_row_prices_it_as_predict_does():
    model = bundled_model()
    rows = pd.DataFrame([{**ROW, "compute_precision": "fp4"}, {**ROW, "compute_precision": "bf16"}])
    r = energylens.search(candidates=rows, energy_model=model, bootstrap=False, top=2)
    predicted = model.predict(rows)
    assert predicted[0] != predicted[1]  # the fp4 row is priced at another peak (and quantises its activations)
    assert np.allclose(np.sort(r.top["energy_j"].to_numpy()), np.sort(predicted), rtol=1e-9)
