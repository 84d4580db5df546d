"""NumPy reference of the EnergyLens roofline template (the oracle for the native code).

Everything here is elementwise over rows: one line = one scalar expression, no per-row
branches (``sqrt`` is the only non-arithmetic op), so it ports
1:1 to a C++ SIMD/OpenMP loop and to a CUDA kernel.  Derivation and units: docs/model.md.

Features: :data:`REQUIRED_FEATURES` (the native descriptor's list; built by
:func:`energylens.profiles.features.build_features`, all float64 arrays of one length N).
Parameter names, units, meanings, bounds and start points (``ENERGY_PARAM_*``, ``LATENCY_PARAM_*``) are
read from the native descriptor (``_core.describe_template``), not retyped; the formulas are.

Energy model (per request, joules; n = tp*pp*dp devices, n_r = tp*pp per data-parallel replica):
    ctx   = L_in + L_out/2                                   mean decode context
    B_r   = B / dp                                           running sequences per replica
    F     = B (2 N_act + a ctx)                              FLOPs per decode step (all replicas)
    m     = min(max(B_r, 1), pp)                             microbatches in flight through a pipeline
    M     = m W_step + B (ctx kv + S)                        HBM bytes per decode step, all GPUs (weights per microbatch)
    t_c   = F / (n peak eta_c)           t_m = M / (n bw eta_m)
    t_g   = (t_c + t_m + sqrt((t_c - t_m)^2 + 4 s t_c t_m)) / 2   smooth roofline max (s: overlap)
    n_ar  = 2 L (tp-1) / (tp pp)                             all-reduces per step per stage x ring share
    t_ar  = n_ar (m alpha + 4 B_r d / link)
    n_a2a = 2 L_a2a / pp                                     MoE dispatch + combine among the dp ranks
    t_a2a = n_a2a (m alpha + B_r 2 k d (G-1) / (G tp link_a2a))     G = ep if ep > 1 else tp dp; link_a2a = link inside one domain
    n_x   = h_x / pp                                         PP boundaries over scale-out, per stage
    t_x   = n_x (m alpha + 2 B_r d / out)                    out: scale-out bytes/s (0 inside a domain)
    g_pp  = (pp / m)(1 + theta_pp (pp-1))                    idle stages below pp microbatches, cost per stage
    t_bz  = (t_g + t_ar + t_a2a + t_x) g_pp                  device-busy part of the step
    t_st  = t_bz + tau_l L + tau_s B_r
    E_dec = L_out/B [ n TDP (pi_s t_st + pi_b t_bz) + c_f TDP/peak F ]
    F_p   = 2 N_act L_in + a L_in^2 / 2 + n_r F_enc   (F_enc: vision encoder, replicated per rank)
    t_p   = F_p / (n_r peak eta_pf) + n_ar (alpha + 4 L_in d / link) + n_a2a (alpha + L_in 2 k d (G-1) / (G tp link_a2a))
            + n_x (alpha + 2 L_in d / out)
    E_pf  = (1 + kappa B_r) [ n_r TDP (pi_s + pi_b) t_p + c_f TDP/peak F_p ]

Latency model (seconds), same roofline with its own 10 parameters:
    t_sy  = tau_sync (L + L_moe) (tp - 1)                    per-layer synchronisation per extra TP peer
    tpot = t_st + t_sy ;  ttft = pp t_p (1 + kappa_b (B_r-1)) + tau_l (L + L_moe) + t_sy   (stages in turn)
"""
from __future__ import annotations

import numpy as np

from energylens import _core as _native

__all__ = [
    "ENERGY_PARAM_NAMES", "ENERGY_PARAM_UNITS", "ENERGY_PARAM_DESCRIPTIONS",
    "ENERGY_PARAM_LOWER", "ENERGY_PARAM_UPPER", "ENERGY_PARAM_INIT",
    "energy_phases", "energy", "energy_jacobian", "energy_phases_jacobian",
    "LATENCY_PARAM_NAMES", "LATENCY_PARAM_UNITS", "LATENCY_PARAM_DESCRIPTIONS",
    "LATENCY_PARAM_LOWER", "LATENCY_PARAM_UPPER", "LATENCY_PARAM_INIT",
    "latency", "latency_jacobian", "energy_tpot", "energy_tpot_jacobian", "REQUIRED_FEATURES",
]

