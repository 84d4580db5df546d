"""`energylens search` and `energylens discover` took a path option given as an empty string (`--plot "$OUT"`
with OUT unset) as no value or as the current folder, after the work: `search --plot ""` searched and wrote
no plot, exit 0; `discover -o ""` ran its search before failing on '.'. Each is now an argument error
naming the option and the empty value, before any work (exit 2), as fit, predict and evaluate do (0583abe)."""

from __future__ import annotations

import pytest
from tests.cli.empty_path import refused_as_empty

SEARCH = ["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H100", "--input-tokens", "512",
          "--output-tokens", "256", "--tp", "1"]
DISCOVER = ["discover", "bundled", "--time-budget", "1", "--generations", "1", "--population", "10", "--quiet"]


@pytest.mark.parametrize(("argv", "option"), [
    (SEARCH + ["--plot", ""], "--plot"),
    (SEARCH + ["--model-file", ""], "--model-file"),
    (["search", "--candidates", ""], "--candidates"),
    (SEARCH + ["--gpu-table", ""], "--gpu-table"),
    (SEARCH + ["--model-table", ""], "--model-table"),
    (["discover", "", "--time-budget", "1"], "PROFILES"),
    (DISCOVER + ["-o", ""], "-o/--output"),
    (DISCOVER + ["--report", ""], "--report"),
    (DISCOVER + ["--gpu-table", ""], "--gpu-table"),
    (DISCOVER + ["--model-table", ""], "--model-table"),
])
def test_an_empty_path_is_an_argument_error(tmp_path, monkeypatch, capsys, argv, option):
    monkeypatch.chdir(tmp_path)
    refused_as_empty(argv, option, capsys)
    assert list(tmp_path.iterdir()) == []
