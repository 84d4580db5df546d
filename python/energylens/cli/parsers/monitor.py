"""The parser of ``energylens monitor``; the command itself is :mod:`energylens.cli.monitor`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import path

__all__ = ["add_parser"]


def _gpu_list(text: str) -> list[int]:
    try:
        gpus = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--gpus takes indices like 0,1 (got {text!r})") from exc
    if not gpus or min(gpus) < 0:
        raise argparse.ArgumentTypeError(f"--gpus takes non-negative indices like 0,1 (got {text!r})")
    if len(set(gpus)) != len(gpus):  # each mention would be sampled and added to the total
        raise argparse.ArgumentTypeError(f"--gpus names a GPU more than once (got {text!r})")
    return gpus


#: The longest --duration / --interval (a year): beyond it time.sleep overflows (a traceback, not a run).
_LONGEST_S = 365 * 24 * 3600.0


def _positive(text: str) -> float:
    """Seconds, > 0 and at most a year; a word is refused in argparse's own terms (a ValueError here was
    printed as "invalid _positive value", the function's name)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not v > 0 or not v <= _LONGEST_S:
        raise argparse.ArgumentTypeError(f"must be > 0 and at most {_LONGEST_S:.0f} s (a year) (got {text})")
    return v


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens monitor``."""
    p = sub.add_parser("monitor", help="live per-GPU power from NVML; totals at the end; -o saves a trace",
                       usage="%(prog)s [options] [-- COMMAND [ARGS ...]]",
                       description="Sample GPU power until --duration or Ctrl-C / SIGTERM; or, given a COMMAND after "
                       "--, run it and sample over its lifetime: its own output passes through, monitor's lines go "
                       "to stderr, and monitor exits with the command's status (128+N when signal N killed it; 127 "
                       "not found, 126 not executable).")
    p.add_argument("--gpus", type=_gpu_list, default=None, help="visible GPU indices, e.g. 0,1 (default: all)")
    p.add_argument("--duration", type=_positive, default=None, help="seconds to sample (default: until Ctrl-C, "
                   "which then exits 0); Ctrl-C before they pass still saves the totals and trace but exits 130. "
                   "Not with a COMMAND, whose lifetime is the run")
    p.add_argument("--interval", type=_positive, default=None, help="seconds between live lines (0.5); each line "
                   "is every GPU's mean power over the interval since the line before (its energy over its length, "
                   "from the readings the trace records; the seconds it covers, since the start, rounded down), not "
                   "a reading at that moment. With a COMMAND no live lines unless given (then on stderr)")
    p.add_argument("-o", "--output", type=path, default=None, help="save the run as a trace (Parquet: a .parquet or .pq name; "
                   "marks 'monitor start' / 'monitor end' bound the totals, 'command start' / 'command exit' a "
                   "COMMAND); an existing file there is refused before sampling starts unless --force")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier trace at -o (a measurement cannot be taken again, so not by default)")
    p.add_argument("--dcgm", choices=("off", "auto", "on"), default="off",
                   help="also read DCGM (auto: when a host engine answers; on: required)")
    p.add_argument("--source", choices=("nvml", "synthetic"), default="nvml",
                   help="nvml (default) or synthetic (a known 150 W / 450 W square wave of 0.5 s steps, for trying it "
                        "out; a week long at most)")
    p.add_argument("--grace", type=_positive, default=10.0, help="with a COMMAND: seconds it has to exit after "
                   "a Ctrl-C / SIGTERM sent on to it (or the SIGTERM it gets when monitor itself fails or, on Linux, "
                   "is killed) before it is killed (SIGKILL); on Linux also what it left running once it exited, "
                   "after their SIGTERM (10)")
    p.add_argument("program", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS ...]",
                   help="run COMMAND and sample while it runs (its process group gets Ctrl-C / SIGTERM / SIGHUP / "
                   "SIGQUIT; on Linux it gets SIGTERM, then SIGKILL after --grace, if monitor is killed; it reads "
                   "monitor's stdin, a terminal too). On Linux nothing of it is left behind: once it has exited, "
                   "however, what it left running (background jobs, daemons that left its process group) is "
                   "named on stderr and stopped (SIGTERM, SIGKILL after --grace) before monitor returns; its "
                   "window ends at its exit")
    p.set_defaults(func=Run("monitor", "run_monitor"))
