"""A report folder that cannot be written at the end of a run (the disk filled, the folder's mount went read-only
during a run of minutes) lost the run's results: `energylens evaluate --report` and `energylens demo` stopped on the
error before printing the table they had computed. The table (or the JSON) is now printed first; the error follows
with exit status 2, and no partial folder is left."""
from __future__ import annotations

import errno
import json

import pytest

from energylens.cli import evaluate as evaluate_cli
from energylens.cli.main import main as cli_main
from energylens.profiles.datasets import mlenergy_v2


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def profiles(tmp_path):
    path = tmp_path / "p.csv"
    mlenergy_v2().to_csv(path, index=False)
    return path


@pytest.mark.parametrize("as_json", [False, True])
def test_evaluate_prints_its_results_when_the_report_cannot_be_written(profiles, tmp_path, capsys, monkeypatch,
                                                                       as_json):
    monkeypatch.setattr(evaluate_cli, "write_report", _no_space)
    args = ["evaluate", str(profiles), "--splits", "random", "--repeats", "2", "--methods", "llmcarbon",
            "--no-progress", "--report", str(tmp_path / "rep")] + (["--json"] if as_json else [])
    assert cli_main(args) == 2
    out, err = capsys.readouterr()
    assert "No space left on device" in err
    if as_json:
        doc = json.loads(out)
        assert doc["info"]["report"] is None and doc["summary"][0]["method"] == "llmcarbon"
    else:
        assert "llmcarbon" in out and "Top-1" in out
    assert not (tmp_path / "rep").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep.")]


def test_demo_prints_its_comparison_when_the_report_cannot_be_written(tmp_path, capsys, monkeypatch):
    import io

    from energylens.cli import demo
    from energylens.compare.runner import run_evaluation
    from energylens.outputs import OutputError

    monkeypatch.setattr(evaluate_cli, "write_report", _no_space)
    monkeypatch.setattr(demo, "run_evaluation", lambda df, **kw: run_evaluation(
        df, **{**kw, "splits": ["random"], "method_names": ["energylens", "llmcarbon"]}))
    out = io.StringIO()
    with pytest.raises(OutputError, match="No space left on device"):
        demo.run_demo(report_dir=str(tmp_path / "rep"), repeats=1, out=out)
    text = out.getvalue()
    assert "comparison with the baselines" in text
    table = text.split("comparison with the baselines")[1]
    assert "llmcarbon" in table and "Top-1" in table
    assert not (tmp_path / "rep").exists()


def _no_work(*_args, **_kwargs):
    raise AssertionError("the run started though its report folder cannot be created")


@pytest.mark.parametrize("command", ["evaluate", "demo", "fit"])
def test_an_output_that_access_calls_writable_but_cannot_be_created_is_refused_before_any_work(
        profiles, tmp_path, capsys, monkeypatch, command):
    """/proc passes os.access(W_OK) for root, but nothing can be created there: the report folder (or file) was
    found out only when written, after the whole run. A trial entry is now made beside it first: exit 2, the path
    and the OS error named, no work done."""
    import os

    from energylens.cli import demo as demo_cli
    from energylens.cli import fit as fit_cli

    if not os.access("/proc", os.W_OK | os.X_OK):
        pytest.skip("needs a folder that os.access calls writable and that refuses new entries (/proc as root)")
    monkeypatch.setattr(evaluate_cli, "run_evaluation", _no_work)
    monkeypatch.setattr(demo_cli, "mlenergy_v2", _no_work)
    monkeypatch.setattr(fit_cli, "read_profiles_with_rows", _no_work, raising=False)
    target = "/proc/energylens-report" if command != "fit" else "/proc/energylens-model.json"
    argv = {"evaluate": ["evaluate", str(profiles), "--report", target, "--no-progress"],
            "demo": ["demo", "--report", target],
            "fit": ["fit", str(profiles), "-o", target]}[command]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert target in err and "cannot create" in err and "No such file or directory" in err, err
    assert "AssertionError" not in err
