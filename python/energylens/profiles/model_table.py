"""User model tables: models the bundled table (``energylens/data/models.csv``) lacks, a user's fine-tune or a new
release, described in a CSV with the same columns and registered process-wide (the CLI's ``--model-table FILE``;
docs/reference-tables.md, "Models the table lacks"), as :mod:`energylens.profiles.gpu_table` does for GPUs.

Rules, the GPU table's: a row naming a bundled model (its name or an alias, ``org/`` ignored) may fill that row's
blank cells but never change a filled one (a different value is a different model: give it another name); a
model described twice (two rows, two tables) likewise; registering the same file again replaces its models.
Every bad cell is a :class:`ModelTableError` naming the file, the 1-based data row and the column. A registered
model is found by :func:`energylens.profiles.tables.find_model` (its names first, then its variants:
``acme/Coder-13B-AWQ``) and so by every command and API that names models.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os

import pandas as pd

from energylens.errors import ProfileSchemaError
from energylens.profiles import checkpoints, light, model_registry, tables
from energylens.profiles.alias_cells import alias_cell
from energylens.profiles.files import read_user_table
from energylens.profiles.gpu_spec import where_in
from energylens.profiles.header import (
    spelled_like,
)
from energylens.profiles.model_checks import MAX_PARAMS_B, spec_problem
from energylens.profiles.number_cells import NA_WORDS, non_numeric_reason
from energylens.profiles.problems import EMPTY_ROW_REASON, HINT

__all__ = ["ModelTableError", "REQUIRED_COLUMNS", "load_model_table", "register_model_table", "register_model",
           "unregister_model", "clear_user_models", "user_models"]


class ModelTableError(ProfileSchemaError):
    """A user model table is malformed; the message names the file, the 1-based data row and the column
    (``.source``, ``.rows`` zero-based, ``.column``)."""


#: Cells every row gives (models.csv's; a dense model: n_experts = experts_per_token = 1).
REQUIRED_COLUMNS = ("name", "architecture", "params_b", "active_params_b", "n_layers", "d_model", "n_heads",
                    "n_kv_heads", "head_dim", "n_experts", "experts_per_token")
_TEXT_FIELDS = ("name", "aliases", "family", "architecture", "source", "layer_pattern")
#: Columns of models.csv a ModelSpec does not hold: read (checkpoint_precision) or kept for people (notes).
_EXTRA_COLUMNS = ("checkpoint_precision", "notes")
_NUMBER_FIELDS = tuple(f.name for f in dataclasses.fields(tables.ModelSpec)
                       if f.name not in (*_TEXT_FIELDS, "estimated"))
_WHOLE_FIELDS = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token")
_AGREE_REL = 1e-6


def _columns() -> tuple[str, ...]:
    """The columns a user table may have: the bundled table's (the ModelSpec's fields and the extras)."""
    return tuple(dict.fromkeys((*tables.models().columns, *_TEXT_FIELDS, *_NUMBER_FIELDS, *_EXTRA_COLUMNS)))


def _error(source: str, row: int, column: str | None, text: str) -> ModelTableError:
    return ModelTableError(f"{where_in(source, [row], column)}: {text}", source=source, column=column, rows=[row])


# ---- One row -------------------------------------------------------------------------------------

def _number(cell: str, source: str, row: int, column: str) -> float:
    text = cell.strip()
    if text in NA_WORDS:  # blank, or 'N/A' / 'NaN' as a profile table's CSV reads them
        if column in REQUIRED_COLUMNS:
            raise _error(source, row, column, "blank; every model gives it (docs/reference-tables.md)")
        return math.nan
    try:
        x = float(text)
    except ValueError:
        hint = non_numeric_reason(text, column).partition(HINT)[2]  # '13B': write 13, as the GPU table says
        raise _error(source, row, column, f"{text!r} is not a number" + (f": {hint}" if hint else "")) from None
    if not math.isfinite(x) or x < 0:
        raise _error(source, row, column, f"{cell!r} is not a finite number >= 0")
    if column in _WHOLE_FIELDS and x != int(x):
        raise _error(source, row, column, f"{cell!r} is not a whole number")
    return x


def _check_precision(cell: str, name: str, source: str, row: int) -> None:
    """A ``checkpoint_precision`` cell as the bundled table's: a format, layout words, ``; alias=format``."""
    base, overrides = alias_cell(cell)
    try:
        for value in (base, *overrides.values()):
            if value.strip():
                checkpoints._format_words(value, name)
    except ValueError as exc:
        text = str(exc)  # the bundled table's wording names models.csv: this file's place is said instead
        raise _error(source, row, "checkpoint_precision", text.split(": ", 1)[-1] if "models.csv" in text else text) from None


