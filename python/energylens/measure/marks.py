"""Marks: labels recorded at steady-clock times, the time base of every sample and kernel record.

:func:`mark` is the native call itself (a steady-clock read, an interned label id and a lock-free
push; any thread). The native log has one consumer: the process-wide store here drains it and keeps
every mark, so that several monitors can each read the marks of their own span (:func:`marks`).
"""

from __future__ import annotations

import numbers
import threading
import warnings

import numpy as np

from energylens import _core
from energylens.errors import MarksDroppedWarning, user_stacklevel

__all__ = ["mark", "marks", "collect_marks", "marks_dropped", "steady_now_ns", "MARK_LOG_CAPACITY"]

#: Marks the native log holds between two collections (cpp/src/marks.cpp); more are dropped and counted.
MARK_LOG_CAPACITY = 1 << 18

#: steady-clock nanoseconds (the time base of samples, marks and kernels).
steady_now_ns = _core.steady_now_ns

#: ``mark(label)``: record ``label`` at the current steady-clock time (process-wide mark log; read
#: with :func:`marks` or ``EnergyMonitor.trace()``). The native call is the whole cost.
mark = _core.mark


class _MarkStore:
    """Drains the native mark log (the one consumer) and keeps every mark."""

    def __init__(self) -> None:
        self._t: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []
        self._lock = threading.Lock()  # monitors on several threads may read marks at once
        self._dropped_seen = 0

    def collect(self) -> None:
        with self._lock:
            d = _core.drain_marks()
            if d["t_ns"].size:
                self._t.append(d["t_ns"])
                self._ids.append(d["label_id"])
            dropped = int(_core.marks_dropped())
            if dropped > self._dropped_seen:  # the log was full: a later span may miss its boundary marks
                warnings.warn(f"{dropped - self._dropped_seen:,} marks were dropped: the native mark log holds "
                              f"{MARK_LOG_CAPACITY:,} between collections; call "
                              "energylens.measure.marks.collect_marks() more often (a trace records the count "
                              "in meta['marks_dropped'])", MarksDroppedWarning, stacklevel=user_stacklevel())
                self._dropped_seen = dropped

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> dict[str, np.ndarray]:
        self.collect()
        with self._lock:
            t = np.concatenate(self._t) if self._t else np.empty(0, np.int64)
            ids = np.concatenate(self._ids) if self._ids else np.empty(0, np.int32)
        keep = np.ones(t.size, bool)
        if start_ns is not None:
            keep &= t >= start_ns
        if end_ns is not None:
            keep &= t <= end_ns
        order = np.argsort(t[keep], kind="stable")
        if not ids.size:
            return {"t_ns": t[keep][order], "label": np.empty(0, object)}
        labels = np.asarray(_core.mark_labels(), dtype=object)
        return {"t_ns": t[keep][order], "label": labels[ids[keep][order]]}


_STORE = _MarkStore()


def collect_marks() -> None:
    """Move the marks recorded so far from the native log into the store (cheap; any time)."""
    _STORE.collect()


def marks_dropped() -> int:
    """Marks dropped in this process so far because the native log was full (cumulative)."""
    return int(_core.marks_dropped())


def marks(start_ns: int | None = None, end_ns: int | None = None) -> dict[str, np.ndarray]:
    """Every mark recorded in this process (optionally only those in ``[start_ns, end_ns]``), as
    ``{"t_ns": int64 array, "label": object array}`` sorted by time; an end before the start is a ValueError
    (it returned no marks, as if none had been recorded)."""
    for name, v in (("start_ns", start_ns), ("end_ns", end_ns)):  # (NaN returned no marks, a string a ufunc error)
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)
                              or not abs(float(v)) < 2.0**63):
            raise ValueError(f"marks(): {name} must be a steady-clock time in ns (steady_now_ns(), mark times) or "
                             f"None, got {v!r}")
    if start_ns is not None and end_ns is not None and end_ns < start_ns:
        raise ValueError(f"marks(): end_ns {end_ns} is before start_ns {start_ns}")
    return _STORE.between(start_ns, end_ns)
