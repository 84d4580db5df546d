"""A new user's own CSV through fit -> predict -> evaluate (2026-12-07 pass), the defects found:

* evaluate on a table whose TPOT column is ``tpot_ms`` said "no row ... has a measured TPOT (column tpot_s)" and
  nothing of the column it did not read, where fit names it; it names it now, with the fix (seconds, / 1000).
* predict with a model fitted on A100 and H100 rows, on rows of an H200 and an L40S, said nothing of it (the H200
  row not even an extrapolation: its specification lies within a factor 2 of the fitted ones); the model file
  records the GPUs it was fitted on (fit.gpus, the GPU table's names) and predict names the rows of other GPUs.
* predict on 600,000 rows (88 MB) was silent for its first 8 s (the read and the checks of the rows: progress lines
  began at 128 MB, where the read moves to a counting handle) and ended without its run time; a CSV of 16 MB or more
  (about 1 s to read and check) now says so as it starts and ends its read, and a table of STAGE_ROWS rows or more
  (whose stages are announced) ends with the run time.
"""

from __future__ import annotations

import json

import pytest

from energylens.cli import predict as predict_cli
from energylens.cli.main import main
from energylens.model import load_model
from energylens.profiles import files
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j", "tpot_s",
           "task"]


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """30 rows of Llama 3.1 8B / 70B on A100 and H100 as a user would write them (the schema's columns only)."""
    rows = mlenergy_v2()
    rows = rows[rows["model"].str.contains("Llama-3.1-(?:8|70)B")][COLUMNS].reset_index(drop=True)
    return tmp_path_factory.mktemp("own"), rows


def test_evaluate_names_a_tpot_column_in_milliseconds_it_does_not_read(own, capsys):
    folder, rows = own
    path = folder / "tpot_ms.csv"
    rows.assign(tpot_s=rows["tpot_s"] * 1000).rename(columns={"tpot_s": "tpot_ms"}).to_csv(path, index=False)
    assert main(["evaluate", str(path), "--no-progress", "--train-size", "20", "--repeats", "1", "--splits",
                 "random"]) == 0
    err = capsys.readouterr().err
    assert "no row of" in err and "column 'tpot_ms' is not read: ttft_s (time to first token) and tpot_s" in err, err


CONFIGS = """model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,H100,1,1,64,512,300
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,H200,1,1,64,512,300
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,L40S,1,1,64,512,300
meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,NVIDIA A100-SXM4-40GB,1,1,64,512,300
"""


@pytest.fixture(scope="module")
def fitted(own):
    folder, rows = own
    path, model = folder / "own.csv", folder / "own.json"
    rows.to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(model)]) == 0
    return model


def test_the_model_file_records_the_gpus_it_was_fitted_on(fitted):
    state = json.loads(fitted.read_text())
    assert state["energy"]["fit"]["gpus"] == ["A100-SXM4-40GB", "H100-SXM5-80GB"]  # the table's names, sorted
    assert state["latency"]["fit"]["gpus"] == ["A100-SXM4-40GB", "H100-SXM5-80GB"]
    assert load_model(fitted).summary.gpus == ("A100-SXM4-40GB", "H100-SXM5-80GB")


def test_predict_names_the_rows_of_gpus_the_model_never_saw(fitted, tmp_path, capsys):
    configs = tmp_path / "configs.csv"
    configs.write_text(CONFIGS)
    assert main(["predict", str(fitted), str(configs), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert ("note: data rows 2, 3 (1-based) are on GPUs the model was not fitted on (column unseen_gpu; it was "
            "fitted on A100-SXM4-40GB, H100-SXM5-80GB): H200-SXM-141GB: 1 row(s); ") in err, err
    assert "| L40S: 1 row(s); " in err, err


def test_no_note_where_every_gpu_was_seen_or_the_file_predates_the_record(fitted, tmp_path, capsys):
    configs = tmp_path / "configs.csv"
    configs.write_text("".join(CONFIGS.splitlines(keepends=True)[i] for i in (0, 1, 4)))
    assert main(["predict", str(fitted), str(configs), "-o", str(tmp_path / "p.csv")]) == 0
    assert "not fitted on" not in capsys.readouterr().err
    state = json.loads(fitted.read_text())
    for kind in ("energy", "latency"):
        del state[kind]["fit"]["gpus"]  # a file written before the GPUs were recorded (gpu_rows came later still)
        state[kind]["fit"].pop("gpu_rows", None)
    older = tmp_path / "older.json"
    older.write_text(json.dumps(state))
    configs.write_text(CONFIGS)
    assert load_model(older).summary.gpus == ()
    assert main(["predict", str(older), str(configs), "-o", str(tmp_path / "p2.csv")]) == 0
    assert "not fitted on" not in capsys.readouterr().err


def test_a_gpus_entry_that_is_not_a_list_of_names_is_refused(fitted, tmp_path):
    from energylens.errors import ModelFileError
    state = json.loads(fitted.read_text())
    state["energy"]["fit"]["gpus"] = "H100"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match="gpus"):
        load_model(bad)


def test_a_large_csv_read_is_announced_below_the_counting_handle(fitted, own, tmp_path, capsys, monkeypatch):
    folder, rows = own
    big = tmp_path / "big.csv"
    rows.sample(8000, replace=True, random_state=0).to_csv(big, index=False)
    assert 1e6 < big.stat().st_size < 2e6
    monkeypatch.setattr(files, "ANNOUNCE_CSV_BYTES", 1_000_000)
    assert main(["predict", str(fitted), str(big), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert f"energylens predict: reading {big} (1 MB) ..." in err and f"energylens predict: read {big} (1 MB in " in err
    monkeypatch.setattr(files, "ANNOUNCE_CSV_BYTES", 2_000_000)
    assert main(["predict", str(fitted), str(big), "-o", str(tmp_path / "p2.csv")]) == 0
    assert "reading" not in capsys.readouterr().err


def test_a_large_table_ends_with_the_run_time(fitted, own, tmp_path, capsys, monkeypatch):
    folder, rows = own
    path = tmp_path / "own.csv"
    rows.to_csv(path, index=False)
    assert main(["predict", str(fitted), str(path), "-o", str(tmp_path / "p.csv")]) == 0
    assert capsys.readouterr().out == f"wrote 30 rows to {tmp_path / 'p.csv'}\n"  # a small table: as before
    monkeypatch.setattr(predict_cli, "STAGE_ROWS", 10)
    assert main(["predict", str(fitted), str(path), "-o", str(tmp_path / "p2.csv")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote 30 rows to {tmp_path / 'p2.csv'} (run time ") and out.endswith(" s)\n"), out
