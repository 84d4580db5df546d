"""The ``energy`` entry of an expression model's file (``EnergyModel.from_expression(...).save``), read and
checked without evaluating any of its text.

The expression is stored as SymPy's ``srepr`` (exact numbers and assumptions). ``sympify`` would ``eval``
it, so a model file someone sends could run any Python on load; :func:`parse_srepr` instead walks the
text's syntax tree and builds only the SymPy nodes an expression model is made of. Every other value is
checked as the template's file is (:mod:`energylens.model.persistence`): a wrong type, a non-finite
number, a bootstrap table of the wrong shape or an unknown key is a ModelFileError naming the file and
the key, never a traceback or a model that loads and then misbehaves.

``train_ranges`` (feature -> [min, max] over the training rows, for the extrapolation check, as the template's
file has them) is written since 2026-12-06; a file written before has none and still loads: its model checks
no row against a range and warns about none (``ExpressionEnergyModel.train_ranges`` is None).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from energylens.errors import ModelFileError
from energylens.model.fit_options import checked_fit_options
from energylens.model.fit_summary import FitSummary
from energylens.model.persistence import check_keys, require_fit, summary_fields

__all__ = ["EXPRESSION_STATE_KEYS", "ExpressionState", "parse_srepr", "read_expression_state", "refuse_latency_beside",
           "written_bounds"]

#: Keys of an expression model's ``energy`` entry; anything else is refused on load.
EXPRESSION_STATE_KEYS = frozenset({"template", "expression", "expression_text", "constants", "params", "start", "bounds",
                                   "options", "name", "bootstrap_replicates", "bootstrap_params",
                                   "train_residuals", "train_ranges", "fit"})
_OPTION_KEYS = frozenset({"residual", "loss", "loss_scale", "n_starts", "start_spread", "seed", "max_iterations"})

#: The SymPy constructors an srepr of a compilable expression calls (energylens.model.compile's operators,
#: its symbols and numbers), and the constants it names.
_CALLS = {name: getattr(sp, name) for name in ("Add", "Mul", "Pow", "Symbol", "Integer", "Rational", "Float",
                                               "exp", "log", "Abs", "Min", "Max", "tanh")}
_NAMES = {"pi": sp.pi, "E": sp.E}


def _node(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str)):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) in (int, float)):
        return -node.operand.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS
            and all(k.arg is not None for k in node.keywords)):
        args = [_node(a) for a in node.args]
        if node.func.id == "Pow" and len(args) == 2:
            _check_power(*args)
        return _CALLS[node.func.id](*args, **{k.arg: _node(k.value) for k in node.keywords})
    raise ValueError(f"{ast.unparse(node)[:80]!r} is not part of an expression energylens writes (it builds only "
                     f"{', '.join([*_CALLS, *_NAMES])})")


#: Bits an exact power of numbers may take (SymPy computes it exactly: Pow(10, 10**12) would not finish).
_POWER_BITS = 1 << 16


def _check_power(base: Any, exp: Any) -> None:
    """ValueError for a power of exact numbers too large to compute (a file edited to stall the load)."""
    if isinstance(base, sp.Rational) and isinstance(exp, sp.Integer):
        bits = max(abs(base.p).bit_length(), abs(base.q).bit_length()) * abs(int(exp))
        if bits > _POWER_BITS:
            raise ValueError(f"a power of exact numbers (exponent {str(exp)[:20]}) of about {bits} bits is not a "
                             "constant energylens writes")


def parse_srepr(text: Any, where: str) -> sp.Expr:
    """The SymPy expression an ``srepr`` string spells, built node by node (nothing is evaluated as Python);
    ModelFileError naming ``where`` for anything else."""
    if not isinstance(text, str):
        raise ModelFileError(f"{where} = {text!r} must be the expression's srepr text (a string)")
    try:
        expr = _node(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, AttributeError, RecursionError, MemoryError) as exc:
        raise ModelFileError(f"{where} is not a SymPy expression energylens wrote ({exc})") from None
    if not isinstance(expr, sp.Expr):
        raise ModelFileError(f"{where} = {text[:80]!r} is not a SymPy expression")
    return expr


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _values(doc: Any, names: list[str] | None, where: str) -> dict[str, float]:
    """An object of constant name -> finite number (with exactly ``names`` as keys, when given)."""
    if not isinstance(doc, dict):
        raise ModelFileError(f"{where} = {doc!r} must be an object of constant name -> value")
    if names is not None and sorted(doc) != sorted(names):
        raise ModelFileError(f"{where} names {list(doc)}, but the expression's constants are {names}")
    bad = [k for k, v in doc.items() if not _finite(v)]
    if bad:
        raise ModelFileError(f"{where} {bad[0]} = {doc[bad[0]]!r} is not a finite number")
    return {k: float(v) for k, v in doc.items()}


def written_bounds(lower: float, upper: float) -> list[float | None]:
    """A constant's [lower, upper] as the file holds it: null for an unbounded side (JSON has no infinity)."""
    return [None if lower == -math.inf else float(lower), None if upper == math.inf else float(upper)]


