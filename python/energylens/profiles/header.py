"""The header of a table as written: duplicate column names, and the "found" list of a missing-column error.

pandas renames a repeated CSV header (the second ``energy_j`` becomes ``energy_j.1``), so a reader that
looked only at the parsed frame would use the first column and keep the other as an unknown one. The
readers of :mod:`energylens.profiles` (profile tables, the dataset converters, user GPU tables) read the
header row as written first and raise a :class:`~energylens.errors.ProfileSchemaError` naming the file
and the repeated column(s). Imports only pandas and :mod:`energylens.errors`.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from energylens.errors import ProfileSchemaError
from energylens.profiles.problems import MAPPING_SOURCES

__all__ = ["csv_header", "check_unique_columns", "check_unique_csv_header", "check_required_columns", "columns_list",
           "check_column_spelling", "check_column_typos", "column_typos", "folded", "spelled_like", "drop_empty_unnamed_columns", "parallel_synonyms", "check_parallel_synonyms", "missing_said",
           "OTHER_TOOL_ENERGY", "WINDOW_ENERGY_COLUMNS"]

_MAX_NAMES_SHOWN = 30
_BRACKETED_UNIT = re.compile(r"\s*[(\[]\s*([^)\]]*?)\s*[)\]]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_MAX_NAME_CHARS = 60


def csv_header(path: str | os.PathLike) -> list[str]:
    """The cells of the header row of a CSV file (compressed ones included) as written: no renaming of
    repeated names, ``""`` for a blank cell; of a Parquet file (``.parquet`` / ``.pq``), its schema's
    column names. Raises what :func:`pandas.read_csv` / pyarrow raise on a bad file."""
    if str(path).lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet  # pandas' Parquet engine, needed only for Parquet files

        return [str(n) for n in pyarrow.parquet.read_schema(path).names]
    head = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, na_filter=False)
    return [str(c) for c in head.iloc[0].tolist()] if len(head) else []


def check_unique_columns(names: Iterable[object], src: str, what: str = "profile table") -> None:
    """ProfileSchemaError naming ``src`` and every column name that appears more than once in ``names``
    (blank names are not compared: pandas gives each its own ``Unnamed: N``)."""
    counts = Counter(str(n) for n in names if str(n).strip() != "")
    repeated = [n for n, k in counts.items() if k > 1]
    if repeated:
        shown = ", ".join(f"{n!r} ({counts[n]} times)" for n in repeated)
        raise ProfileSchemaError(
            f"{src}: duplicate column header(s) {shown}; the {what} must name each column once (which of the "
            "columns holds the values is ambiguous): remove or rename the extra column(s)",
            source=src, column=repeated[0], rows=[])


def check_unique_csv_header(path: str | os.PathLike, src: str, what: str = "profile table") -> None:
    """:func:`check_unique_columns` on the header row of the CSV file ``path`` as written."""
    check_unique_columns(csv_header(path), src, what)


def columns_list(names: Iterable[object]) -> str:
    """The column names for a message (``'a', 'b'``), at most 30 of them and each cut at 60 characters, so
    a file that is not a table (JSON saved as .csv) does not print kilobytes; ``no columns`` when empty."""
    names = [str(n) for n in names]
    shown = [repr(n if len(n) <= _MAX_NAME_CHARS else n[:_MAX_NAME_CHARS - 3] + "...")
             for n in names[:_MAX_NAMES_SHOWN]]
    more = f" and {len(names) - _MAX_NAMES_SHOWN} more" if len(names) > _MAX_NAMES_SHOWN else ""
    return ", ".join(shown) + more if shown else "no columns"


def check_required_columns(names: Iterable[object], required: tuple[str, ...], src: str) -> None:
    """ProfileSchemaError naming ``src``, the columns of ``required`` missing from ``names`` and the columns
    found (:func:`columns_list`); "key(s)" where ``src`` is a model call's mapping(s) (problems.MAPPING_SOURCES)."""
    names = list(names)
    missing = [c for c in required if c not in names]
    if missing:
        near = [f"{n!r} for {c!r}" for c in missing for n in map(str, names) if folded(n) == c]  # 'Energy (J)' too
        hint = f"; names are exact: rename {', '.join(near)}" if near else _similar_hint(missing, names)
        if missing == ["energy_j"] and not hint:
            hint = _energy_hint(names)
        word = _word(src)  # a model call's mapping(s): their keys are the columns
        raise ProfileSchemaError(
            f"{src}: missing required {word}(s) {', '.join(repr(c) for c in missing)} (schema v1 requires "
            f"{', '.join(required)}; found {columns_list(names)}){hint}", source=src, column=missing[0], rows=[])


