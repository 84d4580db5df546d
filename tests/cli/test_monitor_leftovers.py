"""``energylens monitor -- CMD`` on Linux: processes that left the command's process group (a daemon: fork,
``setsid``, fork) or that it left behind (``sh -c 'sleep 100 &'``) kept running after monitor stopped the
command (Ctrl-C, monitor failing or killed) or after the command exited, and after monitor returned. The
supervisor is now their subreaper (PR_SET_CHILD_SUBREAPER) and stops them (SIGTERM, SIGKILL after --grace):
once the command has exited, however it ended. Real processes on ``--source synthetic``; every pid a test learns
is SIGKILLed in its clean-up, whatever its outcome."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.cli.test_monitor_parent_death import CLI, PY, _running, _stops_within

import energylens.cli.monitor as cli_monitor
from energylens.cli.main import main

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the supervisor is Linux's")

#: The command: it starts a daemon (fork, setsid, fork: out of its process group, its parent gone, its
#: stdio /dev/null), writes "COMMAND_PID DAEMON_PID" to argv[3] once the daemon runs, then exits 0 (argv[2]
#: "exit") or sleeps (argv[2] "run"). argv[1] "ignore-term": the daemon ignores SIGTERM; "with-a-child": the
#: daemon has a child of its own (its pid written third).
DAEMON = r"""
import os, pathlib, signal, sys, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        if sys.argv[1] == "ignore-term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pids = str(os.getpid())
        if sys.argv[1] == "with-a-child":
            child = os.fork()
            if child == 0:
                time.sleep(100)
            pids += f" {child}"
        os.write(w, pids.encode())
        time.sleep(100)
    os._exit(0)
os.close(w)
daemon = os.read(r, 100).decode()
os.wait()
pathlib.Path(sys.argv[3] + ".tmp").write_text(f"{os.getpid()} {daemon}")
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
while sys.argv[2] == "run":  # (short sleeps: a Ctrl-C just before one long sleep would wait it out)
    time.sleep(0.05)
"""


def _pids(path: Path, within_s: float = 15.0) -> list[int]:
    """The pids the command wrote to ``path`` (its own, its daemon's), waiting for them."""
    end = time.monotonic() + within_s
    while not path.exists():
        assert time.monotonic() < end, f"the command did not write {path}"
        time.sleep(0.02)
    return [int(p) for p in path.read_text().split()]


def _exists(pid: int) -> bool:
    """Whether ``pid`` exists at all (a zombie too: stopped but not reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill(*pids: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _monitor(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.parametrize("daemon", ["stops on SIGTERM", "ignore-term"])
def test_a_daemon_left_by_a_command_that_exits_is_stopped_before_monitor_returns(tmp_path, daemon):
    """The command exits 0 leaving a daemon: monitor says so naming its pid, stops it (SIGKILL after --grace
    where SIGTERM is ignored) and reaps it before it returns; the command's window ends at its exit (the wait
    for the daemon is not in it), and its status is monitor's."""
    pids = tmp_path / "pids"
    proc = _monitor("--grace", "0.5", "--", PY, "-c", DAEMON, daemon, "exit", str(pids))
    learned: list[int] = []
    try:
        learned = _pids(pids)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert not _exists(learned[1]), f"the daemon {learned[1]} is left after monitor returned:\n{err}"
        assert re.search(rf"left 1 process running: {learned[1]} \(python[0-9.]*\)", err), err
        assert ("killing (SIGKILL)" in err) == (daemon == "ignore-term"), err
        ran = re.search(r"ran ([0-9.]+) s, exit status 0", err)
        assert ran and float(ran[1]) < 0.45, err  # (the 0.5 s grace is not the command's)
    finally:
        proc.kill()
        _kill(*learned)


def test_a_daemon_and_its_own_child_are_both_stopped(tmp_path):
    """The daemon's child is not the supervisor's (its parent lives): found as a descendant all the same."""
    pids = tmp_path / "pids"
    proc = _monitor("--", PY, "-c", DAEMON, "with-a-child", "exit", str(pids))
    learned: list[int] = []
    try:
        learned = _pids(pids)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert len(learned) == 3 and not [pid for pid in learned if _exists(pid)], (learned, err)
        assert f"left 2 processes running: {learned[1]} (python" in err and f"{learned[2]} (python" in err, err
        assert re.search(rf"it left 2 processes running, stopped after it exited \(SIGTERM\): {learned[1]} ", err)
    finally:
        proc.kill()
        _kill(*learned)


def test_a_background_job_left_by_a_shell_that_exits_is_stopped(tmp_path):
    """``sh -c 'sleep 100 &'``: the shell exits, ``sleep`` (its process group's, reparented) ran on for good."""
    proc = _monitor("--", "sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $!")
    sleep = None
    try:
        sleep = int(proc.stdout.readline())
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert not _exists(sleep), f"sleep {sleep} is left after monitor returned:\n{err}"
        assert re.search(rf"left 1 process running: {sleep} \(sleep\)", err), err  # (not sh: named once exec'd)
    finally:
        proc.kill()
        _kill(*([sleep] if sleep else []))


def test_a_command_that_leaves_nothing_gets_no_word_on_it():
    out = subprocess.run([*CLI, "--", "sh", "-c", "true | true"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=30)
    assert out.returncode == 0 and "left" not in out.stderr, out.stderr


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGKILL"])
def test_a_daemon_of_a_command_stopped_with_monitor_is_stopped(tmp_path, how):
    """Ctrl-C to monitor reached the command's group, not its daemon; a SIGKILL to monitor had the supervisor
    stop the group alone. The daemon now stops too: before monitor returns (Ctrl-C), or soon after (SIGKILL)."""
    pids = tmp_path / "pids"
    proc = _monitor("--grace", "2", "--", PY, "-c", DAEMON, "stops on SIGTERM", "run", str(pids))
    learned: list[int] = []
    try:
        learned = _pids(pids)
        os.kill(proc.pid, signal.SIGINT if how == "Ctrl-C" else signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        if how == "Ctrl-C":
            assert proc.returncode == 130, err
            assert not _exists(learned[1]), f"the daemon {learned[1]} is left after monitor returned:\n{err}"
            assert f"left 1 process running: {learned[1]}" in err, err
        else:
            assert all(_stops_within(pid) for pid in learned), [pid for pid in learned if _running(pid)]
    finally:
        proc.kill()
        _kill(*learned)


def test_a_daemon_of_a_command_stopped_when_monitor_fails_is_stopped(monkeypatch, tmp_path, capsys):
    """monitor's own failure (here an interrupt in its loop) stopped the command's group; its daemon ran on."""
    pids = tmp_path / "pids"

    def fail(lines):  # the live line's, inside monitor's loop
        if pids.exists():
            raise KeyboardInterrupt
        return "no reading yet"

    monkeypatch.setattr(cli_monitor.LiveMeans, "line", fail)
    learned: list[int] = []
    try:
        assert main(["monitor", "--source", "synthetic", "--interval", "0.05", "--grace", "1", "--", PY, "-c",
                     DAEMON, "stops on SIGTERM", "run", str(pids)]) == 130
        learned = _pids(pids, 0)
        assert not _exists(learned[1]), f"the daemon {learned[1]} is left after monitor returned"
        assert f"left 1 process running: {learned[1]}" in capsys.readouterr().err
    finally:
        if pids.exists():
            _kill(*_pids(pids, 0))
