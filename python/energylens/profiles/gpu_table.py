"""The GPU table: bundled datasheet rows, user GPU tables, and GPU spec columns in a profile file.

Three ways a GPU gets its numbers (docs/reference-tables.md):

1. the bundled table ``energylens/data/gpus.csv`` (one row per data-centre GPU, each citing its source);
2. a user GPU table, a CSV with the same columns, registered with :func:`register_gpu_table` (the CLI's
   ``--gpu-table FILE``) or one :class:`GpuSpec` at a time with :func:`register_gpu`;
3. spec columns in the profile file itself (``gpu_hbm_bw_gbs``, ``gpu_peak_bf16_tflops``, ... :
   :data:`INLINE_COLUMNS`, docs/profile-schema.md), read by :func:`gpu_specs_for_profiles`.

A user row or inline columns naming a GPU that is already in the table may fill the row's blank cells
but never change a filled one (that would be a different part: give it another name). Every bad cell
is reported with its file, 1-based data row and column; the GPU names of a profile that nothing describes
are reported together (:func:`gpu_specs_for_profiles`). The row itself, :class:`GpuSpec`, and the checks of
its values live in :mod:`energylens.profiles.gpu_spec` (re-exported here).
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
from collections import Counter
from dataclasses import replace
from importlib import resources

import numpy as np
import pandas as pd

from energylens.errors import ProfileSchemaError, UnknownGpuError
from energylens.profiles import gpu_names
from energylens.profiles.cells import codes, key_groups
from energylens.profiles.files import read_user_table
from energylens.profiles.gpu_names import normalize_name
from energylens.profiles.gpu_spec import (
    DEFAULT_SCALE_OUT_BW_GBS,
    DEFAULT_SCALE_UP_DOMAIN_GPUS,
    GPU_COLUMNS,
    GPU_NUMERIC_COLUMNS,
    INLINE_COLUMNS,
    NEEDED_COLUMNS,
    GpuSpec,
    GpuTableError,
    cell_number,
    check_spec,
    check_usable,
    column_unit,
    fill_blanks,
    peak_step_problem,
    spec_from_record,
    spec_names,
    vendor_cell,
    where_in,
)
from energylens.profiles.header import (
    folded,
    spelled_like,
)
from energylens.profiles.number_cells import NA_WORDS
from energylens.profiles.problems import MAPPING_SOURCES
from energylens.profiles.row_names import RowNames

__all__ = [
    "GpuSpec", "DEFAULT_SCALE_UP_DOMAIN_GPUS", "DEFAULT_SCALE_OUT_BW_GBS", "GPU_COLUMNS", "GPU_NUMERIC_COLUMNS",
    "INLINE_COLUMNS", "GpuTableError",
    "gpu_spec", "gpus", "load_gpu_table", "register_gpu_table", "register_gpu", "unregister_gpu",
    "clear_user_gpus", "user_gpus", "user_gpus_generation", "gpu_specs_for_profiles", "normalize_name", "gpu_table_name",
]


# ---- Parsing a table (bundled or user) -----------------------------------------------------------


def _parse_rows(frame: pd.DataFrame, source: str, *, require_usable: bool) -> list[tuple[int, GpuSpec]]:
    """(zero-based data row, spec) per GPU; a GPU named on two rows is one spec (:func:`_combine`), at its first row."""
    frame.columns = [str(c).strip() for c in frame.columns]
    unknown = [c for c in frame.columns if c not in GPU_COLUMNS]
    if unknown:
        said = ", ".join(repr(c) + _column_like(c) for c in unknown)  # 'Name': did you mean 'name'?
        raise GpuTableError(f"{source}: unknown column(s) {said}; a GPU table has "
                            f"the columns {', '.join(GPU_COLUMNS)}", source=source, column=unknown[0])
    if "name" not in frame.columns:
        raise GpuTableError(f"{source}: a GPU table needs a 'name' column", source=source, column="name")
    specs: dict[str, tuple[int, GpuSpec]] = {}
    seen: dict[str, tuple[int, str]] = {}
    default_source = f"user GPU table {source}"
    for row, rec in enumerate(frame.to_dict("records")):
        spec = spec_from_record(rec, source, row, default_source)
        # a bundled GPU's name or alias: the row only fills that GPU's blanks / adds aliases
        if require_usable and not any(normalize_name(n) in _bundled_index() for n in spec_names(spec)):
            check_usable(spec, source, [row])
        for n in spec_names(spec):
            key = normalize_name(n)
            if key in seen and seen[key][1] != spec.name:
                first = seen[key][0]
                raise GpuTableError(f"{where_in(source, [first, row], 'aliases')}: the name {n!r} is given to two "
                                    f"GPUs ({seen[key][1]!r} and {spec.name!r})", source=source,
                                    column="aliases", rows=[first, row])
            seen.setdefault(key, (row, spec.name))
        if spec.name in specs:
            first, earlier = specs[spec.name]
            spec, row = _combine(earlier, spec, (source, first), (source, row)), first
        specs[spec.name] = (row, spec)
    return list(specs.values())


def _column_like(header: str) -> str:
    """`` (did you mean 'K'?)`` for the GPU-table column ``header`` was meant as: written for people (``'TDP (W)'``,
    :func:`spelled_like`), the column with its unit again in brackets (``'hbm_bw_gbs (GB/s)'``) or a letter off
    (``'hbm_bw_gb'``, ``'tdp'``); else ''."""
    if said := spelled_like(header, GPU_COLUMNS):
        return said
    unit = re.search(r"[(\[]([^)\]]*)[)\]]\s*$", header)
    bare = header[:unit.start()].strip() if unit else header
    for text in (bare.lower(), folded(header)):  # 'HBM BW (TB/s)' folds to hbm_bw_tbs
        if close := difflib.get_close_matches(text, GPU_COLUMNS, n=1, cutoff=0.75):
            want = column_unit(close[0])
            other = unit is not None and want and re.sub(r"\W", "", unit[1]).lower() != close[0].rsplit("_", 1)[-1]
            return f" (did you mean {close[0]!r}?{f' its values are in {want}, not {unit[1]}' if other else ''})"
    return ""


def _combine(earlier: GpuSpec, spec: GpuSpec, first: tuple[str, int], second: tuple[str, int]) -> GpuSpec:
    """One GPU described twice ((file, zero-based row) ``first``, then ``second``): ``earlier`` with its blank cells
    filled from ``spec`` and both's names; a value both give differently is an error naming both places."""
    diffs = gpu_names.conflicts(earlier, spec, GPU_NUMERIC_COLUMNS)
    if diffs:
        raise GpuTableError(gpu_names.duplicate_message(earlier.name, first, second, diffs), source=second[0],
                            column=diffs[0][0], rows=[first[1], second[1]] if first[0] == second[0] else [second[1]])
    fills = {c: getattr(spec, c) for c in GPU_NUMERIC_COLUMNS if math.isnan(getattr(earlier, c))}
    aliases = tuple(dict.fromkeys(n for n in (*earlier.aliases, spec.name, *spec.aliases) if n != earlier.name))
    return replace(earlier, aliases=aliases, **fills)