# Names, units, meanings, bounds and start points are the native template's (cpp/src/templates.cpp, the one
# list); only the formulas below are written again, independently, to check the native code against.
_ENERGY = _native.describe_template("energy")
_LATENCY = _native.describe_template("latency")

REQUIRED_FEATURES: tuple[str, ...] = _ENERGY.feature_names

# Scale factors: the fitted number times the scale is the SI value (keeps parameters O(1)).
_US = 1e-6      # microseconds -> seconds
_KILO = 1e-3    # "per 1000 sequences" -> per sequence


def _frozen(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False  # module constants: copy before changing
    return values


ENERGY_PARAM_NAMES: tuple[str, ...] = _ENERGY.param_names
ENERGY_PARAM_UNITS: tuple[str, ...] = _ENERGY.param_units
ENERGY_PARAM_DESCRIPTIONS: tuple[str, ...] = _ENERGY.param_descriptions
ENERGY_PARAM_LOWER = _frozen(_ENERGY.lower)
ENERGY_PARAM_UPPER = _frozen(_ENERGY.upper)
ENERGY_PARAM_INIT = _frozen(_ENERGY.init)

LATENCY_PARAM_NAMES: tuple[str, ...] = _LATENCY.param_names
LATENCY_PARAM_UNITS: tuple[str, ...] = _LATENCY.param_units
LATENCY_PARAM_DESCRIPTIONS: tuple[str, ...] = _LATENCY.param_descriptions
LATENCY_PARAM_LOWER = _frozen(_LATENCY.lower)
LATENCY_PARAM_UPPER = _frozen(_LATENCY.upper)
LATENCY_PARAM_INIT = _frozen(_LATENCY.init)


def _get(features, name):
    try:
        return np.asarray(features[name], dtype=np.float64)
    except KeyError:
        raise KeyError(f"feature {name!r} missing; build it with energylens.profiles.features.build_features") from None


def _core(f, eta_c, eta_m, p, eta_pf, tau_l, alpha, tau_s, th_pp):
    """Shared roofline time model; returns a dict of intermediates (all arrays)."""
    tp = _get(f, "tp")
    pp = _get(f, "pp")
    B = _get(f, "batch_size")
    Li = _get(f, "input_tokens")
    Lo = _get(f, "output_tokens")
    L = _get(f, "n_layers")
    d = _get(f, "d_model")
    Na = _get(f, "active_params")
    W = _get(f, "weight_bytes_per_step")
    kv = _get(f, "kv_bytes_per_token")
    a = _get(f, "attn_flops_per_token_ctx")
    peak = _get(f, "peak_flops_per_s")
    bw = _get(f, "hbm_bytes_per_s")
    link = _get(f, "link_bytes_per_s")
    dp = _get(f, "dp")
    ep = _get(f, "ep")
    n_r = tp * pp
    n = n_r * dp
    Br = B / dp
    ctx = Li + 0.5 * Lo
    F = B * (2.0 * Na + a * ctx)
    m = np.minimum(np.maximum(Br, 1.0), pp)          # microbatches in flight (roofline.hpp)
    M = W * m + B * (ctx * kv + _get(f, "state_bytes_per_seq"))
    tc = F / (n * peak * eta_c)
    tm = M / (n * bw * eta_m)
    diff = tc - tm
    root = np.sqrt(diff * diff + 4.0 * p * tc * tm)   # p: roofline overlap s in [0, 1]
    tg = 0.5 * (tc + tm + root)                        # s = 1: tc + tm; s -> 0: max(tc, tm)
    dtg_dtc = 0.5 * (1.0 + (diff + 2.0 * p * tm) / root)
    dtg_dtm = 0.5 * (1.0 + (2.0 * p * tc - diff) / root)
    dtg_dp = tc * tm / root
    n_ar = 2.0 * L * (tp - 1.0) / (tp * pp)
    alpha_m = alpha * m                              # latencies once per microbatch
    t_ar = n_ar * (alpha_m + 4.0 * Br * d / link)    # each rank holds a full B_r x d partial sum
    n_a2a = 2.0 * _get(f, "a2a_moe_layers") / pp
    group = tp * dp + np.minimum(ep - 1.0, 1.0) * (ep - tp * dp)  # the MoE group G: ep if > 1, else tp x dp
    a2a_tok = 2.0 * _get(f, "experts_per_token") * d * (group - 1.0) / (group * tp)   # bytes per token per a2a
    link_a2a = _get(f, "a2a_bytes_per_s")
    t_a2a = n_a2a * (alpha_m + Br * a2a_tok / link_a2a)
    out = _get(f, "scale_out_bytes_per_s")
    q_x = _get(f, "pp_scale_out_hops") / (pp * out)    # PP boundaries crossing domains, per stage, per B/s
    x_tok = 2.0 * d * q_x                              # their seconds per token (16-bit activations)
    n_x = q_x * out                                    # = hops / pp
    t_x = n_x * alpha_m + Br * x_tok
    g_pp = pp / m * (1.0 + th_pp * (pp - 1.0))
    busy = (tg + t_ar + t_a2a + t_x) * g_pp
    Ll = L + _get(f, "moe_layers")                    # kernel-launch layers: a MoE layer counts twice
    t_step = busy + tau_l * Ll + tau_s * Br
    a_pf = _get(f, "prefill_attn_flops_per_token_ctx")  # = a except MLA (prefill decompresses K/V)
    Fp = 2.0 * Na * Li + 0.5 * a_pf * Li * Li + n_r * _get(f, "prefill_extra_flops")  # encoder on every rank
    t_pc = Fp / (n_r * peak * eta_pf)
    t_pf = (t_pc + n_ar * (alpha + 4.0 * Li * d / link) + n_a2a * (alpha + Li * a2a_tok / link_a2a)
            + (n_x * alpha + Li * x_tok))
    return dict(tp=tp, pp=pp, m=m, B=B, Br=Br, Li=Li, Lo=Lo, L=L, Ll=Ll, n=n, n_r=n_r, F=F, M=M, tc=tc, tm=tm, tg=tg,
                dtg_dtc=dtg_dtc, dtg_dtm=dtg_dtm, dtg_dp=dtg_dp, n_ar=n_ar, t_ar=t_ar, n_a2a=n_a2a,
                t_a2a=t_a2a, n_x=n_x, t_x=t_x, g_pp=g_pp, busy=busy, t_step=t_step, Fp=Fp, t_pc=t_pc, t_pf=t_pf, peak=peak, bw=bw)


def _unpack_energy(theta):
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != (12,):
        raise ValueError(f"theta must have 12 entries, got shape {th.shape}")
    return th


def energy_phases(features, theta):
    """(prefill_j, decode_j) per request, each an (N,) array."""
    th = _unpack_energy(theta)
    eta_c, eta_m, p, eta_pf, pi_s, c_f, c_b, tl, al, ts, th_pp, kap = th
    c = _core(features, eta_c, eta_m, p, eta_pf, tl * _US, al * _US, ts * _US, th_pp)
    tdp = _get(features, "tdp_w")
    ef = c_f * tdp / c["peak"]
    e_dec = c["Lo"] / c["B"] * (c["n"] * tdp * (pi_s * c["t_step"] + c_b * c["busy"]) + ef * c["F"])
    h = 1.0 + kap * _KILO * c["Br"]            # a prompt's prefill stalls its replica's sequences
    e_pf = h * (c["n_r"] * tdp * (pi_s + c_b) * c["t_pf"] + ef * c["Fp"])
    return e_pf, e_dec


def energy(features, theta):
    """Energy per request (J), prefill + decode."""
    e_pf, e_dec = energy_phases(features, theta)
    return e_pf + e_dec


def energy_phases_jacobian(features, theta):
    """Analytic d(prefill_j)/d theta and d(decode_j)/d theta, each (N, 12)."""
    th = _unpack_energy(theta)
    eta_c, eta_m, p, eta_pf, pi_s, c_f, c_b, tl, al, ts, th_pp, kap = th
    c = _core(features, eta_c, eta_m, p, eta_pf, tl * _US, al * _US, ts * _US, th_pp)
    tdp = _get(features, "tdp_w")
    n, B, Lo, g_pp = c["n"], c["B"], c["Lo"], c["g_pp"]
    ef = c_f * tdp / c["peak"]
    k = Lo / B                                   # decode steps per request / batch
    ks = k * n * tdp * pi_s                      # d E_dec / d t_step
    kb = k * n * tdp * (pi_s + c_b)              # d E_dec / d t_busy (t_busy is inside t_step too)
    busy = c["busy"]
    n_r = c["n_r"]
    h = 1.0 + kap * _KILO * c["Br"]
    pw = n_r * tdp * (pi_s + c_b)                # d (E_pf / h) / d t_pf (the request's replica)
    Dp = pw * c["t_pf"] + ef * c["Fp"]
    N = B.shape[0]
    Jd = np.zeros((N, 12))
    Jp = np.zeros((N, 12))
    Jd[:, 0] = kb * g_pp * c["dtg_dtc"] * (-c["tc"] / eta_c)
    Jd[:, 1] = kb * g_pp * c["dtg_dtm"] * (-c["tm"] / eta_m)
    Jd[:, 2] = kb * g_pp * c["dtg_dp"]
    Jp[:, 3] = h * pw * (-c["t_pc"] / eta_pf)
    Jd[:, 4] = k * n * tdp * c["t_step"]
    Jp[:, 4] = h * n_r * tdp * c["t_pf"]
    Jd[:, 5] = k * tdp / c["peak"] * c["F"]
    Jp[:, 5] = h * tdp / c["peak"] * c["Fp"]
    Jd[:, 6] = k * n * tdp * busy
    Jp[:, 6] = h * n_r * tdp * c["t_pf"]
    Jd[:, 7] = ks * c["Ll"] * _US
    Jd[:, 8] = kb * g_pp * (c["n_ar"] + c["n_a2a"] + c["n_x"]) * c["m"] * _US
    Jp[:, 8] = h * pw * (c["n_ar"] + c["n_a2a"] + c["n_x"]) * _US
    Jd[:, 9] = ks * c["Br"] * _US
    Jd[:, 10] = kb * (c["tg"] + c["t_ar"] + c["t_a2a"] + c["t_x"]) * (c["pp"] / c["m"]) * (c["pp"] - 1.0)
    Jp[:, 11] = _KILO * c["Br"] * Dp
    return Jp, Jd


def energy_jacobian(features, theta):
    """Analytic d energy / d theta, (N, 12)."""
    Jp, Jd = energy_phases_jacobian(features, theta)
    return Jp + Jd


def _unpack_latency(phi):
    ph = np.asarray(phi, dtype=np.float64)
    if ph.shape != (10,):
        raise ValueError(f"phi must have 10 entries, got shape {ph.shape}")
    return ph


def latency(features, phi):
    """(ttft_s, tpot_s), each (N,)."""
    ph = _unpack_latency(phi)
    eta_c, eta_m, p, eta_pf, tl, al, ts, th_pp, kb, sy = ph
    c = _core(features, eta_c, eta_m, p, eta_pf, tl * _US, al * _US, ts * _US, th_pp)
    t_sync = sy * _US * c["Ll"] * (c["tp"] - 1.0)
    ttft = c["t_pf"] * ((1.0 + kb * (c["Br"] - 1.0)) * c["pp"]) + tl * _US * c["Ll"] + t_sync  # stages in turn
    return ttft, c["t_step"] + t_sync


def prefill_stall(features, phi):
    """B_r t_pf per row, (N,): the device prefill time of a replica's running sequences' prompts, one prompt
    each (the time-in-system term's stall; LatencyTemplate::eval_stall)."""
    eta_c, eta_m, p, eta_pf, tl, al, ts, th_pp, _kb, _sy = _unpack_latency(phi)
    c = _core(features, eta_c, eta_m, p, eta_pf, tl * _US, al * _US, ts * _US, th_pp)
    return c["Br"] * c["t_pf"]


def latency_jacobian(features, phi):
    """(d ttft / d phi, d tpot / d phi), each (N, 10)."""
    ph = _unpack_latency(phi)
    eta_c, eta_m, p, eta_pf, tl, al, ts, th_pp, kb, _sy = ph
    c = _core(features, eta_c, eta_m, p, eta_pf, tl * _US, al * _US, ts * _US, th_pp)
    B, g_pp = c["B"], c["g_pp"]
    hb = (1.0 + kb * (c["Br"] - 1.0)) * c["pp"]
    N = B.shape[0]
    Jf = np.zeros((N, 10))
    Jt = np.zeros((N, 10))
    Jt[:, 0] = g_pp * c["dtg_dtc"] * (-c["tc"] / eta_c)
    Jt[:, 1] = g_pp * c["dtg_dtm"] * (-c["tm"] / eta_m)
    Jt[:, 2] = g_pp * c["dtg_dp"]
    Jf[:, 3] = hb * (-c["t_pc"] / eta_pf)
    Jt[:, 4] = c["Ll"] * _US
    Jf[:, 4] = c["Ll"] * _US
    Jt[:, 5] = g_pp * (c["n_ar"] + c["n_a2a"] + c["n_x"]) * c["m"] * _US
    Jf[:, 5] = hb * (c["n_ar"] + c["n_a2a"] + c["n_x"]) * _US
    Jt[:, 6] = c["Br"] * _US
    Jt[:, 7] = (c["tg"] + c["t_ar"] + c["t_a2a"] + c["t_x"]) * (c["pp"] / c["m"]) * (c["pp"] - 1.0)
    Jf[:, 8] = c["t_pf"] * c["pp"] * (c["Br"] - 1.0)
    Jt[:, 9] = Jf[:, 9] = c["Ll"] * (c["tp"] - 1.0) * _US
    return Jf, Jt


# Columns of theta that the decode-step time depends on, in LATENCY_PARAM_NAMES order (prefill_batch_factor
# does not enter tpot; the energy model has no tp_sync_us: the roofline's step time alone).
_ENERGY_TIME_COLUMNS = (0, 1, 2, 3, 7, 8, 9, 10)


def energy_tpot(features, theta):
    """Decode-step time t_st (s) implied by the ENERGY parameters (the wall time the energy model uses).

    Energy alone cannot separate power from time (scaling every time parameter by s and both power
    fractions by 1/s leaves energy unchanged); fitting this against measured tpot_s together with
    energy pins the time scale (docs/model.md, "Identifiability").
    """
    th = _unpack_energy(theta)
    phi = np.r_[th[list(_ENERGY_TIME_COLUMNS)], 0.0, 0.0]
    return latency(features, phi)[1]


def energy_tpot_jacobian(features, theta):
    """d energy_tpot / d theta, (N, 12) (zero in the power, FLOP-energy and stall columns)."""
    th = _unpack_energy(theta)
    phi = np.r_[th[list(_ENERGY_TIME_COLUMNS)], 0.0, 0.0]
    _, Jt = latency_jacobian(features, phi)
    J = np.zeros((Jt.shape[0], 12))
    J[:, list(_ENERGY_TIME_COLUMNS)] = Jt[:, :8]
    return J
