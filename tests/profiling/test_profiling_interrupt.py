"""Ctrl-C or SIGTERM of a sweep ends the isolated worker's whole process group (the worker runs in its own
session, so the terminal's interrupt never reaches it: left alone, vllm serve would keep the GPUs) and
removes the worker's temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from energylens.profiling import parse_spec, worker

# A stand-in worker: starts a child (as the real one starts vllm serve), says both pids, then waits.
_FAKE_WORKER = ("import subprocess, sys, time\n"
                "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                "print('pids', child.pid, flush=True)\n"
                "time.sleep(120)\n")


def _gone(pid: int) -> bool:
    """The process no longer runs (exited, or a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_sweep_ends_the_worker_group_and_its_temporaries(tmp_path, monkeypatch, signum):
    cfg = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "isolation": "process"},
                      "grid": {"models": ["org/m"], "max_num_seqs": [1], "input_len": [8],
                               "output_len": [4]}}).configs()[0]
    started: dict[str, subprocess.Popen] = {}
    real_popen = subprocess.Popen

    def fake_popen(cmd, **kw):
        assert kw.get("start_new_session") is True  # the worker is in its own group, out of the terminal's reach
        started["worker"] = real_popen([sys.executable, "-c", _FAKE_WORKER], **kw)
        return started["worker"]

    class Stop(BaseException):
        pass

    def raise_stop(*_):
        raise Stop  # as cli/main.py turns SIGTERM into an exception

    monkeypatch.setattr(worker.subprocess, "Popen", fake_popen)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    previous = signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else raise_stop)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signum))
    timer.start()
    try:
        with pytest.raises((KeyboardInterrupt, Stop)):
            worker.run_in_subprocess(cfg, "none")
    finally:
        timer.cancel()
        signal.signal(signum, previous)
    proc = started["worker"]
    assert proc.returncode is not None  # the worker was waited for
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    members = [int(p) for p in os.listdir("/proc") if p.isdigit() and _group_of(int(p)) == proc.pid]
    assert all(_gone(p) for p in members), f"worker group members still running: {members}"
    assert not list(tmp_path.glob("energylens-worker-*")), "the worker's temporary folder was left behind"


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
