"""The problem collector of :func:`energylens.profiles.schema.load_profiles`, how its messages name rows, and what
it does with the problems (:func:`raise_or_drop`: one error listing them, or the rows dropped with one warning).

Rows are **1-based data rows** (the header does not count). Of a file, or of a DataFrame the user passed
as it is, that is the row's position. A frame that :func:`energylens.profiles.schema.load_profiles`
validated earlier and that is validated again (:func:`energylens.profiles.schema.as_profiles`) may have
been filtered, reordered or re-indexed since it was read, so its rows are named as positions in *that
frame*, with their index labels (a frame read from a file keeps the file's zero-based data row as its
index until the index is reset), never as rows of the file it came from. Which rows of such a frame are still
the file's rows as read, and which file a row of a ``pd.concat`` came from, :mod:`energylens.profiles.row_names`
tells (the frame is ``<DataFrame edited after it was read from FILE>`` where one is not).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from energylens import warning_sink
from energylens.errors import ProfileSchemaError

__all__ = ["Problems", "container_cells", "raise_or_drop", "rows_text", "data_rows", "row_numbers", "problem_text", "column_label", "frame_source", "EMPTY_ROW", "EMPTY_ROW_REASON", "empty_rows", "refuse_empty_rows",
           "HINT", "said", "closing_hints",
           "REQUEST_SOURCE", "REQUESTS_SOURCE", "MISSING_REASON", "MEASUREMENT_SOURCE", "MEASUREMENTS_SOURCE", "MAPPING_SOURCES",
           "Requests"]

_MAX_ROWS_SHOWN = 20
#: The "column" of a row whose every cell is blank: that one problem explains the row (no per-column list).
EMPTY_ROW = "(every column)"
#: What such a row is, and what to do, in a profile table, a GPU or model table and an ML.ENERGY export alike.
EMPTY_ROW_REASON = "empty row (every cell blank, e.g. trailing rows a spreadsheet saved): delete it"
#: Between a reason and its hint (what the cell looks like and what to write instead: '1,234' -> 1234): the error
#: prints the hint after the values, a drop report after the reason (:func:`said`).
HINT = "\x1f"
#: The reason of a required cell left blank (a mapping's: the key absent, or None / NaN).
MISSING_REASON = "missing value (NaN/empty) in a required column"


def said(reason: str) -> str:
    """``reason`` as a drop report or a warning says it: its hint after a colon."""
    return reason.replace(HINT, ": ")


def empty_rows(frame: pd.DataFrame, candidates: np.ndarray) -> np.ndarray:
    """Rows whose every cell is NaN or blank text (Excel saves formatted but empty rows as ``,,,,``), looked for
    among ``candidates`` only (a mask: rows whose model is missing), so a large valid table costs nothing."""
    out = np.zeros(len(frame), dtype=bool)
    at = np.flatnonzero(candidates)
    if len(at) == 0 or frame.shape[1] == 0:
        return out
    sub = frame.iloc[at]
    blank = np.array(sub.isna().to_numpy(), dtype=bool)  # a writable copy
    for j in range(sub.shape[1]):  # text cells: only whitespace counts as blank too
        if not pd.api.types.is_numeric_dtype(sub.iloc[:, j].dtype):
            blank[:, j] |= sub.iloc[:, j].astype(str).str.strip().eq("").to_numpy()
    out[at] = blank.all(axis=1)
    return out


def refuse_empty_rows(frame: pd.DataFrame, src: str, candidates: np.ndarray) -> None:
    """ProfileSchemaError naming ``src`` and the rows of an export's ``frame`` whose every cell is blank (a
    spreadsheet's trailing ``,,,,``; looked for among ``candidates``, the rows whose key column is blank), said as
    the profile table says them (:data:`EMPTY_ROW_REASON`): until 2026-12-06 the first column check to meet one
    named it ("unknown GPU nan", "column 'prompt_size' must be a number > 0")."""
    empty = empty_rows(frame, np.asarray(candidates, dtype=bool))
    if empty.any():
        rows = np.flatnonzero(empty)
        raise ProfileSchemaError(f"{src}: {EMPTY_ROW_REASON} in {rows_text(rows)}", source=src, column=EMPTY_ROW,
                                 rows=rows.tolist())


class Problems:
    """Collects (row positions, column, reason, example values) in the order found.

    ``columns`` (column name -> its values: a Series, or the array a frame holds) gives the example values of a
    problem added without ``values``, looked up only when the mask holds a row: a Series per column checked cost
    more than a small table's whole validation."""

    def __init__(self, n_rows: int, columns: Mapping[str, object] | None = None) -> None:
        self.items: list[tuple[np.ndarray, str, str, list]] = []
        self.bad = np.zeros(n_rows, dtype=bool)
        self._columns = columns or {}

    def add(self, mask: np.ndarray, column: str, reason: str, values: object = None) -> None:
        """Record the rows of ``mask`` not reported yet for ``column``, with up to five of their ``values`` (a Series
        or array; default: ``columns[column]``)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():  # the usual case: nothing to subtract, no values to read
            return
        mask = mask & ~self._already(column) & ~self._already(EMPTY_ROW)
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        values = self._columns[column] if values is None else values
        series = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
        self.items.append((rows, column, reason, list(series.iloc[rows[:5]])))
        self.bad |= mask

    def reasons(self, names: Mapping[str, str] | None = None) -> np.ndarray:
        """"column: reason; ..." of every bad row (in row order), the problems in the order found; a column the
        source spells otherwise (``names``: schema column -> its own name) by that name."""
        text = np.full(len(self.bad), "", dtype=object)
        for rows, column, reason, _ in self.items:
            col = (names or {}).get(column, column)
            cur = text[rows]
            text[rows] = np.where(cur == "", f"{col}: {said(reason)}", cur + f"; {col}: {said(reason)}")
        return text[self.bad]

    def reported(self, column: str) -> np.ndarray:
        """Mask of the rows a problem names ``column`` on so far."""
        return self._already(column)

    def _already(self, column: str) -> np.ndarray:
        """Rows already reported for ``column`` (one problem per cell is enough)."""
        out = np.zeros(len(self.bad), dtype=bool)
        for rows, col, _, _ in self.items:
            if col == column:
                out[rows] = True
        return out


#: The name of a frame a model's call built from one mapping (a scheduler's request) or a list of them
#: (:func:`energylens.model.configs.mapping_frame`): its rows are named as requests (:class:`Requests`), not as
#: "data row 3 (1-based, header not counted)" of a "<DataFrame>" the caller never made.
REQUEST_SOURCE = "<request>"
REQUESTS_SOURCE = "<requests>"
#: The same for fit's mapping(s): measured rows, "row 3 of 8" (until 2026-12-07 fit named them requests too).
MEASUREMENT_SOURCE = "<measurement>"
MEASUREMENTS_SOURCE = "<measurements>"
#: Frame name -> (one mapping?, the noun of its rows, the name of the lone mapping's row): a frame a model's call
#: built from mappings, whose columns are the mappings' keys (header.check_required_columns says "key(s)").
MAPPING_SOURCES = {REQUEST_SOURCE: (False, "request", "the request"), REQUESTS_SOURCE: (True, "request", ""),
                   MEASUREMENT_SOURCE: (False, "row", "the measured row"), MEASUREMENTS_SOURCE: (True, "row", "")}


class Requests:
    """The row "labels" of a frame built from ``n`` mappings (:data:`MAPPING_SOURCES`): :func:`rows_text` names
    its rows "the request" (one mapping) or "request 3 of 8" (a list of them) for predict, "the measured row" or
    "row 3 of 8" for fit."""

    def __init__(self, n: int, listed: bool = True, noun: str = "request", lone: str = "the request") -> None:
        self.n, self.listed, self.noun, self.lone = n, listed, noun, lone

    @classmethod
    def of(cls, source: object, n: int) -> Requests | None:
        """The labels of a frame named ``source`` with ``n`` rows, where it holds mappings; else None."""
        kind = MAPPING_SOURCES.get(source) if isinstance(source, str) else None
        return None if kind is None else cls(n, *kind)

    def text(self, rows) -> str:
        """"the request", or "requests 3, 5 of 8" for the zero-based positions ``rows`` ("rows 3, 5 of 8")."""
        if not self.listed:
            return self.lone
        return f"{self.noun}{'s' if len(rows) != 1 else ''} {row_numbers(rows)} of {self.n} (1-based, in the list's order)"


def row_numbers(rows, shown: int = _MAX_ROWS_SHOWN, *, counted: bool = True) -> str:
    """"2, 5" for the zero-based positions ``rows``, 1-based: the first ``shown``, then " and 3 more" (``counted``)
    or " ..."."""
    listed = ", ".join(str(int(r) + 1) for r in rows[:shown])
    if len(rows) <= shown:
        return listed
    return f"{listed} and {len(rows) - shown} more" if counted else f"{listed} ..."


def data_rows(rows, shown: int = _MAX_ROWS_SHOWN, *, counted: bool = True) -> str:
    """"data row 2" or "data rows 2, 5" (:func:`row_numbers`) for the zero-based positions ``rows``: the words every
    message naming a table's rows starts with (:func:`rows_text` adds what the numbers count)."""
    return f"data row{'s' if len(rows) != 1 else ''} {row_numbers(rows, shown, counted=counted)}"


