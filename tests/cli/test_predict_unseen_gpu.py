"""energylens predict with a model fitted on A100 and H100 rows, on rows of other GPUs: the output had no column
saying which rows are on a GPU the model never saw (the stderr note alone, naming no specification: an H200 row is
within the feature ranges' factor, so ``extrapolated`` is False there). The output now has ``unseen_gpu`` (NA for a
model file that records no GPUs), and the note names, per GPU, which specifications lie outside the fitted GPUs'."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.errors import UnseenGpuWarning
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j", "tpot_s"]
CONFIGS = """model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,H100,1,1,64,200,300
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,H200,1,1,64,200,300
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,L40S,1,1,64,200,300
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,NVIDIA A100-SXM4-40GB,1,1,64,200,300
"""


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unseen")
    rows = mlenergy_v2()
    rows = rows[rows["model"].str.contains("Llama-3.1-(?:8|70)B")][COLUMNS]
    rows.to_csv(folder / "own.csv", index=False)
    assert main(["fit", str(folder / "own.csv"), "-o", str(folder / "own.json")]) == 0
    (folder / "configs.csv").write_text(CONFIGS)
    return folder


def test_the_output_flags_rows_on_unseen_gpus_and_the_note_names_their_specs(fitted, capsys):
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        assert main(["predict", str(fitted / "own.json"), str(fitted / "configs.csv"), "-o",
                     str(fitted / "p.csv")]) == 0
    out = pd.read_csv(fitted / "p.csv")
    assert out["unseen_gpu"].tolist() == [False, True, True, False]
    assert out["extrapolated"].tolist() == [False, False, True, False]  # the H200 row: within the factor (the L40S's
    # PCIe link is not)
    err = capsys.readouterr().err
    assert ("note: data rows 2, 3 (1-based) are on GPUs the model was not fitted on (column unseen_gpu; it was "
            "fitted on A100-SXM4-40GB, H100-SXM5-80GB): H200-SXM-141GB: 1 row(s); memory bandwidth 4800 GB/s above "
            "the fitted 1555-3350; memory 141 GB above the fitted 40-80") in err, err
    assert "L40S: 1 row(s); peak fp8 733 TFLOP/s below the fitted 1979; memory bandwidth 864 GB/s below" in err, err
    assert not [w for w in got if issubclass(w.category, UnseenGpuWarning)]  # said once, in the note


def test_a_model_file_without_its_gpus_writes_na(fitted, capsys):
    state = json.loads((fitted / "own.json").read_text())
    for kind in ("energy", "latency"):  # a file from before gpus (2026-12): gpu_rows, newer still, absent too
        del state[kind]["fit"]["gpus"]
        state[kind]["fit"].pop("gpu_rows", None)
    (fitted / "older.json").write_text(json.dumps(state))
    assert main(["predict", str(fitted / "older.json"), str(fitted / "configs.csv"), "-o",
                 str(fitted / "p2.csv")]) == 0
    out = pd.read_csv(fitted / "p2.csv")
    assert out["unseen_gpu"].isna().all()
    assert "not fitted on" not in capsys.readouterr().err


def test_one_row_on_one_unseen_gpu_reads_in_the_singular(fitted, capsys):
    # it read "data rows 2 (1-based) are on GPUs the model was not fitted on" for one H200 row
    (fitted / "one.csv").write_text("".join(CONFIGS.splitlines(keepends=True)[:3]))
    assert main(["predict", str(fitted / "own.json"), str(fitted / "one.csv"), "-o", str(fitted / "p3.csv")]) == 0
    err = capsys.readouterr().err
    assert "note: data row 2 (1-based) is on a GPU the model was not fitted on (column unseen_gpu;" in err, err


def test_fit_says_which_gpus_the_model_is_fitted_on(fitted, capsys):
    # fit printed rows, duplicates and configurations but not the GPUs, which decide where a prediction is a transfer
    assert main(["fit", str(fitted / "own.csv"), "-o", str(fitted / "again.json")]) == 0
    out = capsys.readouterr().out
    assert ("  data: 30 rows on 2 GPUs (A100-SXM4-40GB, H100-SXM5-80GB: predict flags rows on any other, column "
            "unseen_gpu), 0 exact duplicates") in out, out
