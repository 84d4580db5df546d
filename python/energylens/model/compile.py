"""SymPy expression -> native postfix program (``energylens._core.ExpressionProgram``).

Owns the translation of a formula over named feature columns and constants into the stack machine
of ``cpp/include/energylens/expression.hpp``: which SymPy nodes map to which opcodes, which numbers
become fitted constants, and the error for anything the engine cannot run. docs/discover.md lists
the instruction set.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from energylens import _core
from energylens.extras import require
from energylens.model.kernel_build import KernelSlot

# sympy is the ``symbolic`` extra; expression models (EnergyModel.from_expression, their model files) load it
# here first, so without it the error names the pip install to run (no search or predict path imports this)
sp = require("sympy", "symbolic", "an expression energy model (EnergyModel.from_expression, its model file)")

__all__ = ["UnsupportedExpressionError", "CompiledExpression", "parametrize", "compile_expression", "as_formula",
           "SUPPORTED_OPERATORS"]

#: What the engine runs, by SymPy name (for error messages and docs).
SUPPORTED_OPERATORS = ("Add", "Mul", "Pow", "exp", "log", "Abs", "Min", "Max", "tanh")

_OP = {name: int(getattr(_core.OpCode, name)) for name in (
    "feature", "param", "literal", "add", "sub", "mul", "div", "neg", "powi", "pow", "exp", "log", "sqrt",
    "abs", "min", "max", "tanh", "store", "load")}
_UNARY = {sp.exp: "exp", sp.log: "log", sp.Abs: "abs", sp.tanh: "tanh"}
_NARY = {sp.Min: "min", sp.Max: "max"}


class UnsupportedExpressionError(ValueError):
    """The expression uses an operator or a symbol the native engine cannot evaluate."""


@dataclass(frozen=True)
class CompiledExpression:
    """A SymPy expression compiled for the native engine.

    ``feature_names``: the columns the program reads, in order; ``param_names``: the fitted constants
    in order, ``start``: their values in the expression (the start of a refit). Values without a
    Jacobian run through a kernel generated for this expression (``kernel_source``, ``kernel_build``)
    once it is built: in a background thread once ``kernel_build.JIT_MIN_ROWS`` rows were evaluated
    (:meth:`wait_kernel` waits for it), or now by :meth:`compile_kernel`; until then, where it cannot be
    built, and for the Jacobian and refits, the interpreter runs. Both give the same bits. ``backend`` / ``backend_reason`` say which runs and why.
    """

    expr: sp.Expr
    program: _core.ExpressionProgram
    feature_names: tuple[str, ...]
    param_names: tuple[str, ...]
    start: np.ndarray
    jit: KernelSlot = field(default_factory=KernelSlot, compare=False, repr=False)

    def __reduce__(self):
        """Pickled and deep-copied as its source: compiled again on loading (the native program and a built
        kernel are per process)."""
        return compile_expression, (self.expr, self.feature_names, dict(zip(self.param_names, self.start.tolist(), strict=True)),
                                    self.jit.mode)

    @property
    def backend(self) -> str:
        """"kernel" once the generated kernel runs the values, else "interpreter"."""
        return "kernel" if self.jit.kernel is not None else "interpreter"

    @property
    def backend_reason(self) -> str:
        """Which backend runs and why (e.g. "interpreter: no C++ compiler: set CXX ...")."""
        return self.jit.reason

    def wait_kernel(self, timeout: float | None = None) -> bool:
        """Waits for the kernel's background build, if one runs; True when the kernel runs from here on."""
        return self.jit.wait(timeout)

    def compile_kernel(self) -> bool:
        """Builds (or loads from the cache) the generated kernel now; True when it runs from here on.
        Never raises: a missing compiler or a failed build leaves the interpreter, with the reason in
        :attr:`backend_reason` (and a warning)."""
        return self.jit.build(self.program)

    def evaluate(self, columns: Sequence[np.ndarray], params: np.ndarray | None = None,
                 jacobian: bool = False):
        """Values per row (and the Jacobian with respect to the constants), natively."""
        theta = self.start if params is None else np.asarray(params, dtype=np.float64)
        kernel = None if jacobian else self.jit.kernel
        if kernel is None and not jacobian and self.jit.result is None and self.jit.mode == "auto":
            try:
                rows = max(np.size(c) for c in columns) if len(columns) else 0
            except TypeError:
                rows = 0
            self.jit.count(rows, self.program)  # the background build, once enough rows were evaluated
        # Arrays go to the binding as they are (it takes float64 C-contiguous ones without a copy and
        # converts other dtypes and layouts, checking shapes): per-column Python work cost ~5 us a call
        # with ~20 columns, a third of a 1000-row evaluation. What is not an array (a list, a number for
        # every row) is converted here when the binding refuses it.
        try:
            if kernel is not None:
                return self.program.evaluate_kernel(kernel, columns, theta)
            return self.program.evaluate(columns, theta, jacobian)
        except TypeError:  # raised by argument conversion only, before any work
            cols = [np.asarray(c, dtype=np.float64) for c in columns]
            if kernel is not None:
                return self.program.evaluate_kernel(kernel, cols, theta)
            return self.program.evaluate(cols, theta, jacobian)