def rows_text(rows: np.ndarray, labels: pd.Index | Requests | None = None) -> str:
    """"data rows 2, 5 (1-based, header not counted)" for zero-based positions ``rows``; with the frame's
    index ``labels`` (a frame validated again), "data rows 2, 5 of the DataFrame (1-based positions;
    index labels ...)"; with :class:`Requests`, "request 2 of 8" ("the request" of one mapping)."""
    if isinstance(labels, Requests):
        return labels.text(rows)
    if labels is None:
        return f"{data_rows(rows)} (1-based, header not counted)"
    plural = "s" if len(rows) != 1 else ""
    names = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in labels[rows[:_MAX_ROWS_SHOWN]])
    return f"{data_rows(rows)} of the DataFrame (1-based position{plural}; index label{plural} {names})"


def frame_source(source: object, *, edited: bool = False) -> str:
    """How an error names a DataFrame: ``<DataFrame read from FILE>`` (``<DataFrame edited after it was read
    from FILE>`` when its values changed since it was read), a name already in angle brackets as it is, and
    ``<DataFrame>`` without a source. Its rows are then positions with index labels (:func:`rows_text`)."""
    if not source:
        return "<DataFrame>"
    text = str(source)
    return text if text.startswith("<") else f"<DataFrame {'edited after it was ' if edited else ''}read from {text}>"