def _spec_from_record(rec: dict[str, str], source: str, row: int) -> tuple[tables.ModelSpec, dict[str, str]]:
    """The ModelSpec of one data row (zero-based ``row``) and its extra cells; every bad cell named."""
    name = rec.get("name", "").strip()
    if not name:
        if not any(str(v).strip() for v in rec.values()):  # a spreadsheet's trailing ',,,,' row
            raise _error(source, row, None, EMPTY_ROW_REASON)
        raise _error(source, row, "name", "missing model name")
    arch = rec.get("architecture", "").strip().lower()
    if arch not in model_registry.ARCHITECTURES:
        raise _error(source, row, "architecture", f"{rec.get('architecture', '')!r} is not one of "
                     f"{', '.join(model_registry.ARCHITECTURES)}")
    values: dict = {f: _number(rec.get(f, ""), source, row, f) for f in _NUMBER_FIELDS}
    values.update({f: int(values[f]) for f in _WHOLE_FIELDS})
    for f in ("params_b", "active_params_b"):  # a count in parameters, not billions: the profile schema's bound
        if values[f] > MAX_PARAMS_B:
            slip = f": is it in parameters? write {values[f] / 1e9:g}" if values[f] / 1e9 <= MAX_PARAMS_B else ""
            raise _error(source, row, f, f"{values[f]:g} billion parameters is more than {MAX_PARAMS_B:,.0f} "
                         f"(the column counts billions){slip}")
    if "," in (aliases := rec.get("aliases", "")):  # 'org/a, org/b' would be one alias no one types
        raise _error(source, row, "aliases", f"{aliases!r} holds a ','; aliases are ';'-separated: write "
                     f"{'; '.join(a.strip() for a in aliases.split(',') if a.strip())!r}")
    spec = tables.ModelSpec(
        name=name, aliases=tuple(a.strip() for a in aliases.split(";") if a.strip()),
        family=rec.get("family", "").strip() or "user", architecture=arch,
        source=rec.get("source", "").strip() or f"user model table {source}",
        layer_pattern=rec.get("layer_pattern", "").strip(), **values)
    problem = spec_problem(spec)
    if problem is not None:
        field, value, need, _ = problem
        raise _error(source, row, field, f"model {name!r} has {field} = {value!r}; it must be {need}")
    extra = {c: rec.get(c, "").strip() for c in _EXTRA_COLUMNS}
    if extra["checkpoint_precision"]:
        _check_precision(extra["checkpoint_precision"], name, source, row)
    return spec, extra


def _conflicts(a: tables.ModelSpec, b: tables.ModelSpec) -> list[str]:
    """The fields both give (not blank) with different values: the architecture and the numbers."""
    out = ["architecture"] if a.architecture != b.architecture else []
    if a.layer_pattern and b.layer_pattern and a.layer_pattern != b.layer_pattern:
        out.append("layer_pattern")
    for f in _NUMBER_FIELDS:
        x, y = float(getattr(a, f)), float(getattr(b, f))
        if not (math.isnan(x) or math.isnan(y) or math.isclose(x, y, rel_tol=_AGREE_REL)):
            out.append(f)
    return out


