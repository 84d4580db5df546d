"""``energylens search --candidates FILE --measured-latency``: a file's measured tpot_s / ttft_s (an ML.ENERGY v3
export's median ITL) decides its rows' latency; bad cells and the load mode are errors naming what is wrong."""

import json

import pandas as pd
import pytest
from tests.profiles.test_mlenergy_v3 import excerpt, row

from energylens.cli.main import main

ROW = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, input_tokens=1000, output_tokens=200)


def _csv(tmp_path, tpot, name="cands.csv"):
    path = tmp_path / name
    pd.DataFrame([dict(ROW, max_num_seqs=b, tpot_s=t) for b, t in zip((4, 16, 64), tpot, strict=True)]).to_csv(
        path, index=False)
    return path


@pytest.mark.parametrize("cell, shown", [("-0.01", "-0.01"), ("0", "0.0"), ("slow", "'slow'")])
def test_a_bad_cell_exits_2_naming_file_data_row_and_column(tmp_path, capsys, cell, shown):
    path = _csv(tmp_path, ["0.02", cell, ""])
    assert main(["search", "--candidates", str(path), "--measured-latency", "--tpot-limit", "0.05"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: column 'tpot_s' data row 2 is" in err and "> 0" in err


def test_rate_and_a_table_without_latency_are_refused(tmp_path, capsys):
    path = _csv(tmp_path, [0.02, 0.03, 0.04])
    assert main(["search", "--candidates", str(path), "--measured-latency", "--rate", "3"]) == 2
    assert "cannot be combined with rate_per_s (--rate)" in capsys.readouterr().err
    bare = tmp_path / "bare.csv"
    pd.read_csv(path).drop(columns=["tpot_s"]).to_csv(bare, index=False)
    assert main(["search", "--candidates", str(bare), "--measured-latency"]) == 2
    assert f"{bare}: measured_latency=True (--measured-latency) needs a measured latency column" in \
        capsys.readouterr().err


def test_blank_cells_are_predicted_and_the_output_says_which(tmp_path, capsys):
    path = _csv(tmp_path, [0.02, "", 0.04])
    assert main(["search", "--candidates", str(path), "--measured-latency", "--tpot-limit", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "TPOT is" in out and "measured" in out and "predicted" in out
    assert "TTFT / TPOT measured where the candidate table gives it (TTFT of 0, TPOT of 2 rows)" in out


def test_a_v3_export_searched_with_its_measured_tpot(tmp_path, capsys):
    path = excerpt(tmp_path, [row(max_num_seqs=s, avg_batch_size=s - 0.5, median_itl_ms=itl)
                              for s, itl in ((8, 12.0), (64, 20.0), (256, 45.0))])
    assert main(["search", "--candidates", str(path), "--measured-latency", "--tpot-limit", "0.03", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(r["candidate"], r["tpot_s"], r["tpot_source"], r["ttft_source"]) for r in doc["top"]] == \
        [(2, 0.02, "measured", "predicted"), (1, 0.012, "measured", "predicted")]
    assert doc["rejected"]["tpot_limit"] == 1
    assert main(["search", "--candidates", str(path), "--tpot-limit", "0.03", "--json"]) in (0, 1)  # the default
    assert all("tpot_source" not in r for r in json.loads(capsys.readouterr().out)["top"])
