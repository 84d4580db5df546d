"""The units of an expression model's fitted constants, where the expression's structure fixes them.

The energy (J per request) is a sum of terms; a term that is one constant times numbers and powers of feature
columns makes that constant J over the features' units (:data:`energylens.profiles.features.FEATURE_UNITS`). The
argument of exp() or log() is a pure number, so a constant that is such a factor of one of its terms is one over
the features' units (a residual model's log-correction g, inside exp(g), is one). A constant standing anywhere
else (two constants in one product, inside a square root or a power) has no single unit from the structure alone:
it reads :data:`NOT_DERIVED`, not nothing. No dimensional-analysis engine: the rules above, nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from energylens.model.compile import sp  # sympy, or the extra named

__all__ = ["constant_units", "NOT_DERIVED", "ENERGY_UNIT"]

#: What a constant's unit reads where the rules cannot fix it.
NOT_DERIVED = "unit not derived"
#: The unit of an energy expression's value (energy per request).
ENERGY_UNIT = "J"


def _unit(text: str) -> sp.Expr:
    """``'FLOP/token/position'`` as FLOP/(token*position); ``'1'`` as 1."""
    num, *den = text.split("/")
    out = sp.Integer(1) if num.strip() in ("", "1") else sp.Symbol(num.strip(), positive=True)
    for d in den:
        out = out / sp.Symbol(d.strip(), positive=True)
    return out


def _rest(term: sp.Expr, c: sp.Symbol, units: Mapping[sp.Symbol, sp.Expr]) -> sp.Expr | None:
    """The unit of ``term`` without its factor ``c``: None unless ``c`` is a factor once and the others are
    numbers, exp() or log() of anything, and numeric powers of feature columns."""
    factors = sp.Mul.make_args(term)
    if factors.count(c) != 1:
        return None
    out = sp.Integer(1)
    for f in factors:
        if f == c or f.is_number or isinstance(f, (sp.exp, sp.log)):  # exp(), log(): pure numbers
            continue
        base, exp = f.as_base_exp()
        if base not in units or not exp.is_number:
            return None
        out *= units[base] ** exp
    return out


def _places(expr: sp.Expr) -> list[tuple[sp.Expr, sp.Expr]]:
    """(a sum whose terms' units are known, that unit): the expression itself (J), each exp() and log() argument (1)."""
    out = [(expr, _unit(ENERGY_UNIT))]
    out += [(f.args[0], sp.Integer(1)) for f in sp.preorder_traversal(expr) if isinstance(f, (sp.exp, sp.log))]
    return out


def constant_units(expr: sp.Expr, constants: Sequence[str], feature_units: Mapping[str, str]) -> dict[str, str]:
    """Each constant of ``expr`` (names ``constants``) -> its unit as text, or :data:`NOT_DERIVED`: derived only
    where every place the constant stands gives the same unit (see the module's docstring)."""
    units = {s: _unit(feature_units[s.name]) for s in expr.free_symbols if s.name in feature_units}
    nodes = list(sp.preorder_traversal(expr))
    out: dict[str, str] = {}
    for name in constants:
        c = next((s for s in expr.free_symbols if s.name == name), None)
        found = [] if c is None else [whole / rest for place, whole in _places(expr) for term in sp.Add.make_args(place)
                                      if c in term.free_symbols and (rest := _rest(term, c, units)) is not None]
        seen = nodes.count(c) if c is not None else 0
        same = len(found) == seen > 0 and all(sp.simplify(u - found[0]) == 0 for u in found)
        out[name] = str(found[0]) if same else NOT_DERIVED
    return out
