"""What a fit's data covers: duplicated rows and identifiability, and the feature ranges predictions are
checked against (extrapolation).

* Duplicates: rows equal in every feature and target are copies, not new measurements; the intervals use
  the number of distinct rows as their effective sample size. A design with no more distinct
  configurations (feature rows) than the template has parameters cannot identify them: the fit warns
  (:class:`DegenerateFitWarning`) and intervals are refused (:class:`IntervalsUnavailableError`) instead of
  collapsing to zero width.
* Extrapolation: the model keeps each feature's [min, max] over its training rows; a row with a feature
  above ``max * EXTRAPOLATION_FACTOR`` or below ``min / EXTRAPOLATION_FACTOR`` is flagged, and a
  prediction call warns once (:class:`ExtrapolationWarning`) with counts per feature.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core, warning_sink
from energylens.errors import DegenerateFitWarning, ExtrapolationWarning, UnitsWarning
from energylens.profiles.light import LightProfiles
from energylens.profiles.native_rows import feature_rows
from energylens.profiles.problems import rows_text
from energylens.profiles.row_names import RowNames
from energylens.profiles.unit_mix import slip_text, slips_of

__all__ = ["EXTRAPOLATION_FACTOR", "check_feature_mapping", "empty_among_scalars", "check_finite_outputs", "DesignReport", "FeatureTable", "design_report", "training_ranges",
           "RangeCheck", "range_check", "check_feature_keys", "non_finite_fit_error", "unexercised_params", "rows_where",
           "warn_unit_slips"]

#: A feature counts as extrapolated beyond this factor outside its fitted [min, max].
EXTRAPOLATION_FACTOR = 2.0


@dataclass(frozen=True)
class DesignReport:
    """Rows, distinct rows (the effective sample size) and distinct configurations of a fit's data."""

    n_rows: int
    n_distinct_rows: int
    n_distinct_configs: int
    n_params: int

    @property
    def n_duplicate_rows(self) -> int:
        return self.n_rows - self.n_distinct_rows

    @property
    def identifiable(self) -> bool:
        return self.n_distinct_configs > self.n_params


#: Up to this many rows, distinct rows are counted in a set of row bytes (no fixed cost); above, by
#: np.unique on the rows viewed as one opaque item each (no Python object per row).
_SET_ROWS = 4096


def _rows_side_by_side(stacked: np.ndarray) -> np.ndarray:
    """The (columns, rows) table ``stacked`` as a C-contiguous (rows, columns) copy, every NaN (an
    unmeasured target, which compares unequal to itself) given the same bit pattern."""
    table = np.ascontiguousarray(stacked.T)
    table[np.isnan(table)] = np.nan
    return table


def _row_bytes(stacked: np.ndarray) -> list[bytes]:
    """Each row of the (columns, rows) table ``stacked`` as its bytes (NaN canonical): equal rows, equal keys."""
    table = _rows_side_by_side(stacked)
    raw, width = table.tobytes(), table.itemsize * table.shape[1]
    return [raw[i:i + width] for i in range(0, len(raw), width)]


def _distinct(stacked: np.ndarray) -> int:
    """Distinct rows of the (columns, rows) table ``stacked``, compared bit for bit."""
    if stacked.size == 0:
        return 0
    if stacked.shape[1] <= _SET_ROWS:
        return len(set(_row_bytes(stacked)))
    table = _rows_side_by_side(stacked)
    return len(np.unique(table.view(np.dtype((np.void, table.itemsize * table.shape[1])))))


