"""``energylens monitor [options] -- CMD`` killed where Python cannot act (SIGKILL: ``kill -9``, the OOM killer) or
by SIGQUIT (Ctrl-\\): the command, in a session of its own, ran on alone. On Linux it now gets SIGTERM when monitor
dies (PR_SET_PDEATHSIG), and SIGQUIT is sent on like Ctrl-C / SIGTERM / SIGHUP; and a number after a given
--duration is named as taken for the command. Real subprocesses on ``--source synthetic``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

import energylens.cli.monitor_command as command_run
from energylens.cli.main import main

PY = sys.executable
CLI = [PY, "-c", "import sys; from energylens.cli.main import main; sys.exit(main())", "monitor", "--source",
       "synthetic"]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def _running(pid: int) -> bool:
    """Whether ``pid`` runs: it exists and is no zombie (an orphan's exit is reaped by whoever adopted it, which
    in a container may be late or never)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def _stops_within(pid: int, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _running(pid):
            return True
        time.sleep(0.02)
    return False


def _monitor_with(child: str, *options: str) -> tuple[subprocess.Popen, int]:
    """monitor running ``python -c child``, which prints its pid first; (monitor, the command's pid)."""
    proc = subprocess.Popen([*CLI, *options, "--", PY, "-c", child], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    return proc, int(proc.stdout.readline())


@linux
def test_the_command_dies_with_a_monitor_killed_by_sigkill():
    """kill -9 (or the OOM killer) on monitor left the command running, reparented, for good."""
    child = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    proc, pid = _monitor_with(child)
    try:
        assert _running(pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert _stops_within(pid), "the command is still running after monitor was killed"
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@linux
def test_a_command_that_catches_the_sigterm_can_clean_up():
    """The signal sent when monitor dies is SIGTERM (a server can stop its workers), not SIGKILL."""
    child = ("import os, signal, sys, time\n"
             "signal.signal(signal.SIGTERM, lambda s, f: (print('SIGTERM', flush=True), sys.exit(0)))\n"
             "print(os.getpid(), flush=True); time.sleep(60)\n")
    proc, pid = _monitor_with(child)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert _stops_within(pid)
        assert proc.stdout.read() == b"SIGTERM\n"
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _group(pgid: int) -> list[int]:
    """The running processes of the process group ``pgid``."""
    out = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                out.append(int(name))
    return out


def _kill_all(proc: subprocess.Popen, members: list[int]) -> None:
    """Clean-up whatever a test's outcome: monitor and every process of the command's tree."""
    proc.kill()
    for pid in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _tree_under_monitor(script: str, *options: str) -> tuple[subprocess.Popen, int, list[int]]:
    """monitor, in a session of its own, running ``sh -c 'echo $$; SCRIPT'``: (monitor, the shell's pid, the
    running processes of its group once there are three: sh and a two-process pipeline)."""
    proc = subprocess.Popen([*CLI, *options, "--", "sh", "-c", f"echo $$; {script}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    sh = int(proc.stdout.readline())
    end = time.monotonic() + 10
    while len(members := _group(sh)) < 3 and time.monotonic() < end:
        time.sleep(0.02)
    assert len(members) == 3, members
    return proc, sh, members


@linux
@pytest.mark.parametrize("kill", ["monitor", "its process group"])
def test_a_pipeline_dies_with_a_monitor_killed_by_sigkill(kill):
    """``monitor -- sh -c 'sleep 100 | cat'`` killed by SIGKILL: the shell got SIGTERM (PR_SET_PDEATHSIG) and
    ended, but ``sleep`` and ``cat``, reparented, ran on. The supervisor stops the whole group; also where the
    SIGKILL goes to monitor's process group (``timeout -s KILL``, ``kill -9 -- -PGID``)."""
    proc, sh, members = _tree_under_monitor("sleep 100 | cat")
    try:
        if kill == "monitor":
            os.kill(proc.pid, signal.SIGKILL)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        left = [pid for pid in members if not _stops_within(pid)]
        assert not left, f"still running after monitor was killed: {left}"
    finally:
        _kill_all(proc, members)


@linux
def test_a_process_of_the_command_that_ignores_sigterm_is_killed_after_the_grace():
    """After SIGTERM to the group, a process left after --grace gets SIGKILL (here ``sleep``, SIGTERM ignored)."""
    proc, sh, members = _tree_under_monitor("(trap '' TERM; exec sleep 100) | cat", "--grace", "1")
    try:
        killed = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert all(_stops_within(pid, 8.0) for pid in members), [pid for pid in members if _running(pid)]
        assert time.monotonic() - killed >= 0.9  # (SIGTERM did not stop it: SIGKILL, after the grace)
    finally:
        _kill_all(proc, members)


@linux
def test_the_supervisor_does_not_start_the_command_when_monitor_has_died_already(tmp_path):
    """The race: monitor dies while its supervisor starts (its end of the life pipe closed before the
    supervisor reads it): the command is not started; nor is it left running where it raced past the check."""
    life_r, life_w = os.pipe()
    report_r, report_w = os.pipe()
    os.close(life_w)  # (monitor gone)
    marker = tmp_path / "ran"
    sup = subprocess.Popen([PY, "-I", "-S", command_run._SUPERVISOR, "0.5", str(life_r), str(report_w), "-",
                            "sh", "-c", f"touch {marker}; sleep 100"], pass_fds=(life_r, report_w))
    os.close(life_r)
    os.close(report_w)
    try:
        assert sup.wait(timeout=10) == 128 + signal.SIGTERM
        assert os.read(report_r, 100) == b""
        assert not marker.exists()
    finally:
        os.close(report_r)
        sup.kill()


@linux
def test_the_supervisor_says_why_the_command_cannot_run(tmp_path, capsys):
    """A file the kernel cannot run (no #! line) passes the check before sampling; exec's error comes back from
    the supervisor as from Popen: 126 and the reason."""
    script = tmp_path / "noshebang"
    script.write_text("echo hi\n")
    script.chmod(0o755)
    assert main(["monitor", "--source", "synthetic", "--", str(script)]) == 126
    assert f"{script}: cannot run it (Exec format error); nothing was sampled" in capsys.readouterr().err


@linux
def test_the_supervisor_passes_the_environment_on_as_monitor_has_it(tmp_path):
    """The supervisor is a Python of its own: where monitor kept LC_CTYPE=C (PYTHONCOERCECLOCALE=0) its start-up
    set LC_CTYPE=C.UTF-8 (PEP 538), which the command would have inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k != "LANG"}
    for extra in ({"LC_CTYPE": "C", "PYTHONCOERCECLOCALE": "0"}, {}):
        out = subprocess.run([*CLI, "--", "sh", "-c", "echo \"${LC_CTYPE-unset}\""], capture_output=True,
                             env={**env, **extra}, stdin=subprocess.DEVNULL, timeout=30)
        assert out.stdout.decode().strip() == (extra.get("LC_CTYPE") or "C.UTF-8"), out.stderr.decode()


def test_no_supervisor_where_it_is_not_linux(monkeypatch):
    """Not Linux (macOS, the BSDs): the command is monitor's own child, started as before."""
    monkeypatch.setattr(sys, "platform", "darwin")
    child = command_run.Child(["true"])
    proc = command_run.spawn(["true"], child)
    assert isinstance(proc, subprocess.Popen) and proc.wait(timeout=10) == 0
    assert child.start_ns > 0


def test_a_sigquit_to_monitor_is_sent_on_to_the_command():
    """Ctrl-\\ (SIGQUIT to monitor, the terminal's foreground job) ended monitor at once, leaving the command."""
    child = ("import os, signal, sys, time\n"
             "signal.signal(signal.SIGQUIT, lambda s, f: (print('got SIGQUIT', flush=True), sys.exit(4)))\n"
             "print(os.getpid(), flush=True)\n"
             "for _ in range(200): time.sleep(0.1)\n")  # (a signal between print and one long sleep waits it out)
    proc, pid = _monitor_with(child)
    try:
        os.kill(proc.pid, signal.SIGQUIT)
        proc.wait(timeout=15)
        stdout, stderr = proc.communicate(timeout=5)
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    err = stderr.decode()
    assert proc.returncode == 4, err
    assert stdout == b"got SIGQUIT\n" and "exit status 4 (sent SIGQUIT)" in err, err


def test_a_number_after_a_given_duration_is_named_as_taken_for_the_command(capsys):
    """``monitor --duration 3 1.5`` suggested '--duration 1.5', though --duration 3 was given."""
    assert main(["monitor", "--source", "synthetic", "--duration", "3", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "1.5: no such command (not on PATH)" in err, err
    assert "--duration 1.5" not in err, err
    assert "taken as the command" in err and "--duration 3" in err and " -- " in err, err
