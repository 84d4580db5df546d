"""SymPy forms of the closed-form templates (EnergyModel.to_sympy / to_latex).

The same formula as ``cpp/include/energylens/{roofline,energy_template,latency_template}.hpp`` and
:mod:`energylens.model.reference`; the tests check that the lambdified expressions agree with the native
evaluator. Feature and parameter names come from the native descriptor. Needs the ``symbolic`` extra
(sympy).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from energylens import _core
from energylens.extras import require

# sympy is the ``symbolic`` extra: without it, importing this module names the pip install to run
sp = require("sympy", "symbolic", "the sympy forms of the model (to_sympy, to_latex)")

__all__ = ["feature_symbols", "parameter_symbols", "energy_expressions", "latency_expressions"]

# The features are the native descriptor's (cpp/src/templates.cpp); _LATEX only names them for printing
# (tests/model/test_descriptor.py checks it covers every feature and parameter).
_FEATURES: tuple[str, ...] = _core.describe_template("energy").feature_names

_LATEX = {
    "tp": "TP", "pp": "PP", "batch_size": "B", "input_tokens": r"L_{in}", "output_tokens": r"L_{out}",
    "n_layers": "L", "d_model": "d", "active_params": r"N_{act}", "weight_bytes_per_step": "W",
    "kv_bytes_per_token": r"k_{v}", "attn_flops_per_token_ctx": "a", "prefill_extra_flops": r"F_{enc}",
    "peak_flops_per_s": r"\Pi", "hbm_bytes_per_s": r"\beta", "tdp_w": "P_{TDP}", "link_bytes_per_s": r"\lambda",
    "dp": "DP", "ep": "EP", "a2a_moe_layers": r"L_{a2a}", "experts_per_token": "k", "state_bytes_per_seq": "S", "moe_layers": r"L_{moe}",
    "prefill_attn_flops_per_token_ctx": r"a_{pf}",
    "a2a_bytes_per_s": r"\lambda_{a2a}", "scale_out_bytes_per_s": r"\lambda_{out}", "pp_scale_out_hops": r"h_{x}",
    "eta_compute": r"\eta_c", "eta_memory": r"\eta_m", "roofline_overlap": "s", "eta_prefill": r"\eta_{pf}",
    "static_power_frac": r"\pi_s", "flop_energy_coef": "c_f", "busy_power_frac": r"\pi_b",
    "layer_overhead_us": r"\tau_l", "allreduce_latency_us": r"\alpha", "seq_overhead_us": r"\tau_s",
    "pp_bubble": r"\theta_{pp}", "prefill_stall_per_kseq": r"\kappa", "prefill_batch_factor": r"\kappa_b",
    "tp_sync_us": r"\tau_{sync}",
}


def feature_symbols() -> dict[str, sp.Symbol]:
    """One positive SymPy symbol per feature, named as the feature (LaTeX names for printing)."""
    return {name: sp.Symbol(_LATEX[name], positive=True) for name in _FEATURES}


def parameter_symbols(names: Iterable[str]) -> dict[str, sp.Symbol]:
    """Parameter name -> the symbol :func:`energy_expressions` / :func:`latency_expressions` write for it when
    ``params`` leaves it out (to substitute values at full precision: ``params`` gives them to 6 digits)."""
    return {name: _param(name, None) for name in names}


def _param(name: str, params: dict[str, Any] | None) -> sp.Expr:
    if params is not None and name in params:
        value = params[name]
        return sp.Float(getattr(value, "value", value), 6)
    return sp.Symbol(_LATEX[name], nonnegative=True)


def _roofline(f: dict[str, sp.Symbol], q: dict[str, sp.Expr]) -> dict[str, sp.Expr]:
    micro = sp.Rational(1, 10**6)
    n_r = f["tp"] * f["pp"]
    n = n_r * f["dp"]
    b_r = f["batch_size"] / f["dp"]
    ctx = f["input_tokens"] + f["output_tokens"] / 2
    flops = f["batch_size"] * (2 * f["active_params"] + f["attn_flops_per_token_ctx"] * ctx)
    m = sp.Min(sp.Max(b_r, 1), f["pp"])   # microbatches in flight through the pipeline (roofline.hpp)
    bytes_step = f["weight_bytes_per_step"] * m + f["batch_size"] * (ctx * f["kv_bytes_per_token"]
                                                                     + f["state_bytes_per_seq"])
    tc = flops / (n * f["peak_flops_per_s"] * q["eta_compute"])
    tm = bytes_step / (n * f["hbm_bytes_per_s"] * q["eta_memory"])
    s = q["roofline_overlap"]
    tg = (tc + tm + sp.sqrt((tc - tm) ** 2 + 4 * s * tc * tm)) / 2
    n_ar = 2 * f["n_layers"] * (f["tp"] - 1) / (f["tp"] * f["pp"])
    alpha = q["allreduce_latency_us"] * micro
    t_ar = n_ar * (alpha * m + 4 * b_r * f["d_model"] / f["link_bytes_per_s"])
    n_a2a = 2 * f["a2a_moe_layers"] / f["pp"]
    # the MoE group (roofline.hpp): ep when ep > 1, else tp dp; Min(ep - 1, 1) is that test for whole ep >= 1
    group = f["tp"] * f["dp"] + sp.Min(f["ep"] - 1, 1) * (f["ep"] - f["tp"] * f["dp"])
    a2a_tok = 2 * f["experts_per_token"] * f["d_model"] * (group - 1) / (group * f["tp"])
    t_a2a = n_a2a * (alpha * m + b_r * a2a_tok / f["a2a_bytes_per_s"])
    n_x = f["pp_scale_out_hops"] / f["pp"]
    t_x = n_x * (alpha * m + 2 * b_r * f["d_model"] / f["scale_out_bytes_per_s"])
    busy = (tg + t_ar + t_a2a + t_x) * f["pp"] / m * (1 + q["pp_bubble"] * (f["pp"] - 1))
    launch_layers = f["n_layers"] + f["moe_layers"]
    t_step = busy + q["layer_overhead_us"] * micro * launch_layers + q["seq_overhead_us"] * micro * b_r
    flops_pf = (2 * f["active_params"] * f["input_tokens"]
                + f["prefill_attn_flops_per_token_ctx"] * f["input_tokens"] ** 2 / 2
                + n_r * f["prefill_extra_flops"])
    t_pc = flops_pf / (n_r * f["peak_flops_per_s"] * q["eta_prefill"])
    t_pf = (t_pc + n_ar * (alpha + 4 * f["input_tokens"] * f["d_model"] / f["link_bytes_per_s"])
            + n_a2a * (alpha + f["input_tokens"] * a2a_tok / f["a2a_bytes_per_s"])
            + n_x * (alpha + 2 * f["input_tokens"] * f["d_model"] / f["scale_out_bytes_per_s"]))
    return {"n": n, "n_r": n_r, "flops": flops, "busy": busy, "t_step": t_step, "flops_pf": flops_pf, "t_pf": t_pf}


_TIME_PARAMS = ("eta_compute", "eta_memory", "roofline_overlap", "eta_prefill", "layer_overhead_us",
                "allreduce_latency_us", "seq_overhead_us", "pp_bubble")


def energy_expressions(params: dict[str, Any] | None = None) -> tuple[sp.Expr, sp.Expr]:
    """(prefill J, decode J) per request as expressions of the features; symbols for parameters
    unless ``params`` (name -> value or Param) gives numbers."""
    f = feature_symbols()
    q = {name: _param(name, params) for name in _TIME_PARAMS}
    r = _roofline(f, q)
    pi_s = _param("static_power_frac", params)
    pi_b = _param("busy_power_frac", params)
    e_flop = _param("flop_energy_coef", params) * f["tdp_w"] / f["peak_flops_per_s"]
    kappa = _param("prefill_stall_per_kseq", params)
    decode = f["output_tokens"] / f["batch_size"] * (
        r["n"] * f["tdp_w"] * (pi_s * r["t_step"] + pi_b * r["busy"]) + e_flop * r["flops"])
    prefill = (1 + kappa * f["batch_size"] / f["dp"] / 1000) * (
        r["n_r"] * f["tdp_w"] * (pi_s + pi_b) * r["t_pf"] + e_flop * r["flops_pf"])
    return prefill, decode


def latency_expressions(params: dict[str, Any] | None = None) -> tuple[sp.Expr, sp.Expr]:
    """(TTFT s, TPOT s) as expressions of the features."""
    f = feature_symbols()
    q = {name: _param(name, params) for name in _TIME_PARAMS}
    r = _roofline(f, q)
    kb = _param("prefill_batch_factor", params)
    launch_layers = f["n_layers"] + f["moe_layers"]
    t_sync = _param("tp_sync_us", params) / 10**6 * launch_layers * (f["tp"] - 1)
    ttft = (r["t_pf"] * f["pp"] * (1 + kb * (f["batch_size"] / f["dp"] - 1))  # the pp stages in turn
            + q["layer_overhead_us"] / 10**6 * launch_layers + t_sync)
    return ttft, r["t_step"] + t_sync
