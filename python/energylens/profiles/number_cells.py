"""Why a cell of a numeric column is not a number, said so that its writer can fix it.

A spreadsheet writes numbers as people read them: ``1,234`` or ``1 234`` (a thousands separator), ``0,05`` (a
decimal comma), ``5%``, ``350W`` or ``50 ms`` (a unit), ``-`` (a placeholder for "none"), ``#DIV/0!`` (a formula
that failed). Each was one "non-numeric value" problem with no hint. :func:`non_numeric_problems` splits a column's
non-numeric cells by what they look like and gives each kind its reason: what the cell is and what to write
instead, in the column's unit (:data:`UNITS`). Nothing is converted: schema v1 takes a plain number only
(docs/profile-schema.md, "Numbers"), and a guess (is ``1,234`` 1234 or 1.234?) would change a measurement silently.
Runs only where a column has a non-numeric cell, so a valid table does not pay for it. Imports numpy and pandas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from energylens.profiles.problems import HINT
from energylens.profiles.unreadable import SPREADSHEET_ERROR

__all__ = ["MILLISECONDS", "WATTS", "NA_WORDS", "UNITS", "non_numeric_problems", "non_numeric_reason"]

#: pandas' missing-value words (``read_csv``'s default ``na_values``): a blank in a profile table's CSV, and so in a
#: GPU or model table, which read their cells as text (until 2026-12-06 'N/A' there was "not a number", 'NaN' "outside
#: the sane range").
NA_WORDS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                      "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})

_J = "joules (J) per request"
_S = "seconds (s)"
_GPUS = "a whole number of GPUs"
_TOKENS = "tokens per request"
_COUNT = "a whole number"
#: The unit of an export's own millisecond columns (ML.ENERGY v3 median_itl_ms), for ``unit=``.
MILLISECONDS = "milliseconds (ms)"
#: The unit of one GPU's power (a GPU table's tdp_w, a profile's gpu_tdp_w), for ``unit=``.
WATTS = "watts (W)"
_SUMMED_WATTS = "watts (W), summed over the GPUs"
#: Power written with its unit: the factor to watts (case matters: mW is not MW).
_POWER_SUFFIXES = {"W": 1.0, "w": 1.0, "kW": 1e3, "KW": 1e3, "mW": 1e-3}
#: Column -> its unit, as the hint of a non-numeric cell names it (docs/profile-schema.md's tables).
UNITS: Mapping[str, str] = MappingProxyType({
    "params_b": "billions of parameters (8.03 for an 8B model)", "active_params_b": "billions of parameters",
    **{c: _GPUS for c in ("tp", "pp", "ep", "dp", "n_gpus", "scale_up_domain_gpus")},
    "batch_size": "mean running sequences", "input_tokens": _TOKENS, "output_tokens": _TOKENS,
    **{c: _J for c in ("energy_j", "prefill_energy_j", "decode_energy_j")},
    **{c: _S for c in ("ttft_s", "tpot_s", "latency_s")},
    "avg_power_w": _SUMMED_WATTS,
    **{c: _COUNT for c in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts",
                           "experts_per_token")},
    "image_tokens_per_image": "tokens per image", "video_frames": "frames per video prompt",
})

#: Unit words written after a number, per unit of :data:`UNITS`: the factor to the column's unit (case matters:
#: mJ is not MJ).
_SUFFIXES: Mapping[str, Mapping[str, float]] = MappingProxyType({
    _J: {"J": 1.0, "j": 1.0, "kJ": 1e3, "KJ": 1e3, "MJ": 1e6, "mJ": 1e-3, "Wh": 3600.0, "kWh": 3.6e6},
    _S: {"s": 1.0, "sec": 1.0, "secs": 1.0, "S": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0},
    MILLISECONDS: {"ms": 1.0, "msec": 1.0, "s": 1e3, "sec": 1e3, "us": 1e-3, "µs": 1e-3},
    _SUMMED_WATTS: _POWER_SUFFIXES,
    WATTS: _POWER_SUFFIXES,
    "billions of parameters (8.03 for an 8B model)": {"B": 1.0, "b": 1.0, "M": 1e-3, "T": 1e3},
    "billions of parameters": {"B": 1.0, "b": 1.0, "M": 1e-3, "T": 1e3},
    _TOKENS: {"tokens": 1.0, "token": 1.0, "tok": 1.0, "toks": 1.0},
    _GPUS: {"GPUs": 1.0, "GPU": 1.0, "gpus": 1.0, "gpu": 1.0, "x": 1.0},
})

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_GROUPED = re.compile(r"([+-]?)(\d{1,3})([,\u00a0\u202f ' \u2019_])(\d{3})((?:\3\d{3})*)(\.\d+)?")
_EURO = re.compile(r"([+-]?)(\d{1,3}(?:\.\d{3})+),(\d+)")  # 1.234,5: '.' thousands, ',' decimals
_DECIMAL_COMMA = re.compile(r"([+-]?\d*),(\d+)")
_PERCENT = re.compile(rf"({_NUM})\s*%")
_SUFFIXED = re.compile(rf"({_NUM})\s*([^\d\s.,+-][^\d]*?)\.?")
_HEX = re.compile(r"[+-]?0[xX][0-9a-fA-F]+")
_BOOLEANS = frozenset({"true", "false", "yes", "no"})
#: A date as a spreadsheet writes one (2024-01-03, 1/3/2024, 03.01.2024; a time after it: pandas' Timestamp), or a
#: clock time (00:00:01): a number the spreadsheet took for a date or a time.
_DATE = re.compile(r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}/\d{1,2}/\d{1,2})(?:[ T]\d{1,2}:\d{2}\S*)?")
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
_PLACEHOLDERS = frozenset({"-", "--", "---", "\u2013", "\u2014", "?", "??", ".", "n.a.", "N.A.", "na.",
                           "none", "None", "NONE", "nil", "missing", "tbd", "TBD", "n/m"})


def _plain(x: float) -> str:
    return f"{x:.12g}"


def _grouped(m: re.Match) -> str:
    sign, head, sep, group, rest, frac = m.groups()
    digits = f"{sign}{head}{group}{rest.replace(sep, '')}{frac or ''}"
    said = {",": "','", "'": "an apostrophe", "\u2019": "an apostrophe", "_": "'_'"}.get(sep, "a space")
    text = f"a thousands separator ({said}); write {m.group(0)!r} as {digits}, digits only"
    if sep == "," and not rest and not frac:  # 1,234: or a decimal comma, 1.234
        text += f" (or {sign}{head}.{group} if ',' is a decimal comma there)"
    return text


def _kind(text: str, in_unit: str, unit: str | None) -> str | None:
    """What a cell that is a true/false value, a hexadecimal number, a date or a clock time is, and what to write."""
    if text.lower() in _BOOLEANS:  # a spreadsheet's TRUE / FALSE; Parquet's bool column reads True / False
        return f"a true/false value, not a number; {in_unit}: write the number"
    if _HEX.fullmatch(text):
        return f"a hexadecimal number; write {text!r} as {int(text, 16)}, in decimal digits"
    if _DATE.fullmatch(text):
        return ("a date, not a number (a spreadsheet turns a value such as 1-3 into a date): format the column as "
                f"numbers and write the value again, in {unit or 'its unit'}")
    if _CLOCK.fullmatch(text):
        return f"a time of day (h:mm:ss), not a number; {in_unit}: write the duration as a number in that unit"
    return None


def non_numeric_reason(cell: object, column: str, required: bool = False, unit: str | None = None) -> str:
    """"non-numeric value" and, where the cell looks like a number written for people, what it is and what to
    write instead, in ``column``'s unit (:data:`UNITS`; ``unit`` for a column by another name, an export's)."""
    text = str(cell).strip()
    unit = unit or UNITS.get(column)
    in_unit = f"column {column!r} is in {unit}" if unit else f"column {column!r} takes a plain number"
    if (m := _GROUPED.fullmatch(text)) is not None:
        return f"non-numeric value{HINT}{_grouped(m)}"
    if (kind := _kind(text, in_unit, unit)) is not None:
        return f"non-numeric value{HINT}{kind}"
    if (m := _EURO.fullmatch(text)) is not None:
        sign, head, frac = m.groups()
        return (f"non-numeric value{HINT}'.' thousands and ',' decimals; write {text!r} as "
                f"{sign}{head.replace('.', '')}.{frac}")
    if (m := _DECIMAL_COMMA.fullmatch(text)) is not None and m.group(1) not in ("", "+", "-"):
        return f"non-numeric value{HINT}a decimal comma; write {text!r} as {m.group(1)}.{m.group(2)} (a '.' for decimals)"
    if (m := _PERCENT.fullmatch(text)) is not None:
        return (f"non-numeric value{HINT}a percentage; {in_unit}, not a percentage: write the number in that "
                "unit, without '%'")
    if (m := _SUFFIXED.fullmatch(text)) is not None:
        number, word = m.group(1), m.group(2).strip()
        factor = _SUFFIXES.get(unit or "", {}).get(word)
        if factor == 1.0:
            return f"non-numeric value{HINT}a unit after the number; {in_unit}: write {text!r} as {number}, the number alone"
        if factor is not None:
            return (f"non-numeric value{HINT}a unit after the number; {in_unit}: write {text!r} as "
                    f"{_plain(float(number) * factor)}, converted to that unit, the number alone")
        return f"non-numeric value{HINT}text after the number ({word!r}); {in_unit}: write the number alone, in that unit"
    if SPREADSHEET_ERROR.fullmatch(text):
        return (f"non-numeric value{HINT}a spreadsheet's error value ({text!r}: the formula that made the cell failed); "
                "fix the formula, or write the value itself")
    if text in _PLACEHOLDERS:
        fix = ("a required column: give the value, or delete the row" if required
               else "leave the cell empty where there is no value (an empty cell means not measured)")
        return f"non-numeric value{HINT}a placeholder ({text!r}), not a number; {fix}"
    return "non-numeric value"


def non_numeric_problems(values: object, bad: np.ndarray, column: str, required: bool = False,
                         unit: str | None = None) -> list[tuple[np.ndarray, str]]:
    """(mask, reason) of the non-numeric cells ``bad`` of a column's ``values``, one per kind of cell
    (:func:`non_numeric_reason` of the first cell of each kind), in the order of their first rows."""
    at = np.flatnonzero(bad)
    if not len(at):
        return []
    cells = pd.Series(values, copy=False).iloc[at].astype(str).to_numpy(dtype=object)
    said: dict[str, str] = {}  # distinct cell -> its reason
    kinds: dict[str, list[int]] = {}  # kind -> rows; a kind's reason is that of its first cell
    first: dict[str, str] = {}
    for row, cell in zip(at.tolist(), cells.tolist(), strict=True):
        reason = said.get(cell)
        if reason is None:
            reason = said[cell] = non_numeric_reason(cell, column, required, unit)
        kind = reason.split(";")[0].split(" (")[0]
        first.setdefault(kind, reason)
        kinds.setdefault(kind, []).append(row)
    out = []
    for kind, rows in kinds.items():
        mask = np.zeros(len(bad), dtype=bool)
        mask[rows] = True
        out.append((mask, first[kind]))
    return out