def _bounds(doc: Any, names: list[str], where: str) -> dict[str, tuple[float, float]]:
    """Constant name -> (lower, upper); null (or, in files written before, -Infinity / Infinity) unbounded."""
    if not isinstance(doc, dict):
        raise ModelFileError(f"{where} = {doc!r} must be an object of constant name -> [lower, upper]")
    out = {}
    for name, pair in doc.items():
        if name not in names:
            raise ModelFileError(f"{where}: {name!r} is not a constant of the expression ({names})")
        ok = isinstance(pair, list) and len(pair) == 2 and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)) for v in pair)
        lo, hi = (-math.inf if pair[0] is None else float(pair[0]), math.inf if pair[1] is None else float(pair[1])
                  ) if ok else (0.0, -1.0)
        if not lo <= hi:
            raise ModelFileError(f"{where} {name} = {pair!r} is not a [lower, upper] pair (null: unbounded)")
        out[name] = (lo, hi)
    return out


def _order(constants: Any, names: list[str], where: str) -> list[str]:
    """The constants in the order of the bootstrap table's columns: ``constants`` as written since it is
    stored; a file without it has them in its ``start`` object's key order (which a tool that sorts JSON keys,
    ``jq -S``, changes without a word: with constants c0 .. c10 the columns then went to the wrong ones)."""
    if constants is None:
        return names
    if (not isinstance(constants, list) or not all(isinstance(c, str) for c in constants)
            or sorted(constants) != sorted(names) or len(set(constants)) != len(names)):
        raise ModelFileError(f"{where} = {constants!r} must list the constants of start ({names}), each once")
    return list(constants)


def _table(value: Any, ndim: int, where: str) -> np.ndarray | None:
    """A list (``ndim`` 1) or table (2) of finite numbers as an array; None when empty."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelFileError(f"{where} is not a {'list' if ndim == 1 else 'table'} of numbers") from None
    if not arr.size:
        return None
    if arr.ndim != ndim or not np.isfinite(arr).all():
        raise ModelFileError(f"{where} must be a {'list' if ndim == 1 else 'table'} of finite numbers (got shape "
                             f"{arr.shape})")
    return arr


@dataclass
class ExpressionState:
    """What an expression model's file entry holds, checked: ready for the model's constructor and fields."""

    expression: sp.Expr
    start: dict[str, float]
    params: np.ndarray
    bounds: dict[str, tuple[float, float]]
    options: dict[str, Any]
    bootstrap: int
    name: str
    boot: np.ndarray | None
    residuals: np.ndarray | None
    summary: FitSummary
    ranges: dict[str, list[float]] | None = None  # (None: a file written before they were stored)


def _options(state: dict[str, Any], where: str) -> tuple[dict[str, Any], int]:
    """The fit options and bootstrap replicate count, checked as the constructor's keywords are."""
    opts = state.get("options", {})
    check_keys(opts, _OPTION_KEYS, f"{where} options")
    replicates = state.get("bootstrap_replicates", 0)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 0:
        raise ModelFileError(f"{where} bootstrap_replicates = {replicates!r} must be a whole number >= 0")
    defaults = {"residual": "log", "loss": "linear", "loss_scale": 0.1, "n_starts": 3, "start_spread": 0.5,
                "seed": 0, "max_iterations": 300}
    try:
        checked, _ = checked_fit_options(**{**defaults, **opts}, bootstrap=replicates, tpot_weight=0.0)
    except ValueError as exc:
        raise ModelFileError(f"{where} options are not valid: {exc}") from None
    return {k: checked[k] for k in defaults}, replicates


