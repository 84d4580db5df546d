"""The COMMAND of ``energylens monitor [options] -- COMMAND [ARGS ...]``: reading it from the arguments, checking it
can be started, starting it in a session of its own, sending monitor's signals on to it, stopping it when monitor
itself fails, and its lines of the report. Sampling, waiting for it and the report are :mod:`energylens.cli.monitor`'s."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from energylens.errors import EnergyLensError as Error
from energylens.measure.integrate import COUNTER_SOURCES
from energylens.measure.marks import mark, steady_now_ns
from energylens.measure.monitor import EnergyMonitor, Measurement
from energylens.signal_handlers import handlers_set

__all__ = ["Child", "FORWARDED", "SECONDS", "child_window", "command_of", "command_summary",
           "Supervised", "counter_period", "counter_text", "figure", "sources_text", "forwarding", "signal_group", "spawn", "stdin_of_command", "stop_command", "unrunnable",
           "wait_for_leftovers"]


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
    its exit status as a shell gives it, --grace (for the supervisor: :func:`spawn`), the signals sent on to it, and
    whether it had to be killed."""

    argv: list[str]
    pid: int | None = None
    start_ns: int = 0
    end_ns: int = 0
    returncode: int = 0
    grace_s: float = 10.0
    forwarded: list[int] = field(default_factory=list)
    first_forward_s: float | None = None
    killed: bool = False
    left: dict[str, str] = field(default_factory=dict)
    left_killed: list[str] = field(default_factory=list)
    left_running: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        return 128 - self.returncode if self.returncode < 0 else self.returncode

    def forward(self, signum: int) -> None:
        """Send ``signum`` (received by monitor) on to the command's process group, then SIGCONT, so that a stopped
        command acts on it (``kill -STOP``: it was SIGKILLed once --grace ran out); one received while it was being
        started is sent once it has a pid (``energylens.cli.monitor._run_command``)."""
        self.forwarded.append(signum)
        if self.first_forward_s is None:
            self.first_forward_s = time.monotonic()
        if self.pid is not None:
            signal_group(self.pid, signum)
            signal_group(self.pid, signal.SIGCONT)  # (a stopped command acted on it only once SIGKILLed, --grace on)


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


#: Run by path under ``python -I -S`` (:func:`spawn`): it imports nothing of energylens.
_SUPERVISOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "command_supervisor.py")


class Supervised:
    """The command started under :mod:`energylens.cli.command_supervisor`, which stops what it left once it has
    exited and everything of it when monitor dies: ``pid`` is the command's (its process group's id), ``wait`` /
    ``poll`` / ``returncode`` give its exit status as ``Popen`` does (-N killed by signal N; the supervisor's own
    where it died without saying), from its ``status`` line, so at the command's exit, not the supervisor's;
    ``kill`` SIGKILLs its group. A thread reads the supervisor's lines (REPORT_FD); what follows ``status`` (its
    processes left, :func:`wait_for_leftovers`) is queued. Monitor holds the write end of the supervisor's
    LIFE_FD (``life``) until the supervisor has exited."""

    def __init__(self, supervisor: subprocess.Popen, pid: int, report: int, said: bytes, life: int) -> None:
        self.supervisor, self.pid, self.returncode = supervisor, pid, None
        self._report, self._life = report, life
        self._exited, self._after = threading.Event(), queue.SimpleQueue()
        threading.Thread(target=self._read, args=(said,), name="energylens-monitor-supervisor", daemon=True).start()

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(self.supervisor.args, timeout)
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode if self._exited.is_set() else None

    def kill(self) -> None:
        signal_group(self.pid, signal.SIGKILL)

    def after_exit(self, timeout: float) -> str | None:
        """The supervisor's next line after ``status`` (``left ...``, ``killed ...``, ``running ...``); None at
        its end; raises queue.Empty where none comes within ``timeout``."""
        return self._after.get(timeout=max(timeout, 0.0))

    def _read(self, said: bytes) -> None:
        """The supervisor's lines until it exits (its end of REPORT_FD closed), then its pipes closed."""
        try:
            while True:
                *lines, said = said.split(b"\n")
                for line in lines:
                    if line.startswith(b"status ") and not self._exited.is_set():
                        self.returncode = int(line[7:])
                        self._exited.set()
                    else:
                        self._after.put(line.decode(errors="replace"))
                chunk = os.read(self._report, 4096)
                if not chunk:
                    break
                said += chunk
        finally:
            self.supervisor.wait()
            os.close(self._report)
            os.close(self._life)
            if not self._exited.is_set():  # (it died without saying: killed)
                self.returncode = self.supervisor.returncode
                self._exited.set()
            self._after.put(None)


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'es' if what.endswith('s') else 's'}" if n != 1 else f"1 {what}"


