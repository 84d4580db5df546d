"""The energy counter's tail at a recording's end (:func:`fill_counter_tails`).

A cumulative counter covers time only up to its last update: a raw poll after it reads the same value, and the
energy drawn since is counted at the next update, which no poll saw. Raw 3 ms polls of a GPU at a steady 600 W
whose last poll came 99 ms after the one before: a 0.95-1.1405 s window ending at that poll read counter_energy_j
57.2 J for 114.3 J until 2026-12-07, the last poll's value kept at its poll as if reached there. The counter's last
update is now stamped in its bracket (or, repeated, at the change it repeats), a window past it is not bracketed,
and where the recording's raw polls reach the window's end the rest is filled from the power readings, with a
:class:`CounterTailWarning` saying how much."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from energylens.errors import user_stacklevel
from energylens.measure.gaps import source_label

__all__ = ["CounterTailWarning", "fill_counter_tails"]


class CounterTailWarning(UserWarning):
    """A window ends after its energy counter's last update, though the counter was still read there (a recording's
    end): the counter adds nothing past its last update, so ``counter_energy_j`` counts the counter up to it and
    the power readings after it."""


def fill_counter_tails(used: list, power_j: Callable[[int, int], np.ndarray], start_ns: int, end_ns: int,
                       source: str, counter_j: np.ndarray, name: str = "window",
                       holds: Mapping[str, float | str | None] | None = None) -> None:
    """Fill, in place, ``counter_j`` (per GPU, NaN where no counter brackets ``[start_ns, end_ns]``) of each GPU whose
    counter ``used`` (``(source, points, stamp half-widths, GPUs, (raw t_ns, raw gpu))`` per counter) was read at or
    after ``end_ns`` but last updated inside the window: the counter's difference up to that update plus
    ``power_j(update, end_ns)`` (the ``source`` power readings' integral, per GPU) after it; one
    :class:`CounterTailWarning` names each GPU, the update and both parts."""
    said = []
    for c, (t, e, g), _, take, (raw_t, raw_g) in used:
        for gpu in np.flatnonzero(take & np.isnan(counter_j)).tolist():
            mine = np.flatnonzero(g == gpu)
            raw = raw_t[raw_g == gpu]
            if mine.size < 2 or not raw.size or raw.max() < end_ns:
                continue
            tm, em = t[mine], e[mine]
            if not (tm[0] <= start_ns < tm[-1] < end_ns) or (np.diff(em) < 0).any():
                continue  # (not read before the window, updated only before it, or a reset: left NaN)
            counted = float(em[-1] - np.interp(start_ns, tm, em))
            tail = float(power_j(int(tm[-1]), end_ns)[gpu])
            if not math.isfinite(tail):
                continue
            counter_j[gpu] = counted + tail
            said.append(f"GPU {gpu}: the {source_label(c, holds or {})} counter's last update at t_ns {int(tm[-1])} "
                        f"({(end_ns - int(tm[-1])) * 1e-6:.1f} ms before the end; read until t_ns {int(raw.max())}): "
                        f"{counted:.1f} J from the counter, {tail:.1f} J from the {source_label(source, holds or {})} "
                        "readings after it")
    if said:
        warnings.warn(f"{name} [{start_ns}, {end_ns}] ns ends after the energy counter's last update: " + "; ".join(said)
                      + ". The counter adds nothing after its last update (the energy since is counted at the next, "
                      "which was not read), so counter_energy_j fills the rest from the power readings",
                      CounterTailWarning, stacklevel=user_stacklevel())


def change_stamps(t: np.ndarray, g: np.ndarray, mid: np.ndarray, lo: np.ndarray, last: np.ndarray,
                  period_ns: float) -> np.ndarray:
    """Stamps (ns) of the raw-poll counter changes ``mid`` (indices into rows ``t`` / ``g`` sorted by GPU and time;
    ``lo``: the start of each one's bracket, ``last``: a GPU's last row): the middle of the bracket, but a GPU's last
    change, whose bracket may be long (a last poll long after the one before), at its counter's next update after
    the change before it (``period_ns`` on), where that lies in its bracket: the 3 ms polls' last, 99 ms after the
    one before, mid-bracket lay 50 ms after the update and its window read 85.9 J for 114.3 J."""
    out = lo + (t[mid] - lo + 1) // 2  # (after the poll before it, so no two stamps tie)
    for k in np.flatnonzero(last[mid] & (np.arange(mid.size) > 0)).tolist():
        if g[mid[k - 1]] != g[mid[k]] or not period_ns > 0:
            continue
        prev = int(out[k - 1])
        # (the change before it is stamped within its own bracket: an update due up to a quarter period before
        # this bracket is taken as its first instant)
        steps = max(math.ceil((int(lo[k]) - prev) / period_ns - 0.25), 1)
        expected = max(prev + int(round(steps * period_ns)), int(lo[k]) + 1)
        if expected <= t[mid[k]]:
            out[k] = expected
    return out
