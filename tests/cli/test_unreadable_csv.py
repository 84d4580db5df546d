"""Profiles a CSV reader cannot finish: a .csv.gz cut short (a copy interrupted mid-transfer) ended `fit` with a
Python traceback (EOFError: Compressed file ended before the end-of-stream marker was reached), exit 1; a CSV
with an unterminated quote said "error: Error tokenizing data. C error: EOF inside string starting at row 1",
without the file. Both are now located errors naming the file, exit 2, for fit, predict and evaluate."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.json"
    assert main(["fit", "bundled", "-o", str(path), "--bootstrap", "0"]) == 0
    return path


def _truncated_gz(folder):
    data = gzip.compress(mlenergy_v2().head(40).to_csv(index=False).encode())
    path = folder / "p.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _open_quote(folder):
    path = folder / "p.csv"
    path.write_text('model,gpu,tp,batch_size,input_tokens,output_tokens,energy_j\n"unterminated,H100,1,8,100,100,5\n')
    return path


@pytest.mark.parametrize("make", [_truncated_gz, _open_quote])
@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_an_unreadable_csv_is_a_located_error(tmp_path, capsys, model, make, command):
    path = make(tmp_path)
    argv = {"fit": ["fit", str(path), "-o", str(tmp_path / "m.json")],
            "predict": ["predict", str(model), str(path), "-o", str(tmp_path / "out.csv")],
            "evaluate": ["evaluate", str(path), "--no-progress"]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{path}: could not read" in err, err
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "out.csv").exists()


def test_a_whole_csv_gz_still_reads(tmp_path, capsys):
    path = tmp_path / "p.csv.gz"
    mlenergy_v2().head(40).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    assert len(pd.read_csv(path)) == 40
