"""A candidate table's override cells are read as the schema reads them (space._canonical validates the combos'
rows once; the search's feature passes then skip the schema): spellings the schema accepts ('Image ', 'FP8',
'Float32') price exactly as their canonical forms and as EnergyModel.predict prices the rows."""

import warnings

import numpy as np
import pandas as pd

import energylens
from energylens.profiles import tables


def _table(modality, ssm, compute) -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["nvidia/NVIDIA-Nemotron-Nano-9B-v2", "meta-llama/Llama-4-Scout-17B-16E-Instruct",
                  "Qwen/Qwen3-30B-A3B"],
        "gpu": ["H100"] * 3, "tp": [1, 8, 2], "precision": ["bf16", "bf16", "fp8"], "batch_size": [64, 32, 16],
        "input_tokens": [1000, 2000, 700], "output_tokens": [800, 300, 500],
        "mamba_ssm_cache_dtype": [ssm, "auto", "auto"], "modality": ["text", modality, "text"],
        "compute_precision": [np.nan, np.nan, compute], "vision_tile_tokens": [np.nan, 144.0, np.nan],
    }, index=["hybrid", "image", "w8a8"])


def _energies(model, df) -> pd.Series:
    r = energylens.search(candidates=df, energy_model=model, top=3, bootstrap=False, gpu_memory_utilization=1.0,
                          runtime_reserve_gib=0, activation_tokens=0)
    assert r.feasible == 3
    return r.top.set_index("candidate")[["energy_j", "ttft_s", "tpot_s", "memory_gib_per_gpu"]].sort_index()


def test_accepted_spellings_price_as_the_canonical_ones(model):
    canonical = _energies(model, _table("image", "float32", "fp8"))
    spelled = _energies(model, _table(" Image ", "Float32", "FP8"))
    pd.testing.assert_frame_equal(spelled, canonical, check_exact=True)
    profile = _table(" Image ", "Float32", "FP8").assign(pp=1, params_b=[tables.model_spec(m).params_b for m in
                                                                          _table("image", "float32", "fp8")["model"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energy = pd.Series(model.predict(profile), index=profile.index).sort_index()
    np.testing.assert_allclose(spelled["energy_j"].to_numpy(), energy.to_numpy(), rtol=1e-12)


def test_every_model_table_row_is_canonical_as_built():
    """space._canonical keeps a table spec's row without the schema: every row, in its checkpoint's format
    and in each weight format, comes out of the schema with the same values."""
    from energylens.profiles.checkpoints import checkpoint_precision
    from energylens.profiles.schema import load_profiles
    from energylens.search.space import canonical_rows, profile_row

    gpu = tables.gpu_spec("H100")
    rows = [profile_row(tables.model_spec(name), gpu, precision, kv)
            for name in tables.models()["name"]
            for precision in dict.fromkeys([checkpoint_precision(name), "bf16", "fp8", "int4", "mxfp4"])
            for kv in ("auto", "fp8")]
    frame = pd.DataFrame(rows).assign(tp=1, pp=1, dp=1, ep=1, batch_size=1.0, input_tokens=1.0, output_tokens=1.0)
    valid = canonical_rows(rows, load_profiles(frame, require_energy=False, fill_architecture=False), range(len(rows)))
    for raw, checked in zip(rows, valid, strict=True):
        assert list(raw) == list(checked)
        for column, value in raw.items():
            if isinstance(value, str):
                assert checked[column] == value, (raw["model"], column)
            else:
                np.testing.assert_equal(float(checked[column]), float(value), err_msg=f"{raw['model']} {column}")