def _energy_hint(names: list) -> str:
    """Why a table without ``energy_j`` may lack it: another tool's energy column (Zeus's ``gpu_energy``, CodeCarbon's
    ``energy_consumed``: any name holding 'energy' but a phase's), else a table of configurations to predict."""
    other = [str(n) for n in names if "energy" in folded(n) and str(n) not in ("prefill_energy_j", "decode_energy_j")]
    if not other:  # a table of configurations (what energylens predict takes)
        return ("; a table of configurations to predict has none: load_profiles(..., require_energy=False) reads it, "
                "and a model's predict takes it as it is")
    return f"; {columns_list(other)} {'is' if len(other) == 1 else 'are'} {OTHER_TOOL_ENERGY}"


#: What another tool's energy column holds and how it becomes energy_j (after "COLUMN is "): said by
#: load_profiles of a table without energy_j and by ``energylens fit``'s hint (energylens.cli.fit).
OTHER_TOOL_ENERGY = (
    "another tool's energy (Zeus: joules over a measurement window; CodeCarbon: kWh over the run, CPU and RAM "
    "included in energy_consumed): energy_j is the GPU joules per request, summed over every GPU; convert it "
    "(kWh x 3,600,000 = J; a window's joules / the requests it completed) into a column named energy_j")
#: Column names other tools give a window's energy total (Zeus, CodeCarbon): no joules per request.
WINDOW_ENERGY_COLUMNS = frozenset({"total_energy", "gpu_energy", "cpu_energy", "ram_energy", "energy_consumed"})


def missing_said(missing: Iterable[str], names: Iterable[object], known: Iterable[str]) -> str:
    """``'a' (is 'b' a misspelling?), 'c'`` for the ``missing`` columns of an export, each with the column of
    ``names`` spelled closest to it (difflib), never one of ``known``: a column the export has under its own
    meaning (ML.ENERGY v3's energy_per_token_joules is not a misspelled energy_per_request_joules)."""
    known = set(known)
    candidates = [str(n) for n in names if str(n) not in known]
    said = []
    for m in missing:
        close = difflib.get_close_matches(m, candidates, n=1)
        said.append(f"{m!r}" + (f" (is {close[0]!r} a misspelling?)" if close else ""))
    return ", ".join(said)


def folded(name: object) -> str:
    """``name`` as a header written for people folds onto a column name: lower case, a unit in brackets as a suffix,
    every run of spaces and punctuation one '_' (``'Energy [J]'``, ``'TPOT (s)'``, ``'batch size'``, ``'HBM BW (GB/s)'``:
    energy_j, tpot_s, batch_size, hbm_bw_gbs)."""
    text = _BRACKETED_UNIT.sub(lambda m: "_" + _NOT_ALNUM.sub("", m.group(1)), str(name).strip().lower())  # (GB/s): _gbs
    return _NOT_ALNUM.sub("_", text).strip("_")


def spelled_like(name: object, known: Iterable[str]) -> str:
    """`` (did you mean 'K'?)`` for the column of ``known`` that ``name`` folds onto (:func:`folded`), else ''."""
    hit = next((k for k in known if folded(k) == folded(name)), None) if folded(name) else None
    return f" (did you mean {hit!r}?)" if hit is not None and hit != str(name) else ""


