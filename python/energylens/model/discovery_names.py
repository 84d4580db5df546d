"""The variables ``energylens discover`` prints its expressions in, read by ``EnergyModel.from_expression``.

An energy discovery's table shows each front expression over its variables (``E_mem``, ``E_comp``, ``E_pf``,
``E_layer``, ``E_seq``, ``B``, ``Lin_k``, ``Lout_k``; ``tp`` and ``pp`` are feature columns), and its
``variables:`` line defines them over the feature columns. A formula pasted from that table is read here as
those definitions, so it is the model the discovery scored. The definitions live here, once: discover (above
model) builds its variables from :func:`discovery_energy_variables` and :func:`discovery_times` (there were two
copies, kept equal by a test, before 2026-12-06). A residual discovery's variables
(``intensity``, ...) describe a correction g of the template, not energy: they are refused with how to build
``template x exp(g)``.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping

import sympy as sp

from energylens.model.compile import UnsupportedExpressionError, as_formula
from energylens.profiles.features import FEATURE_NAMES

__all__ = ["discovery_energy_variables", "discovery_times", "RESIDUAL_ONLY_VARIABLES", "with_discovery_variables"]

#: The residual discovery's variables that are not the energy discovery's (dimensionless groups).
RESIDUAL_ONLY_VARIABLES = ("intensity", "pf_share", "moe_stream", "enc_share", "layers_k")


def _plain_features() -> dict[str, sp.Symbol]:
    return {n: sp.Symbol(n) for n in FEATURE_NAMES}


def discovery_times(f: Mapping[str, sp.Expr]) -> dict[str, sp.Expr]:
    """The GPU count ``n`` and the time bounds of a decode step (memory, compute) and of prefill over the
    feature symbols ``f`` (feature name -> symbol): what both discoveries' variables are made of."""
    n = f["tp"] * f["pp"]
    ctx = f["input_tokens"] + f["output_tokens"] / 2
    t_mem = (f["weight_bytes_per_step"] + f["batch_size"] * ctx * f["kv_bytes_per_token"]) / (n * f["hbm_bytes_per_s"])
    t_comp = f["batch_size"] * (2 * f["active_params"] + f["attn_flops_per_token_ctx"] * ctx) / (n * f["peak_flops_per_s"])
    t_pf = (2 * f["active_params"] * f["input_tokens"] + f["prefill_attn_flops_per_token_ctx"] * f["input_tokens"] ** 2 / 2
            + n * f["prefill_extra_flops"]) / (n * f["peak_flops_per_s"])
    return {"n": n, "t_mem": t_mem, "t_comp": t_comp, "t_pf": t_pf}


def discovery_energy_variables(f: Mapping[str, sp.Expr] | None = None) -> dict[str, sp.Expr]:
    """Energy scales (J per request) and the dimensionless shape of a configuration, over the feature symbols
    ``f`` (default: plain symbols named as the columns; discover passes its positive ones). The one definition
    of the energy discovery's variables: ``energylens.discover.variables.energy_variables`` is this.

    ``E_mem``/``E_comp``: decode at board power for the memory / compute time bound of a step;
    ``E_pf``: prefill at board power for its compute bound; ``E_layer``/``E_seq``: 1 us per layer per
    step / per sequence per step at board power; ``tp``, ``pp``, ``B``, ``Lin_k``, ``Lout_k``.
    """
    f = _plain_features() if f is None else f
    t = discovery_times(f)
    power = t["n"] * f["tdp_w"]
    steps = f["output_tokens"] / f["batch_size"]
    micro = sp.Rational(1, 10**6)
    return {
        "E_mem": steps * power * t["t_mem"],
        "E_comp": steps * power * t["t_comp"],
        "E_pf": power * t["t_pf"],
        "E_layer": steps * power * f["n_layers"] * micro,
        "E_seq": f["output_tokens"] * power * micro,
        "tp": f["tp"], "pp": f["pp"], "B": f["batch_size"],
        "Lin_k": f["input_tokens"] / 1000, "Lout_k": f["output_tokens"] / 1000,
    }


def _names_text(names: Collection[str]) -> str:
    return ", ".join(names)


def with_discovery_variables(expr: sp.Expr | str, features: Collection[str],
                             constants: Collection[str] | None) -> sp.Expr:
    """``expr`` with each energy discovery variable that is neither a feature nor one of ``constants`` replaced
    by its definition over the feature columns. A residual discovery's variable, or a name that is none of
    features, constants and variables, raises :class:`UnsupportedExpressionError` saying what to write."""
    e = as_formula(expr)
    known = set(features) | set(constants or ())
    variables = discovery_energy_variables()
    residual = sorted(s.name for s in e.free_symbols if s.name in RESIDUAL_ONLY_VARIABLES and s.name not in known)
    if residual:
        raise UnsupportedExpressionError(
            f"{residual} {'is a variable' if len(residual) == 1 else 'are variables'} of a residual discovery "
            "(energylens discover --target residual): its expression g corrects the template, energy = template x "
            "exp(g), and is not an energy model itself: build that model with energylens.discover.expression_model("
            "energylens.discover.load_discovery(FILE), template=EnergyModel(bootstrap=0).fit(profiles, latency="
            "False)), or write g's variables over the feature columns (the variables: line discover printed)")
    subs = {s: variables[s.name] for s in e.free_symbols if s.name in variables and s.name not in known}
    e = e.xreplace(subs) if subs else e
    unknown = sorted({s.name for s in e.free_symbols} - known)
    if unknown:
        hints = [f"{u!r} -> did you mean {m[0]!r}?" for u in unknown
                 if (m := difflib.get_close_matches(u, [*features, *variables], n=1))]
        raise UnsupportedExpressionError(
            f"symbol(s) {unknown} are neither feature columns nor constants{' (' + '; '.join(hints) + ')' if hints else ''}"
            f"; features: {_names_text(features)}; an energy discovery's variables are taken too ("
            f"{_names_text(n for n in variables if n not in features)}: energylens discover prints them), and with "
            "params= the constants are the names it gives")
    return e
