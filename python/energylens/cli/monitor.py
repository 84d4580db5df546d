"""``energylens monitor``: live per-GPU power in the terminal, totals at the end, optionally the
whole run saved as a trace (Parquet). Registered by ``energylens.cli.main``."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from energylens.cli import monitor_command as command_run
from energylens.cli.main import Terminated
from energylens.cli.monitor_live import LiveMeans
from energylens.cli.parsers.monitor import add_parser
from energylens.errors import EnergyLensError as Error
from energylens.errors import NvmlUnavailableError, OutputError
from energylens.measure.marks import mark, steady_now_ns
from energylens.measure.monitor import EnergyMonitor, Measurement
from energylens.measure.sampler import PowerSampler, SamplerResult
from energylens.measure.signals import trace_source_of
from energylens.outputs import (
    announce_written,
    check_output_path,
    existing_file,
    parquet_trace,
    refuse_folder_name,
)
from energylens.signal_handlers import handlers_set

__all__ = ["add_parser", "run_monitor"]


#: How long the synthetic square wave lasts at most (then it holds 450 W): 1.2 M breakpoints.
_SYNTHETIC_UNTIMED_S = 7 * 24 * 3600.0


def _sampler(args: argparse.Namespace) -> PowerSampler:
    if args.source == "synthetic" and args.dcgm != "off":
        raise ValueError(f"--dcgm {args.dcgm} reads DCGM beside NVML; --source synthetic reads neither: drop one")
    if args.source == "synthetic":
        n = len(args.gpus) if args.gpus else 1
        # the wave covers the run (it stopped at an hour and held 450 W: a 2 h run read 375 W, not 300 W)
        t = np.arange(0.0, min(args.duration or _SYNTHETIC_UNTIMED_S, _SYNTHETIC_UNTIMED_S) + 60.0, 0.5)
        p = np.where(np.arange(t.size) % 2 == 0, 150.0, 450.0)
        sampler = PowerSampler.synthetic([(t, p)] * n)
        for entry, index in zip(sampler.meta.get("gpus", []), args.gpus or [], strict=False):
            entry["index"] = int(index)  # the --gpus asked for, in the labels and the saved trace
        return sampler
    dcgm = {"off": False, "auto": "auto", "on": True}[args.dcgm]
    try:
        return PowerSampler.nvml(args.gpus, dcgm=dcgm)
    except NvmlUnavailableError as exc:  # its fix is for a GPU host; someone trying the command has none
        raise NvmlUnavailableError(f"{exc} To try energylens monitor without a GPU: --source synthetic (a known "
                                   "150 W / 450 W square wave).") from None


def _labels(sampler: PowerSampler) -> list[int]:
    """Each sampled GPU's visible index as its sampler records it (NVML's; the --gpus of a synthetic one)."""
    recorded = [int(g["index"]) for g in sampler.meta.get("gpus", []) if "index" in g]
    return recorded if len(recorded) == sampler.gpu_count else list(range(sampler.gpu_count))


def _live(sampler: PowerSampler, duration_s: float | None, interval_s: float,
          lines: LiveMeans, start_line: str) -> tuple[KeyboardInterrupt | None, Error | None]:
    """Print ``start_line`` on stderr, then every ``interval_s`` each GPU's mean power since the line before
    (``lines``; one updating line on a terminal) until ``duration_s`` has passed; returns the Ctrl-C (or SIGTERM: ``Terminated``) that
    ended it and the sampler's error when sampling stopped (every power source failed: GPU lost). A Ctrl-C from the start line on
    ends the run with its totals and trace (one just before the loop's ``try`` lost the trace)."""
    tty, shown = sys.stdout.isatty(), 0  # (the longest line so far: a shorter one blanks what it left)
    start = time.monotonic()
    try:
        print(start_line, file=sys.stderr, flush=True)
        while duration_s is None or time.monotonic() - start < duration_s:
            elapsed = time.monotonic() - start
            time.sleep(max(interval_s if duration_s is None else min(interval_s, duration_s - elapsed), 0.0))
            sampler.flush()
            line = lines.line()
            if line is None:  # no reading since the line before yet: the next line covers this interval
                continue
            shown = max(shown, len(line))
            print(("\r" + line.ljust(shown)) if tty else line, end="" if tty else "\n", flush=True)
    except KeyboardInterrupt as interrupt:
        return interrupt, None
    except Error as exc:  # the recording so far is summarised and saved; the error is stated
        return None, exc
    finally:
        if tty:
            print()
    return None, None


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[list[int]]:
    """Ctrl-C while the run is being closed and saved is noted (the list gets an entry), not raised: a
    second Ctrl-C right after the first lost the whole trace. Not where SIGINT is ignored (SIG_IGN, inherited from
    a parent that ignores it), which stays ignored: such a SIGINT marked the run [interrupted]. Only the main
    thread can set handlers."""
    got: list[int] = []
    with handlers_set((signal.SIGINT,), lambda signum, frame: got.append(signum),
                      over=lambda previous: previous is not signal.SIG_IGN):
        yield got


def _close(mon: EnergyMonitor, error: Error | None, want_trace: bool) -> tuple[Measurement, object, Error | None]:
    """The total window and the trace; after a sampler error (or one raised now), from what was recorded."""
    if error is None:
        try:
            total = mon.end_window("total")
        except Error as exc:
            error = exc
    if error is not None:  # up to the last power reading: after it no source was left to cover the time
        s = mon.sampler.samples(check=False)
        start = mon.window_start_ns("total")
        power_t = s["t_ns"][np.isfinite(s["power_w"])]
        any_t = s["t_ns"][np.isfinite(s["power_w"]) | np.isfinite(s["energy_j"])]  # (a counter read on)
        end = next((int(t[-1]) for t in (power_t, any_t) if t.size and t[-1] > start), steady_now_ns())
        total = mon.measure("total", start, min(end, steady_now_ns()), recorded=True)
    return total, _marked(mon.trace(), total) if want_trace else None, error


def _marked(trace, total: Measurement):
    """The trace with the totals' window marked, ``monitor start`` / ``monitor end``, so that the printed totals
    can be recomputed from the file (it held no record of their window: its readings reach past both ends)."""
    t_ns = np.concatenate([trace.marks["t_ns"].to_numpy(), [total.start_ns, total.end_ns]]).astype(np.int64)
    label = np.concatenate([trace.marks["label"].to_numpy(dtype=object), ["monitor start", "monitor end"]])
    order = np.argsort(t_ns, kind="stable")
    return trace.with_marks({"t_ns": t_ns[order], "label": label[order]})


def _summary(total: Measurement, res: SamplerResult, interrupted: bool, labels: list[int]) -> None:
    """Energy per GPU and in total, each labelled by its source with the other estimate where there is one
    (:func:`~energylens.cli.monitor_command.sources_text`), update periods, fallbacks and drops."""
    print(f"sampled {command_run.seconds_text(total.duration_s)} s from {res.active_source or 'no source'} ({res.kind})"
          + ("  [interrupted]" if interrupted else ""))
    period = command_run.counter_period(res.update_period_s)
    for g, e in enumerate(total.energy_j_per_gpu):
        said = command_run.sources_text(e, total.energy_source_per_gpu[g], total.power_energy_j_per_gpu[g],
                                        total.source, total.counter_energy_j_per_gpu[g], total.duration_s, period)
        print(f"  GPU{labels[g]}: {command_run.joules_text(e):>10} J  avg {e / total.duration_s:7.1f} W{said}")
    said = command_run.sources_text(total.energy_j, total.energy_source, total.power_energy_j, total.source,
                                    total.counter_energy_j, total.duration_s, period)
    print(f"  total: {command_run.joules_text(total.energy_j):>9} J  avg {total.avg_power_w:7.1f} W{said}")
    if total.bridged_s > 0:
        print(f"  bridged: {total.bridged_s:.3f} s that no power source covered (at a fallback) were integrated "
              "by holding the readings on either side")
    if total.gap_count:
        print(f"  gaps: {total.gap_count} in the driver buffer (readings over 1.5 update periods apart; "
              f"{total.gap_s:.3f} s, all GPUs) were integrated at the reading after each")
    polled = {s.name: s.poll_interval_s for s in res.sources if s.role == "auxiliary" and s.started}
    for src, period in sorted(res.update_period_s.items()):
        seen = res.observed_period_s.get(src)
        got = f", {1.0 / seen:.1f} samples/s achieved" if seen else ""
        poll = next((f", polled every {v * 1e3:.0f} ms" for n, v in polled.items() if trace_source_of(n) == src), "")
        print(f"  {src}: update period {period * 1e3:.1f} ms{got}{poll}")
    for f in res.fallbacks:
        print(f"  fallback: {f.from_source} -> {f.to or 'none'}: {f.reason}")
    if res.dropped:
        print(f"  dropped samples: {res.dropped}")


def _save(trace, path: str) -> bool:
    """Write the trace at ``path``; when that fails (its folder removed during the run, a full disk, a mount gone
    read-only) save it to the temporary folder instead, since the recording cannot be taken again, and say where
    on stderr. Returns whether ``path`` was written."""
    replaced = existing_file(path)
    try:
        trace.save(path)
    except Error as exc:
        spare = Path(tempfile.gettempdir()) / time.strftime(f"energylens-monitor-%Y%m%dT%H%M%S-{os.getpid()}.parquet")
        try:
            trace.save(spare)
            kept = f"the recording was saved to {spare} instead: move it where you want it"
        except Error as again:
            kept = f"the recording was not saved (nor in the temporary folder: {again})"
        print(f"energylens monitor: {type(exc).__name__}: {exc}; {kept}", file=sys.stderr)
        return False
    announce_written(path, replaced, command="monitor")
    return True


def _follow(proc: subprocess.Popen | command_run.Supervised, child: command_run.Child, sampler: PowerSampler,
            interval_s: float | None, grace_s: float, lines: LiveMeans) -> Error | None:
    """Wait for the command (a thread waits on it and marks its exit at once), flushing the sampler every
    ``interval_s`` (0.5) and printing a live line (``lines``) on stderr when ``interval_s`` was given; after a signal sent on
    to it, kill its process group once ``grace_s`` has passed. Returns the sampler's error (sampling stopped:
    the command runs on)."""
    done = threading.Event()

    def reap() -> None:
        child.returncode = proc.wait()
        child.end_ns = steady_now_ns()
        mark("command exit")
        done.set()

    threading.Thread(target=reap, name="energylens-monitor-command", daemon=True).start()
    error = None
    while not done.is_set():
        wait_s = interval_s or 0.5
        if child.first_forward_s is not None and not child.killed:
            left = child.first_forward_s + grace_s - time.monotonic()
            if left <= 0:
                print(f"energylens monitor: the command did not exit within {grace_s:g} s of "
                      f"{signal.Signals(child.forwarded[0]).name}: killing it (SIGKILL)", file=sys.stderr, flush=True)
                command_run.signal_group(proc.pid, signal.SIGKILL)
                child.killed = True
            else:
                wait_s = min(wait_s, left)
        if done.wait(wait_s) or error is not None:
            continue
        try:
            sampler.flush()
            if interval_s is not None and (line := lines.line()) is not None:
                print(line, file=sys.stderr, flush=True)
        except Error as exc:  # the command is not stopped for it: the totals cover what was recorded
            error = exc
    return error


def _report(mon: EnergyMonitor, args: argparse.Namespace, error: Error | None, interrupted: bool,
            labels: list[int], child: command_run.Child | None) -> tuple[Measurement, bool, bool, Error | None]:
    """Close the run, print the totals (and the command's), save the trace: (total, trace kept, -o written,
    error). With a command all of it goes to stderr, its stdout being the command's."""
    out = contextlib.redirect_stdout(sys.stderr) if child is not None else contextlib.nullcontext()
    with _sigint_deferred() as late_interrupt, out:  # closing and saving the run survives a second Ctrl-C
        window, why = command_run.child_window(mon, child, error) if child is not None else (None, "")
        try:
            total, trace, error = _close(mon, error, bool(args.output))
        finally:
            try:
                if "total" in mon.windows:  # left open by a sampler error: totals from what was recorded
                    mon.cancel_window("total")  # (not an OpenWindowWarning)
                mon.__exit__(None, None, None)
            except Error as exc:  # stop() re-raises the sampler's stored error: in hand already, or new
                error = error or exc
        _summary(total, mon.sampler.result(), interrupted or bool(late_interrupt), labels)
        if child is not None:
            command_run.command_summary(child, window, why,
                                        command_run.counter_period(mon.sampler.result().update_period_s))
        written = trace is None or _save(trace, args.output)
    return total, trace is not None and written, written, error


def _check_output(args: argparse.Namespace) -> None:
    if args.force and not args.output:  # it was accepted and did nothing: no trace is saved without -o
        raise ValueError("--force replaces an earlier trace at -o FILE, and without -o no trace is saved: add -o "
                         "FILE or drop --force")
    if args.output:
        refuse_folder_name(args.output)
        check_output_path(args.output, formats=("a Parquet trace", (".parquet", ".pq")),
                          replaces=("an energylens trace", parquet_trace))
        if existing_file(args.output) and not args.force:  # a fitted model can be refitted; a measurement cannot
            raise OutputError(f"-o {args.output}: a trace exists there; it cannot be recorded again, so monitor "
                              "does not replace it: choose another name, or pass --force to replace it")


def _run_command(args: argparse.Namespace, mon: EnergyMonitor, labels: list[int],
                 command: list[str]) -> tuple[command_run.Child | int, Error | None]:
    """Spawn the command and wait for it; the shell's status (127, 126) when it could not be started."""
    child = command_run.Child(command, grace_s=args.grace)
    print(f"energylens monitor: sampling {' '.join(f'GPU{i}' for i in labels)} ({args.source}) while "
          f"{shlex.join(command)} runs", file=sys.stderr, flush=True)
    with command_run.forwarding(child):  # from before the spawn: a signal then would leave the command running alone
        try:
            proc = command_run.spawn(command, child)
        except OSError as exc:  # checked before sampling, so a race or a file the kernel cannot run (no #! line)
            print(f"energylens monitor: error: {command[0]}: cannot run it ({exc.strerror or exc}); nothing was "
                  "sampled", file=sys.stderr)
            return (127 if isinstance(exc, FileNotFoundError) else 126), None
        try:
            child.pid = proc.pid
            if child.forwarded:
                child.forward(child.forwarded.pop())
            error = _follow(proc, child, mon.sampler, args.interval, args.grace,
                            LiveMeans(mon.sampler, mon.window_start_ns("total"), labels))
        except BaseException as exc:  # monitor failed, not the command: not left running on its own
            command_run.stop_command(proc, child, args.grace, exc)
            raise
        finally:  # what the command left running (its daemons, background jobs) is stopped before monitor ends
            command_run.wait_for_leftovers(proc, child)
    return child, error


def run_monitor(args: argparse.Namespace) -> int:
    """Sample until --duration or Ctrl-C, print the totals, save the trace at -o; exit 1 when sampling stopped
    on an error (the totals and trace cover what was recorded), 2 for a bad option before any sampling or a trace
    that could not be written at -o (then saved to the temporary folder, :func:`_save`), 130 when Ctrl-C cut a
    given --duration short (143 for SIGTERM; totals and trace saved; without --duration Ctrl-C is the stop: 0).

    With a COMMAND (after ``--``): run it over the sampling, everything of monitor's on stderr, and exit with its
    status (128+N killed by signal N; 127 / 126 when it cannot be started, nothing sampled); where it exited 0,
    monitor's own 1 or 2 as above."""
    command = command_run.command_of(args)
    _check_output(args)
    if command and (problem := command_run.unrunnable(command[0])):
        print(f"energylens monitor: error: {problem[1]}; nothing was sampled", file=sys.stderr)
        return problem[0]
    sampler = _sampler(args)
    mon = EnergyMonitor(sampler, sync=False)
    mon.__enter__()  # a failure to start propagates (NvmlUnavailableError with the fix: exit 2)
    child = interrupt = None
    try:
        mon.begin_window("total")
        labels = _labels(sampler)
        if command:
            child, error = _run_command(args, mon, labels, command)
            interrupted = isinstance(child, command_run.Child) and bool(child.forwarded)
        else:
            start_line = (f"energylens monitor: sampling {' '.join(f'GPU{i}' for i in labels)} ({args.source}) "
                          + (f"for {args.duration:g} s; Ctrl-C stops early" if args.duration else "until Ctrl-C"))
            lines = LiveMeans(sampler, mon.window_start_ns("total"), labels)
            interrupt, error = _live(sampler, args.duration, args.interval or 0.5, lines, start_line)
            interrupted = interrupt is not None
    except BaseException:
        mon.__exit__(*sys.exc_info())
        raise
    if isinstance(child, int):  # the command could not be started: no totals, no trace
        mon.cancel_window("total")
        with contextlib.suppress(Error):
            mon.__exit__(None, None, None)
        return child
    total, kept, written, error = _report(mon, args, error, interrupted, labels, child)
    kept_s = " and the trace" if kept else ""
    if error is not None:
        print(f"energylens monitor: sampling stopped after {command_run.seconds_text(total.duration_s)} s: {type(error).__name__}: "
              f"{error}; the totals above{kept_s} cover what was "
              "recorded until then", file=sys.stderr)
    if child is not None:
        return child.status or (1 if error is not None else 0 if written else 2)
    if error is not None:
        return 1
    if interrupted and args.duration is not None:  # a run asked to last D s that did not: 130 (143), not success
        how = "terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted (Ctrl-C)"
        print(f"energylens monitor: {how} after {command_run.seconds_text(total.duration_s)} s of the {args.duration:g} s "
              f"--duration; the totals above{kept_s + f' at {args.output}' if kept_s else ''} "
              "cover those seconds", file=sys.stderr)
        return 130
    return 0 if written else 2