def _merge(base: tables.ModelSpec, spec: tables.ModelSpec, described: str, source: str, row: int) -> tables.ModelSpec:
    """``base`` (the model as ``described``) with its blank cells filled from ``spec`` and both's names; a value
    both give differently is an error naming the column and where ``base`` comes from."""
    diffs = _conflicts(base, spec)
    if diffs:
        f = diffs[0]
        raise _error(source, row, f, f"model {spec.name!r} is {described} with {f} = {getattr(base, f)!r}; "
                     f"{getattr(spec, f)!r} describes a different model, so give it another name (a row may only "
                     "fill the blank cells of a model already described)")
    fills = {f: getattr(spec, f) for f in _NUMBER_FIELDS if math.isnan(float(getattr(base, f)))}
    if not base.layer_pattern and spec.layer_pattern:  # e.g. a pattern the bundled row lacks
        fills["layer_pattern"] = spec.layer_pattern
    names = tuple(dict.fromkeys(n for n in (*base.aliases, spec.name, *spec.aliases) if n != base.name))
    return dataclasses.replace(base, aliases=names, **fills)


# ---- A file --------------------------------------------------------------------------------------

def _column_like(header: str, known: tuple[str, ...]) -> str:
    """`` (did you mean 'K'?)`` for a header written for people (``'N Layers'``) or a letter off (``'n_layer'``)."""
    if said := spelled_like(header, known):
        return said
    close = difflib.get_close_matches(header.strip().lower(), known, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read(p: str | os.PathLike) -> pd.DataFrame:
    frame = read_user_table(p, "model table", ModelTableError, "models.csv")
    frame.columns = [str(c).strip() for c in frame.columns]
    known = _columns()
    if unknown := [c for c in frame.columns if c not in known]:
        said = ", ".join(repr(c) + _column_like(c, known) for c in unknown)  # 'N Layers': did you mean 'n_layers'?
        raise ModelTableError(f"{p}: unknown column(s) {said}; a model table has the columns "
                              f"of energylens/data/models.csv: {', '.join(known)}", source=str(p), column=unknown[0])
    if missing := [c for c in REQUIRED_COLUMNS if c not in frame.columns]:
        raise ModelTableError(f"{p}: a model table needs the column(s) {', '.join(map(repr, missing))} "
                              f"(every model gives {', '.join(REQUIRED_COLUMNS)})", source=str(p), column=missing[0])
    return frame


def _table_rows(path: str | os.PathLike) -> list[tuple[int, tables.ModelSpec, dict[str, str]]]:
    """(zero-based data row, spec, extra cells) per model; a model on two rows is one (:func:`_merge`)."""
    frame, source = _read(path), str(path)
    out: dict[str, tuple[int, tables.ModelSpec, dict[str, str]]] = {}
    seen: dict[str, tuple[int, str]] = {}  # normalised name -> (row, model)
    for row, rec in enumerate(frame.to_dict("records")):
        spec, extra = _spec_from_record(rec, source, row)
        key = tables.normalize_name(spec.name)
        first = seen.get(key)
        if first is not None and first[1] in out:
            r0, earlier, cells0 = out.pop(first[1])
            spec = _merge(earlier, spec, f"described on data row {r0 + 1}", source, row)
            row, extra = r0, {c: cells0[c] or extra[c] for c in extra}
        for n in (spec.name, *spec.aliases):
            k = tables.normalize_name(n)
            if seen.setdefault(k, (row, spec.name))[1] != spec.name:
                raise _error(source, row, "aliases", f"the name {n!r} is given to two models "
                             f"({seen[k][1]!r} on data row {seen[k][0] + 1} and {spec.name!r})")
        out[spec.name] = (row, spec, extra)
    return list(out.values())


def load_model_table(path: str | os.PathLike) -> tuple[tables.ModelSpec, ...]:
    """Read and validate a user model table (a CSV with the columns of ``models.csv``; :data:`REQUIRED_COLUMNS`
    required, the others optional). Registers nothing.

    Raises:
        FileNotFoundError: no such file.
        ModelTableError: a folder; a bad cell (file, 1-based data row, column: not a number, not a whole number,
            a value no model has, an unknown architecture), an unknown, missing or repeated column, a name two
            models share, or one model on two rows with different values (a second row may fill blanks).
    """
    return tuple(spec for _, spec, _ in _table_rows(path))


# ---- Registering ---------------------------------------------------------------------------------

def _forget_lookups() -> None:
    """Drop the per-name caches that remember what the model table answered for a name."""
    for fn in (light._usable_model, light._usable_models, light._checkpoint_formats, checkpoints.checkpoint_precision,
               checkpoints.checkpoint_layout, checkpoints.row_layout, checkpoints._table_formats,
               checkpoints._layout_formats):
        fn.cache_clear()


def _bundled_base(spec: tables.ModelSpec, where: str, row: int) -> tables.ModelSpec | None:
    """The bundled row one of ``spec``'s names names (an error if they name several), or None."""
    index = tables._model_index()
    hits = sorted({index[k] for n in (spec.name, *spec.aliases) if (k := tables.normalize_name(n)) in index})
    if len(hits) > 1:
        names = ", ".join(tables._model_spec_at(i).name for i in hits)
        raise _error(where, row, "aliases", f"model {spec.name!r} names several models of the bundled table ({names})")
    return tables._model_spec_at(hits[0]) if hits else None


def register_model(spec: tables.ModelSpec, *, where: str = "register_model", row: int = 0,
                   cells: dict[str, str] | None = None) -> tables.ModelSpec:
    """Make ``spec`` resolvable by :func:`~energylens.profiles.tables.find_model` under its name and aliases
    (process-wide; ``cells``: its ``checkpoint_precision``). A name of the bundled table merges into that row (blank
    cells only); re-registering a user model replaces it. Returns the spec a look-up of its name now gives.

    Raises:
        ModelTableError: a value no model has, a value that contradicts the bundled row it names, or a name that
            belongs to another user model.
    """
    if (problem := spec_problem(spec)) is not None:
        raise _error(where, row, problem[0], f"model {spec.name!r} has {problem[0]} = {problem[1]!r}; it must be "
                     f"{problem[2]}")
    keys = list(dict.fromkeys(tables.normalize_name(n) for n in (spec.name, *spec.aliases)))
    base = _bundled_base(spec, where, row)
    if base is not None:
        by = next(n for n in (spec.name, *spec.aliases) if tables.normalize_name(n) in tables._model_index())
        spec = _merge(base, spec, f"the bundled model {base.name!r} (named by this row's "
                      f"{'name' if by == spec.name else 'alias'} {by!r}; names compare without case, punctuation or "
                      f"org/ prefix; {base.source})", where, row)
    for k in keys:
        owner = model_registry.owner(k)
        if owner is not None and owner != spec.name:
            raise _error(where, row, "aliases", f"the name {k!r} is already registered for {owner!r}")
    variants = [tables._variant_key(n) for n in (spec.name, *spec.aliases)]
    model_registry.add(spec, keys, variants, (where, row), cells or {})
    _forget_lookups()
    return spec


def register_model_table(path: str | os.PathLike) -> tuple[tables.ModelSpec, ...]:
    """:func:`load_model_table` then :func:`register_model` for every row (what ``--model-table FILE`` does). A model
    another table (or :func:`register_model`) registered may be described again only to fill its blank cells: a
    different value is a ModelTableError naming the column and where the first description came from
    (registering the same file again replaces its own models)."""
    out = []
    for row, spec, extra in _table_rows(path):
        owner = model_registry.owner(tables.normalize_name(spec.name))
        first = model_registry.origin(owner) if owner is not None else None
        if first is not None and first[0] != str(path):
            earlier = model_registry.specs()[[s.name for s in model_registry.specs()].index(owner)]
            spec = _merge(earlier, spec, f"described by {first[0]} (data row {first[1] + 1})", str(path), row)
        out.append(register_model(spec, where=str(path), row=row, cells=extra))
    return tuple(out)


def unregister_model(name: str) -> None:
    """Forget a registered user model, by any of its names (no-op when it is not registered)."""
    owner = model_registry.owner(tables.normalize_name(name))
    if model_registry.remove(owner if owner is not None else str(name)):
        _forget_lookups()


def clear_user_models() -> None:
    """Forget every registered user model."""
    model_registry.clear()
    _forget_lookups()


def user_models() -> tuple[tables.ModelSpec, ...]:
    """The registered user models, in registration order."""
    return model_registry.specs()
