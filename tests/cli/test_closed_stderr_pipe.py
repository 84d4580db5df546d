"""`energylens fit ... 2>&1 | head -c 10` (or `|& head`): the reader of stdout *and* stderr quits early.

stdout survived a closed pipe (tests/cli/test_output_safety.py), stderr did not: fit's first note on stderr
met the broken pipe, the BrokenPipeError went to the error handler, whose own line to stderr broke again, and
the command ended with status 1 without writing its model file. Each command below writes to both streams.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prof") / "p.csv"
    mlenergy_v2().head(80).to_csv(path, index=False)  # no input lengths: fit and predict note that on stderr
    return path


def _run_into_closed_pipe(argv: list[str]) -> int:
    """Run the CLI with stdout and stderr on one pipe whose reader has already quit; return the exit status."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "energylens.cli.main", *argv], stdout=write_end,
                              stderr=write_end, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=300)
    finally:
        os.close(write_end)
    return proc.returncode


def test_fit_and_predict_write_their_outputs_when_stderr_s_reader_is_gone(tmp_path, profiles):
    model = tmp_path / "m.json"
    assert _run_into_closed_pipe(["fit", str(profiles), "-o", str(model), "--bootstrap", "0"]) == 0
    assert model.is_file() and model.stat().st_size > 0
    pred = tmp_path / "pred.csv"
    assert _run_into_closed_pipe(["predict", str(model), str(profiles), "-o", str(pred)]) == 0
    assert pred.is_file() and pred.stat().st_size > 0


def test_a_bad_input_still_exits_2_when_stderr_s_reader_is_gone(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("model;gpu;tp\nx;H100;1\n")
    assert _run_into_closed_pipe(["fit", str(bad), "-o", str(tmp_path / "m.json")]) == 2
    assert not (tmp_path / "m.json").exists()