def parametrize(expr: sp.Expr, prefix: str = "c") -> tuple[sp.Expr, dict[str, float]]:
    """Every floating-point number in ``expr`` becomes its own constant symbol ``c0, c1, ...`` (in
    traversal order) with the number as its start; integers and rationals (exponents such as 2 or 1/2)
    stay fixed, and so does a float exponent with an integer value (``x**2.0`` is ``x**2``).
    """
    starts: dict[str, float] = {}

    def walk(e: sp.Basic, exponent: bool = False) -> sp.Basic:
        if isinstance(e, sp.Float):
            v = float(e)
            if exponent and v == round(v):
                return sp.Integer(round(v))
            name = f"{prefix}{len(starts)}"
            starts[name] = v
            return sp.Symbol(name, real=True)
        if not e.args:
            return e
        if isinstance(e, sp.Pow):
            return sp.Pow(walk(e.base), walk(e.exp, exponent=True), evaluate=False)
        args = [walk(a) for a in e.args]
        try:
            return e.func(*args, evaluate=False)
        except TypeError:  # nodes without that keyword (Piecewise's ExprCondPair): compiling names them
            return e.func(*args)

    out = walk(sp.sympify(expr))
    return out, starts


class _Emitter:
    def __init__(self, features: Mapping[sp.Symbol, int], params: Mapping[sp.Symbol, int]) -> None:
        self.features, self.params = features, params
        self.registers: dict[sp.Symbol, int] = {}
        self.scalar_registers: set[sp.Symbol] = set()
        self.code: list[tuple[int, int, float]] = []

    def op(self, name: str, arg: int = 0, value: float = 0.0) -> None:
        self.code.append((_OP[name], arg, value))

    def emit(self, e: sp.Basic) -> None:  # noqa: C901 - one dispatch over node types
        if isinstance(e, sp.Symbol):
            if e in self.registers:
                self.op("load", self.registers[e])
            elif e in self.features:
                self.op("feature", self.features[e])
            elif e in self.params:
                self.op("param", self.params[e])
            else:
                raise UnsupportedExpressionError(
                    f"symbol {e.name!r} is neither a feature column nor a constant; known features: "
                    f"{sorted(s.name for s in self.features)}")
        elif e.is_Number or isinstance(e, sp.NumberSymbol):
            v = float(e)
            if not np.isfinite(v):
                text = str(e) if len(str(e)) <= 24 else f"{str(e)[:12]}... ({len(str(e))} characters)"
                raise UnsupportedExpressionError(f"the expression holds the non-finite number {text} (beyond float64)")
            self.op("literal", value=v)
        elif isinstance(e, sp.Add):
            self._add(e)
        elif isinstance(e, sp.Mul):
            self._mul(e)
        elif isinstance(e, sp.Pow):
            self._pow(e.base, e.exp)
        elif e.func in _UNARY:
            if len(e.args) != 1:
                raise UnsupportedExpressionError(f"{e.func.__name__} with {len(e.args)} arguments")
            self.emit(e.args[0])
            self.op(_UNARY[e.func])
        elif e.func in _NARY:
            self.emit(e.args[0])
            for a in e.args[1:]:
                self.emit(a)
                self.op(_NARY[e.func])
        else:
            name = getattr(e.func, "__name__", type(e).__name__)
            raise UnsupportedExpressionError(
                f"operator {name!r} (in {e}) is not supported by the native expression engine; supported: "
                f"{', '.join(SUPPORTED_OPERATORS)} (sqrt and integer/real powers through Pow)")

    def is_scalar(self, e: sp.Basic) -> bool:
        """True when ``e`` reads no feature column: one value per evaluation, not one per row."""
        return all(s in self.params or s in self.scalar_registers for s in e.free_symbols)

    def _fold(self, items: list[tuple[sp.Basic, str]], first_alone: str | None) -> bool:
        """Emit ``items`` (term, operation), each combined with what is on the stack by its operation;
        the first one starts the chain (followed by ``first_alone`` if its operation is a subtraction
        or division: "neg" or a literal 1 before it). Returns whether anything was emitted."""
        started = False
        for t, op in items:
            if not started and op in ("sub", "div"):
                if op == "div":
                    self.op("literal", value=1.0)
                    self.emit(t)
                    self.op("div")
                else:
                    self.emit(t)
                    self.op("neg")
            else:
                self.emit(t)
                if started:
                    self.op(op)
            started = True
        return started

    def _add(self, e: sp.Add) -> None:
        # Terms without feature columns are summed first (once per evaluation and block, not per row);
        # then each column term costs one pass over the block: added ones first, negated ones subtracted.
        pos = [(t, "add") for t in e.args if not _is_negated(t)]
        neg = [(-t, "sub") for t in e.args if _is_negated(t)]
        scalar = [i for i in pos + neg if self.is_scalar(i[0])]
        blocks = [i for i in pos + neg if not self.is_scalar(i[0])]
        self._fold(sorted(scalar, key=lambda i: i[1] == "sub") + blocks, None)

    def _mul(self, e: sp.Mul) -> None:
        # num / den with one division: the constant factors (numbers, fitted constants) fold into one
        # value first (once per evaluation and block), then the numerator's column factors are multiplied
        # in and divided once by the product of the denominator's column factors.
        num, den = [], []
        for f in e.args:
            if isinstance(f, sp.Pow) and f.exp.is_Number and f.exp < 0:
                den.append((sp.Pow(f.base, -f.exp, evaluate=False) if f.exp != -1 else f.base, "div"))
            elif isinstance(f, sp.Rational) and not f.is_Integer and f.p == 1:
                den.append((sp.Integer(f.q), "div"))
            else:
                num.append((f, "mul"))
        scalar = [i for i in num + den if self.is_scalar(i[0])]
        b_num = [i for i in num if not self.is_scalar(i[0])]
        b_den = [f for f, _ in den if not self.is_scalar(f)]
        started = self._fold(sorted(scalar, key=lambda i: i[1] == "div") + b_num, None)
        if b_den:
            if not started:
                self.op("literal", value=1.0)
            self.emit(b_den[0])
            for f in b_den[1:]:
                self.emit(f)
                self.op("mul")
            self.op("div")

    def _pow(self, base: sp.Basic, exp: sp.Basic) -> None:
        if exp == sp.Rational(1, 2):
            self.emit(base)
            self.op("sqrt")
        elif exp.is_Integer and abs(int(exp)) < 2**31:
            self.emit(base)
            self.op("powi", int(exp))
        else:
            self.emit(base)
            self.emit(exp)
            self.op("pow")


