"""A vLLM sweep whose prompt plus output cannot fit the context of a local model folder's config.json is refused
before anything runs: vLLM refuses such a prompt ("longer than the maximum model length") or stops its output at the
context (the unit's check then fails it), so until 2026-12-06 every such unit started vLLM and failed, one by one."""

from __future__ import annotations

import json

import pytest

from energylens.cli.main import main
from energylens.profiling import load_spec
from energylens.profiling.requirements import check_local_models

SPEC = ('[sweep]\nbackend = "{backend}"\n[grid]\nmodels = ["{model}"]\nmax_num_seqs = [1]\n'
        'input_len = {inputs}\noutput_len = {outputs}\n')


def _spec(tmp_path, config, inputs, outputs, backend="vllm"):
    model = tmp_path / "m"
    model.mkdir(exist_ok=True)
    (model / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (model / "config.json").write_text(json.dumps({"model_type": "llama", "num_attention_heads": 2, **config}))
    path = tmp_path / "sweep.toml"
    path.write_text(SPEC.format(backend=backend, model=model, inputs=inputs, outputs=outputs))
    return path


@pytest.mark.parametrize(("inputs", "outputs", "where", "says"), [
    ("[8, 4000]", "[4]", ":6: key 'grid.input_len[1]'",
     "input_len 4000 with output_len 4 (grid.output_len[0]) needs 4004 tokens, more than the 2048-token context"),
    ("[8, 2040]", "[4, 16]", ":6: key 'grid.input_len[1]'",
     "input_len 2040 with output_len 16 (grid.output_len[1]) needs 2056 tokens"),
    ("[{distribution = 'uniform', low = 3000, high = 3500}]", "[4]", ":6: key 'grid.input_len[0]'",
     "input_len uniform(3000,3500) with output_len 4 (grid.output_len[0]) needs at least 3004 tokens"),
])
def test_a_prompt_and_output_past_the_context_are_refused(tmp_path, capsys, inputs, outputs, where, says):
    spec = _spec(tmp_path, {"max_position_embeddings": 2048}, inputs, outputs)
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"]) == 2
    err = capsys.readouterr().err
    assert f"{spec}{where}: {says}" in err, err
    assert f"of '{tmp_path / 'm'}' (max_position_embeddings in its config.json)" in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("config", "inputs", "outputs", "backend"), [
    ({"max_position_embeddings": 2048}, "[2040]", "[8]", "vllm"),             # exactly the context
    ({"max_position_embeddings": 2048, "rope_scaling": {"rope_type": "linear", "factor": 4.0}}, "[8000]", "[8]",
     "vllm"),                                                                  # vLLM scales the context by 4
    ({}, "[100000]", "[8]", "vllm"),                                           # no length in the config
    ({"max_position_embeddings": 2048}, "[{distribution = 'uniform', low = 8, high = 4000}]", "[8]", "vllm"),
    ({"max_position_embeddings": 2048}, "[4000]", "[8]", "transformers"),      # not vLLM's check
])
def test_lengths_that_may_fit_pass(tmp_path, config, inputs, outputs, backend):
    check_local_models(load_spec(_spec(tmp_path, config, inputs, outputs, backend)))
