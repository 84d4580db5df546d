"""C++ source of a kernel generated for one compiled expression (the plan of ``_core.ExpressionProgram``).

Owns the translation of the fused values-only plan (``cpp/include/energylens/expression_plan.hpp``: its
steps, terms and factors) into one function that evaluates the whole formula per row, every intermediate
in a local variable (registers), over column pointers, into the output. Every operation is the plan's, in
the plan's order and parenthesised as the plan rounds it (powers 3 and 4 as ``x*(x*x)`` and
``(x*x)*(x*x)``, products left to right, a quotient after its numerator), less the operations that are
exact no-ops (a multiply by a fixed coefficient 1, an add of a fixed constant part -0), and exp / log / integer powers
are the core's own (``energylens/kernel_math.hpp``, installed with the package). Compiled with
``-ffp-contract=off`` (``kernel_build``), the kernel's bits equal the interpreter's.

exp and log take a vectorisable fast path valid for most inputs; a tile of rows holding any input outside
it is computed again one row at a time with the exact row-local form (``exp_value`` / ``log_value``), as
the interpreter computes each row. The kernel reads the plan's scalars (constants and what is computed
from them only) from an array, so a refit of the constants reuses the same kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from energylens import _core

__all__ = ["kernel_source", "KERNEL_TILE_ROWS"]

#: Rows a tile of the fast path covers when the formula has exp or log (a tile with an out-of-range
#: input is computed again exactly).
KERNEL_TILE_ROWS = 64

_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_CALLS = {"pow", "tanh"}  # libm calls GCC does not vectorise: the row loop then carries no simd pragma


def _power(x: str, p: int) -> str:
    """``x ** p`` for the plan's folded powers 1..4, rounded as ``power_of`` in expression_plan.cpp."""
    if p == 1:
        return x
    if p == 2:
        return f"({x} * {x})"
    if p == 3:
        return f"({x} * ({x} * {x}))"
    return f"(({x} * {x}) * ({x} * {x}))"


@dataclass
class _Body:
    """Statements of one row, for the fast path (``fast``) or the exact one."""

    fast: bool
    n_features: int
    lines: list[str] = field(default_factory=list)
    slot_var: dict[int, str] = field(default_factory=dict)
    n_vars: int = 0
    calls: set[str] = field(default_factory=set)
    ones: set[int] = field(default_factory=set)  # scalars that are the fixed number 1
    neg_zeros: set[int] = field(default_factory=set)  # scalars that are the fixed number -0

    def slot(self, s: int) -> str:
        return f"c{s}[i]" if s < self.n_features else self.slot_var[s]

    def new_var(self, expr: str) -> str:
        name = f"v{self.n_vars}"
        self.n_vars += 1
        self.lines.append(f"const double {name} = {expr};")
        return name

    def function(self, op: str, x: str) -> str:
        """exp / log / sqrt of the value named ``x`` (a variable), as the plan computes it."""
        if op == "sqrt":
            return self.new_var(f"std::sqrt({x})")
        self.calls.add(op)
        if not self.fast:
            return self.new_var(f"energylens::{op}_value({x})")
        if op == "exp":
            self.lines.append(f"bad |= static_cast<int>(!(std::fabs({x}) <= 708.0));")
            return self.new_var(f"energylens::exp_in_range({x})")
        self.lines.append(f"bad |= static_cast<int>(!({x} >= DBL_MIN && {x} <= DBL_MAX));")
        return self.new_var(f"energylens::log_positive_normal({x})")


def _term(body: _Body, term: tuple[int, int, int, int], factors: list[tuple[int, int]]) -> str:
    coef, begin, n_num, n_den = term
    fs = [_power(body.slot(slot), power) for slot, power in factors[begin:begin + n_num + n_den]]
    num, den = fs[:n_num], fs[n_num:]
    # 1 * x is x, bit for bit (a coefficient 1: a term with no fitted constant).
    p = num[0] if num and coef in body.ones else f"s{coef}"
    for f in num[1:] if num and coef in body.ones else num:
        p = f"({p} * {f})"
    if den:
        q = den[0]
        for f in den[1:]:
            q = f"({q} * {f})"
        p = f"({p} / {q})"
    return p


def _unary(body: _Body, op: str, n: int, a: str) -> str:
    if op == "neg":
        return body.new_var(f"-{a}")
    if op == "powi":
        if n == 2:
            return body.new_var(f"({a} * {a})")
        if n == -1:
            return body.new_var(f"(1.0 / {a})")
        return body.new_var(f"energylens::pow_int({a}, {n})")
    if op in ("exp", "log", "sqrt"):
        x = a if a.startswith("v") else body.new_var(a)
        return body.function(op, x)
    if op == "abs":
        return body.new_var(f"std::fabs({a})")
    if op == "tanh":
        body.calls.add("tanh")
        return body.new_var(f"std::tanh({a})")
    raise ValueError(f"plan step with unknown unary opcode {op!r}")