def _is_negated(t: sp.Basic) -> bool:
    return isinstance(t, sp.Mul) and t.args and t.args[0] == sp.Integer(-1)


def _evaluated(e: sp.Basic) -> sp.Basic:
    """``e`` rebuilt bottom-up with SymPy's evaluation (canonical argument order), as ``sympify`` builds it."""
    if not e.args:
        return e
    try:
        return e.func(*[_evaluated(a) for a in e.args])
    except TypeError:  # a node that cannot be rebuilt so (Piecewise's pairs): compiling names what it is
        return e


#: The functions a formula's text may call: those the engine runs (``sqrt`` through Pow; ``abs`` is Abs).
TEXT_FUNCTIONS = frozenset({"sqrt", "exp", "log", "Abs", "abs", "Min", "Max", "tanh"})
_TEXT_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "^",
                   ast.USub: "-", ast.UAdd: "+"}
_TEXT_HINT = ("a formula is numbers, feature names, constants, + - * / ** ^ and the functions "
              f"{', '.join(sorted(TEXT_FUNCTIONS))}; the text is checked before SymPy reads it, which runs it as Python")


def _text_refusal(node: ast.AST) -> str | None:
    """What in a formula's parsed text is not a formula (a call of anything else, an attribute, a comparison, ...),
    or None: checked before ``sympify``, which evaluates the text as Python (``__import__('os')...`` ran)."""
    for n in ast.walk(node):
        if isinstance(n, (ast.Expression, ast.Load)) or type(n) in _TEXT_OPERATORS:
            continue
        if isinstance(n, (ast.BinOp, ast.UnaryOp)):
            if type(n.op) not in _TEXT_OPERATORS:
                return f"the operator {ast.unparse(n)[:40]!r} (% // @ & | << >> ~ are not arithmetic the engine runs)"
        elif isinstance(n, ast.Constant):
            if type(n.value) not in (int, float):
                return f"the constant {ast.unparse(n)[:40]!r}"
        elif isinstance(n, ast.Name):
            if n.id.startswith("_"):
                return f"the name {n.id!r}"
        elif isinstance(n, ast.Call):
            if not isinstance(n.func, ast.Name) or n.func.id not in TEXT_FUNCTIONS or n.keywords:
                what = n.func.id if isinstance(n.func, ast.Name) else ast.unparse(n.func)[:40]
                return f"a call of {what!r}, not a function the native engine runs"
        elif isinstance(n, ast.Compare):
            return f"a comparison ({ast.unparse(n)[:40]})"
        else:
            return f"{type(n).__name__.lower()} {ast.unparse(n)[:40]!r}"
    return None