def _ranges(value: Any, where: str) -> dict[str, list[float]] | None:
    """Feature -> [min, max] (finite numbers, min <= max); None where the file has none (written before)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ModelFileError(f"{where} = {value!r} must be an object of feature -> [min, max]")
    out = {}
    for name, pair in value.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(_finite(v) for v in pair) and pair[0] <= pair[1]):
            raise ModelFileError(f"{where} {name} = {pair!r} is not a [min, max] pair of finite numbers")
        out[str(name)] = [float(pair[0]), float(pair[1])]
    return out


def _summary(state: dict[str, Any], names: list[str], where: str) -> FitSummary:
    require_fit(state, where)  # (an unfitted expression model is not saved; before, it was, with fit null)
    fit = state["fit"]
    if not isinstance(fit, dict):
        raise ModelFileError(f"{where} fit = {fit!r} must be the fit summary (an object)")
    try:
        return FitSummary(**summary_fields(fit, names))
    except TypeError as exc:
        raise ModelFileError(f"{where} fit summary is not valid ({exc})") from None


def read_expression_state(state: dict[str, Any], path: str) -> ExpressionState:
    """The checked content of an expression model's ``energy`` entry; ModelFileError naming ``path`` and the
    key for anything a save does not write (the constants are checked against the parsed expression by the
    caller, which compiles it)."""
    where = f"{path}: expression model"
    check_keys(state, EXPRESSION_STATE_KEYS, where)
    for key in ("expression", "start", "params"):
        if key not in state:
            raise ModelFileError(f"{where}: key {key!r} missing")
    expr = parse_srepr(state["expression"], f"{where} expression")
    start = _values(state["start"], None, f"{where} start")
    names = _order(state.get("constants"), list(start), f"{where} constants")
    start = {n: start[n] for n in names}  # (the compiled constants, and the bootstrap columns, follow this order)
    params = _values(state["params"], names, f"{where} params")
    bounds = _bounds(state.get("bounds", {}), names, f"{where} bounds")
    outside = [n for n, (lo, hi) in bounds.items() if not lo <= params[n] <= hi]
    if outside:
        n = outside[0]
        raise ModelFileError(f"{where} params {n} = {params[n]!r} is outside its bounds {list(bounds[n])}; refit "
                             "instead of editing the file")
    options, replicates = _options(state, where)
    name = state.get("name", "expression")
    if not isinstance(name, str):
        raise ModelFileError(f"{where} name = {name!r} must be a string")
    boot = _table(state.get("bootstrap_params", []), 2, f"{where} bootstrap_params")
    summary = _summary(state, names, where)
    rows = 0 if boot is None else len(boot)
    if boot is not None and boot.shape[1] != len(names):
        raise ModelFileError(f"{where} bootstrap_params has {boot.shape[1]} columns, expected {len(names)} (one per "
                             f"constant: {names})")
    if rows > replicates or rows != summary.bootstrap_converged:
        raise ModelFileError(f"{where} bootstrap_params has {rows} rows for bootstrap_replicates {replicates} and "
                             f"{summary.bootstrap_converged} converged refits in the fit summary (the file was "
                             "edited or truncated: refit the model)")
    residuals = _table(state.get("train_residuals", []), 1, f"{where} train_residuals")
    held = 0 if residuals is None else len(residuals)
    if held != summary.n_measurements:  # (the intervals draw from them)
        raise ModelFileError(f"{where} train_residuals holds {held} residuals for the fit summary's "
                             f"{summary.n_measurements} measurements (the file was edited or truncated: refit)")
    ranges = _ranges(state.get("train_ranges"), f"{where} train_ranges")  # (names: checked once compiled)
    return ExpressionState(expr, start, np.array([params[n] for n in names]), bounds, options, replicates, name,
                           boot, residuals, summary, ranges)


def refuse_latency_beside(doc: dict[str, Any], path: str) -> None:
    """ModelFileError when a file with an expression model holds a latency model too: a save never writes one
    (the expression models energy only), and loading would drop it without a word."""
    if doc.get("latency"):
        raise ModelFileError(f"{path}: latency holds a latency model beside an expression energy model, which a "
                             "save never writes (the file was edited or assembled by hand: refit, or save the "
                             "latency model to a file of its own)")
