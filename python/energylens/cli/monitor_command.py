"""The COMMAND of ``energylens monitor [options] -- COMMAND [ARGS ...]``: reading it from the arguments, checking it
can be started, starting it in a session of its own, sending monitor's signals on to it, stopping it when monitor
itself fails, and its lines of the report. Sampling, waiting for it and the report are :mod:`energylens.cli.monitor`'s."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from energylens.errors import EnergyLensError as Error
from energylens.measure.marks import mark, steady_now_ns
from energylens.measure.monitor import EnergyMonitor, Measurement
from energylens.signal_handlers import handlers_set

__all__ = ["Child", "FORWARDED", "SECONDS", "child_window", "command_of", "command_summary",
           "dies_with_parent", "forwarding", "signal_group", "spawn", "stdin_of_command", "stop_command", "unrunnable"]


#: A number of seconds where the command goes: ``energylens monitor 5`` meant --duration 5.
SECONDS = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def command_of(args: argparse.Namespace) -> list[str] | None:
    """The COMMAND after ``--`` (None without one), the options that cannot go with it refused."""
    command = list(getattr(args, "program", None) or [])  # (args.command is the subcommand's name)
    if command[:1] == ["--"]:
        command = command[1:]
        if not command:
            raise ValueError("-- is followed by nothing: give the command to run after it (energylens monitor -- "
                             "CMD ARGS), or drop the --")
    elif command and SECONDS.fullmatch(command[0]) and not shutil.which(command[0]):
        n, usage = command[0], "(energylens monitor [options] -- COMMAND [ARGS ...])"
        if args.duration is not None:  # (--duration 3 1.5: not 'give --duration 1.5')
            raise ValueError(f"{n}: no such command (not on PATH): a number after the options is taken as the "
                             f"command to run; --duration {args.duration:g} is given, so drop {n} to sample for "
                             f"{args.duration:g} s; a command to run goes after -- {usage}")
        raise ValueError(f"{n}: no such command (not on PATH); to sample for {n} s, give --duration {n}; a command "
                         f"to run goes after -- {usage}")
    if not command:
        return None
    if args.duration is not None:  # which would end the run, and with what status, is not obvious: refused
        raise ValueError(f"--duration {args.duration:g} with a command: the command's lifetime is the run; drop "
                         f"--duration, or bound the command itself (energylens monitor -- timeout {args.duration:g} "
                         f"{shlex.join(command)})")
    return command


def unrunnable(program: str) -> tuple[int, str] | None:
    """Why ``program`` cannot be started, with the shell's exit status for it (127 not found, 126 not executable),
    checked before sampling starts; None when it can be."""
    if "/" not in program:
        seconds = f"; to sample for {program} s instead: --duration {program} (without --)" \
            if SECONDS.fullmatch(program) else ""
        return None if shutil.which(program) else (127, f"{program}: command not found (not on PATH){seconds}")
    if not os.path.exists(program):
        return 127, f"{program}: no such file"
    if os.path.isdir(program):
        return 126, f"{program}: is a folder, not a program"
    if not os.access(program, os.X_OK):
        return 126, f"{program}: not executable (no execute permission: chmod +x {shlex.quote(program)})"
    return None


@dataclass
class Child:
    """The command's run: its span on the steady clock (marks ``command start`` / ``command exit`` in the trace),
    its exit status as a shell gives it, the signals sent on to it, and whether it had to be killed."""

    argv: list[str]
    pid: int | None = None
    start_ns: int = 0
    end_ns: int = 0
    returncode: int = 0
    forwarded: list[int] = field(default_factory=list)
    first_forward_s: float | None = None
    killed: bool = False

    @property
    def status(self) -> int:
        return 128 - self.returncode if self.returncode < 0 else self.returncode

    def forward(self, signum: int) -> None:
        """Send ``signum`` (received by monitor) on to the command's process group; one received while it was
        being started is sent once it has a pid (``energylens.cli.monitor._run_command``)."""
        self.forwarded.append(signum)
        if self.first_forward_s is None:
            self.first_forward_s = time.monotonic()
        if self.pid is not None:
            signal_group(self.pid, signum)


#: The signals to monitor that are sent on to the command while it runs.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@contextlib.contextmanager
def forwarding(child: Child) -> Iterator[None]:
    """While the command runs, Ctrl-C, SIGTERM, SIGHUP (the terminal closed) and SIGQUIT (Ctrl-\\), each of which
    ended monitor alone, to monitor are sent on to its process group (monitor then waits for it, --grace after
    the first: ``energylens.cli.monitor._follow``) instead of stopping monitor. One that monitor ignores (SIGINT in a script's background job, SIGHUP under nohup) the command ignores too, as it
    inherited. Only the main thread can set handlers."""
    with handlers_set(FORWARDED, lambda signum, frame: child.forward(signum),
                      over=lambda previous: previous is not signal.SIG_IGN):
        yield


def stdin_of_command() -> int | None:
    """None (the command reads monitor's stdin) unless that is a terminal whose foreground job monitor is not
    (started with &): such a command would take what is typed to the shell, so it reads /dev/null
    (subprocess.DEVNULL), as every command under a terminal did before 2026-12-06."""
    try:
        if sys.stdin is None or not sys.stdin.isatty():
            return None
        foreground = os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):  # (stdin closed; a terminal that is not monitor's controlling one)
        return subprocess.DEVNULL
    return None if foreground else subprocess.DEVNULL


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class _DiesWithParent:
    """Run in the child between fork and exec (``preexec_fn``): ask the kernel for SIGTERM when the thread that
    forked it exits (PR_SET_PDEATHSIG, kept across exec), then, for the race where the parent died before that,
    exit where the parent is no longer ``parent``. Little work (a function looked up before the fork, nothing
    imported); a failed prctl leaves the command as it was before (running on)."""

    def __init__(self, prctl: Callable[..., int], parent: int) -> None:
        self.prctl, self.parent = prctl, parent

    def __call__(self) -> None:
        if self.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0 and os.getppid() != self.parent:
            os._exit(128 + signal.SIGTERM)  # (as SIGTERM would: a Python handler cannot run before exec)


def dies_with_parent() -> _DiesWithParent | None:
    """On Linux, a ``preexec_fn`` that has the command sent SIGTERM when monitor dies in a way it cannot act on
    (SIGKILL: ``kill -9``, the OOM killer): without it the command, in a session of its own, ran on alone. Only
    the command's own process gets it (not the rest of its group: it stops those it started, or they run on), it
    is not sent where the command ignores SIGTERM, and it is dropped when the command execs a setuid program
    (sudo). None elsewhere (other systems have no such call: a killed monitor leaves the command running, as
    before) or off the main thread: the signal follows the forking thread's exit, and only the main thread lasts
    as long as monitor."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # (a libc without it)
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return _DiesWithParent(prctl, os.getpid())


def spawn(command: list[str], child: Child) -> subprocess.Popen:
    """Start the command in a session of its own, so in a process group of its own: Ctrl-C and SIGTERM reach all
    its processes through monitor, which stays the terminal's foreground job (it gets Ctrl-C and keeps its live
    lines). Its stdout and stderr are monitor's, its stdin too (:func:`stdin_of_command`).

    A terminal is not the command's controlling terminal in a session of its own, so it can read it. It used to be
    a background process group of monitor's session (process_group=0 on Python >= 3.11), where a read from the
    terminal stops the process for good (SIGTTIN): it was given /dev/null, and a prompt or ``python -i`` read end
    of file. Having no controlling terminal, a program that opens /dev/tty itself (ssh's password prompt) cannot.

    On Linux it gets SIGTERM when monitor is killed (:func:`dies_with_parent`); spawn from the main thread."""
    stdin, hook = stdin_of_command(), dies_with_parent()
    child.start_ns = steady_now_ns()
    mark("command start")
    return subprocess.Popen(command, stdin=stdin, start_new_session=True, preexec_fn=hook)


def command_summary(child: Child, window: Measurement | None, why: str) -> None:
    """The report's lines on the command: its argv, run time, exit status, signals sent on, its window's energy."""
    how = (f"killed by {signal.Signals(-child.returncode).name} (exit status {child.status})"
           if child.returncode < 0 else f"exit status {child.status}")
    sent = ", ".join(dict.fromkeys(signal.Signals(s).name for s in child.forwarded))
    print(f"command: {shlex.join(child.argv)}")
    print(f"  ran {(child.end_ns - child.start_ns) * 1e-9:.2f} s, {how}"
          + (f" (sent {sent}{', then SIGKILL' if child.killed else ''})" if sent else ""))
    if window is None:
        print(f"  its window: not measured ({why})")
        return
    counter = f", counter {window.counter_energy_j:.1f} J" if math.isfinite(window.counter_energy_j) else ""
    print(f"  its window: {window.duration_s:.2f} s  {window.energy_j:.1f} J  avg {window.avg_power_w:.1f} W"
          f"{counter}")


def child_window(mon: EnergyMonitor, child: Child, error: Error | None) -> tuple[Measurement | None, str]:
    """The energy of the command's span; after a sampler error, of what was recorded of it."""
    try:
        if error is None:
            return mon.measure("command", child.start_ns, child.end_ns), ""
        s = mon.sampler.samples(check=False)
        power_t = s["t_ns"][np.isfinite(s["power_w"])]
        end = min(child.end_ns, int(power_t[-1])) if power_t.size else child.start_ns
        if end <= child.start_ns:
            return None, "no power reading was recorded while it ran"
        return mon.measure("command", child.start_ns, end, recorded=True), ""
    except (Error, ValueError) as exc:
        return None, str(exc)


def stop_command(proc: subprocess.Popen, child: Child, grace_s: float, why: BaseException) -> None:
    """SIGTERM to the command's process group, SIGKILL after ``grace_s`` where it has not exited by then; for when
    monitor itself fails (an error of its own, an interrupt) while the command runs, which then goes on: the
    command was left running on its own. Nothing where it has exited. Signals to monitor meanwhile are still sent
    on to the command (:func:`forwarding`)."""
    if proc.poll() is not None:
        return
    what = "interrupted" if isinstance(why, KeyboardInterrupt) else f"failed ({type(why).__name__}: {why})"
    _say(f"{what} while the command ran: stopping the command ({shlex.join(child.argv)}): SIGTERM, then SIGKILL "
         f"after {grace_s:g} s")
    signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)  # (while a thread of monitor's waits on it too: Popen.wait then reads its status)
        return
    except subprocess.TimeoutExpired:
        pass
    _say(f"the command did not exit within {grace_s:g} s of SIGTERM: killing it (SIGKILL)")
    signal_group(proc.pid, signal.SIGKILL)
    child.killed = True
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10.0)


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # (stderr may be what failed)
        print(f"energylens monitor: {line}", file=sys.stderr, flush=True)


def signal_group(pgid: int, signum: int) -> None:
    """``signum`` to the process group ``pgid``; nothing where it has exited meanwhile."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # (it has exited meanwhile)
        os.killpg(pgid, signum)
