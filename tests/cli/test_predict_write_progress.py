"""`energylens predict` on a large table says how far its CSV write has got: the write of 1e6 rows took about
50 s on 2 cores after a single 'writing out.csv (1000000 rows) ...' line (before 2026-12-06). The CSV is
now written in blocks of rows, a line every 5 s at most, and the file is the same as written in one go."""
from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from energylens.cli import predict as predict_cli
from energylens.cli.main import main
from energylens.outputs import _open_csv, csv_compression
from energylens.profiles.datasets import mlenergy_v2


def _fit(tmp_path):
    data = tmp_path / "p.csv"
    mlenergy_v2().to_csv(data, index=False)
    assert main(["fit", str(data), "-o", str(tmp_path / "m.json"), "--bootstrap", "5"]) == 0
    return data, tmp_path / "m.json"


def test_a_long_csv_write_reports_rows_written_and_equals_a_one_piece_write(tmp_path, capsys, monkeypatch):
    data, model = _fit(tmp_path)
    assert main(["predict", str(model), str(data), "-o", str(tmp_path / "whole.csv")]) == 0
    capsys.readouterr()
    now = [0.0]

    def clock() -> float:  # each reading 3 s on: every other block gets a line
        now[0] += 3.0
        return now[0]
    monkeypatch.setattr(predict_cli, "WRITE_BLOCK_ROWS", 50)
    monkeypatch.setattr(predict_cli, "PROGRESS_ROWS", 100)
    monkeypatch.setattr(predict_cli.time, "perf_counter", clock)
    assert main(["predict", str(model), str(data), "-o", str(tmp_path / "blocks.csv")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("energylens predict: wrote ")]
    assert 2 <= len(lines) <= 4, err
    assert lines[0].startswith("energylens predict: wrote 100 of 356 rows ("), lines
    assert "s; about" in lines[0] and "left)" in lines[0], lines
    assert (tmp_path / "blocks.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "blocks.csv"), pd.read_csv(tmp_path / "whole.csv"))


def test_a_short_write_says_nothing_more(tmp_path, capsys):
    data, model = _fit(tmp_path)
    capsys.readouterr()
    assert main(["predict", str(model), str(data), "-o", str(tmp_path / "p.csv.gz")]) == 0
    assert "energylens predict: wrote " not in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
def test_a_long_compressed_write_reports_rows_written_and_holds_the_same_table(tmp_path, capsys, monkeypatch, suffix):
    """A compressed CSV's write is slower than a plain one's (500,000 rows: gzip 25 s, xz 65 s on 2 cores) and said
    nothing after 'writing ...'; it is now written in blocks too, with the same progress lines."""
    data, model = _fit(tmp_path)
    assert main(["predict", str(model), str(data), "-o", str(tmp_path / "whole.csv")]) == 0
    capsys.readouterr()
    now = [0.0]

    def clock() -> float:
        now[0] += 3.0
        return now[0]
    monkeypatch.setattr(predict_cli, "COMPRESSED_BLOCK_ROWS", 50)
    monkeypatch.setattr(predict_cli, "PROGRESS_ROWS", 100)
    monkeypatch.setattr(predict_cli.time, "perf_counter", clock)
    out = tmp_path / f"blocks{suffix}"
    assert main(["predict", str(model), str(data), "-o", str(out)]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("energylens predict: wrote ")]
    assert lines and lines[0].startswith("energylens predict: wrote 100 of 356 rows ("), lines
    with _open_csv(out, csv_compression(out)) as fh:
        assert fh.read() == (tmp_path / "whole.csv").read_bytes()
    if suffix == ".csv.zip":
        with zipfile.ZipFile(out) as zf:
            assert zf.namelist() == ["blocks.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(tmp_path / "whole.csv"))


def test_a_table_that_takes_a_second_announces_its_stages(tmp_path, capsys):
    """42,000 rows took 4.4 s on the 2-core box with nothing on stderr: the stages were announced from 50,000 rows
    (the block write's threshold). From :data:`STAGE_ROWS` (about a second's work) they are."""
    data, model = _fit(tmp_path)
    rows = mlenergy_v2()
    big = tmp_path / "big.csv"
    pd.concat([rows] * -(-predict_cli.STAGE_ROWS // len(rows)), ignore_index=True).head(
        predict_cli.STAGE_ROWS).to_csv(big, index=False)
    capsys.readouterr()
    assert main(["predict", str(model), str(big), "-o", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err
    n = predict_cli.STAGE_ROWS
    assert f"energylens predict: predicting ({n} rows) ..." in err and f"writing {tmp_path / 'out.csv'} ({n} rows)" in err
    assert predict_cli.STAGE_ROWS <= 20_000 < predict_cli.PROGRESS_ROWS  # a second's work, not the block write's