def column_label(column: str, names: Mapping[str, str] | None = None) -> str:
    """``'TP' (schema column 'tp')`` for a schema column the source spells otherwise (``names``: schema column ->
    the source's own header, e.g. an export reader's rename), else ``'tp'``."""
    own = (names or {}).get(column)
    return f"{column!r}" if own is None or own == column else f"{own!r} (schema column {column!r})"


def problem_text(rows: np.ndarray, column: str, reason: str, values: list, labels: pd.Index | None = None,
                 names: Mapping[str, str] | None = None, origin: Callable[[np.ndarray], str] | None = None) -> str:
    """One problem: column (as the source spells it, :func:`column_label`), reason, rows (see :func:`rows_text`;
    then ``origin(rows)``, e.g. the file rows they are) and up to five offending values."""
    vals = ", ".join(_value_said(v) for v in values)
    where = rows_text(rows, labels) + (origin(rows) if origin else "")
    reason, _, hint = reason.partition(HINT)
    hint = f": {hint}" if hint else ""
    if not isinstance(labels, Requests):
        return f"column {column_label(column, names)}: {reason} in {where}; value(s): {vals}{hint}"
    # a model call's mappings: their keys, which a mapping may lack (no cell, no NaN written: no value to show)
    if reason.startswith(MISSING_REASON):
        return f"key {column_label(column, names)}: absent, or None/NaN{reason[len(MISSING_REASON):]}, in {where}{hint}"
    return f"key {column_label(column, names)}: {reason} in {where}; value(s): {vals}{hint}"


def _value_said(value: object) -> str:
    """A cell as a message shows it: a float in six significant digits where they give it exactly (2.5, 512, nan),
    else in full (1.000000001 in a column of integers was said as 1)."""
    if not isinstance(value, float):
        return repr(value)
    short = f"{value:g}"
    return short if value != value or float(short) == value else repr(float(value))


