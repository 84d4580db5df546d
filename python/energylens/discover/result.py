"""A discovery run's result: the scored front, the template's scores on the same held-out rows, the choice, the
run's settings and how its search ended; written as strict JSON (``energylens discover -o``) and read back by
:func:`load_discovery`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FrontEntry", "DiscoveryResult", "DiscoveryInterrupted", "load_discovery", "shown", "recounted_note"]


def shown(value: float, spec: str) -> str:
    """A held-out score as printed: "n/a" where the held-out rows allow no such choice (NaN), e.g. the TP x PP
    choice when no held-out group varies the parallelism. A value of a million or more is in 3 significant
    digits (an overfitted front's held-out R^2 of -3.6e84 took 85 characters of the table in fixed point)."""
    if value != value:
        return "n/a"
    return format(value, ".3g") if abs(value) >= 1e6 else format(value, spec)


def recounted_note(result: DiscoveryResult) -> str:
    """The front entries whose tree is a constant, counted as one (the printed table and discovery.md say it
    alike); "" where there are none. A complexity-8 entry reading -3.6e-9 looked like an 8-node formula."""
    items = [f"{i} (`{e.expression}`)" for i, e in enumerate(result.front) if e.backend_complexity is not None]
    if not items:
        return ""
    counts = sorted({e.backend_complexity for e in result.front if e.backend_complexity is not None})
    return (f"entry {', '.join(items)}: a constant (no variable): counted as complexity 1, where {result.backend} "
            f"counted {'/'.join(map(str, counts))} (its tree's nodes cancel); "
            + ("a correction g that is one number: the template rescaled" if result.target == "residual"
               else "one value for every row"))


@dataclass
class FrontEntry:
    """One expression of the Pareto front, its constants refitted natively, scored on held-out rows."""

    complexity: int
    expression: str          # over the discovery variables, as the backend returned it (refitted constants)
    formula: str             # the model's formula over feature columns (residual: the log-correction term)
    latex: str
    cv_error: float          # cross-validated training error (mean |relative error|) that picks the chosen one
    heldout: dict[str, float] = field(default_factory=dict)  # r2, top1, pairwise, mape on held-out rows
    # the backend's node count where the expression shown counts fewer: a tree that is a constant (its nodes
    # cancel) is complexity 1, not operon's 8 (None: the backend's count is the complexity; files before 2026-12-07)
    backend_complexity: int | None = None


@dataclass
class DiscoveryResult:
    """A discovery run: the front, the template's scores on the same held-out rows, the choice."""

    target: str
    backend: str
    backend_reason: str
    seed: int
    n_train: int
    n_heldout: int
    variables: dict[str, str]
    front: list[FrontEntry]
    template: dict[str, float]
    chosen: int | None       # None only in an interrupted run's result with no expression scored
    seconds: float
    residual_test: dict[str, Any] | None = None
    dropped: list[dict[str, Any]] = field(default_factory=list)  # front expressions no refit could evaluate
    # front expressions merged into another entry (complexity, expression, into: its index, why): the same
    # expression up to its constants, or the same predictions on every row (energylens.discover.merge)
    merged: list[dict[str, Any]] = field(default_factory=list)
    profiles: str = ""                                  # what was searched: a file, or a bundled data set's name
    settings: dict[str, Any] = field(default_factory=dict)  # the run's arguments (target, backend, caps, seed)
    search: dict[str, Any] = field(default_factory=dict)    # generations_run, stopped_by, seconds, note

    def front_table(self) -> pd.DataFrame:
        """One row per front expression: complexity, expression, cv error and held-out metrics."""
        rows = [{"complexity": e.complexity, "expression": e.expression, "cv_error": e.cv_error, **e.heldout,
                 "chosen": i == self.chosen} for i, e in enumerate(self.front)]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"format": "energylens.discovery", "version": 1, "target": self.target, "backend": self.backend,
                "backend_reason": self.backend_reason, "seed": self.seed, "n_train": self.n_train,
                "n_heldout": self.n_heldout, "variables": self.variables, "template": self.template,
                "chosen": self.chosen, "seconds": self.seconds, "residual_test": self.residual_test,
                "front": [e.__dict__ for e in self.front], "dropped": self.dropped, "merged": self.merged,
                "profiles": self.profiles, "settings": self.settings, "search": self.search}

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "the discovery result") -> DiscoveryResult:
        """The result :meth:`to_dict` (or a result file) holds; ``null`` scores read back as NaN (n/a) and a
        ``null`` CV error as inf. A ValueError names ``source`` and what is missing or wrong."""
        if not isinstance(doc, dict) or doc.get("format") != "energylens.discovery":
            what = f"format {doc.get('format')!r}" if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
            raise ValueError(f"{source}: not a discovery result ({what}; energylens discover -o writes the format "
                             "'energylens.discovery')")
        missing = [k for k in _RESULT_KEYS if k not in doc]
        if missing:
            raise ValueError(f"{source}: the discovery result lacks {', '.join(map(repr, missing))}")
        if not isinstance(doc["front"], list):
            kind = {"dict": "object", "str": "string"}.get(type(doc["front"]).__name__, type(doc["front"]).__name__)
            raise ValueError(f"{source}: 'front' is a JSON {kind}, not a list of expressions")
        try:
            front = [_entry(e) for e in doc["front"]]
            result = cls(**{k: doc[k] for k in _RESULT_KEYS if k not in ("front", "template")}, front=front,
                       template=_nan(doc["template"]), residual_test=doc.get("residual_test"),
                       dropped=doc.get("dropped", []), merged=doc.get("merged", []), profiles=doc.get("profiles", ""),
                       settings=doc.get("settings", {}), search=doc.get("search", {}))
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{source}: a malformed discovery result ({type(exc).__name__}: {exc})") from None
        _check_indices(result, doc, source)
        return result

    def to_json(self) -> str:
        """The result as strict JSON: a score the held-out rows cannot give (NaN) or an infinite CV error is
        ``null``, never the bare ``NaN`` / ``Infinity`` that JSON does not have (Python's own reader took
        them, ``jq``, JavaScript and strict readers did not)."""
        return json.dumps(_finite_or_null(self.to_dict()), indent=1, allow_nan=False)


class DiscoveryInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a discovery run during its search or the scoring of its front; ``result`` is what
    it found: the front of the search's rounds run, its expressions scored up to the interrupt (the others under
    ``result.search["unscored"]``; ``result.chosen`` None where none was scored). ``cause`` is the interrupt itself.
    A KeyboardInterrupt, so a script that does not catch it still stops; in IPython or Jupyter,
    ``sys.last_value.result`` is the result after the fact. Before 2026-12-06 an interrupt lost the whole run."""

    def __init__(self, result: DiscoveryResult, cause: BaseException) -> None:
        super().__init__(f"discovery interrupted: {result.search.get('note', '')}")
        self.result, self.cause = result, cause


_RESULT_KEYS = ("target", "backend", "backend_reason", "seed", "n_train", "n_heldout", "variables", "front",
                "template", "chosen", "seconds")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_indices(result: DiscoveryResult, doc: dict[str, Any], source: str) -> None:
    """``chosen`` an index of the front (or None: an interrupted run that scored none) and each complexity a whole
    number; a ValueError naming ``source`` otherwise. Before 2026-12-07 a hand-edited ``chosen`` of 99 was an
    IndexError traceback from ``fit --expression``, -1 fitted the last entry and ``true`` the second."""
    n = len(result.front)
    for i, e in enumerate(result.front):
        for key in ("complexity", "backend_complexity"):
            value = getattr(e, key)
            if not _whole(value) and not (key == "backend_complexity" and value is None):
                raise ValueError(f"{source}: front[{i}]'s {key} {value!r} is not a whole number")
    chosen = doc["chosen"]
    if chosen is not None and not (_whole(chosen) and 0 <= chosen < n):
        where = f"an index of its front, 0..{n - 1}" if n else "null: its front is empty"
        raise ValueError(f"{source}: 'chosen' is {chosen!r}, where it must be {where} (or null where no expression "
                         "was scored)")


def _entry(e: dict[str, Any]) -> FrontEntry:
    """A front entry of a result file; its ``same_as`` (files of 2026-12-06/07: the index of an earlier entry it
    repeated, where both took a place; such entries are merged since) is left out."""
    kept = {k: v for k, v in e.items() if k != "same_as"}
    return FrontEntry(**{**kept, "cv_error": _or(e["cv_error"], float("inf")), "heldout": _nan(e["heldout"])})


def _or(value: Any, default: float) -> Any:
    return default if value is None else value


def _nan(scores: dict[str, Any]) -> dict[str, Any]:
    return {k: _or(v, float("nan")) for k, v in scores.items()}


def load_discovery(path: str | Path) -> DiscoveryResult:
    """A result file of ``energylens discover -o`` (or a report's discovery.json) read back: ``expression_model``
    makes a model of any of its front expressions. A ValueError names the file where it is not one."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a JSON file ({exc})") from None
    return DiscoveryResult.from_dict(doc, str(path))


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
