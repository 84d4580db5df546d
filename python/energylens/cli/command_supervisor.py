"""The supervisor of ``energylens monitor -- COMMAND`` on Linux: a small process between monitor and the command
that stops what the command started, its whole process group and every process it left (daemons included),
once the command has exited or when monitor dies, SIGKILL and the OOM killer included.

Run by path (``python -I -S .../command_supervisor.py GRACE LIFE_FD REPORT_FD LC_CTYPE COMMAND ...``; started
by :func:`energylens.cli.monitor_command.spawn`): it imports nothing but ``os``, ``signal``, ``time``,
``_thread`` and ``_ctypes`` (no site-packages, ~10 ms), runs in a session of its own (so a SIGKILL to monitor's
process group, ``timeout -s KILL``, does not reach it), makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``:
a process of the command's whose parent exits, a daemon's double fork, is reparented to it rather than to init)
and starts the command with ``posix_spawnp`` in a further session of its own, as monitor did (its pid is its
process group's id; no Python code runs between fork and exec). It writes ``pid N`` (or ``error ERRNO``) on
REPORT_FD, reaps whatever exits under it, and when the command exits writes ``status N`` (N as
``Popen.returncode``: -S killed by signal S). Then it stops what is left (:func:`stop`): the command's process
group and every running descendant of its own, writing ``left PID=NAME ...`` first where there are any, then
``killed PID ...`` for those SIGKILLed and ``running PID ...`` for any it could not stop, and exits.

A thread reads LIFE_FD, whose write end only monitor holds: at its end of file (monitor has died, however)
the same :func:`stop` runs at once, saying nothing, and the supervisor exits.
"""

import _thread
import os
import signal
import time

#: What Python ignores at start-up and a command must not inherit ignored (subprocess's restore_signals).
_DEFAULTS = tuple(getattr(signal, n) for n in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, n))

#: prctl's option (linux/prctl.h).
_PR_SET_CHILD_SUBREAPER = 36

#: How long SIGKILLed processes are waited for before they are named as still running (one in the
#: uninterruptible sleep of a hung device or file system may not end at all).
_KILL_WAIT_S = 5.0

#: How long what the command left is looked at again before it is named and stopped: a shell's fork caught before
#: its exec still bears the shell's name (``sh -c 'sleep 100 & exit 0'`` named its sleep 'sh' in 19 of 30 runs).
_SETTLE_S = 0.1


def _subreaper() -> bool:
    """Make this process a child subreaper; whether the kernel (>= 3.4) took it. Through ``_ctypes``, not
    ``ctypes`` (whose import costs ~2 ms of the command's start, ~0.3 ms here)."""
    try:
        import _ctypes

        class _Int(_ctypes._SimpleCData):
            _type_ = "i"

        class _Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL
            _restype_ = _Int

        class _Libc:
            _handle = _ctypes.dlopen(None, os.RTLD_NOW)

        return _Function(("prctl", _Libc))(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (ImportError, AttributeError, OSError, TypeError):  # (no libffi, no prctl): the group alone
        return False


def _gone(fd: int) -> bool:
    """Whether LIFE_FD is at its end (monitor has died), without waiting."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1) == b""
    except BlockingIOError:
        return False
    finally:
        os.set_blocking(fd, True)


def left(pgid: int) -> dict:
    """{pid: (its name, its process group)} of the running processes of the group ``pgid`` and the running
    descendants of this process (zombies left out: an orphan's exit is reaped by whoever adopted it, in a
    container maybe never). One pass over /proc/*/stat (/proc/PID/task/*/children needs a kernel built with
    CONFIG_PROC_CHILDREN)."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    head, tail = f.read().rsplit(b")", 1)
                state, parent, group = tail.split()[:3]
            except (OSError, ValueError):  # (it has exited meanwhile)
                continue
            if state not in (b"Z", b"X"):
                procs[int(name)] = (int(parent), int(group), head.partition(b"(")[2])
    me, found = os.getpid(), {}
    for pid, (_, group, comm) in procs.items():
        chain, seen = pid, set()
        while chain in procs and chain not in seen and chain != me:  # (up its ancestors, to this process?)
            seen.add(chain)
            chain = procs[chain][0]
        if group == pgid or (chain == me and pid != me):
            found[pid] = ("".join(c if c.isprintable() and not c.isspace() else "?"
                                  for c in comm.decode(errors="replace")) or "?", group)
    return found


