"""The sweep's progress lines: ``[3/12] ok 2.1 s  <config>  (elapsed 6 s, ETA 19 s)`` after each unit, with a
failed unit's error cut to its first line and the root cause the worker's output names; a unit that runs in a worker
process is announced when it starts (``[3/12] running <config>``)."""

from __future__ import annotations

import math
import re
import sys
import time
from typing import Any

from energylens.profiling.worker import WORKER_TAIL

__all__ = ["Progress"]


class Progress:
    """Plain periodic lines: ``[3/12] ok 2.1 s  <config>  (elapsed 6 s, ETA 19 s)``. With ``may_stop_early`` (an
    active sweep's ``--stop known``) the total is the budget, which the sweep may not reach: the ETA reads ``at most
    19 s left, sooner if the model is known`` (it read ``ETA 19 s``, counted to --budget, as if it would run on)."""

    def __init__(self, total: int, out=None, may_stop_early: bool = False) -> None:
        self.total, self.done, self.t0 = total, 0, time.monotonic()
        self.out = out or sys.stdout
        self.may_stop_early = may_stop_early

    def update(self, row: dict[str, Any], desc: str) -> None:
        self.done += 1
        el = time.monotonic() - self.t0
        eta = el / self.done * (self.total - self.done)
        status = row["status"] if row["status"] == "ok" else "FAILED"
        err = "" if row["status"] == "ok" else f": {_first_line(str(row.get('error', '')))}"
        wall = row.get("wall_s", math.nan)  # NaN where the unit never reported one (a Ray worker that crashed)
        took = f"{wall:.1f} s" if isinstance(wall, (int, float)) and math.isfinite(wall) else "(no run time)"
        print(f"[{self.done}/{self.total}] {status} {took}  {desc}{err}  "
              f"(elapsed {el:.0f} s, {self.eta(eta)})", file=self.out, flush=True)

    def start(self, desc: str) -> None:
        """``[4/12] running <config>  (elapsed 6 s)``: the unit now starting, for units that run in a worker
        process (a process start and a model load first: a vLLM unit takes a minute or more)."""
        print(f"[{self.done + 1}/{self.total}] running  {desc}  (elapsed {time.monotonic() - self.t0:.0f} s)",
              file=self.out, flush=True)

    def eta(self, seconds: float) -> str:
        """The line's time left: an upper bound where the sweep may stop before its total."""
        if self.may_stop_early and self.done < self.total:
            return f"at most {seconds:.0f} s left, sooner if the model is known"
        return f"ETA {seconds:.0f} s"


def _first_line(error: str, limit: int = 200) -> str:
    """A failed unit's error on its progress line: the first line, cut at ``limit`` with a pointer to the rest
    (the row's error column); cut bare at 120 it read "... Use `" and stopped, as if that were the message."""
    line = (error.splitlines() or [""])[0]
    line = line if len(line) <= limit else f"{line[:limit].rstrip()} [...; the row's error column has all of it]"
    cause = _root_cause(error.partition(WORKER_TAIL)[2])
    return f"{line} (in the worker's output: {cause[:limit]})" if cause and cause not in error.partition("\n")[0] else line


#: The last exception line of a log (``... ERROR ... [core.py:1510] AssertionError: Not enough ...``).
_EXCEPTION_LINE = re.compile(r"\b((?:[A-Za-z_][\w.]*)?(?:Error|Exception|Interrupt)\b: .+)$")


def _root_cause(tail: str) -> str:
    """The last exception line of a failed worker's output: vLLM's own message for the row ("Engine core
    initialization failed. See root cause above.", a pydantic ``ValidationError``) names where it failed, this
    what failed (an engine core's assertion, a module not installed); ``""`` where there is none."""
    found = [m.group(1).strip() for m in map(_EXCEPTION_LINE.search, tail.splitlines()) if m]
    return found[-1] if found else ""
