"""Measured values of one column written in another unit than the rest: ``tpot_s`` / ``ttft_s`` in milliseconds
among seconds, a row's ``energy_j`` in kJ among joules.

The schema's limits (:mod:`energylens.profiles.limits`) take each number alone, so 25 (a TPOT of 25 ms written in
s) passes as a 25 s TPOT. Among the rows of one model on one GPU such a value stands apart: the column's values
(energy per output token for ``energy_j``, which varies with the output length) sorted, a gap of
:data:`GAP_FACTOR` between neighbours splits them, where real sweeps move in small steps (the largest step
between neighbours in the bundled ML.ENERGY v2 rows, the v3 H100 export and Splitwise is 2.62x, Splitwise's
``ttft_s``: bench/unit_mix_margins.py, docs/profile-schema.md "Mixed units"). :func:`unit_slips` gives the rows on the smaller side of such a gap and
the factor between the sides, for a :class:`~energylens.errors.UnitsWarning` (:func:`slip_text`).

One pass over a column (its smallest and largest value) where its whole spread is below the gap; the sort by
group only on a column that spreads wider. Imports only NumPy, pandas and :mod:`.cells`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from energylens.profiles.cells import Coded, column_values

__all__ = ["GAP_FACTOR", "UNIT_COLUMNS", "UnitSlip", "unit_slips", "slip_text", "slips_of", "largest_step"]

#: A step between neighbouring values (sorted, within one model and GPU) at least this large splits a column in
#: two units. Real sweeps step at most 2.62x (docs/profile-schema.md); a ms / s or kJ / J slip is 1000x.
GAP_FACTOR = 100.0

#: The measured columns checked, each with (factor of the odd values to the rest, the unit they are likely in,
#: what to do with them): the nearest factor (within 3x) names the unit.
UNIT_COLUMNS = {
    "tpot_s": ((1e3, "milliseconds", "divide them by 1000"), (1e6, "microseconds", "divide them by 1,000,000"),
               (1e-3, "seconds among milliseconds (the rest in ms?)", "write every value in seconds")),
    "ttft_s": ((1e3, "milliseconds", "divide them by 1000"), (1e6, "microseconds", "divide them by 1,000,000"),
               (1e-3, "seconds among milliseconds (the rest in ms?)", "write every value in seconds")),
    "energy_j": ((1e-3, "kJ", "multiply them by 1000"), (1 / 3600, "Wh", "multiply them by 3600"),
                 (1 / 3.6e6, "kWh", "multiply them by 3,600,000"), (1e3, "mJ", "divide them by 1000"),
                 (1e6, "uJ", "divide them by 1,000,000")),
}


class UnitSlip(NamedTuple):
    """Rows (0-based positions) of a column whose values stand :attr:`factor` times (median) from the rest of
    their model and GPU."""

    column: str
    rows: np.ndarray
    factor: float


def unit_slips(column: str, values: np.ndarray, groups, per: np.ndarray | None = None) -> UnitSlip | None:
    """The rows of ``values`` (``column``, float64) on the smaller side of a :data:`GAP_FACTOR` gap among the rows
    of their group, or None. ``groups``: a callable giving an int64 group code per row (model and GPU), called only
    where the column spreads wider than the gap; ``per``: a divisor per row (output tokens for energy). NaN, zero
    and negative values are not checked (other checks own them)."""
    v = values if per is None else values / per
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v > 0)
    if ok.sum() < 2:
        return None
    logs = np.log10(v[ok])
    gap = math.log10(GAP_FACTOR)
    if float(logs.max() - logs.min()) < gap:  # the usual case: no step can reach the gap
        return None
    pos = np.flatnonzero(ok)
    g = np.asarray(groups(), dtype=np.int64)[ok]
    order = np.lexsort((logs, g))
    ls, gs, ps = logs[order], g[order], pos[order]
    starts = np.r_[True, gs[1:] != gs[:-1]]
    seg = np.cumsum(starts | np.r_[False, np.diff(ls) >= gap]) - 1
    split = np.unique(gs[np.r_[False, (np.diff(ls) >= gap) & ~starts[1:]]])
    if not split.size:
        return None
    low_is_odd = UNIT_COLUMNS[column][0][0] < 1  # a tie: the side the usual slip gives (kJ low, ms high) is odd
    rows, ratios = [], []
    for code in split.tolist():
        inside = gs == code
        segs, counts = np.unique(seg[inside], return_counts=True)
        best = np.flatnonzero(counts == counts.max())
        main = segs[best[-1] if low_is_odd else best[0]]
        centre = float(np.median(ls[seg == main]))
        odd = inside & (seg != main)
        rows.append(ps[odd])
        ratios.append(ls[odd] - centre)
    at = np.concatenate(rows)
    keep = np.argsort(at, kind="stable")
    return UnitSlip(column, at[keep], float(10 ** np.median(np.concatenate(ratios))))


def slip_text(slip: UnitSlip, where: str) -> str:
    """The warning of ``slip``: ``where`` (file and rows), the column, the factor and the units it suggests (each
    within 4x of the factor, the nearest first: a sweep's spread blurs kJ (1000x) and Wh (3600x) apart)."""
    near = sorted((abs(math.log10(u[0] / slip.factor)), u) for u in UNIT_COLUMNS[slip.column])
    units = [u for d, u in near if d < math.log10(4)]
    likely = ("likely in " + " or ".join(f"{u[1]} ({u[2]})" for u in units) if units
              else "check their unit")
    what = (f"whose energy per output token is ~{slip.factor:.3g}x the other rows'" if slip.column == "energy_j"
            else f"~{slip.factor:.3g}x those of the other rows")
    return (f"{where}, column {slip.column!r}: {len(slip.rows)} value(s) {what} of their model and GPU (a step of "
            f"over {GAP_FACTOR:g}x between neighbours, where a sweep's values step by a few x); {likely}, or drop "
            "the rows if they are wrong")


def slips_of(frame, columns: tuple[str, ...]) -> list[UnitSlip]:
    """:func:`unit_slips` of each of ``columns`` a validated ``frame`` (a DataFrame or a light-path table) holds,
    grouped by model and GPU; ``energy_j`` per output token."""
    found = []
    for col in columns:
        if col not in frame or col not in UNIT_COLUMNS:
            continue
        per = np.asarray(_values(frame, "output_tokens"), dtype=np.float64) if col == "energy_j" else None
        slip = unit_slips(col, np.asarray(_values(frame, col), dtype=np.float64), lambda: _model_gpu(frame), per)
        if slip is not None:
            found.append(slip)
    return found


def _model_gpu(frame) -> np.ndarray:
    """An int64 code per row for its (model, gpu) pair."""
    code = np.zeros(len(frame), dtype=np.int64)
    for name in ("model", "gpu"):
        if name not in frame:
            continue
        col = _values(frame, name)
        each = (np.asarray(col.codes, dtype=np.int64) if isinstance(col, Coded)
                else pd.factorize(col)[0].astype(np.int64))
        code = code * (int(each.max(initial=0)) + 2) + each + 1
    return code


def _values(frame, name: str):
    """A column of a DataFrame without a Series (:func:`~energylens.profiles.cells.column_values`: no copy of a
    validated frame's attrs), or of a light-path table."""
    return column_values(frame, name) if isinstance(frame, pd.DataFrame) else frame[name]


def largest_step(frame, column: str) -> float:
    """The largest ratio between neighbouring values of ``column`` (``energy_j`` per output token) within one model
    and GPU of a validated ``frame``, as :func:`unit_slips` sorts them: what :data:`GAP_FACTOR` must stay above
    on real data (bench/unit_mix_margins.py prints it); 1.0 where no group has two values."""
    values = np.asarray(_values(frame, column), dtype=np.float64)
    if column == "energy_j":
        values = values / np.asarray(_values(frame, "output_tokens"), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (values > 0)
    logs, g = np.log10(values[ok]), _model_gpu(frame)[ok]
    order = np.lexsort((logs, g))
    same = g[order][1:] == g[order][:-1]
    steps = np.diff(logs[order])[same]
    return float(10 ** steps.max()) if steps.size else 1.0
