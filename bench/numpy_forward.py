"""The benchmarks' baseline: the energy template's forward pass in plain NumPy, in the caller's dtype.

What a user would write without energylens: the same formula (template energylens.energy.v2) as cpp/include/energylens/energy_template.hpp and
energylens.model.reference (docs/model.md), forward only (no Jacobian intermediates, no float64 casts),
every array op NumPy's own. Scalars (a sweep's model and GPU columns) broadcast as NumPy broadcasts them.
bench/bench_public.py checks it against the native result in the same run before timing it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

_US = 1e-6    # microseconds -> seconds (the template's parameter scale)
_KILO = 1e-3  # per 1000 sequences -> per sequence


def energy_forward(features: Mapping[str, object], theta: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Energy per request (J), prefill + decode, every operation in ``dtype``."""
    f = {k: np.asarray(v, dtype=dtype) for k, v in features.items()}
    th = np.asarray(theta, dtype=dtype)
    eta_c, eta_m, p, eta_pf, pi_s, c_f, c_b, tau_l, alpha, tau_s, th_pp, kap = th
    one, two, half, four = (dtype(x) for x in (1.0, 2.0, 0.5, 4.0))
    us, kilo = dtype(_US), dtype(_KILO)
    tp, pp, B = f["tp"], f["pp"], f["batch_size"]
    Li, Lo, L, d = f["input_tokens"], f["output_tokens"], f["n_layers"], f["d_model"]
    Na, a = f["active_params"], f["attn_flops_per_token_ctx"]
    peak, bw, link, tdp = f["peak_flops_per_s"], f["hbm_bytes_per_s"], f["link_bytes_per_s"], f["tdp_w"]
    dp, ep = f["dp"], f["ep"]
    n_r = tp * pp                      # GPUs of one data-parallel replica
    n = n_r * dp                       # every GPU draws power
    Br = B / dp                        # running sequences per replica
    ctx = Li + half * Lo
    F = B * (two * Na + a * ctx)
    m = np.minimum(np.maximum(Br, one), pp)  # microbatches in flight through the pipeline (docs/model.md)
    M = f["weight_bytes_per_step"] * m + B * (ctx * f["kv_bytes_per_token"] + f["state_bytes_per_seq"])
    tc = F / (n * peak * eta_c)
    tm = M / (n * bw * eta_m)
    diff = tc - tm
    tg = half * (tc + tm + np.sqrt(diff * diff + four * p * tc * tm))
    n_ar = two * L * (tp - one) / n_r
    alpha_m = alpha * us * m           # collective latencies once per microbatch
    t_ar = n_ar * (alpha_m + four * Br * d / link)
    n_a2a = two * f["a2a_moe_layers"] / pp
    group = tp * dp + np.minimum(ep - one, one) * (ep - tp * dp)  # the MoE group: ep if > 1, else tp x dp
    a2a_tok = two * f["experts_per_token"] * d * (group - one) / (group * tp)
    t_a2a = n_a2a * (alpha_m + Br * a2a_tok / f["a2a_bytes_per_s"])
    q_x = f["pp_scale_out_hops"] / (pp * f["scale_out_bytes_per_s"])   # scale-out PP hops (docs/model.md)
    x_tok = two * d * q_x
    n_x = q_x * f["scale_out_bytes_per_s"]
    busy = (tg + t_ar + t_a2a + (n_x * alpha_m + Br * x_tok)) * (pp / m * (one + th_pp * (pp - one)))
    t_step = busy + tau_l * us * (L + f["moe_layers"]) + tau_s * us * Br
    Fp = two * Na * Li + half * f["prefill_attn_flops_per_token_ctx"] * Li * Li + n_r * f["prefill_extra_flops"]
    t_pf = Fp / (n_r * peak * eta_pf) + n_ar * (alpha * us + four * Li * d / link) \
        + n_a2a * (alpha * us + Li * a2a_tok / f["a2a_bytes_per_s"]) + (n_x * alpha * us + Li * x_tok)
    ef = c_f * tdp / peak
    e_dec = Lo / B * (n * tdp * (pi_s * t_step + c_b * busy) + ef * F)
    e_pf = (one + kap * kilo * Br) * (n_r * tdp * (pi_s + c_b) * t_pf + ef * Fp)
    return e_pf + e_dec
