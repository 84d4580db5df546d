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


# A stand-in sweep that starts an isolated stand-in worker (own session, as run_in_subprocess starts it) and
# waits; the worker watches its parent and starts a child that ignores SIGTERM (a hung vllm serve).
_ORPHAN_WORKER = ("import os, subprocess, sys, time\n"
                  "from energylens.profiling.worker import watch_parent\n"
                  "watch_parent(os.getppid(), poll_s=0.05, grace_s=0.5)\n"
                  "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(120)'], "
                  "stdout=subprocess.PIPE)\n"
                  "child.stdout.readline()\n"  # its SIGTERM is ignored from here on
                  "print('pids', os.getpid(), child.pid, flush=True)\n"
                  "time.sleep(120)\n")
_SWEEP = ("import subprocess, sys, time\n"
          "w = subprocess.Popen([sys.executable, '-c', sys.argv[1]], start_new_session=True)\n"
          "time.sleep(120)\n")
# As run_in_subprocess starts it: the worker's output is a pipe read by the sweep (relayed here), so once
# the sweep is killed the worker's stderr is a broken pipe.
_SWEEP_PIPED = ("import subprocess, sys, time\n"
                "w = subprocess.Popen([sys.executable, '-c', sys.argv[1]], start_new_session=True, "
                "stdout=subprocess.PIPE, stderr=subprocess.STDOUT)\n"
                "print(w.stdout.readline().decode(), end='', flush=True)\n"
                "time.sleep(120)\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("piped", [False, True], ids=["own-stderr", "stderr-piped-to-the-sweep"])
def test_a_killed_sweep_leaves_no_orphaned_worker_group(piped):
    sweep = subprocess.Popen([sys.executable, "-c", _SWEEP_PIPED if piped else _SWEEP, _ORPHAN_WORKER],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = sweep.stdout.readline().split()
        assert line[:1] == ["pids"], line
        worker_pid, child_pid = int(line[1]), int(line[2])
        assert not _gone(worker_pid) and not _gone(child_pid)
        time.sleep(0.3)
        assert not _gone(worker_pid) and not _gone(child_pid)  # a live sweep's worker is left alone
        sweep.kill()  # SIGKILL: no chance to stop its worker
        sweep.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (_gone(worker_pid) and _gone(child_pid)):
            time.sleep(0.05)
        assert _gone(worker_pid) and _gone(child_pid), "the orphaned worker group is still running"
        if not piped:
            assert f"energylens worker {worker_pid}: the sweep (pid {sweep.pid}) is gone" in sweep.stderr.read()
    finally:
        if sweep.poll() is None:
            sweep.kill()


# A stand-in isolated worker as run_in_subprocess starts one: its config in a temporary energylens-worker-* folder
# (which the sweep removes when the unit ends), watching its parent as worker._main does.
_FOLDER_WORKER = ("import os, sys, time\n"
                  "from pathlib import Path\n"
                  "from energylens.profiling.worker import watch_parent\n"
                  "watch_parent(os.getppid(), poll_s=0.05, grace_s=0.5, leftovers=Path(sys.argv[1]).parent)\n"
                  "print('pids', os.getpid(), flush=True)\n"
                  "time.sleep(120)\n")
_SWEEP_WITH_FOLDER = ("import subprocess, sys, time\n"
                      "w = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], start_new_session=True)\n"
                      "time.sleep(120)\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_sweeps_worker_removes_its_temporary_folder(tmp_path):
    """SIGKILL of a sweep left the unit's energylens-worker-* folder (its config.json) in the temporary directory:
    the sweep that removes it was gone (11 such folders in this box's /tmp). The orphaned worker removes it now,
    and only its own files there: a folder that holds anything else is left."""
    folder = tmp_path / "energylens-worker-abc"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    sweep = subprocess.Popen([sys.executable, "-c", _SWEEP_WITH_FOLDER, _FOLDER_WORKER, str(folder / "config.json")],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = sweep.stdout.readline().split()
        assert line[:1] == ["pids"], line
        sweep.kill()
        sweep.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _gone(int(line[1])):
            time.sleep(0.05)
        assert _gone(int(line[1])) and not folder.exists(), list(tmp_path.iterdir())
    finally:
        if sweep.poll() is None:
            sweep.kill()
