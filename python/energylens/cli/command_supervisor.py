"""The supervisor of ``energylens monitor -- COMMAND`` on Linux: a small process between monitor and the command
that stops the command's whole process group when monitor dies, SIGKILL and the OOM killer included.

Run by path (``python -I -S .../command_supervisor.py GRACE LIFE_FD REPORT_FD LC_CTYPE COMMAND ...``; started
by :func:`energylens.cli.monitor_command.spawn`): it imports nothing but ``os``, ``signal`` and ``_thread``
(no site-packages, ~10 ms), runs in a session of its own (so a SIGKILL to monitor's process group, ``timeout -s
KILL``, does not reach it), and starts the command with ``posix_spawnp`` in a further session of its own, as
monitor did (its pid is its process group's id; no Python code runs between fork and exec). It writes ``pid
N`` (or ``error ERRNO``) on REPORT_FD, waits for the command and writes ``status N`` (N as
``Popen.returncode``: -S killed by signal S), then exits. A thread reads LIFE_FD, whose write end only monitor
holds: at its end of file (monitor has died, however) the command's process group gets SIGTERM, then SIGKILL
once GRACE seconds pass with any process of the group left, and the supervisor exits.
"""

import _thread
import os
import signal
import time

#: What Python ignores at start-up and a command must not inherit ignored (subprocess's restore_signals).
_DEFAULTS = tuple(getattr(signal, n) for n in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, n))


def _gone(fd: int) -> bool:
    """Whether LIFE_FD is at its end (monitor has died), without waiting."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1) == b""
    except BlockingIOError:
        return False
    finally:
        os.set_blocking(fd, True)


def _group_left(pgid: int) -> bool:
    """Whether a process of the group ``pgid`` runs (zombies left out: an orphan's exit is reaped by whoever
    adopted it, in a container maybe never)."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    state, _, group = f.read().rsplit(b")", 1)[1].split()[:3]
            except (OSError, ValueError):  # (it has exited meanwhile)
                continue
            if int(group) == pgid and state not in (b"Z", b"X"):
                return True
    return False


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop_group(pgid: int, grace_s: float) -> None:
    """SIGTERM to the process group ``pgid``, SIGKILL where any process of it is left after ``grace_s``."""
    _signal_group(pgid, signal.SIGTERM)
    end = time.monotonic() + grace_s
    while _group_left(pgid) and time.monotonic() < end:
        time.sleep(0.02)
    if _group_left(pgid):
        _signal_group(pgid, signal.SIGKILL)


def _tell(report: int, line: str) -> None:
    try:
        os.write(report, line.encode())
    except OSError:  # (monitor has died: its thread stops the group)
        pass


def _watch(life: int, pid: int, grace_s: float, stopping) -> None:
    """Wait for monitor's end (LIFE_FD's end of file), then stop the command's group and end the supervisor."""
    while os.read(life, 1) != b"":  # (monitor writes nothing: only its end comes)
        pass
    stopping.acquire()  # (the main thread, once the command exits, leaves the exit to this thread)
    stop_group(pid, grace_s)
    os._exit(128 + signal.SIGTERM)


def main(argv: list) -> None:
    """GRACE LIFE_FD REPORT_FD LC_CTYPE COMMAND ...: LC_CTYPE is ``-`` (unset) or ``=VALUE``, monitor's, which
    Python's start-up here may have changed (PEP 538, under PYTHONCOERCECLOCALE=0 in monitor)."""
    grace_s, life, report, lc_ctype, command = float(argv[1]), int(argv[2]), int(argv[3]), argv[4], argv[5:]
    for fd in (life, report):  # (the command inherits neither)
        os.set_inheritable(fd, False)
    if lc_ctype == "-":
        os.environ.pop("LC_CTYPE", None)
    else:
        os.environ["LC_CTYPE"] = lc_ctype[1:]
    if _gone(life):  # monitor died while this started: the command is not started at all
        os._exit(128 + signal.SIGTERM)
    try:
        pid = os.posix_spawnp(command[0], command, os.environ, setsid=True, setsigdef=_DEFAULTS)
    except OSError as exc:
        _tell(report, f"error {exc.errno}\n")
        os._exit(127)
    _tell(report, f"pid {pid}\n")
    stopping = _thread.allocate_lock()
    _thread.start_new_thread(_watch, (life, pid, grace_s, stopping))
    status = os.waitpid(pid, 0)[1]
    if not stopping.acquire(False):  # monitor has died and the group is being stopped: that thread exits
        stopping.acquire()
    _tell(report, f"status {os.waitstatus_to_exitcode(status)}\n")
    os._exit(0)


if __name__ == "__main__":
    import sys

    main(sys.argv)
