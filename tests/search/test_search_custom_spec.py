"""An explicit architecture (``search(model=ModelSpec(...))``) is priced with everything it gives: a model-table
row copied under a name the table does not know gets the same energy, TTFT, TPOT and memory as the row itself
(hybrid attention layers and recurrent state, sliding windows, MoE, vision encoder), in the engine and in the
NumPy oracle. Before, the feature code looked models up by name and estimated an unknown name as dense from
its basic columns: the Nemotron Nano 12B v2 hybrid's copy was priced 6 % dearer with 40 % more memory."""

import dataclasses

import numpy as np
import pytest

from energylens import _core, search
from energylens.profiles import tables
from energylens.search.api import native_options
from energylens.search.oracle import brute_force
from energylens.search.space import build_space

# (table model, precision searched: the copy's unknown name has no checkpoint format to default to)
MODELS = [("nvidia/NVIDIA-Nemotron-Nano-12B-v2", "bf16"), ("openai/gpt-oss-20b", "mxfp4"),
          ("google/gemma-3-27b-it", "bf16"), ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "bf16"),
          ("Qwen/Qwen3-VL-30B-A3B-Instruct", "bf16"), ("Qwen/Qwen3-30B-A3B", "fp8")]


def _copy(name: str) -> tables.ModelSpec:
    return dataclasses.replace(tables.model_spec(name), name="lab/" + name.split("/")[-1] + "-copy", aliases=())


@pytest.mark.parametrize(("name", "precision"), MODELS)
def test_a_copied_table_row_is_priced_as_the_row(model, name, precision):
    results = []
    for spec in (tables.model_spec(name), _copy(name)):
        res = search(model=[spec], gpus="H100,B200", input_tokens=[300, 3000], output_tokens=[200, 2000],
                     tp=[1, 2, 4], ep=[1], max_num_seqs=[1, 16, 256], precision=precision, top=50,
                     energy_model=model, bootstrap=False)
        frame = res.to_frame()
        assert len(frame) > 0
        results.append(frame.sort_values(["gpu", "tp", "max_num_seqs", "input_tokens"]).reset_index(drop=True))
    table, copy = results
    for column in ("energy_j", "prefill_j", "decode_j", "ttft_s", "tpot_s", "memory_gib_per_gpu"):
        np.testing.assert_array_equal(copy[column].to_numpy(), table[column].to_numpy(), err_msg=column)


def test_the_oracle_prices_the_copy_as_the_engine(model):
    spec = _copy("nvidia/NVIDIA-Nemotron-Nano-12B-v2")
    space = build_space([spec], ["H100"], input_tokens=[500, 5000], output_tokens=[300, 3000], tp=[1, 2],
                        max_num_seqs=[1, 32, 512])
    assert space.model_specs[spec.name] is spec
    engine = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, native_options(),
                                   np.arange(space.size, dtype=np.uint64))
    oracle = brute_force(space, model.theta, model.latency_model.theta, top_k=space.size)["top"].sort_values("index")
    ok = engine.reason < 0
    assert ok.sum() == len(oracle) > 0
    np.testing.assert_allclose(oracle["energy_j"].to_numpy(), engine.energy_j[ok], rtol=1e-12)
    np.testing.assert_allclose(oracle["tpot_s"].to_numpy(), engine.tpot_s[ok], rtol=1e-12)
    np.testing.assert_allclose(oracle["memory_bytes"].to_numpy(), engine.memory_bytes[ok], rtol=1e-12)


def test_a_spec_in_parameters_not_billions_is_named_as_the_spec():
    """params_b = 8.03e9 (parameters for billions) passed the spec's checks and failed in the schema as
    '<DataFrame> ... data row 1', a row the user never wrote; the spec and its field are named now."""
    spec = dataclasses.replace(_copy("meta-llama/Llama-3.1-8B-Instruct"), params_b=8.03e9)
    with pytest.raises(ValueError, match=r"ModelSpec .* params_b is 8030000000.0; .*is it in parameters\? write 8.03"):
        search(spec, "H100", input_tokens=512, output_tokens=256)