def check_column_spelling(names: Iterable[object], known: Iterable[str], src: str, what: str = "profile table") -> None:
    """ProfileSchemaError naming ``src`` and every column of ``names`` that is not one of ``known`` but differs
    from one only in case or surrounding spaces (``' n_gpus'``, ``Precision``, an Excel header), or in spaces or
    punctuation for '_' and a unit in brackets (``'TPOT (s)'``, ``'batch size'``: :func:`folded`; until 2026-12-06
    kept as unknown columns): such a column would be kept as an unknown one and its values silently replaced by
    the default (or, for a required column, reported missing)."""
    known = list(known)
    exact = set(known)
    by_case = {k.strip().lower(): k for k in known}
    by_fold = {folded(k): k for k in known}
    near = [(str(n), by_case.get(str(n).strip().lower()) or by_fold[folded(n)]) for n in names
            if str(n) not in exact and (str(n).strip().lower() in by_case or folded(n) in by_fold)]
    if near:
        shown = ", ".join(f"{n!r} (did you mean {k!r}?)" for n, k in near)
        how = ("case or surrounding spaces" if all(n.strip().lower() == k for n, k in near)
               else "case, spaces, punctuation or a unit in brackets")
        word = _word(src)
        raise ProfileSchemaError(
            f"{src}: {word}(s) {shown} differ from a {what} column only in {how}; {word} "
            f"names are exact and such a {word} is not read (an optional one's default would silently take its "
            f"place): rename the {word}(s)",
            source=src, column=near[0][0], rows=[])


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` is ``b`` with one letter inserted, deleted or changed, or two neighbours swapped; for a name
    of two letters (``tp``, ``ep``) a change is not counted (``cp``, ``sp`` are other parallelisms)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        return swapped or (len(diff) == 1 and len(b) > 2)
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


#: The units a schema column's name ends in (``tpot_s``, ``energy_j``, ``gpu_memory_gb``).
_UNIT_SUFFIXES = frozenset({"s", "j", "w", "b", "gb", "gbs", "tflops", "tops"})


def _unit_swap(a: str, b: str) -> bool:
    """``tpot_ms`` for ``tpot_s``: the same stem, another unit after the column's unit (kept, as documented)."""
    stem, _, unit = b.rpartition("_")
    return unit in _UNIT_SUFFIXES and a.rpartition("_")[0] == stem


@functools.lru_cache(maxsize=256)
def column_typos(names: tuple[str, ...], known: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(name, column meant) for each of ``names`` that is not one of ``known`` but is one letter off
    (:func:`_one_edit`) a column of ``known`` absent from ``names``, another unit aside (:func:`_unit_swap`).
    Cached: a model predicting on tables of the same columns asks again and again (the light path too)."""
    absent = [k for k in known if k not in names]
    exact = set(known)
    return tuple((n, k) for n in names if n not in exact
                 for k in [next((k for k in absent if _one_edit(n, k) and not _unit_swap(n, k)), None)] if k)


def check_column_typos(names: Iterable[object], known: Iterable[str], src: str, what: str = "profile table") -> None:
    """ProfileSchemaError naming ``src`` and every column of :func:`column_typos` (``ppp``, ``precison``,
    ``n_gpu``): kept as an unknown column, its values would be ignored and the optional column's default used
    (pp = 1). A dict row and a DataFrame are checked alike; any other extra column is kept."""
    near = column_typos(tuple(str(n) for n in names), tuple(known))
    if near:
        shown = ", ".join(f"{n!r} (did you mean {k!r}?)" for n, k in near)
        meant = ", ".join(f"{k!r}" for _, k in near)
        pp = " (pp = 1)" if any(k == "pp" for _, k in near) else ""
        word = _word(src)
        raise ProfileSchemaError(  # (it read "pp = 1 for pp" whatever the column: 'tsak' for 'task' too)
            f"{src}: {word}(s) {shown} differ from a {what} column by one letter; {word} names are exact and such a "
            f"{word} is not read: {meant} would take its default{pp} in its place, silently: "
            f"rename the {word}(s), or give an extra {word} a name further from the schema's",
            source=src, column=near[0][0], rows=[])


def drop_empty_unnamed_columns(frame: pd.DataFrame, header: list[str], src: str, what: str,
                               error: type = ProfileSchemaError) -> pd.DataFrame:
    """``frame`` (read from a CSV whose header row is ``header``) without the columns whose header cell is blank
    and whose every cell is blank (empty, or NaN as pandas reads it by default): Excel's trailing empty columns,
    which hold nothing. A blank-header column holding a value raises ``error`` naming the file, column position and
    the first such row (which column the values belong to is unknown); the first column is said to be what pandas'
    ``to_csv`` writes for a frame's index unless ``index=False``."""
    drop = []
    for i, name in enumerate(header[:frame.shape[1]]):
        if name.strip():
            continue
        cells = frame.iloc[:, i]
        filled = np.flatnonzero(~(cells.isna() | cells.astype(str).str.strip().eq("")).to_numpy())
        if len(filled):
            index = (" (DataFrame.to_csv writes the frame's index there, under a blank header: write the file with "
                     "to_csv(path, index=False), or delete that column)" if i == 0 else "")
            raise error(f"{src}: column {i + 1} has no header name but holds {str(cells.iat[filled[0]])!r} in data row "
                        f"{filled[0] + 1} (1-based, header not counted){index}; name the column or remove it from "
                        f"the {what}", source=src, column=str(frame.columns[i]), rows=filled.tolist())
        drop.append(frame.columns[i])
    return frame.drop(columns=drop)


#: Other names of the required columns and of pp (engines', benchmarks' and papers' spellings), for the hint of
#: :func:`check_required_columns` and :func:`check_parallel_synonyms`; a column is never read under them.
_SYNONYMS = {
    "batch_size": ("batch", "bs", "max_num_seqs", "num_seqs", "concurrency", "batch size"),
    "input_tokens": ("input_len", "input_length", "prompt_tokens", "prompt_len", "isl", "input"),
    "output_tokens": ("output_len", "output_length", "completion_tokens", "gen_tokens", "osl", "output"),
    "tp": ("tensor_parallel", "tensor_parallel_size", "tp_size", "TP"), "pp": ("pipeline_parallel",
    "pipeline_parallel_size", "pp_size", "PP"), "params_b": ("params", "parameters", "num_params", "size_b"),
    "energy_j": ("energy", "energy_per_request", "energy_per_request_joules", "joules"), "gpu": ("gpu_model", "device"),
    "model": ("model_id", "model_name", "name"),
}


#: Schema column -> (what it holds, its default as said, the other names a table may give it: engines' and
#: schedulers' spellings, vLLM's ``quantization`` among them, that a table or a request would otherwise carry unread).
_PARALLEL_NAMES = {
    "pp": ("pipeline-parallel degree", "pp = 1, the default", frozenset(s.lower() for s in _SYNONYMS["pp"])),
    "ep": ("expert-parallel degree", "ep = 1, the default",
           frozenset({"expert_parallel", "expert_parallel_size", "ep_size"})),
    "dp": ("data-parallel degree", "dp's default (n_gpus / (tp * pp) where n_gpus is given, else 1)",
           frozenset({"data_parallel", "data_parallel_size", "dp_size"})),
    "n_gpus": ("GPU count", "n_gpus = tp * pp * dp, the default (dp 1 where not given)",
               frozenset({"num_gpus", "gpu_count", "world_size"})),
    "precision": ("weight precision", "its checkpoint's published format (bf16 for most models)",
                  frozenset({"quantization", "weight_precision", "weight_dtype", "weights_dtype"})),
    "kv_cache_dtype": ("KV-cache dtype", "kv_cache_dtype = auto, the default", frozenset({"kv_dtype", "cache_dtype"})),
}
_ANY_PARALLEL_NAME = frozenset().union(*(other for _, _, other in _PARALLEL_NAMES.values()))


def _similar_hint(missing: list[str], names: list[object]) -> str:
    """'; did you mean ...' for the missing columns a found column may stand for (a known other name of it,
    or a close spelling), else ''."""
    found = [str(n) for n in names]
    folded = {f.strip().lower(): f for f in found}
    pairs = []
    for c in missing:
        hit = next((folded[s.lower()] for s in _SYNONYMS.get(c, ()) if s.lower() in folded), None)
        close = difflib.get_close_matches(c, found, n=1, cutoff=0.75)
        if hit or close:
            pairs.append(f"{hit or close[0]!r} for {c!r}")
    return f"; did you mean {', '.join(pairs)}? (rename the column: names are exact)" if pairs else ""


def parallel_synonyms(names: Iterable[object]) -> list[tuple[str, str]]:
    """(column, the schema column it names) for each column that is another name of ``pp``, ``ep``, ``dp``,
    ``n_gpus``, ``precision`` or ``kv_cache_dtype`` (``pipeline_parallel_size``, ``expert_parallel``, ``num_gpus``,
    ``quantization``, ``kv_dtype``, ...; case and surrounding spaces aside) in a table without that schema column,
    else []."""
    return list(_parallel_synonyms(tuple(map(str, names))))


@functools.lru_cache(maxsize=256)
def _parallel_synonyms(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """:func:`parallel_synonyms` of one header, once: a scheduler's requests repeat the same keys on every call."""
    hits = [n for n in names if n.strip().lower() in _ANY_PARALLEL_NAME]
    return tuple((n, col) for col, (_, _, other) in _PARALLEL_NAMES.items() if col not in names
                 for n in hits if n.strip().lower() in other)


def check_parallel_synonyms(names: Iterable[object], src: str) -> None:
    """ProfileSchemaError naming ``src`` and the first column of :func:`parallel_synonyms`: kept as an unknown
    column, its values would be ignored and every row would take the schema column's default (until 2026-12-06 pp
    was required and such a table was told to rename the column; ep and dp's other names were ignored until
    2026-12-07, as were precision's, n_gpus' and kv_cache_dtype's: ``quantization="fp8"`` priced bf16 weights)."""
    hits = parallel_synonyms(names)
    if hits:
        name, col = hits[0]
        what, default, _ = _PARALLEL_NAMES[col]
        word = _word(src)
        raise ProfileSchemaError(
            f"{src}: {word} {name!r} looks like the {what}, which schema v1 reads from a {word} named {col!r} "
            f"only; {name!r} would not be read and every row would take {default}: rename it to {col!r}",
            source=src, column=name, rows=[])


def _word(src: str) -> str:
    """What a table's name for a value is called in a message: "key" in a model call's mapping(s)
    (problems.MAPPING_SOURCES: ``{"quantization": "fp8"}``), "column" in a frame or file (until 2026-12-07 a
    request's key was called a column)."""
    return "key" if src in MAPPING_SOURCES else "column"