def _signal(pgid: int, found: dict, signum: int) -> None:
    """``signum`` to the group ``pgid`` (at once, a fork meanwhile included) where a process of it is among
    ``found`` (after the command's exit its pid may have been reused), then to each of ``found``."""
    group = [(os.killpg, pgid)] if any(g == pgid for _, g in found.values()) else []
    for send, target in group + [(os.kill, pid) for pid in found]:
        try:
            send(target, signum)
        except (ProcessLookupError, PermissionError):  # (it has exited meanwhile; another user's)
            pass


def _reap() -> None:
    """Reap every child that has exited (orphans reparented here), without waiting."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _wait_for(pgid: int, seconds: float) -> dict:
    """What :func:`left` gives once it is empty or ``seconds`` have passed, reaping meanwhile."""
    end = time.monotonic() + seconds
    while True:  # (what is found is signalled before the next reap: a child's pid is not reused meanwhile)
        _reap()
        found = left(pgid)
        if not found:
            _reap()  # (what had exited by that look is reaped, not left behind as a zombie)
            return found
        if time.monotonic() >= end:
            return found
        time.sleep(0.02)


def _named(what: str, found: dict) -> str:
    return " ".join([what] + [f"{pid}={name}" for pid, (name, _) in sorted(found.items())])


def stop(pgid: int, grace_s: float, say=lambda line: None) -> None:
    """Stop what is left of the command: SIGTERM (and SIGCONT, as systemd does) to the group ``pgid`` and each
    of :func:`left` (a process started meanwhile, a handler's clean-up, is not sent one), SIGKILL to whatever
    is left after ``grace_s`` (again until none is), and reap them. ``say`` gets ``left PID=NAME ...``,
    ``killed PID=NAME ...`` and ``running PID=NAME ...`` (still there ``_KILL_WAIT_S`` after the SIGKILL),
    each where there are any. Where something is left, it is looked at for :data:`_SETTLE_S` first: what exits
    meanwhile is not named, a fork that execs meanwhile is named by what it runs."""
    found = _wait_for(pgid, _SETTLE_S)  # (at once where nothing is left)
    if not found:
        return
    say(_named("left", found))
    _signal(pgid, found, signal.SIGTERM)
    _signal(pgid, found, signal.SIGCONT)  # (a stopped process acts on its SIGTERM once continued)
    found = _wait_for(pgid, grace_s)
    if not found:
        return
    say(_named("killed", found))
    end = time.monotonic() + _KILL_WAIT_S
    while found and time.monotonic() < end:  # (what forks as it is killed is reparented here: found next)
        _signal(pgid, found, signal.SIGKILL)
        found = _wait_for(pgid, 0.02)
    if found:
        say(_named("running", found))


def _tell(report: int, line: str) -> None:
    try:
        os.write(report, f"{line}\n".encode())
    except OSError:  # (monitor has died: its thread stops what is left)
        pass


def _watch(life: int, pid: int, grace_s: float, stopping) -> None:
    """Wait for monitor's end (LIFE_FD's end of file), then stop what is left and end the supervisor."""
    while os.read(life, 1) != b"":  # (monitor writes nothing: only its end comes)
        pass
    stopping.acquire()  # (the main thread, once the command exits, leaves the exit to this thread)
    stop(pid, grace_s)
    os._exit(128 + signal.SIGTERM)


def _wait(pid: int, stopping) -> int:
    """The command's wait status, reaping every other child (an orphan reparented here) meanwhile."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:  # (the watching thread, stopping everything, reaped the command)
            stopping.acquire()
            raise
        if done == pid:
            return status


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
    _subreaper()
    try:
        pid = os.posix_spawnp(command[0], command, os.environ, setsid=True, setsigdef=_DEFAULTS)
    except OSError as exc:
        _tell(report, f"error {exc.errno}")
        os._exit(127)
    _tell(report, f"pid {pid}")
    stopping = _thread.allocate_lock()
    _thread.start_new_thread(_watch, (life, pid, grace_s, stopping))
    status = _wait(pid, stopping)
    if not stopping.acquire(False):  # monitor has died and everything is being stopped: that thread exits
        stopping.acquire()
    _tell(report, f"status {os.waitstatus_to_exitcode(status)}")
    stop(pid, grace_s, lambda line: _tell(report, line))
    os._exit(0)


if __name__ == "__main__":
    import sys

    main(sys.argv)
