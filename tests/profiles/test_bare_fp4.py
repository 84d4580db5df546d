"""A bare ``fp4`` in a user's own profile table (energylens.profiles.bare_fp4): NVFP4 or MXFP4 by the row's
checkpoint, as the ML.ENERGY v3 reader reads it, not always the alias's mxfp4; a guess warned once, naming the
models; one checkpoint look-up per distinct model."""

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.profiles import bare_fp4, load_profiles
from energylens.profiles.bare_fp4 import AmbiguousPrecisionWarning
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.features import build_features
from energylens.profiles.gpu_table import gpu_spec
from energylens.search.api import bundled_model

pytestmark = pytest.mark.filterwarnings("ignore:EnergyModel.predict")  # B200 rows: extrapolations of v2

NV_FP4 = "nvidia/Llama-3.3-70B-Instruct-FP4"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def _rows(models, precisions, gpu="B200") -> pd.DataFrame:
    return pd.DataFrame({"model": models, "gpu": gpu, "tp": 1, "pp": 1, "batch_size": 32.0,
                         "input_tokens": 512.0, "output_tokens": 256.0, "precision": precisions})


def test_bare_fp4_takes_the_format_of_the_rows_checkpoint():
    df = _rows([NV_FP4, "openai/gpt-oss-120b", "RedHatAI/Llama-3.3-70B-Instruct-NVFP4A16", NV_FP4, NV_FP4],
               ["fp4", " FP4", "Fp-4", "mxfp4", "nvfp4"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", AmbiguousPrecisionWarning)  # every checkpoint here says its format
        got = load_profiles(df, require_energy=False)["precision"].tolist()
    assert got == ["nvfp4", "mxfp4", "nvfp4a16", "mxfp4", "nvfp4"]  # a spelled-out format is never changed


def test_a_guessed_fp4_is_mxfp4_with_one_warning_naming_the_models():
    df = _rows([LLAMA, NV_FP4, "acme/unknown-7b", LLAMA], ["fp4", "fp4", "FP4", "fp4"]).assign(params_b=7.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = load_profiles(df, require_energy=False, source="runs.csv")["precision"].tolist()
    assert got == ["mxfp4", "nvfp4", "mxfp4", "mxfp4"]
    ambiguous = [str(w.message) for w in caught if w.category is AmbiguousPrecisionWarning]
    assert len(ambiguous) == 1
    assert ambiguous[0].startswith("runs.csv: precision 'fp4' names two formats")
    assert "2 model(s): 'acme/unknown-7b', 'meta-llama/Llama-3.1-8B-Instruct'" in ambiguous[0]
    assert NV_FP4 not in ambiguous[0] and "write nvfp4 or mxfp4" in ambiguous[0]


def test_bare_fp4_is_priced_as_w4a4_nvfp4_on_blackwell():
    """The user's nvidia/*-FP4 row on B200 was W4A16 at the bf16 peak (the alias's mxfp4); it is NVFP4, W4A4 at
    the fp4 peak, exactly as a row that spells nvfp4 out, on the full path and on predict's light path."""
    fp4, nv = _rows([NV_FP4], ["fp4"]), _rows([NV_FP4], ["nvfp4"])
    a, b = build_features(fp4), build_features(nv)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert a["peak_flops_per_s"][0] == gpu_spec("B200").peak_fp4_tflops * 1e12  # 9e15, not the bf16 2.25e15
    model = bundled_model()
    np.testing.assert_array_equal(model.predict(fp4), model.predict(nv))                # raw tables
    np.testing.assert_array_equal(model.predict(fp4), model.predict(nv.drop(columns="precision")))  # light path fill
    assert model.predict(fp4)[0] != model.predict(_rows([NV_FP4], ["mxfp4"]))[0]


def test_bare_fp4_is_resolved_per_distinct_model_not_per_row(monkeypatch):
    calls = []
    monkeypatch.setattr(bare_fp4, "checkpoint_precision", lambda m: calls.append(m) or checkpoint_precision(m))
    df = _rows([NV_FP4, "openai/gpt-oss-20b"] * 500, "fp4")
    got = load_profiles(df, require_energy=False)["precision"]
    assert sorted(calls) == sorted([NV_FP4, "openai/gpt-oss-20b"])
    assert got.tolist() == ["nvfp4", "mxfp4"] * 500
