"""An isolated worker that dies while writing its result gives a failed row (the sweep goes on), and the
worker writes its result whole or not at all."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from energylens.profiling import parse_spec, worker

# A stand-in worker killed by SIGKILL halfway through writing its row (the out path is its last argument).
_HALF_WRITTEN = ("import os, signal, sys\n"
                 "open(sys.argv[1], 'w').write('{\"status\": \"ok\", \"energy_')\n"
                 "print('measured; writing', flush=True)\n"
                 "os.kill(os.getpid(), signal.SIGKILL)\n")
_NOT_A_ROW = "import sys\nopen(sys.argv[1], 'w').write('[1, 2]')\n"


def _cfg():
    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "isolation": "process"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1], "input_len": [8],
                                "output_len": [4]}}).configs()[0]


@pytest.mark.parametrize(("script", "expected"), [(_HALF_WRITTEN, "unreadable"), (_NOT_A_ROW, "not a row")],
                         ids=["killed-mid-write", "not-a-row"])
def test_an_unusable_result_file_becomes_a_failed_row(monkeypatch, script, expected):
    real_popen = subprocess.Popen

    def fake_popen(cmd, **kw):
        return real_popen([sys.executable, "-c", script, cmd[4]], **kw)

    monkeypatch.setattr(worker.subprocess, "Popen", fake_popen)
    row = worker.run_in_subprocess(_cfg(), "none")
    assert row["status"] == "failed"
    assert f"crash: the worker's result row.json is {expected}" in row["error"]
    if script is _HALF_WRITTEN:
        assert "measured; writing" in row["error"]  # the worker's log tail comes with it


def test_the_worker_writes_its_row_whole_or_not_at_all(tmp_path, monkeypatch):
    cfg_path, out = tmp_path / "config.json", tmp_path / "row.json"
    cfg_path.write_text(json.dumps(_cfg().to_dict()))
    monkeypatch.setattr(worker, "watch_parent", lambda pid, **kw: None)
    monkeypatch.setattr(worker, "run_in_process", lambda cfg, source: {"status": "ok", "x": 1.0})

    def killed(*_):
        raise KeyboardInterrupt  # the worker dies after writing, before the rename

    monkeypatch.setattr(worker.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        worker._main([str(cfg_path), str(out), "none"])
    assert not out.exists()
    monkeypatch.undo()
    monkeypatch.setattr(worker, "watch_parent", lambda pid, **kw: None)
    monkeypatch.setattr(worker, "run_in_process", lambda cfg, source: {"status": "ok", "x": 1.0})
    assert worker._main([str(cfg_path), str(out), "none"]) == 0
    assert json.loads(out.read_text()) == {"status": "ok", "x": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "row.json"]


def _deep_failure(depth: int, message: str):
    if depth:
        _deep_failure(depth - 1, message)
    raise ValueError(message)


@pytest.mark.parametrize("message", ["bad engine config " * 10, "vLLM says: " + "x" * 6000 + " <- the end"],
                         ids=["deep-traceback", "long-message"])
def test_a_failed_row_keeps_the_exception_type_and_message_first(monkeypatch, message):
    """The error was the last 4000 characters of 'type: message + traceback': a long message or traceback
    lost the type and message, the part that says what went wrong."""
    monkeypatch.setattr(worker, "_measure", lambda cfg, meter: _deep_failure(400, message))
    row = worker.run_in_process(_cfg(), "none")
    assert row["status"] == "failed" and len(row["error"]) <= worker.ERROR_CHARS
    assert row["error"].startswith(f"ValueError: {message[:100]}")
    assert "characters left out" in row["error"] and "<- the end" in row["error"] if len(message) > 4000 else \
        'in _deep_failure\n    raise ValueError(message)\nValueError' in row["error"]  # where: the traceback's end


def test_error_text_keeps_a_short_error_whole():
    assert worker.error_text("ValueError: bad", "Traceback ...\nValueError: bad") == \
        "ValueError: bad\nTraceback ...\nValueError: bad"
    assert worker.error_text("RuntimeError: x", "") == "RuntimeError: x"
