"""The registered user models: the ModelSpecs a user model table (``--model-table FILE``;
:mod:`energylens.profiles.model_table`) describes, which :func:`energylens.profiles.tables.find_model` looks up
before the bundled table's variant rule (a user name itself before the bundled names).

State only: this module imports nothing of the tables (which import it); the keys a spec is found by
(:func:`energylens.profiles.gpu_names.normalize_name` and the tables' variant key) are computed by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ARCHITECTURES", "find", "add", "remove", "clear", "specs", "origin", "owner", "cells", "count"]

#: ModelSpec.architecture's values (models.csv's ``architecture`` column; docs/reference-tables.md).
ARCHITECTURES = ("dense", "moe", "hybrid")

_SPECS: dict[str, object] = {}              # canonical name -> ModelSpec
_INDEX: dict[str, str] = {}                 # normalised name / alias -> canonical name
_VARIANTS: dict[str, set[str]] = {}         # variant key -> canonical names (one: found; several: neither)
_ORIGIN: dict[str, tuple[str, int]] = {}    # canonical name -> (file or caller, zero-based data row)
_CELLS: dict[str, dict[str, str]] = {}      # canonical name -> its text cells the spec does not hold


def count() -> int:
    """How many user models are registered (0: :func:`find` need not be asked)."""
    return len(_SPECS)


def find(key: str, variant: Callable[[], str], bundled_exact: bool):
    """The user model whose name or alias normalises to ``key``; else, unless a bundled name does
    (``bundled_exact``), the one user model whose variant key is ``variant()``; else None."""
    if key in _INDEX:
        return _SPECS[_INDEX[key]]
    if bundled_exact:
        return None
    owners = _VARIANTS.get(variant())
    return _SPECS[next(iter(owners))] if owners is not None and len(owners) == 1 else None


def owner(key: str) -> str | None:
    """The canonical name of the user model ``key`` (a normalised name) belongs to, or None."""
    return _INDEX.get(key)


def origin(name: str) -> tuple[str, int] | None:
    """(file or caller, zero-based data row) the user model ``name`` was registered from."""
    return _ORIGIN.get(name)


def add(spec, keys: list[str], variant_keys: list[str], where: tuple[str, int], cells: dict[str, str]) -> None:
    """Register ``spec`` (replacing a user model of its name) under ``keys`` and ``variant_keys``."""
    remove(spec.name)
    _SPECS[spec.name] = spec
    _ORIGIN[spec.name] = where
    _CELLS[spec.name] = dict(cells)
    for k in keys:
        _INDEX[k] = spec.name
    for k in variant_keys:
        if k:
            _VARIANTS.setdefault(k, set()).add(spec.name)


def remove(name: str) -> bool:
    """Forget the user model ``name`` (canonical); whether there was one."""
    if _SPECS.pop(name, None) is None:
        return False
    _ORIGIN.pop(name, None)
    _CELLS.pop(name, None)
    for k in [k for k, v in _INDEX.items() if v == name]:
        del _INDEX[k]
    for k in list(_VARIANTS):
        _VARIANTS[k].discard(name)
        if not _VARIANTS[k]:
            del _VARIANTS[k]
    return True


def clear() -> None:
    """Forget every user model."""
    for registry in (_SPECS, _INDEX, _VARIANTS, _ORIGIN, _CELLS):
        registry.clear()


def specs() -> tuple:
    """The registered user models, in registration order."""
    return tuple(_SPECS.values())


def cells(column: str) -> list[tuple[str, str]]:
    """(canonical name, cell) of every user model whose text cell ``column`` is not blank."""
    return [(n, c[column]) for n, c in _CELLS.items() if c.get(column, "").strip()]