def wait_for_leftovers(proc: subprocess.Popen | Supervised, child: Child) -> None:
    """Once the command has exited, however (:func:`spawn`'s supervisor, Linux): wait while its supervisor stops
    what it left running (its group's background jobs, daemons: ``left ...``), saying so on stderr, and note
    them in ``child`` for the report. Where the command has not exited (monitor gives up on it) or was started
    directly (not Linux), nothing: the supervisor stops everything once monitor exits."""
    if not isinstance(proc, Supervised) or proc.poll() is None:
        return
    end = time.monotonic() + child.grace_s + 30.0  # (the supervisor's own bound: grace + 5 s after SIGKILL)
    try:
        while (line := proc.after_exit(end - time.monotonic())) is not None:
            what, *named = line.split(" ")
            found = dict(p.split("=", 1) for p in named)
            child.left = {**child.left, **found}  # (those found later, started meanwhile, added)
            if what == "left":
                them = "them" if len(found) > 1 else "it"
                _say(f"the command left {_plural(len(found), 'process')} running: {_named(found)}: "
                     f"stopping {them}: SIGTERM, then SIGKILL after {child.grace_s:g} s")
            elif what == "killed":
                child.left_killed = list(found)
                _say(f"{_named(found)} did not exit within {child.grace_s:g} s of SIGTERM: killing (SIGKILL)")
            elif what == "running":
                child.left_running = list(found)
                _say(f"{_named(found)} still running after SIGKILL (another user's, or stuck in the kernel): "
                     "left running")
    except queue.Empty:
        _say(f"its supervisor ({proc.supervisor.pid}) has not finished stopping what the command left: left to it")


def _named(found: dict[str, str]) -> str:
    return ", ".join(f"{pid} ({name})" for pid, name in found.items())


def _read_to_end(fd: int, stop: bytes | None = None) -> bytes:
    """What ``fd`` gives until its end, or until ``stop`` is among it."""
    said = b""
    while chunk := os.read(fd, 4096):
        said += chunk
        if stop is not None and stop in said:
            break
    return said


def _supervised(command: list[str], stdin: int | None, child: Child) -> Supervised:
    """The command started by the supervisor, once it has said it started it (its pid) or why it could not (an
    OSError as Popen raises it)."""
    life_r, life_w = os.pipe()
    report_r, report_w = os.pipe()
    lc_ctype = os.environ.get("LC_CTYPE")
    try:
        supervisor = subprocess.Popen(
            [sys.executable, "-I", "-S", _SUPERVISOR, repr(float(child.grace_s)), str(life_r), str(report_w),
             "-" if lc_ctype is None else f"={lc_ctype}", *command],
            stdin=stdin, start_new_session=True, pass_fds=(life_r, report_w))
    except BaseException:
        os.close(life_w)
        os.close(report_r)
        raise
    finally:
        os.close(life_r)
        os.close(report_w)
    said = _read_to_end(report_r, stop=b"\n")
    first, _, rest = said.partition(b"\n")
    if first.startswith(b"pid "):
        child.start_ns = steady_now_ns()  # (just after the spawn: the supervisor's start-up is not the command's)
        mark("command start")
        return Supervised(supervisor, int(first[4:]), report_r, rest, life_w)
    supervisor.wait()
    os.close(report_r)
    os.close(life_w)
    if first.startswith(b"error "):
        code = int(first[6:])
        raise OSError(code, os.strerror(code))
    raise OSError(f"its supervisor ({_SUPERVISOR}) exited with status {supervisor.returncode} before starting it")