class FeatureTable:
    """The feature columns of a fit's rows stacked once, with their distinct configurations and
    training ranges: the energy and latency fits of one table read the same features, so the second fit
    reuses the first's (:meth:`energylens.model.EnergyModel.fit`)."""

    def __init__(self, names: tuple[str, ...], columns: list[np.ndarray], stacked: np.ndarray | None = None) -> None:
        """``columns``: one float64 array per name; ``stacked``: the same as one C-contiguous (columns,
        rows) float64 array when the caller built them that way (its rows are then the columns)."""
        self.names = names
        if stacked is None:
            self.stacked = np.array(columns, dtype=np.float64) if columns else np.empty((0, 0))
            self.columns = columns
        else:
            self.stacked, self.columns = stacked, list(stacked)
        self._n_configs: int | None = None
        self._ranges: dict[str, list[float]] | None = None
        self._keys: list[bytes] | None = None
        self._hash: Any = None  # sha256 of the stacked columns, copied for each fit's targets

    @classmethod
    def of(cls, names: tuple[str, ...], frame: Any, columns: Callable[[Any], list[np.ndarray]]) -> FeatureTable:
        """The fit's features of ``frame`` stacked once: a light-path table's built natively in one call
        (:func:`energylens.profiles.native_rows.feature_rows`, features.py's bit for bit), else
        ``columns(frame)`` (features.py)."""
        if isinstance(frame, LightProfiles):
            stacked = feature_rows(frame, names)
            if stacked is not None:
                return cls(names, [], stacked)
        return cls(names, columns(frame))

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def row_keys(self) -> list[bytes] | None:
        """Each row's features as bytes (computed once), for tables of 1 to ``_SET_ROWS`` rows; else None."""
        if self._keys is None and self.stacked.size and self.n_rows <= _SET_ROWS:
            self._keys = _row_bytes(self.stacked)
        return self._keys

    @property
    def n_distinct_configs(self) -> int:
        if self._n_configs is None:
            keys = self.row_keys()
            self._n_configs = _distinct(self.stacked) if keys is None else len(set(keys))
        return self._n_configs

    def n_distinct_rows(self, targets: list[np.ndarray]) -> int:
        """Distinct rows of features and ``targets`` together (bit for bit, NaN equal to NaN): in a small
        table, the pairs of a row's feature bytes (:meth:`row_keys`, shared by the fits of one table) and
        its target bytes; else the rows of both stacked."""
        keys = self.row_keys()
        if keys is None or not targets:
            return _distinct(np.concatenate([self.stacked, np.array(targets, dtype=np.float64)]) if targets
                             else self.stacked)
        if self.n_distinct_configs == len(keys):  # every feature row differs: so does every row
            return len(keys)
        return len(set(zip(keys, _row_bytes(np.array(targets, dtype=np.float64)), strict=True)))

    def data_hash(self, targets: list[np.ndarray]) -> str:
        """:func:`energylens.model.persistence.data_hash` of the columns and ``targets``: the stacked
        columns are the columns' bytes one after another, hashed once and shared by both fits of a table."""
        if self._hash is None:
            self._hash = hashlib.sha256(self.stacked)
        h = self._hash.copy()
        for a in targets:
            h.update(np.ascontiguousarray(a, dtype=np.float64))
        return "sha256:" + h.hexdigest()[:32]

    def ranges(self) -> dict[str, list[float]]:
        """[min, max] of each feature over the rows (finite values only); a fresh copy per call."""
        if self._ranges is None:
            self._ranges = training_ranges(self.names, self.columns, self.stacked)
        return {name: list(lo_hi) for name, lo_hi in self._ranges.items()}