def as_formula(expr: Any) -> sp.Expr:
    """``expr`` (a SymPy expression or its text) as a SymPy expression; UnsupportedExpressionError for text SymPy
    cannot read and for what is not one formula (None, ``"tp, pp"``: a tuple; these were AttributeErrors). Text is
    parsed and checked (:func:`_text_refusal`) before ``sympify`` reads it: nothing in it runs."""
    if isinstance(expr, str):
        try:
            tree = ast.parse(expr.strip(), mode="eval")
        except SyntaxError as exc:
            raise UnsupportedExpressionError(f"{expr!r} is not a formula SymPy can read ({exc.msg}); write one such "
                                             "as '0.5*E_mem + 2.0*tp + 1.0'") from None
        why = _text_refusal(tree)
        if why is not None:
            raise UnsupportedExpressionError(f"{expr!r} is not a formula energylens reads: it holds {why}; {_TEXT_HINT}")
    try:
        e = sp.sympify(expr)
    except (sp.SympifyError, SyntaxError, TypeError, ValueError) as exc:
        why = str(getattr(exc, "base_exc", None) or exc).splitlines()[0][:120]
        raise UnsupportedExpressionError(f"{expr!r} is not a formula SymPy can read ({why}); write one such as "
                                         "'0.5*E_mem + 2.0*tp + 1.0'") from None
    if not isinstance(e, sp.Expr):
        raise UnsupportedExpressionError(f"{expr!r} is not one formula (it reads as a {type(e).__name__}); give a "
                                         "SymPy expression or its text, such as '0.5*E_mem + 2.0*tp + 1.0'")
    return e


