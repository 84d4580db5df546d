"""``energylens monitor -o FOLDER/t.parquet`` whose folder could not be written at the end of the run (it was removed
during the run, the disk filled, the mount went read-only) printed the totals and then only
``OutputError: FOLDER/t.parquet: cannot write here (No such file or directory)``, exit 2: the recording, which
cannot be taken again, was gone. The trace is now saved to the temporary folder instead and stderr names both
paths (exit 2 still: -o was not written); where that fails too, stderr says the recording was not saved."""

from __future__ import annotations

import shutil

import pytest

from energylens.cli import monitor as monitor_cli
from energylens.cli.main import main
from energylens.measure.trace import Trace


@pytest.fixture
def vanishing_folder(tmp_path, monkeypatch):
    """A folder that exists when the command line is checked and is removed while sampling runs."""
    folder = tmp_path / "runs"
    folder.mkdir()
    live = monitor_cli._live

    def live_then_remove(*args, **kwargs):
        result = live(*args, **kwargs)
        shutil.rmtree(folder)
        return result

    monkeypatch.setattr(monitor_cli, "_live", live_then_remove)
    return folder


def test_a_trace_that_cannot_be_written_at_o_is_saved_to_the_temporary_folder(tmp_path, monkeypatch, capsys,
                                                                               vanishing_folder):
    spare = tmp_path / "tmp"
    spare.mkdir()
    monkeypatch.setattr(monitor_cli.tempfile, "gettempdir", lambda: str(spare))
    target = vanishing_folder / "t.parquet"
    assert main(["monitor", "--source", "synthetic", "--duration", "0.6", "--interval", "0.2",
                 "-o", str(target)]) == 2
    out, err = capsys.readouterr()
    assert "total:" in out and not target.exists()
    (saved,) = spare.glob("energylens-monitor-*.parquet")
    trace = Trace.load(saved)
    span_s = (trace.samples["t_ns"].max() - trace.samples["t_ns"].min()) / 1e9
    assert span_s > 0.4  # the run's readings, not an empty trace
    assert str(target) in err and "cannot write here" in err and f"saved to {saved} instead" in err, err
    assert "Traceback" not in err


def test_when_no_folder_takes_the_trace_stderr_says_it_was_not_saved(tmp_path, monkeypatch, capsys,
                                                                      vanishing_folder):
    monkeypatch.setattr(monitor_cli.tempfile, "gettempdir", lambda: str(tmp_path / "no-such-folder"))
    target = vanishing_folder / "t.parquet"
    assert main(["monitor", "--source", "synthetic", "--duration", "0.4", "--interval", "0.2",
                 "-o", str(target)]) == 2
    out, err = capsys.readouterr()
    assert "total:" in out
    assert str(target) in err and "the recording was not saved" in err and "no-such-folder" in err, err


def test_a_sampler_error_is_still_stated_when_the_trace_cannot_be_written(tmp_path, monkeypatch, capsys,
                                                                          vanishing_folder):
    from energylens.errors import SamplerError

    monkeypatch.setattr(monitor_cli.tempfile, "gettempdir", lambda: str(tmp_path))
    live = monitor_cli._live  # (the fixture's wrapper: it removes the folder)
    monkeypatch.setattr(monitor_cli, "_live", lambda *a, **k: (live(*a, **k)[0], SamplerError("GPU is lost")))
    assert main(["monitor", "--source", "synthetic", "--duration", "0.4", "--interval", "0.2",
                 "-o", str(vanishing_folder / "t.parquet")]) == 1
    err = capsys.readouterr().err
    assert "SamplerError: GPU is lost" in err and "saved to" in err, err
