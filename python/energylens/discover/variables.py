"""The inputs symbolic regression searches over: physically meaningful groups of the template's features.

Each variable is a SymPy expression of the feature columns (``energylens.profiles.features``), so a
discovered formula in these variables substitutes back into a formula of the features that the native
engine runs (``EnergyModel.from_expression``). Energy targets get energy scales in joules (what the
template's terms are made of: time bounds times board power times GPUs); residual targets get
dimensionless groups (the interactions the paper names: TP x PP x sequence length, expert routing,
frame encoding).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import sympy as sp

from energylens.model.compile import compile_expression
from energylens.model.discovery_names import discovery_energy_variables, discovery_times
from energylens.profiles.features import FEATURE_NAMES
from energylens.profiles.problems import rows_text

__all__ = ["feature_symbol", "energy_variables", "residual_variables", "variable_matrix", "substitute"]


def feature_symbol(name: str) -> sp.Symbol:
    """The symbol of a feature column in discovered expressions (named as the column, positive)."""
    if name not in FEATURE_NAMES:
        raise ValueError(f"unknown feature {name!r}; features: {list(FEATURE_NAMES)}")
    return sp.Symbol(name, positive=True)


def _f() -> dict[str, sp.Symbol]:
    return {n: feature_symbol(n) for n in FEATURE_NAMES}


def energy_variables() -> dict[str, sp.Expr]:
    """Energy scales (J per request) and the dimensionless shape of a configuration, over the positive feature
    symbols: :func:`energylens.model.discovery_names.discovery_energy_variables` (the one definition, which
    ``EnergyModel.from_expression`` reads a pasted formula's variables by)."""
    return discovery_energy_variables(_f())


def residual_variables() -> dict[str, sp.Expr]:
    """Dimensionless groups for a multiplicative correction of the template (log-residual targets)."""
    f = _f()
    t = discovery_times(f)
    return {
        "tp": f["tp"], "pp": f["pp"], "B": f["batch_size"],
        "Lin_k": f["input_tokens"] / 1000, "Lout_k": f["output_tokens"] / 1000,
        "intensity": t["t_comp"] / t["t_mem"],          # compute / memory bound of a decode step
        "pf_share": t["t_pf"] / (t["t_pf"] + f["output_tokens"] / f["batch_size"] * t["t_mem"]),
        # expert routing: weight bytes a decode step streams per active parameter (the bytes per weight for a
        # dense model; more for a mixture of experts, whose batch touches more experts than one token uses)
        "moe_stream": f["weight_bytes_per_step"] / f["active_params"],
        "enc_share": f["prefill_extra_flops"] * t["n"] / (t["t_pf"] * t["n"] * f["peak_flops_per_s"]),
        "layers_k": f["n_layers"] / 100,
    }


def variable_matrix(variables: Mapping[str, sp.Expr], features: Mapping[str, np.ndarray], *, source: str = "",
                    labels: pd.Index | None = None) -> np.ndarray:
    """(rows, len(variables)) values of each variable, computed by the native engine from feature columns.

    A variable that is not finite on some row (a feature that overflows it: output tokens of 1e300, say) is a
    ValueError naming ``source``, the 1-based data rows (a frame's: positions and index ``labels``) and the first
    such row's most extreme features (in orders of magnitude) (it named a 0-based row and nothing else)."""
    cols = []
    for name, expr in variables.items():
        compiled = compile_expression(expr, FEATURE_NAMES, params={})
        inputs = [features[n] for n in compiled.feature_names]
        values = compiled.evaluate(inputs, np.empty(0))
        if not np.all(np.isfinite(values)):
            rows = np.flatnonzero(~np.isfinite(values))
            at = {n: float(c[rows[0]]) for n, c in zip(compiled.feature_names, inputs, strict=True)}
            # the most extreme in orders of magnitude: a batch of 1e-310 overflows as surely as tokens of 1e300
            # (a value that is not finite first, a zero last: a feature may well be 0, an encoder's FLOPs say)
            order = sorted(at, key=lambda n: 0.0 if at[n] == 0 else -abs(np.log10(abs(at[n]))) if np.isfinite(at[n])
                           else -np.inf)
            extreme = ", ".join(f"{n}={at[n]:.4g}" for n in order[:3])
            raise ValueError(f"{source + ': ' if source else ''}discovery variable {name!r} is not finite in "
                             f"{rows_text(rows, labels)}; the first such row's most extreme features are {extreme}: check "
                             "those rows' units and values (batch size, token counts, parameters)")
        cols.append(values)
    return np.column_stack(cols)


def substitute(expr: sp.Expr, variables: Mapping[str, sp.Expr]) -> sp.Expr:
    """``expr`` over variable symbols -> the same formula over feature symbols."""
    subs = {s: variables[s.name] for s in expr.free_symbols if s.name in variables}
    return expr.xreplace(subs)