def _checked_starts(params: Mapping[str, Any]) -> None:
    """UnsupportedExpressionError naming each constant whose start is not a finite number."""
    def finite(v: Any) -> bool:
        try:
            return not isinstance(v, (str, bytes, bool, np.bool_)) and v is not None and bool(np.isfinite(float(v)))
        except (TypeError, ValueError):
            return False
    bad = {n: v for n, v in params.items() if not finite(v)}
    if bad:  # ('x' was "could not convert string to float: 'x'"; 1e400 overflows float64 to inf)
        raise UnsupportedExpressionError(f"constant start(s) {bad} are not finite numbers (a literal beyond float64 "
                                         "is inf); give each constant a finite number")


def compile_expression(expr: sp.Expr | str, feature_names: Sequence[str],
                       params: Mapping[str, float] | None = None, jit: str = "auto") -> CompiledExpression:
    """Compile ``expr`` over ``feature_names`` (symbols named as the columns) and constants.

    ``params``: constant name -> start value. When None, every float in ``expr`` becomes a fitted
    constant (:func:`parametrize`). Symbols that are neither features nor constants, and operators the
    engine lacks, raise :class:`UnsupportedExpressionError` naming them. ``jit``: "auto" (a generated
    kernel, built in the background once ``kernel_build.JIT_MIN_ROWS`` rows were evaluated, or now by
    :meth:`CompiledExpression.compile_kernel`) or "off" (the interpreter only).
    """
    e = as_formula(expr)
    # symbols of one name with other assumptions (tp and a positive tp) are one column or constant: compiling
    # told 'tp' was neither a feature column nor a constant
    first: dict[str, sp.Symbol] = {}
    twins = {s: first.setdefault(s.name, s) for s in sorted(e.free_symbols, key=sp.default_sort_key)}
    if any(s is not t for s, t in twins.items()):
        e = e.xreplace(twins)
    undefined = [str(s) for s in (sp.zoo, sp.nan, sp.oo, -sp.oo) if e.has(s)]
    if undefined:  # SymPy's reduction of tp/0, log(0), 0/0 ...: no value on any row
        raise UnsupportedExpressionError(f"the expression {e} is undefined or infinite on every row: SymPy reduced a "
                                         f"part of it to {', '.join(undefined)} (a division by zero, log(0), 0/0, ...)")
    if params is None:
        e, params = parametrize(e)
    # the evaluated form (parametrize builds unevaluated products in the order written): a model file's srepr
    # reads back evaluated, and the program compiled from it must be this one (it multiplied in another order)
    e = _evaluated(e)
    _checked_starts(params)
    by_name = {s.name: s for s in e.free_symbols}
    unknown = sorted(n for n in by_name if n not in feature_names and n not in params)
    if unknown:
        raise UnsupportedExpressionError(
            f"symbol(s) {unknown} are neither feature columns nor constants; features: {list(feature_names)}")
    # an expression of no feature (a constant) still reads one column, unused, for the row count: with
    # none, every evaluation had 0 rows (predict returned [] for five configurations)
    used = [n for n in feature_names if n in by_name] or list(feature_names[:1])
    pnames = [n for n in params if n in by_name]
    emitter = _Emitter({by_name[n]: i for i, n in enumerate(used) if n in by_name},
                       {by_name[n]: j for j, n in enumerate(pnames)})
    # Common subexpressions are computed once per block of rows and kept in registers (store / load).
    replacements, (reduced,) = sp.cse(e, symbols=sp.numbered_symbols("_cse"), optimizations=None)
    for k, (sym, sub) in enumerate(replacements):
        emitter.emit(sub)
        emitter.op("store", k)
        emitter.registers[sym] = k
        if emitter.is_scalar(sub):
            emitter.scalar_registers.add(sym)
    emitter.emit(reduced)
    program = _core.ExpressionProgram(emitter.code, len(used), len(pnames))
    start = np.array([float(params[n]) for n in pnames], dtype=np.float64)
    return CompiledExpression(e, program, tuple(used), tuple(pnames), start, KernelSlot(jit))
