"""Readings of one source and GPU that share a ``t_ns`` (a row recorded twice over, a replayed trace with
repeated rows, two recordings merged into one GPU): the window integrator (:mod:`energylens.measure.integrate`)
takes them as **one reading, the mean of their distinct values**, whatever order the rows came in. A row
recorded twice over is one reading (it counts once in ``sample_count``); different values at one instant are
averaged and named in a :class:`SameTimeReadingsWarning` (the integral took the value of whichever row came
last for the time after it, and the one before for the time before it: a driver-buffer window read 20 J or 16 J
by row order, and a counter read its own reset, NaN). Attribution refuses such a source instead
(``attribution_design.readings``): a regression has no use for a reading it cannot place.

Rows of different sources at one time (a counter and a power reading of one poll) never meet here: each
source is integrated on its own.
"""

from __future__ import annotations

import warnings

import numpy as np

from energylens.errors import user_stacklevel

__all__ = ["SameTimeReadingsWarning", "one_per_time"]


class SameTimeReadingsWarning(UserWarning):
    """Readings of one source and GPU at one ``t_ns`` hold different values (a corrupt or merged trace): a window
    integrated their mean as the one reading at that instant."""


def one_per_time(t_ns: np.ndarray, values: np.ndarray, gpu: np.ndarray, source: str = "") \
        -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t_ns, values, gpu)`` sorted by (GPU, time), one row per (GPU, ``t_ns``): the mean of the distinct values
    at that time (summed in value order, so the result does not depend on the order of the rows). Warns
    (:class:`SameTimeReadingsWarning`, naming ``source``, the GPU position, the time and the values) when values at
    one time differ."""
    t = np.asarray(t_ns, dtype=np.int64)
    g = np.asarray(gpu, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    order = np.lexsort((t, g))
    t, v, g = t[order], v[order], g[order]
    new = np.concatenate(([True], (t[1:] != t[:-1]) | (g[1:] != g[:-1])))
    if new.all():  # (no ties: the common case, without sorting on the values too)
        return t, v, g
    order = np.lexsort((v, t, g))  # tied rows in value order: the mean below does not depend on the row order
    t, v, g = t[order], v[order], g[order]
    distinct = new | np.concatenate(([True], v[1:] != v[:-1]))
    run = np.cumsum(new) - 1
    runs = int(run[-1]) + 1
    count = np.bincount(run[distinct], minlength=runs)
    mean = np.bincount(run[distinct], weights=v[distinct], minlength=runs) / count
    clash = np.flatnonzero(count > 1)
    if clash.size:
        first = np.flatnonzero(new)[clash[0]]
        shown = v[first:first + int(np.sum(run == clash[0]))]
        warnings.warn(f"{source or 'a source'}: {clash.size} time(s) with different readings of one GPU, first GPU "
                      f"position {int(g[first])} at t_ns {int(t[first])} ({', '.join(f'{x:.6g}' for x in np.unique(shown))})"
                      ": one instant has one value; each such time was integrated as the mean of its distinct values "
                      "(a corrupt trace, or two recordings merged into one GPU)",
                      SameTimeReadingsWarning, stacklevel=user_stacklevel())
    return t[new], mean, g[new]
