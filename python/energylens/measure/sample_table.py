"""The sampler's table of samples (:meth:`~energylens.measure.sampler.PowerSampler.samples`): every chunk drained
from the native sampler, as one table sorted by time, grown in place.

Until 2026-12-07 each call after new readings rebuilt the whole table (every column concatenated, the source name
made again for every row): at 12 M rows 0.66-1.7 s a merge on the 2-core development box, paid by every live line of
``energylens monitor`` and every flush at a window's end. Now new rows are written after the rows they do not reach
back into (the driver buffer arrives ~100 ms late), re-sorting only those, into buffers grown by half when full. A
table handed out is a view of the buffers and must never change afterwards: where one (or a slice of one) still
refers to them and the new rows reach back into what it covers, the rows before are copied to new buffers first.
"""

from __future__ import annotations

import sys

import numpy as np

from energylens.measure.signals import signal_sources

__all__ = ["SampleTable"]

#: The columns drained from the native sampler, and ``source`` (the ``Trace`` source name of each row's signal).
_DTYPES = {"t_ns": np.int64, "gpu": np.int32, "signal": np.int32, "power_w": np.float64, "energy_j": np.float64,
           "source": object}
_DRAINED = ("t_ns", "gpu", "signal", "power_w", "energy_j")


def _ref_counts(buffers: dict[str, np.ndarray]) -> list[int]:
    """Each buffer's reference count as seen from here (what counts as ours differs by interpreter version)."""
    return [sys.getrefcount(v) for v in buffers.values()]


def _probe_unheld_count() -> int | None:
    """The count :func:`_ref_counts` reads for a buffer nobody else holds, measured on this interpreter; None where
    a view held elsewhere does not raise it (then every back-reaching merge copies: never wrong, only slower)."""
    probe = {"p": np.empty(1)}
    unheld = _ref_counts(probe)[0]
    view = probe["p"][:1]
    held = _ref_counts(probe)[0]
    del view
    return unheld if held > unheld else None


_UNHELD_REFS = _probe_unheld_count()


class SampleTable:
    """Rows added in chunks (``add``), read as one table sorted by time (``table``): rows at one time in the order
    they arrived. ``len()`` counts every row added."""

    def __init__(self) -> None:
        self._buf = {k: np.empty(0, dtype=d) for k, d in _DTYPES.items()}
        self._n = 0
        self._pending: list[dict[str, np.ndarray]] = []
        self._view: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return self._n + sum(int(c["t_ns"].size) for c in self._pending)

    def add(self, chunk: dict[str, np.ndarray]) -> None:
        """Queue one drained chunk (``t_ns``, ``gpu``, ``signal``, ``power_w``, ``energy_j``) for the next ``table``."""
        if chunk["t_ns"].size:
            self._pending.append(chunk)

    def table(self) -> dict[str, np.ndarray]:
        """Every row so far sorted by time: the columns above and ``source``, views of the table's buffers that no
        later ``add`` or ``table`` changes (do not write to them; the sampler hands out read-only ones)."""
        if self._pending:
            self._merge()
        if self._view is None:
            self._view = {k: v[: self._n] for k, v in self._buf.items()}
        return self._view

    def _held(self) -> bool:
        """Whether a table handed out before (or a slice of one) still refers to the buffers: each view holds a
        reference to the buffer it views (NumPy's ``base`` is the array owning the memory). The count of a buffer
        nobody else holds is measured at import (:data:`_UNHELD_REFS`), not assumed: interpreters differ in the
        references their own frames take."""
        self._view = None
        return _UNHELD_REFS is None or any(c > _UNHELD_REFS for c in _ref_counts(self._buf))

    def _merge(self) -> None:
        fresh = {k: np.concatenate([c[k] for c in self._pending]) for k in _DRAINED}
        self._pending = []
        n, need = self._n, self._n + fresh["t_ns"].size
        cut = int(np.searchsorted(self._buf["t_ns"][:n], fresh["t_ns"].min(), side="right"))
        tail = {k: np.concatenate([self._buf[k][cut:n], fresh[k]]) for k in _DRAINED}
        order = np.argsort(tail["t_ns"], kind="stable")
        capacity = self._buf["t_ns"].size
        if need > capacity or (cut < n and self._held()):  # (rows after n: no table handed out covers them)
            size = max(need, capacity + capacity // 2, 1024) if need > capacity else capacity
            buf = {k: np.empty(size, dtype=d) for k, d in _DTYPES.items()}
            for k in buf:
                buf[k][:cut] = self._buf[k][:cut]
            self._buf = buf
        for k in _DRAINED:
            self._buf[k][cut:need] = tail[k][order]
        self._buf["source"][cut:need] = signal_sources()[self._buf["signal"][cut:need]]
        self._n = need
        self._view = None