def closing_hints(problems: Problems) -> list[str]:
    """The lines that end a schema error: where energy_j is blank, how to read rows measured without energy (a
    sweep without NVML, which ``energylens fit`` fits the latency model on); ``drop_invalid=True`` only where it
    would leave rows (it was offered for a table every row of which it drops)."""
    lines = []
    no_energy = np.zeros(len(problems.bad), dtype=bool)
    for rows, column, reason, _ in problems.items:
        if column == "energy_j" and reason.startswith("missing value"):
            no_energy[rows] = True
    if no_energy.any():
        lines.append(f"(energy_j is blank in {int(no_energy.sum())} of {len(no_energy)} rows, as in a sweep measured "
                     "without NVML (energy_measured False): in Python, load_profiles(..., require_energy=False) reads "
                     "them and LatencyModel().fit(profiles) fits the latency model alone, as `energylens fit` does)")
    if not problems.bad.all():
        lines.append("(in Python, load_profiles(..., drop_invalid=True) drops the invalid rows instead; see "
                     "docs/profile-schema.md)")
    return lines


def raise_or_drop(frame: pd.DataFrame, out: dict[str, np.ndarray], problems: Problems, src: str, drop_invalid: bool,
                  labels: pd.Index | None, names: Mapping[str, str] | None, warning: type[Warning],
                  origin: Callable[[np.ndarray], str] | None = None
                  ) -> tuple[pd.DataFrame, dict[str, np.ndarray], pd.DataFrame | None]:
    """What :func:`energylens.profiles.schema.load_profiles` does with the problems of ``frame`` (its parsed columns
    ``out``): raise on the first problem (listing the others; rows named with their index ``labels`` when given,
    then ``origin(rows)``; columns as the source spells them, ``names``), or with ``drop_invalid`` drop the bad
    rows and return them (original values, 1-based ``row``, ``reason``) with one ``warning`` counting them."""
    if not problems.items:
        if not drop_invalid:
            return frame, out, None
        dropped = frame.iloc[0:0].copy()
        dropped.insert(0, "row", pd.Series(dtype="int64"))
        dropped["reason"] = pd.Series(dtype=object)
        return frame, out, dropped
    if not drop_invalid:
        first_rows, col, reason, vals = problems.items[0]
        lines = [f"{src}: profile table violates schema v1: "
                 + problem_text(first_rows, col, reason, vals, labels, names, origin)]
        if len(problems.items) > 1:
            lines.append(f"{len(problems.items) - 1} more problem(s):")
            lines += ["  " + problem_text(*item, labels, names, origin) for item in problems.items[1:]]
        lines += [h for h in closing_hints(problems) if not isinstance(labels, Requests) or "drop_invalid" not in h]
        raise ProfileSchemaError("\n".join(lines), source=src, column=col, rows=[int(r) for r in first_rows])
    keep = ~problems.bad
    dropped = frame.loc[problems.bad].copy()
    dropped.insert(0, "row", np.flatnonzero(problems.bad) + 1)
    dropped["reason"] = list(problems.reasons(names))
    counts: dict[str, int] = {}
    for rows, column, reason, _ in problems.items:
        col = (names or {}).get(column, column)
        key = f"{col}: {said(reason)}"
        counts[key] = counts.get(key, 0) + len(rows)
    summary = "; ".join(f"{k}: {v} row{'s' if v != 1 else ''}" for k, v in counts.items())
    warning_sink.warn(
        f"{src}: dropped {int(problems.bad.sum())} of {len(frame)} rows that violate schema v1 ({summary}); "
        "they are in result.attrs['dropped']", warning, stacklevel=4)
    return frame.loc[keep], {k: v[keep] for k, v in out.items()}, dropped


#: Cells of a text column that hold several values: a JSON array or object read into a frame's cell.
_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray)


def container_cells(raw: dict[str, object], columns: tuple[str, ...], problems: Problems) -> None:
    """Record the cells of the text ``columns`` in ``raw`` that hold a list, dict, tuple, set or array (a JSON
    file's ``"model": ["..."]``), naming the kind, and blank them (None) in a copy of the column, so the later
    checks, which hash cells, see a missing value the problem already names. A str column is not looked at."""
    for col in columns:
        values = raw.get(col)
        if not isinstance(values, np.ndarray) or values.dtype != object or not len(values):
            continue
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            continue  # no cell is a container (infer_dtype names lists and dicts 'mixed')
        mask = np.fromiter((isinstance(v, _CONTAINERS) for v in values), dtype=bool, count=len(values))
        for kind in dict.fromkeys(type(v).__name__ for v in values[mask]):
            problems.add(mask & np.array([type(v).__name__ == kind for v in values]), col,
                         f"a {kind} of values, where one text is expected (a JSON array or object read as a "
                         f"cell?): write the row's one {col}", values)
        if mask.any():
            raw[col] = values = values.copy()
            values[mask] = None