def spawn(command: list[str], child: Child) -> subprocess.Popen | Supervised:
    """Start the command in a session of its own, so in a process group of its own: Ctrl-C and SIGTERM reach all
    its processes through monitor, which stays the terminal's foreground job (it gets Ctrl-C and keeps its live
    lines). Its stdout and stderr are monitor's, its stdin too (:func:`stdin_of_command`).

    A terminal is not the command's controlling terminal in a session of its own, so it can read it. It used to be
    a background process group of monitor's session (process_group=0 on Python >= 3.11), where a read from the
    terminal stops the process for good (SIGTTIN): it was given /dev/null, and a prompt or ``python -i`` read end
    of file. Having no controlling terminal, a program that opens /dev/tty itself (ssh's password prompt) cannot.

    On Linux it is started by a supervisor process (:class:`Supervised`) that stops its process group and every
    process it left, daemons too (SIGTERM, SIGKILL after ``child.grace_s``), once it has exited
    (:func:`wait_for_leftovers`) and when monitor dies, SIGKILL included: the PR_SET_PDEATHSIG asked for by the
    command itself (before 2026-12-06) reached its own process only, so ``sh -c 'a | b'`` left ``a`` and ``b``
    running. Elsewhere it is started directly and runs on where monitor is killed, and what it leaves runs on."""
    stdin = stdin_of_command()
    if sys.platform.startswith("linux") and sys.executable and hasattr(os, "posix_spawnp"):
        return _supervised(command, stdin, child)
    child.start_ns = steady_now_ns()
    mark("command start")
    return subprocess.Popen(command, stdin=stdin, start_new_session=True)


def command_summary(child: Child, window: Measurement | None, why: str, counter_period_s: float | None) -> None:
    """The report's lines on the command: its argv, run time, exit status, signals sent on, its window's energy
    labelled by its source, with the other estimate (:func:`sources_text`; the counter's marked where the window is
    shorter than ``counter_period_s``: :func:`counter_text`)."""
    how = (f"killed by {signal.Signals(-child.returncode).name} (exit status {child.status})"
           if child.returncode < 0 else f"exit status {child.status}")
    sent = ", ".join(dict.fromkeys(signal.Signals(s).name for s in child.forwarded))
    print(f"command: {shlex.join(child.argv)}")
    print(f"  ran {seconds_text((child.end_ns - child.start_ns) * 1e-9)} s, {how}"
          + (f" (sent {sent}{', then SIGKILL' if child.killed else ''})" if sent else ""))
    if child.left:
        killed = ", SIGKILL for " + ", ".join(child.left_killed) if child.left_killed else ""
        running = f"; still running: {', '.join(child.left_running)}" if child.left_running else ""
        print(f"  it left {_plural(len(child.left), 'process')} running, stopped after it exited (SIGTERM{killed}"
              f"{running}): {_named(child.left)}")
    if window is None:
        print(f"  its window: not measured ({why})")
        return
    said = sources_text(window.energy_j, window.energy_source, window.power_energy_j, window.source,
                        window.counter_energy_j, window.duration_s, counter_period_s)
    print(f"  its window: {seconds_text(window.duration_s)} s  {joules_text(window.energy_j)} J  avg "
          f"{window.avg_power_w:.1f} W{said}")


def counter_period(update_period_s: dict[str, float]) -> float | None:
    """The energy counter's update period among a run's (``SamplerResult.update_period_s``); None without one."""
    return next((update_period_s[c] for c in COUNTER_SOURCES if update_period_s.get(c)), None)


def counter_text(counter_j: float, duration_s: float, period_s: float | None) -> str:
    """``, counter X J`` for a summary line ('' without a counter figure); ``~X J (interpolated: ...)`` where the
    window is shorter than the counter's update period ``period_s``: inside one update its difference is the
    interpolation's slope times the window, agreeing with the power's figure by construction (a 0.4 ms command
    read 'counter 0.1 J' beside 0.1 J)."""
    if not math.isfinite(counter_j):
        return ""
    if period_s and duration_s < period_s:
        return (f", counter ~{joules_text(counter_j)} J (interpolated: shorter than the counter's "
                f"{period_s * 1e3:.0f} ms update period)")
    return f", counter {joules_text(counter_j)} J"