def _binary(body: _Body, op: str, a: str, b: str) -> str:
    if op in _BINARY:
        return body.new_var(f"({a} {_BINARY[op]} {b})")
    if op == "pow":
        body.calls.add("pow")
        return body.new_var(f"std::pow({a}, {b})")
    if op == "min":
        return body.new_var(f"(({a} <= {b} || {a} != {a}) ? {a} : {b})")  # NaN in either operand: NaN
    if op == "max":
        return body.new_var(f"(({a} >= {b} || {a} != {a}) ? {a} : {b})")
    raise ValueError(f"plan step with unknown binary opcode {op!r}")


def _step(body: _Body, step, terms, factors) -> str:
    """The variable holding one step's value for row ``i``."""
    if step.kind == "sum":
        acc = None if step.addend in body.neg_zeros else f"s{step.addend}"  # -0 + x is x, bit for bit
        for t in range(step.term_begin, step.term_end):
            p = _term(body, terms[t], factors)
            acc = p if acc is None else f"({acc} + {p})"
        v = body.new_var(acc)
        return v if step.post is None else body.function(step.post.name, v)
    if step.kind == "unary":
        return _unary(body, step.op.name, step.arg, body.slot(step.a))
    if step.kind == "binary":
        a = f"s{step.a}" if step.a_scalar else body.slot(step.a)
        b = f"s{step.b}" if step.b_scalar else body.slot(step.b)
        return _binary(body, step.op.name, a, b)
    return body.new_var(f"s{step.a}" if step.a_scalar else body.slot(step.a))


def _row_body(program: _core.ExpressionProgram, fast: bool) -> _Body:
    body = _Body(fast=fast, n_features=program.n_features)
    for k, v in program.plan_literal_scalars:
        if v == 1.0:
            body.ones.add(k)
        elif v == 0.0 and math.copysign(1.0, v) < 0:
            body.neg_zeros.add(k)
    terms, factors = program.plan_terms, program.plan_factors
    for step in program.plan_steps:
        body.slot_var[step.dst] = _step(body, step, terms, factors)
    out_slot = program.n_features + program.n_buffers
    body.lines.append(f"out[i] = {body.slot_var[out_slot]};")
    return body


def _indent(lines: list[str], n: int) -> str:
    return "\n".join(" " * n + line for line in lines)


def kernel_source(program: _core.ExpressionProgram) -> str:
    """C++ source exporting ``energylens_kernel_rows`` and ``energylens_kernel_info`` for ``program``."""
    fast = _row_body(program, fast=True)
    nf, ns = program.n_features, program.n_scalars
    head = [f"const double* __restrict c{k} = columns[{k}];" for k in range(nf)]
    head += [f"const double s{k} = scalars[{k}];" for k in range(ns)]
    simd = "" if fast.calls & _CALLS else "#pragma omp simd"
    if fast.calls & {"exp", "log"}:
        exact = _row_body(program, fast=False)
        reduction = "" if not simd else f"{simd} reduction(|: bad)"
        loop = f"""  for (std::size_t i0 = 0; i0 < n; i0 += {KERNEL_TILE_ROWS}) {{
    const std::size_t i1 = n - i0 < {KERNEL_TILE_ROWS} ? n : i0 + {KERNEL_TILE_ROWS};
    int bad = 0;
{reduction}
    for (std::size_t i = i0; i < i1; ++i) {{
{_indent(fast.lines, 6)}
    }}
    if (bad == 0) continue;
    for (std::size_t i = i0; i < i1; ++i) {{  // an input outside the fast range: each row exactly
{_indent(exact.lines, 6)}
    }}
  }}"""
    else:
        loop = f"""{simd}
  for (std::size_t i = 0; i < n; ++i) {{
{_indent(fast.lines, 4)}
  }}"""
    listing = "\n".join("//   " + line for line in program.plan_listing.splitlines())
    return f"""// Generated by energylens.model.kernel_source for one expression plan; do not edit.
// Plan (c: column, b: buffer, s: scalar):
{listing}
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "energylens/kernel_math.hpp"

extern "C" void energylens_kernel_info(int* abi, std::size_t* n_features, std::size_t* n_scalars,
                                       std::uint64_t* fingerprint) {{
  *abi = {_core.EXPRESSION_KERNEL_ABI};
  *n_features = {nf};
  *n_scalars = {ns};
  *fingerprint = {program.plan_fingerprint}ULL;
}}

extern "C" void energylens_kernel_rows(std::size_t n, const double* const* columns, const double* scalars,
                                       double* __restrict out) {{
{_indent(head, 2)}
{loop}
}}
"""