def design_report(table: FeatureTable, targets: list[np.ndarray], n_params: int, kind: str,
                  frame: Any = None) -> DesignReport:
    """Count duplicates and distinct configurations; warn when the parameters cannot be identified, or that rows
    duplicate others (naming the copies and the rows they copy as :func:`rows_where` does, of ``frame``)."""
    report = DesignReport(n_rows=table.n_rows, n_distinct_rows=table.n_distinct_rows(targets),
                          n_distinct_configs=table.n_distinct_configs, n_params=n_params)
    if not report.identifiable:
        warning_sink.warn_bounded(
            f"{kind} fit: {report.n_distinct_configs} distinct configuration(s) in {report.n_rows} rows for "
            f"{n_params} parameters; the data cannot identify the parameters, so the fitted values are one of "
            "many that fit equally well and prediction intervals are not available. Measure more distinct "
            "configurations (TP, batch, lengths, ...)", DegenerateFitWarning, stacklevel=4)
    elif report.n_duplicate_rows:
        copies, first = _copies(table, targets)
        warning_sink.warn_bounded(
            f"{kind} fit: {report.n_duplicate_rows} of {report.n_rows} rows duplicate another row exactly "
            f"({_where(copies, frame)}: copies of {_copied_rows(first, frame)}); the intervals count "
            f"{report.n_distinct_rows} distinct rows as the sample size", DegenerateFitWarning, stacklevel=4)
    return report


def warn_unit_slips(frame: Any, kind: str) -> None:
    """A :class:`UnitsWarning` for each measured column of a fit (``kind`` "energy": energy_j; "energy_tpot": the
    tpot_s an energy fit reads without a latency fit to check it; else ttft_s and tpot_s) holding values in another
    unit than the rest of their model and GPU (:func:`energylens.profiles.unit_mix.unit_slips`), naming the rows as
    :func:`rows_where`."""
    columns = {"energy": ("energy_j",), "energy_tpot": ("tpot_s",)}.get(kind, ("ttft_s", "tpot_s"))
    note = ("; the energy fit reads them (its measured step time, --tpot-weight; no latency model was fitted): fix "
            "them, or pass --tpot-weight 0 (tpot_weight=0) to fit energy without tpot_s") if kind == "energy_tpot" else ""
    for slip in slips_of(frame, columns):
        warning_sink.warn_bounded(slip_text(slip, _where(slip.rows, frame)) + note, UnitsWarning, stacklevel=4)