def _read_csv(path_or_buffer, source: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path_or_buffer, dtype=str, keep_default_na=False, comment=None, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise GpuTableError(f"{source}: could not read the GPU table CSV: {exc}", source=source) from exc


@functools.cache
def _bundled() -> tuple[GpuSpec, ...]:
    with resources.files("energylens").joinpath("data", "gpus.csv").open("r", encoding="utf-8") as fh:
        frame = _read_csv(fh, "energylens/data/gpus.csv")
    return tuple(spec for _, spec in _parse_rows(frame, "energylens/data/gpus.csv", require_usable=False))


@functools.cache
def _bundled_index() -> dict[str, int]:
    index: dict[str, int] = {}
    for i, spec in enumerate(_bundled()):
        for n in spec_names(spec):
            index.setdefault(normalize_name(n), i)
    return index


def gpus() -> pd.DataFrame:
    """The bundled GPU table (a copy), one row per GPU, columns :data:`GPU_COLUMNS` (aliases ``;``-joined)."""
    rows = [{**spec.__dict__, "aliases": ";".join(spec.aliases)} for spec in _bundled()]
    return pd.DataFrame(rows, columns=list(GPU_COLUMNS))


# ---- User GPUs -----------------------------------------------------------------------------------

_USER: dict[str, GpuSpec] = {}        # canonical name -> spec (merged with the bundled row if any)
_USER_INDEX: dict[str, str] = {}      # normalised name/alias -> canonical name
_USER_ORIGIN: dict[str, tuple[str, int]] = {}  # canonical name -> (file or caller, zero-based row) registered from
_GENERATION = [0]  # bumped on every change of the user GPUs (user_gpus_generation)


def user_gpus_generation() -> int:
    """A number that changes whenever a user GPU is registered or forgotten: what a name's look-up gives may change
    then, so caches of look-ups (the unseen-GPU check's, :mod:`energylens.model.gpu_domain`) key on it."""
    return _GENERATION[0]


def load_gpu_table(path: str | os.PathLike) -> tuple[GpuSpec, ...]:
    """Read and validate a user GPU table (a CSV with the columns of ``gpus.csv``; only ``name``,
    ``hbm_bw_gbs``, ``tdp_w``, ``interconnect_bw_gbs`` and a 16-bit peak are required). Registers nothing.

    Raises:
        FileNotFoundError: no such file.
        GpuTableError: a folder; a bad cell (file, 1-based data row, column), an unknown or repeated column, a
            name two GPUs share, or one GPU on two rows with different values (a second row may fill blanks).
    """
    return tuple(spec for _, spec in _table_rows(path))


def _table_rows(path: str | os.PathLike) -> list[tuple[int, GpuSpec]]:
    return _parse_rows(read_user_table(path, "GPU table", GpuTableError, "gpus.csv"), str(path), require_usable=True)



def register_gpu(spec: GpuSpec, *, where: str = "register_gpu", row: int = 0) -> GpuSpec:
    """Make ``spec`` resolvable by :func:`gpu_spec` under its name and aliases (process-wide).

    A name of the bundled table merges into that row (blank cells only); re-registering a user GPU
    replaces it. Returns the spec :func:`gpu_spec` will now return.

    Raises:
        GpuTableError: a value a table's cell could not hold (out of its sane range, TB/s for GB/s; a misspelt
            vendor), the spec contradicts the bundled row it names, or one of its names belongs to a
            different GPU.
    """
    spec = check_spec(spec, where)  # a spec made in Python passes the checks of a table's cells
    keys = [normalize_name(n) for n in spec_names(spec)]
    bundled_hits = {_bundled_index()[k] for k in keys if k in _bundled_index()}
    if len(bundled_hits) > 1:
        names = sorted(_bundled()[i].name for i in bundled_hits)
        raise GpuTableError(f"{where_in(where, [row], 'aliases')}: {spec.name!r} names several table GPUs "
                            f"({', '.join(names)})", source=where, column="aliases", rows=[row])
    if bundled_hits:
        base = _bundled()[bundled_hits.pop()]
        by = next(n for n in spec_names(spec) if normalize_name(n) in _bundled_index())  # 'H100' as an alias, say
        merged = fill_blanks(base, spec, where, [row], named=f" (named by this row's "
                             f"{'name' if by == spec.name else 'alias'} {by!r})")
        spec = replace(merged, aliases=tuple(dict.fromkeys(base.aliases + (spec.name,) + spec.aliases)))
    for k in keys:
        owner = _USER_INDEX.get(k)
        if owner is not None and owner != spec.name:
            raise GpuTableError(f"{where_in(where, [row], 'aliases')}: the name {k!r} is already registered for "
                                f"{owner!r}", source=where, column="aliases", rows=[row])
    unregister_gpu(spec.name)
    _USER[spec.name] = spec
    _USER_ORIGIN[spec.name] = (where, row)
    for n in spec_names(spec):
        _USER_INDEX[normalize_name(n)] = spec.name
    _GENERATION[0] += 1
    return spec


def register_gpu_table(path: str | os.PathLike) -> tuple[GpuSpec, ...]:
    """:func:`load_gpu_table` then :func:`register_gpu` for every row (what ``--gpu-table FILE`` does). A GPU
    another table (or :func:`register_gpu`) registered may be described again only to fill its blank cells:
    a different value is a GpuTableError naming both files and rows and the columns (registering the same
    file again replaces its own GPUs)."""
    out = []
    for row, spec in _table_rows(path):
        owner = _USER_INDEX.get(normalize_name(spec.name))
        if owner is not None and _USER_ORIGIN[owner][0] != str(path):
            spec = _combine(_USER[owner], spec, _USER_ORIGIN[owner], (str(path), row))
        out.append(register_gpu(spec, where=str(path), row=row))
    return tuple(out)


def unregister_gpu(name: str) -> None:
    """Forget a registered user GPU (no-op when it is not registered)."""
    canon = _USER_INDEX.get(normalize_name(name), name)
    spec = _USER.pop(canon, None)
    _USER_ORIGIN.pop(canon, None)
    if spec is not None:
        for k in [k for k, v in _USER_INDEX.items() if v == canon]:
            del _USER_INDEX[k]
        _GENERATION[0] += 1


def clear_user_gpus() -> None:
    """Forget every registered user GPU."""
    for registry in (_USER, _USER_INDEX, _USER_ORIGIN):
        registry.clear()
    _GENERATION[0] += 1


def user_gpus() -> tuple[GpuSpec, ...]:
    """The registered user GPUs, in registration order."""
    return tuple(_USER.values())


#: What a GPU no table knows must give (the remedies name them): the needed columns and the bf16 peak.
NEW_GPU_COLUMNS: tuple[str, ...] = (*NEEDED_COLUMNS, "peak_bf16_tflops")
#: Unknown GPU names one error lists with their rows and close matches (the rest are counted).
_MAX_NAMES_SHOWN = 10


# ---- Lookup --------------------------------------------------------------------------------------

def _find(name: str) -> GpuSpec | None:
    key = normalize_name(name)
    if key in _USER_INDEX:
        return _USER[_USER_INDEX[key]]
    i = _bundled_index().get(key)
    return None if i is None else _bundled()[i]


def _known() -> tuple[GpuSpec, ...]:
    """Every GPU a name can resolve to: the bundled rows, then the registered user GPUs."""
    return (*_bundled(), *_USER.values())


def unknown_gpu_message(name: str, option: str | None = None, inline: bool = True,
                        place: tuple[str, str] | None = None) -> str:
    """The text of :class:`UnknownGpuError`: close matches (or the variants an ambiguous family name
    covers), the known GPUs and the remedies that fit where the name came from (``option``, ``inline``:
    :func:`energylens.profiles.gpu_names.unknown_gpu_message`)."""
    return gpu_names.unknown_gpu_message(name, _known(), NEW_GPU_COLUMNS, option, inline, place)


def gpu_spec(name: str, *, option: str | None = None, inline: bool = True) -> GpuSpec:
    """Look up a GPU by name or alias (case/punctuation tolerant; ``"NVIDIA "`` ignored); registered
    user GPUs first, then the bundled table.

    ``option``: the command-line option and Python keyword a user gave the name to (``"--gpus (Python:
    gpus=)"``), for the error's remedies; None: a file's cell, where ``inline`` says whether GPU spec columns
    may describe it (a profile file) or not (a candidate table).

    Raises:
        UnknownGpuError: no match; the message lists close matches and the remedies (a variant to pass or to
            write, spec columns in the profile file, ``--gpu-table FILE``).
    """
    spec = _find(name)
    if spec is None:
        raise UnknownGpuError(unknown_gpu_message(name, option, inline))
    return spec


def gpu_table_name(name: object) -> str:
    """The table's name of GPU ``name`` (``H100`` and ``NVIDIA H100 80GB HBM3`` -> ``H100-SXM5-80GB``), else
    ``name`` stripped (a GPU no table knows, described by spec columns in the rows): equal for every spelling
    of one table entry. :func:`gpu_spec`'s look-up, without building its error for a GPU no table knows."""
    raw = str(name).strip()
    spec = _find(raw)
    return raw if spec is None else str(spec.name)


# ---- GPU spec columns in a profile table ---------------------------------------------------------

def _inline_values(cells_: np.ndarray, rows: np.ndarray, src: str, col: str) -> dict[int, float]:
    """Data row -> parsed value of one GPU's non-blank cells of inline column ``col``; each distinct cell
    parsed once (the first bad one, in row order, raises naming its first row)."""
    c, uniques = codes(pd.Series(cells_, dtype=object))
    parsed = np.full(len(uniques) + 1, math.nan)
    for j in range(len(uniques)):
        first = int(np.argmax(c == j))
        parsed[j] = cell_number(cells_[first], src, int(rows[first]), INLINE_COLUMNS[col], label=col)
    x = parsed[c]
    keep = ~np.isnan(x)
    return dict(zip(rows[keep].tolist(), x[keep].tolist(), strict=True))


def _inline_spec(profiles: pd.DataFrame, present: list[str], pos: np.ndarray, rows: np.ndarray, src: str,
                 g: str) -> dict[str, float]:
    """GPU-table column -> value of the inline columns ``present`` on GPU ``g``'s rows ``pos`` (blank columns
    left out); a value that differs between its rows is an error naming them."""
    inline: dict[str, float] = {}
    for col in present:
        vals = _inline_values(profiles[col].to_numpy(dtype=object)[pos], rows[pos], src, col)
        if len(set(vals.values())) > 1:
            raise _disagreement(vals, src, col, g)
        if vals:
            inline[INLINE_COLUMNS[col]] = next(iter(vals.values()))
    return inline


def _inline_vendor(profiles: pd.DataFrame, at: np.ndarray, src: RowNames, g: str) -> str | None:
    """GPU ``g``'s ``gpu_vendor`` (its rows ``at``), read as a GPU table's vendor cell; None where the column is
    absent or blank on every row. Rows that give different vendors are an error at the odd ones."""
    if "gpu_vendor" not in profiles.columns:
        return None
    cells = profiles["gpu_vendor"].to_numpy(dtype=object)[at]
    found: dict[int, str] = {}
    for value, first in zip(*np.unique(pd.Series(cells).astype(str).to_numpy(), return_index=True), strict=True):
        if str(value).strip() not in ("", "nan", "None", *NA_WORDS):
            row = int(at[first])
            vendor = vendor_cell(value, src, row, at=src.where([row], "gpu_vendor"))
            found.update({int(r): vendor for r, c in zip(at, cells, strict=True) if str(c) == value})
    if len(set(found.values())) > 1:
        common = Counter(found.values()).most_common(1)[0][0]
        odd = [r for r, v in found.items() if v != common]
        other = ", ".join(dict.fromkeys(found[r] for r in odd))
        raise GpuTableError(f"{where_in(src, odd, 'gpu_vendor')}: GPU {g!r} is given different vendors, {other} here "
                            f"but {common} on its other {len(found) - len(odd)} rows; one GPU has one vendor",
                            source=src, column="gpu_vendor", rows=odd)
    return next(iter(found.values()), None)


def _disagreement(vals: dict[int, float], src: RowNames, col: str, g: str) -> GpuTableError:
    """The error for GPU ``g``'s inline column ``col`` given different values (data row -> value ``vals``): located
    at the rows that differ from its most common value (a slip on 2 rows of 300 is named, not the 300)."""
    common = Counter(vals.values()).most_common(1)[0][0]
    odd, same = [r for r, v in vals.items() if v != common], [r for r, v in vals.items() if v == common]
    other = ", ".join(f"{v:g}" for v in dict.fromkeys(vals[r] for r in odd))
    _, phrase = src.parts(same)
    shown = phrase(same[:3]).removesuffix(" (1-based, header not counted)") + (", ..." if len(same) > 3 else "")
    return GpuTableError(f"{where_in(src, odd, col)}: GPU {g!r} is given different values, {other} here but "
                         f"{common:g} on its other {len(same)} row{'s' if len(same) > 1 else ''} ({shown}); one GPU "
                         "has one spec", source=src, column=col, rows=odd)


def _place(src: RowNames) -> tuple[str, str] | None:
    """Where rows not read from a file are, for the remedies of an unknown GPU: a model call's mappings ("keys in the
    request", "in the measured rows"), a DataFrame ("columns in the DataFrame"); None for a file's rows."""
    named = MAPPING_SOURCES.get(str(src))
    if named is not None:
        many, noun, lone = named
        return (f"the {'requests' if noun == 'request' else 'measured rows'}" if many else lone), "keys"
    return ("the DataFrame", "columns") if str(src).startswith("<") else None


def _unknown_error(unknown: list[tuple[str, np.ndarray]], src: RowNames) -> UnknownGpuError:
    """The error for the GPU names no table knows and no inline column describes, each with its rows; one name
    keeps the message of :func:`gpu_spec`, several are listed (the first :data:`_MAX_NAMES_SHOWN` with their
    close matches) above the known GPUs and both remedies, said once."""
    if len(unknown) == 1:
        g, at = unknown[0]
        return UnknownGpuError(f"{where_in(src, at.tolist(), 'gpu')}: {unknown_gpu_message(g, place=_place(src))}")
    name, phrase = src.parts(np.concatenate([at for _, at in unknown]))  # the file's rows, or the frame's
    named = [(g, phrase(at).removesuffix(" (1-based, header not counted)")) for g, at in unknown]
    lines = gpu_names.unknown_gpus_message(named[:_MAX_NAMES_SHOWN], _known(), NEW_GPU_COLUMNS,
                                           more=named[_MAX_NAMES_SHOWN:], place=_place(src))
    note = " (data rows 1-based, header not counted)" if src.file_form else ""
    return UnknownGpuError(f"{name}, column 'gpu': {len(unknown)} unknown GPU names{note}:\n{lines}")


def gpu_specs_for_profiles(profiles: pd.DataFrame, source: str | None = None) -> dict[str, GpuSpec]:
    """The :class:`GpuSpec` of every distinct ``gpu`` of a profile table.

    A GPU comes from the registered user GPUs or the bundled table; inline spec columns
    (:data:`INLINE_COLUMNS`) fill its blank cells, or describe a GPU found in neither. Inline values
    must be the same on every row of one GPU.

    Raises:
        UnknownGpuError: GPUs in neither table and without inline spec columns: every such name with its
            rows (close matches of each), and both remedies once.
        GpuTableError: a non-numeric / out-of-range / inconsistent inline value, an inline value that
            contradicts the table, or a new GPU lacking a needed column (source, rows, column named).
    """
    src = RowNames(profiles, source)  # rows are positions; messages name them as the frame's or the file's
    if "gpu" not in profiles.columns:
        raise ProfileSchemaError(f"{src}: profile table lacks the 'gpu' column", source=src, column="gpu")
    rows = np.arange(len(profiles), dtype=np.int64)
    names = profiles["gpu"].astype(str).str.strip()
    present = [c for c in INLINE_COLUMNS if c in profiles.columns]
    # one pass per GPU, rows in order: its inline values and table row; then every unknown name at once
    gpus_ = [(g, rows[pos], _inline_spec(profiles, present, pos, rows, src, g), _find(g))
             for (g,), pos in key_groups(names)]
    if unknown := [(g, at) for g, at, inline, base in gpus_ if base is None and not inline]:
        raise _unknown_error(unknown, src)
    out: dict[str, GpuSpec] = {}
    first: dict[str, tuple[str, int]] = {}  # one GPU under two names ('A10G', 'NVIDIA A10G'): its first name, row
    for g, at, inline, base in gpus_:
        vendor = _inline_vendor(profiles, at, src, g)
        if base is None:
            spec = GpuSpec(name=g, aliases=(), vendor=vendor or "user", source=f"{src}: GPU spec columns",
                           **{c: inline.get(c, math.nan) for c in GPU_NUMERIC_COLUMNS})
            check_usable(spec, src, at, prefix="gpu_", columns=profiles.columns)
        else:
            spec = fill_blanks(base, inline, src, at, prefix="gpu_")
            if vendor not in (None, spec.vendor):
                if spec.vendor != "user":
                    raise GpuTableError(f"{where_in(src, at.tolist(), 'gpu_vendor')}: GPU {spec.name!r} is in the "
                                        f"table with vendor {spec.vendor}; {vendor} describes a different part, so give "
                                        "it another GPU name", source=src, column="gpu_vendor", rows=at.tolist())
                spec = replace(spec, vendor=vendor)  # a user table's row that left the vendor blank
        if (step := peak_step_problem(spec)) is not None:  # a sparse figure among the dense ones
            raise GpuTableError(f"{where_in(src, at.tolist(), 'gpu_' + step[0])}: GPU {g!r}: {step[1]}", source=src,
                                column="gpu_" + step[0], rows=at.tolist())
        g0, row0 = first.setdefault(base.name if base is not None else normalize_name(g), (g, here := int(at[0])))
        if diffs := gpu_names.conflicts(out[g0], spec, GPU_NUMERIC_COLUMNS) if g0 != g else []:
            raise GpuTableError(gpu_names.duplicate_message(g0, (src, row0), (src, here), diffs) + f" ({g!r} names the "
                                "same GPU)", source=src, column="gpu_" + diffs[0][0], rows=[row0, here])
        out[g] = spec
    return out
