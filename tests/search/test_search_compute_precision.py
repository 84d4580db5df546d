"""A search result shows the GEMM precision each configuration was priced at (``compute_precision``): a weight-only
8-bit checkpoint (``...quantized.w8a16``, ``-GPTQ-Int8``) keeps int8 weights and is priced at 16-bit compute,
which its label ("int8") did not say, in the DataFrame, the JSON and the CLI table. The column is the
features' rule (energylens.search.compute): checked against the peak FLOP/s the engine's values carry."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.cli.main import main
from energylens.model import EnergyModel
from energylens.profiles import precision, read_profiles, tables
from energylens.search.api import bundled_model
from energylens.search.compute import combo_compute_precisions
from energylens.search.space import COMBO_FIELDS, build_space

W8A16 = "neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w8a16"
GPTQ = "Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8"
LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"
AXES = dict(input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[32])


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0, seed=0).fit(read_profiles("bundled").sample(50, random_state=0))


@pytest.mark.parametrize("models, gpus, formats, want", [
    ([W8A16], ["H100"], None, ["bf16"]),
    ([GPTQ], ["H100"], None, ["bf16"]),
    ([LLAMA], ["H100", "A100-SXM4-80GB", "V100-SXM2-32GB"], ["bf16", "fp8", "int4"], None),
    (["deepseek-ai/DeepSeek-V3"], ["H100", "B200"], None, None),
    (["openai/gpt-oss-120b"], ["H100", "B200"], None, ["bf16", "bf16"]),
    ([LLAMA], ["B200"], ["nvfp4", "mxfp4", "fp8"], None),
])
def test_column_is_the_precision_the_features_priced(models, gpus, formats, want):
    space = build_space(models, gpus, precision=formats, **AXES)
    got = combo_compute_precisions(space.profile_rows, space.model_specs)
    peak = space.combo_values[:, COMBO_FIELDS.index("peak_flops_per_s")]
    for combo, compute, p in zip(space.combos, got, peak, strict=True):
        assert precision.gemm_peak_flops(tables.gpu_spec(combo.gpu), compute) == p, (combo, compute)
    if want is not None:
        assert list(got) == want


def test_fp8_on_a_gpu_without_fp8_tensor_cores_is_bf16():
    space = build_space([LLAMA], ["H100", "A100-SXM4-80GB"], precision=["fp8"], **AXES)
    assert list(combo_compute_precisions(space.profile_rows, space.model_specs)) == ["fp8", "bf16"]


def test_a_weight_only_checkpoint_shows_its_16_bit_compute(model):
    result = energylens.search(W8A16, "H100", energy_model=model, bootstrap=False, **AXES)
    row = result.top.iloc[0]
    assert (row["precision"], row["compute_precision"]) == ("int8", "bf16")
    assert list(result.top.columns[result.top.columns.get_loc("precision"):][:2]) == ["precision", "compute_precision"]
    assert list(result.pareto_tpot["compute_precision"]) == ["bf16"] * len(result.pareto_tpot)
    doc = json.loads(result.to_json())
    assert doc["top"][0]["compute_precision"] == "bf16" and doc["top"][0]["precision"] == "int8"
    header, first = result.table().splitlines()[:2]
    at = header.index(" compute ") + 1
    assert first[:at].rstrip().endswith("int8 TP1 PP1 DP1 B32") and first[at:at + len("compute")].strip() == "bf16"
    same = energylens.search(LLAMA, "H100", energy_model=model, bootstrap=False, **AXES)
    assert same.top["compute_precision"].tolist() == ["bf16"]
    assert "compute" not in same.table().splitlines()[0].split()  # the label's format says it: no column


def test_candidate_table_rows_show_their_compute(model):
    table = pd.DataFrame({"model": [W8A16, LLAMA, LLAMA], "gpu": ["H100", "H100", "A100-SXM4-80GB"], "tp": [1, 1, 1],
                          "precision": ["int8", "fp8", "fp8"], "batch_size": [32.0] * 3,
                          "input_tokens": [512.0] * 3, "output_tokens": [256.0] * 3})
    top = energylens.search(candidates=table, energy_model=model, bootstrap=False).top.sort_values("candidate")
    assert top["compute_precision"].tolist() == ["bf16", "fp8", "bf16"]
    given = table.assign(compute_precision=["FP8", "", np.nan])  # a row's own column wins, canonicalised
    top = energylens.search(candidates=given, energy_model=model, bootstrap=False).top.sort_values("candidate")
    assert top["compute_precision"].tolist() == ["fp8", "fp8", "bf16"]


def test_cli_table_and_json_show_it(tmp_path, capsys):
    path = tmp_path / "model.json"
    bundled_model().save(path)
    args = ["search", "--model", W8A16, "--gpus", "H100", "--input-tokens", "512", "--output-tokens", "256",
            "--tp", "1", "--max-num-seqs", "32", "--model-file", str(path)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "configuration" in line)
    row = lines[lines.index(header) + 1]
    at = header.index(" compute ") + 1
    assert " int8 TP1 " in row[:at] and row[at:at + len("compute")].strip() == "bf16"
    assert main([*args, "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["top"][0]
    assert (top["precision"], top["compute_precision"]) == ("int8", "bf16")
