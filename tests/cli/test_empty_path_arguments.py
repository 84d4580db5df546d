"""A path argument given as an empty string (`--report "$OUT"` with OUT unset): `evaluate --report ""` ran and
wrote no report, exit 0, without a word; `fit "" -o m.json` read the current folder ('.: a directory, but not a
sweep store ... it holds a.csv, b.csv'), and `-o ""` was '-o/--output .: is a folder'. Each is now an argument
error naming the option and the empty value, before any work."""

from __future__ import annotations

import pytest
from tests.cli.empty_path import refused_as_empty


@pytest.mark.parametrize(("argv", "option"), [
    (["evaluate", "bundled", "--report", ""], "--report"),
    (["demo", "--report", ""], "--report"),
    (["fit", "", "-o", "m.json"], "PROFILES"),
    (["fit", "bundled", "-o", ""], "-o/--output"),
    (["fit", "bundled", "-o", "m.json", "--prior", ""], "--prior"),
    (["fit", "bundled", "-o", "m.json", "--gpu-table", ""], "--gpu-table"),
    (["fit", "bundled", "-o", "m.json", "--model-table", ""], "--model-table"),
    (["predict", "", "bundled", "-o", "p.csv"], "MODEL"),
    (["predict", "m.json", "", "-o", "p.csv"], "CONFIGS"),
    (["predict", "m.json", "bundled", "-o", ""], "-o/--output"),
    (["evaluate", ""], "PROFILES"),
])
def test_an_empty_path_is_an_argument_error(tmp_path, monkeypatch, capsys, argv, option):
    monkeypatch.chdir(tmp_path)
    refused_as_empty(argv, option, capsys)
    assert list(tmp_path.iterdir()) == []
