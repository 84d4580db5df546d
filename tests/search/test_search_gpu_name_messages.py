"""A GPU name the tables cannot resolve is answered where it came from. Before, `energylens search --gpus A100`
(four A100 parts) was told "Either write the variant in the file, or (2) ... or (1) describe the part with GPU
spec columns in the profile file", on the command line, where there is no file; an unknown name was offered
GPU spec columns in a profile file too, and a candidate table (which takes no such columns) the same."""

import pandas as pd
import pytest

import energylens
from energylens.cli.main import main
from energylens.errors import UnknownGpuError
from energylens.search.api import bundled_model

L8 = "meta-llama/Llama-3.1-8B-Instruct"
KW = dict(input_tokens=512, output_tokens=256, tp=1, max_num_seqs=[8], bootstrap=False)
ARGS = ["search", "--model", L8, "--input-tokens", "512", "--output-tokens", "256", "--tp", "1"]
FILE_ONLY = ("in the file", "profile file", "GPU spec columns", "These rows were run on a CPU")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.json"
    bundled_model().save(path)
    return str(path)


def _cli(model_file, capsys, *args):
    code = main([*ARGS, "--model-file", model_file, *args])
    return code, capsys.readouterr().err


def test_an_ambiguous_name_on_the_command_line_names_the_variants_to_pass(model_file, capsys):
    code, err = _cli(model_file, capsys, "--gpus", "H100,A100")
    assert code == 2
    assert ("GPU name 'A100' given to --gpus (Python: gpus=) is ambiguous: it names several table GPUs (A100-PCIe-40GB, "
            "A100-PCIe-80GB, A100-SXM4-40GB, A100-SXM4-80GB)") in err, err
    assert "Name the one you mean in --gpus (Python: gpus=), e.g. A100-SXM4-40GB, or map the name once" in err, err
    assert not any(s in err for s in FILE_ONLY), err
    # the fix it names works
    assert _cli(model_file, capsys, "--gpus", "H100,A100-SXM4-40GB", "--top", "1")[0] == 0


def test_an_ambiguous_name_in_python_says_the_same():
    with pytest.raises(UnknownGpuError) as info:
        energylens.search(L8, ["H100", "A100-80"], energy_model=bundled_model(), **KW)
    text = str(info.value)
    assert "'A100-80' given to --gpus (Python: gpus=) is ambiguous" in text and "(A100-PCIe-80GB, A100-SXM4-80GB)" in text
    assert "e.g. A100-SXM4-80GB" in text and not any(s in text for s in FILE_ONLY), text


@pytest.mark.parametrize("name, close", [("H1OO", "Close matches: H100-SXM5-80GB."), ("cpu", "No close matches.")])
def test_an_unknown_name_on_the_command_line_offers_what_the_command_line_takes(model_file, capsys, name, close):
    code, err = _cli(model_file, capsys, "--gpus", name)
    assert code == 2
    assert f"unknown GPU {name!r} given to --gpus (Python: gpus=). {close}" in err, err
    assert "pass a user GPU table with --gpu-table FILE (a CSV with the columns of energylens/data/gpus.csv: name, " \
           "hbm_bw_gbs" in err and "or give gpus= an energylens.profiles.tables.GpuSpec" in err, err
    assert not any(s in err for s in FILE_ONLY), err


def test_a_blank_name_names_the_option(model_file, capsys):
    code, err = _cli(model_file, capsys, "--gpus", " ")
    assert code == 2 and "gpus is empty: give at least one value (--gpus)" in err, err
    code, err = _cli(model_file, capsys, "--gpus", "H100", "--model", "")
    assert code == 2 and "models is empty: give at least one value (--model)" in err, err
    with pytest.raises(ValueError, match=r"gpus: item 2 of \['H100', ' '\] is blank; give each a value or drop it"):
        energylens.search(L8, ["H100", " "], energy_model=bundled_model(), **KW)


@pytest.mark.parametrize("alias, gpu", [("h100-sxm", "H100-SXM5-80GB"), ("H100 80GB HBM3", "H100-SXM5-80GB"),
                                        ("nvidia h200", "H200-SXM-141GB"), ("NVIDIA A100-SXM4-80GB", "A100-SXM4-80GB")])
def test_common_spellings_resolve(alias, gpu):
    r = energylens.search(L8, alias, energy_model=bundled_model(), **KW)
    assert r.settings["gpus"] == [gpu] and r.feasible


def _table(tmp_path, gpu):
    path = tmp_path / "configs.csv"
    pd.DataFrame({"model": [L8, L8], "gpu": ["H100", gpu], "tp": 1, "input_tokens": 512, "output_tokens": 256,
                  "batch_size": 8}).to_csv(path, index=False)
    return str(path)


def test_a_candidate_table_names_file_row_and_column_and_takes_no_spec_columns(tmp_path, model_file, capsys):
    path = _table(tmp_path, "A100")
    assert main(["search", "--candidates", path, "--model-file", model_file]) == 2
    err = capsys.readouterr().err
    assert f"{path}: column 'gpu' data row 2: GPU name 'A100' is ambiguous" in err, err
    assert "Write the one you mean in the file (e.g. A100-SXM4-40GB), or map the name once" in err, err
    assert "GPU spec columns" not in err and "--gpus" not in err, err
    assert main(["search", "--candidates", _table(tmp_path, "H1OO"), "--model-file", model_file]) == 2
    err = capsys.readouterr().err
    assert "unknown GPU 'H1OO'. Close matches: H100-SXM5-80GB." in err and "pass a user GPU table" in err, err
    assert "describe it inline" not in err and "gpus=" not in err, err


def test_predict_names_file_row_and_column_and_the_spec_columns_it_takes(tmp_path, model_file, capsys):
    path = _table(tmp_path, "A100")
    assert main(["predict", model_file, path, "-o", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: data row 2 (1-based, header not counted), column 'gpu': GPU name 'A100' is ambiguous" in err, err
    assert "Write the one you mean in the file (e.g. A100-SXM4-40GB)" in err, err
    assert "or describe the part with GPU spec columns in the file under another name" in err, err
    assert "Either write" not in err and "--gpus" not in err, err


def test_the_one_table_gpu_a_name_starts_is_the_first_close_match():
    """'V100' (one V100 in the table): difflib ranked H100-SXM5-80GB first and the V100 third."""
    with pytest.raises(UnknownGpuError, match=r"unknown GPU 'V100' given to --gpus \(Python: gpus=\)\. Close matches: "
                                              r"V100-SXM2-32GB, "):
        energylens.search(L8, "V100", energy_model=bundled_model(), **KW)
    assert energylens.search(L8, "V100-SXM2-32GB", energy_model=bundled_model(), **KW).feasible