def _copies(table: FeatureTable, targets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the rows equal (features and ``targets``, bit for bit) to an earlier row, and of the first
    row each equals: run only where a fit has copies."""
    stacked = np.concatenate([table.stacked, np.array(targets, dtype=np.float64)]) if targets else table.stacked
    rows = _rows_side_by_side(stacked)
    _, first, inverse = np.unique(rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel(),
                                  return_index=True, return_inverse=True)
    of = first[inverse.ravel()]
    copies = np.flatnonzero(of != np.arange(len(of)))
    return copies, of[copies]


def _copied_rows(first: np.ndarray, frame: Any) -> str:
    """The rows copied, in the order of their copies, each once, as :func:`_where` names them (its naming of a
    file's rows reads "data rows ... (1-based, header not counted)"; here the file and that note are said once, with
    the copies before: both were said twice until 2026-12-07)."""
    rows = np.asarray(list(dict.fromkeys(first.tolist())), dtype=np.int64)
    text = _where(rows, frame)
    name = str(frame.attrs.get("source") or "") if isinstance(getattr(frame, "attrs", None), dict) else ""
    if name:  # "FILE: data rows 3, 8 (...)" as load_profiles names them, "data rows 3, 8 (...) of FILE" as the fit
        text = text[len(name) + 2:] if text.startswith(f"{name}: ") else text.removesuffix(f" of {name}")
    return text.removesuffix(" (1-based, header not counted)")  # (said with the copies, just before)


def non_finite_fit_error(kind: str, table: FeatureTable, predictions: list[np.ndarray],
                         frame: Any = None) -> ValueError:
    """The error of a fit whose cost is not finite at its start: the rows whose predictions are not finite and,
    for the first, its most extreme features (farthest from 1 in either direction: a batch of 1e300 or of
    1e-310, tokens in bytes), usually a unit or typing slip. Rows are named as the schema names a frame's
    (:func:`_where`)."""
    bad = np.zeros(table.n_rows, dtype=bool)
    for p in predictions:
        bad |= ~np.isfinite(p)
    rows = np.flatnonzero(bad)
    if rows.size == 0:
        return ValueError(f"{kind}.fit: the fit's cost is not finite (the predictions are, so the measured "
                          "targets are the likely cause: zero, negative or infinite values); nothing was fitted")
    first = table.stacked[:, rows[0]] if table.stacked.size else np.empty(0)
    with np.errstate(divide="ignore"):
        extremity = np.where(np.isfinite(first), np.abs(np.log10(np.abs(first))), np.inf)
    extremity[first == 0] = 0.0  # a zero count (no experts, no window) is a value, not a slip
    order = np.argsort(-extremity, kind="stable")[:3]
    shown = ", ".join(f"{table.names[j]}={first[j]:.4g}" for j in order)
    return ValueError(
        f"{kind}.fit: the model's predictions are not finite for {rows.size} of {table.n_rows} rows "
        f"({_where(rows, frame)}), so nothing was fitted; the first row's most extreme features are {shown}: check "
        "those rows' units and values (batch size, token counts, parameters)")


def _where(rows: np.ndarray, frame: Any) -> str:
    """The rows as the schema's messages name a frame's (:class:`energylens.profiles.row_names.RowNames`): the
    file's data rows while they are as read there, else positions with index labels in ``<DataFrame edited after
    it was read from FILE>`` (until 2026-12-06 "a DataFrame read from FILE", edited or not); the file's data rows
    when the fit read the file itself (``attrs["file_rows"]``, set by ``load_configs``)."""
    index = getattr(frame, "index", None)
    if not isinstance(index, pd.Index):  # rows given without labels (a light table): positions
        return rows_text(rows)
    source = str(frame.attrs.get("source") or "")
    if frame.attrs.get("file_rows") and source:  # read from its path by the fit itself, rows untouched
        return f"{rows_text(rows)} of {source}"
    return RowNames(frame).where(rows)


def rows_where(rows: np.ndarray, frame: Any) -> str:
    """The 0-based rows ``rows`` of a fit's ``frame`` as the fit's messages name them (the file's data rows while
    as read, else positions with index labels; :func:`non_finite_fit_error`'s naming)."""
    return _where(rows, frame)


def unexercised_params(template: Any, desc: Any, columns: list[np.ndarray], theta: np.ndarray,
                       targets: list[np.ndarray], summed: bool) -> tuple[str, ...]:
    """The parameters no fitted quantity of a measured row depends on at the fit (the energy sum, or each
    latency output where its target was measured): their Jacobian column is zero on every such row, so the
    fit never moved them from the start value and every bootstrap refit keeps it (no spread to report).
    One evaluation with the analytic Jacobian."""
    ev = _core.evaluate(template, columns, theta, jacobian=True)
    jacs = [ev.jacobian0 + ev.jacobian1] if summed else [ev.jacobian0, ev.jacobian1]
    moved = np.zeros(len(desc.param_names), dtype=bool)
    for jac, t in zip(jacs, targets, strict=False):
        measured = np.isfinite(t)
        moved |= (jac if measured.all() else jac[measured]).any(axis=0)
    return tuple(name for name, m in zip(desc.param_names, moved.tolist(), strict=True) if not m)


def training_ranges(names: tuple[str, ...], columns: list[np.ndarray],
                    stacked: np.ndarray | None = None) -> dict[str, list[float]]:
    """[min, max] of each feature over the training rows (finite values only); ``stacked``: the columns
    as one (columns, rows) array when the caller has it."""
    if columns and len(columns[0]):
        table = np.array(columns, dtype=np.float64) if stacked is None else stacked
        # the usual case: two reductions for every feature at once. min and max propagate NaN and reach an
        # infinity, so every value is finite exactly when every minimum and maximum is.
        low, high = np.minimum.reduce(table, axis=1).tolist(), np.maximum.reduce(table, axis=1).tolist()
        if all(map(math.isfinite, low)) and all(map(math.isfinite, high)):
            return {name: [lo, hi] for name, lo, hi in zip(names, low, high, strict=True)}
    out = {}
    for name, col in zip(names, columns, strict=True):
        finite = col[np.isfinite(col)]
        if len(finite):
            out[name] = [float(finite.min()), float(finite.max())]
    return out


#: How :meth:`RangeCheck.summary` names a feature whose name alone misleads: ``moe_layers`` counts every extra
#: kernel-launch layer, a W8A8 checkpoint's activation-quantised layers too (188 for a 94-layer fp8 MoE).
_FEATURE_LABELS = {"moe_layers": "moe_layers (extra launch layers: MoE and W8A8 layers)"}


class RangeCheck:
    """Accumulates extrapolation flags over the chunks of one prediction call and warns once at the end."""

    def __init__(self, ranges: dict[str, list[float]] | None, names: tuple[str, ...], gpus: Any = None) -> None:
        """``gpus``: a :class:`energylens.model.gpu_domain.GpuCheck` of the fitted GPUs (None: not checked), which
        the chunks feed each chunk's ``gpu`` column and :meth:`warn` lets warn after the feature ranges."""
        self.ranges = ranges or {}
        self.names = names
        self.gpus = gpus
        self.n_rows = 0
        self.n_flagged = 0
        self.counts: dict[str, int] = {}
        self.high: dict[str, float] = {}
        self.low: dict[str, float] = {}

    def flags(self, columns: list[np.ndarray]) -> np.ndarray:
        """Boolean per row of this chunk: some feature outside its fitted range by more than the factor."""
        n = len(columns[0]) if columns else 0
        flagged = np.zeros(n, dtype=bool)
        for name, col in zip(self.names, columns, strict=True):
            if name not in self.ranges:
                continue
            lo, hi = self.ranges[name]
            above = col > (hi * EXTRAPOLATION_FACTOR if hi > 0 else hi)
            below = col < lo / EXTRAPOLATION_FACTOR if lo > 0 else np.zeros(n, dtype=bool)
            if above.any():
                self.high[name] = max(self.high.get(name, -np.inf), float(col[above].max()))
            if below.any():
                self.low[name] = min(self.low.get(name, np.inf), float(col[below].min()))
            out = above | below
            k = int(out.sum())
            if k:
                self.counts[name] = self.counts.get(name, 0) + k
                flagged |= out
        self.n_rows += n
        self.n_flagged += int(flagged.sum())
        return flagged

    def thresholds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per feature, the values :meth:`flags` calls out of range: above the first, below the second
        (+inf / -inf where unchecked), for the native pass that tallies them (:meth:`absorb`)."""
        above, below = np.full(len(self.names), np.inf), np.full(len(self.names), -np.inf)
        for k, name in enumerate(self.names):
            if name in self.ranges:
                lo, hi = self.ranges[name]
                above[k] = hi * EXTRAPOLATION_FACTOR if hi > 0 else hi
                below[k] = lo / EXTRAPOLATION_FACTOR if lo > 0 else -np.inf
        return above, below

    def absorb(self, n_rows: int, counts, high, low, flagged: int) -> None:
        """Adds a chunk's tally from the native pass (``_core.predict_rows``), as :meth:`flags` would."""
        for name, k, hi, lo in zip(self.names, counts, high, low, strict=True):
            if hi > -np.inf:
                self.high[name] = max(self.high.get(name, -np.inf), float(hi))
            if lo < np.inf:
                self.low[name] = min(self.low.get(name, np.inf), float(lo))
            if k:
                self.counts[name] = self.counts.get(name, 0) + int(k)
        self.n_rows += n_rows
        self.n_flagged += int(flagged)

    def summary(self) -> str | None:
        """What the flagged rows lie outside: the fitted range by the factor, per feature the rows, the
        extreme values seen and the fitted [min, max] ("the fitted data's range by more than ... (...)");
        None when no row is flagged. :meth:`warn`'s text says "N of M rows lie outside" it."""
        if not self.n_flagged:
            return None
        parts = []
        for name, k in self.counts.items():
            seen = [f"up to {self.high[name]:.4g}"] if name in self.high else []
            seen += [f"down to {self.low[name]:.4g}"] if name in self.low else []
            lo, hi = self.ranges[name]
            parts.append(f"{_FEATURE_LABELS.get(name, name)}: {k} row(s), {' and '.join(seen)} vs fitted "
                         f"[{lo:.4g}, {hi:.4g}]")
        return f"the fitted data's range by more than a factor {EXTRAPOLATION_FACTOR:g} ({'; '.join(parts)})"

    def warn(self, call: str) -> None:
        """One ExtrapolationWarning for the whole call, with the rows flagged per feature; then the GPU check's
        UnseenGpuWarning, where rows are on GPUs the model was not fitted on."""
        text = self.summary()
        if text is not None:
            warning_sink.warn_bounded(f"{call}: {self.n_flagged} of {self.n_rows} rows lie outside {text}; "
                                      "predictions there are extrapolations", ExtrapolationWarning, stacklevel=4)
        if self.gpus is not None:
            self.gpus.warn(call)


def check_feature_keys(features, names: Sequence[str], template_id: str) -> None:
    """ValueError when a feature mapping lacks one of the template's ``names`` or holds a key the template
    does not read (a misspelt ``batch_sizes`` would otherwise leave ``batch_size`` at its scalar and the
    sweep silently flat), naming the keys and the close matches."""
    if type(features) is dict and features.keys() == frozenset(names):  # (a scheduler's dict: one set compare)
        return
    check_feature_mapping(features)
    missing = [n for n in names if n not in features]
    unknown = [k for k in features if k not in names]
    if not missing and not unknown:
        return
    hints = [f"{k!r} -> did you mean {m[0]!r}?" for k in unknown
             if (m := difflib.get_close_matches(str(k), names, n=1))]
    parts = ([f"features {missing} missing"] if missing else []) + \
        ([f"{unknown} are not features of the template" + (f" ({'; '.join(hints)})" if hints else "")]
         if unknown else [])
    raise ValueError(f"{' and '.join(parts)} (template {template_id}); build them with "
                     "energylens.profiles.features.build_features or pass them as scalars")


def check_feature_mapping(features) -> None:
    """TypeError for features that are not a mapping of feature name -> column (a dict, as
    :func:`energylens.profiles.features.build_features` returns, or a DataFrame of feature columns): a list gave
    a ValueError calling every feature missing and the list's items unknown features."""
    if not isinstance(features, (Mapping, pd.DataFrame)):
        raise TypeError("the features must be a mapping of feature name -> column (a dict such as "
                        "energylens.profiles.features.build_features returns, or a DataFrame of feature columns), "
                        f"not {type(features).__name__}; for configurations use predict(...)")


_MASKED = np.ma.MaskedArray
_PANDAS_COLUMNS = (pd.Series, pd.api.extensions.ExtensionArray)
_NOT_REAL = {"b": "boolean", "c": "complex", "U": "text", "S": "text", "M": "a date/time", "m": "a time span"}


def check_feature_real(name: str, raw) -> None:
    """Refuse a boolean, complex, text or date/time feature in any container (scalar, ndarray, pandas Series or
    extension array, list): converted to float it would pass as 1.0 / 0.0, lose its imaginary part, read a string
    such as "2" (or "1e3", a typo's digits) as a number without anyone having said it was one, or a date as its
    days since 1970; and missing values float conversion reads as NaN: a masked array's masked entries, None."""
    if raw is None:
        raise ValueError(f"feature {name!r} is None (a missing value); give it a value")
    if type(raw) is not np.ndarray and isinstance(raw, _MASKED) and np.ma.is_masked(raw):  # (read through by asarray)
        rows = np.flatnonzero(np.ma.getmaskarray(raw))
        raise ValueError(f"feature {name!r} row {rows[0]} is masked (a missing value)"
                         + (f", and {rows.size - 1} more" if rows.size > 1 else "") + "; give every row a value")
    if isinstance(raw, (bool, np.bool_, complex, np.complexfloating, str, bytes, np.str_, np.bytes_,
                        np.datetime64, np.timedelta64)):
        kind = np.asarray(raw).dtype.kind
    elif (dtype := getattr(raw, "dtype", None)) is not None or isinstance(raw, (list, tuple)):
        kind = getattr(dtype, "kind", "") if dtype is not None else np.asarray(raw).dtype.kind
        if kind == "O":  # an object column (a CSV read without dtypes) or list: scanned, the slow path anyway
            for i, v in enumerate(np.asarray(raw, dtype=object).ravel()):
                if v is None:
                    raise ValueError(f"feature {name!r} row {i} is None (a missing value); give every row a value")
                if isinstance(v, (str, bytes, bool, complex)):
                    kind = np.asarray(v).dtype.kind
                    break
    else:
        return
    if kind in _NOT_REAL:
        raise ValueError(f"feature {name!r} is {_NOT_REAL[kind]}; features are real numbers (tp=2, not True "
                         "or \"2\")")
    if isinstance(raw, _PANDAS_COLUMNS) and not isinstance(raw.dtype, np.dtype):  # nullable / Arrow: pd.NA
        rows = np.flatnonzero(np.asarray(pd.isna(raw), dtype=bool))  # (np.asarray reads it as NaN)
        if rows.size:
            raise ValueError(f"feature {name!r} row {rows[0]} is missing (<NA>)"
                             + (f", and {rows.size - 1} more" if rows.size > 1 else "") + "; give every row a value")


def empty_among_scalars(cols: list[np.ndarray]) -> list[np.ndarray]:
    """``cols`` with a value for every row (a scalar, one element) made empty where the others are empty, as NumPy
    broadcasts: an empty sweep over fixed specs is 0 rows (it was "feature 'tp' has 0 rows, feature 'pp' has 1");
    columns of other lengths are left for the length check to name."""
    if any(c.size > 1 for c in cols):
        return cols
    return [c if c.size == 0 else np.empty(0, dtype=c.dtype) for c in cols]


def range_check(ranges, names, check_range: bool, gpus: Any = None) -> RangeCheck | None:
    """A :class:`RangeCheck` of the training ``ranges`` over the feature ``names`` when ``check_range`` (a
    model's predict argument, which must be a bool), else None: the template's and the expression model's.
    ``gpus``: the fitted GPUs' :class:`~energylens.model.gpu_domain.GpuCheck`, or None."""
    if not isinstance(check_range, (bool, np.bool_)):
        raise TypeError(f"check_range must be True or False, got {check_range!r}")
    return RangeCheck(ranges, names, gpus) if check_range else None


def check_finite_outputs(names: Sequence[str], columns: Sequence[np.ndarray], outputs: Sequence[Any]) -> None:
    """Refuse a non-finite output of finite, in-domain features: the closed form overflowed in the evaluation
    dtype (batch_size 1e200; input_tokens 1e20 in float32) and nan came back without a word. One reduction per
    output when all is well (an overflowing sum of finite values falls through to the exact look)."""
    for out in outputs:
        if out is None or out.size == 0 or np.isfinite(np.add.reduce(out, dtype=np.float64)):
            continue
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size == 0:
            continue
        row = int(bad[0])
        values = {n: float(c[row] if c.size > 1 else c[0]) for n, c in zip(names, columns, strict=True)}
        largest = max(values, key=lambda n: abs(values[n]))
        raise ValueError(f"feature row {row} gives {out[row]} in {out.dtype.name} ({bad.size} of {out.size} rows "
                         f"non-finite): the formula overflows there; the row's largest feature is "
                         f"{largest} = {values[largest]:.6g}. predict(frame) refuses values beyond the schema's "
                         "ranges (batch_size at most 1.04858e+12); validate=False skips this check")