def sources_text(energy_j: float, energy_source: str, power_j: float, power_source: str, counter_j: float,
                 duration_s: float, period_s: float | None) -> str:
    """What follows a summary line's energy: where ``energy_j`` came from (``energy_source``, a window's or one
    GPU's), then the other estimate, each figure once: ``  (power: nvml_samples), counter X J`` (the counter's as
    :func:`counter_text` writes it), ``  (counter: nvml_energy), power X J (nvml_instant)`` (the power readings'
    figure, ``power_energy_j``, where finite and printed otherwise than ``energy_j``); where GPUs took different ones
    both. Until 2026-12-07 the line read ``901.5 J  avg 300.3 W, counter 901.5 J`` where ``energy_j`` already was the
    counter's figure: one figure twice, as if two estimates agreed."""
    kinds = set(energy_source.split("+")) - {""}
    power = (f", power {joules_text(power_j)} J ({power_source})"
             if math.isfinite(power_j) and joules_text(power_j) != joules_text(energy_j) else "")
    if not kinds:  # (no figure: the counter's alone where there is one)
        return counter_text(counter_j, duration_s, period_s)
    # (a DCGM power stream and DCGM's counter are both "dcgm": the counter's where the figure is not the power's)
    if kinds <= set(COUNTER_SOURCES) and (energy_source != power_source or energy_j != power_j):
        return f"  (counter: {energy_source}){power}"
    if kinds & set(COUNTER_SOURCES) and kinds - set(COUNTER_SOURCES):
        return (f"  (counter on some GPUs, power on others: {energy_source})"
                f"{counter_text(counter_j, duration_s, period_s)}{power}")
    return f"  (power: {energy_source}){counter_text(counter_j, duration_s, period_s)}"


def figure(x: float, small: float, decimals: int) -> str:
    """``x`` with ``decimals`` decimals, or three significant digits below ``small`` (a command of a few ms read
    'ran 0.00 s', its window '0.0 J'), in the same units and without an exponent."""
    if not math.isfinite(x) or abs(x) >= small or x == 0:
        return f"{x:.{decimals}f}"
    return np.format_float_positional(x, precision=3, unique=False, fractional=False, trim="-")


def seconds_text(x: float) -> str:
    """A duration as monitor prints it, at least three significant digits ('0.0330', '0.534', '12.35'), so that
    energy / duration gives the printed average power to 1 % (two decimals on 0.1-1 s gave '0.12' for 0.125 s)."""
    return figure(x, 1.0, 2)


def joules_text(x: float) -> str:
    """An energy as monitor prints it, at least three significant digits ('4.95', '15.8'): one decimal on 1-10 J
    printed a 30 ms command's window as '0.033 s  4.9 J  avg 150.0 W'."""
    return figure(x, 10.0, 1)


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


def stop_command(proc: subprocess.Popen | Supervised, child: Child, grace_s: float, why: BaseException) -> None:
    """SIGTERM to the command's process group, SIGKILL after ``grace_s`` where it has not exited by then; for when
    monitor itself fails (an error of its own, an interrupt) while the command runs, which then goes on: the
    command was left running on its own. Nothing where it has exited. Signals to monitor meanwhile are still sent
    on to the command (:func:`forwarding`). What it leaves running once it has exited is its supervisor's to
    stop (:func:`wait_for_leftovers`)."""
    if proc.poll() is not None:
        return
    what = "interrupted" if isinstance(why, KeyboardInterrupt) else f"failed ({type(why).__name__}: {why})"
    _say(f"{what} while the command ran: stopping the command ({shlex.join(child.argv)}): SIGTERM, then SIGKILL "
         f"after {grace_s:g} s")
    signal_group(proc.pid, signal.SIGTERM)
    signal_group(proc.pid, signal.SIGCONT)  # (a stopped process acts on its SIGTERM once continued)
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
