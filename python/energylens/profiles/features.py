"""Per-row inputs of the energy / latency template (docs/model.md).

:func:`build_features` turns a profile table (schema v1, e.g. from :func:`energylens.profiles.load_profiles`
or :func:`energylens.profiles.datasets.mlenergy_v2`) into a dict of contiguous float64 arrays, one per name in
:data:`FEATURE_NAMES`. Hardware numbers come only from :mod:`energylens.profiles.tables` (looked up once per
unique GPU / precision), the model only through its architecture columns; every derived quantity that
needs no fitted parameter (MoE expected touched fraction, weight and KV bytes, attention FLOPs, vision
encoder FLOPs) is computed here, vectorised.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from energylens.errors import UnknownGpuError
from energylens.profiles import tables

__all__ = ["FEATURE_NAMES", "FEATURE_UNITS", "build_features"]

#: Ordered per-row inputs (units in the names; see FEATURE_UNITS).
FEATURE_NAMES: tuple[str, ...] = (
    "tp",                          # tensor-parallel degree
    "pp",                          # pipeline-parallel degree
    "batch_size",                  # running sequences per decode step
    "input_tokens",                # prompt tokens per request (incl. image tokens)
    "output_tokens",               # generated tokens per request
    "n_layers",                    # transformer layers
    "d_model",                     # hidden size (all-reduce message width)
    "active_params",               # parameters used per token (top-k experts for MoE), count
    "weight_bytes_per_step",       # bytes of weights one decode step streams (MoE: touched experts)
    "kv_bytes_per_token",          # KV-cache bytes per token over all layers (kv_cache_dtype elements)
    "attn_flops_per_token_ctx",    # attention FLOPs per token per context position (4 L H d_h)
    "prefill_extra_flops",         # vision-encoder FLOPs per request (0 for text)
    "moe_touch_fraction",          # expected fraction of experts a decode step touches (1 dense)
    "peak_flops_per_s",            # dense tensor peak of one GPU at the row's precision
    "hbm_bytes_per_s",             # HBM bandwidth of one GPU
    "tdp_w",                       # board power limit of one GPU
    "link_bytes_per_s",            # scale-up link bandwidth per GPU per direction
)

FEATURE_UNITS: dict[str, str] = {
    "tp": "1", "pp": "1", "batch_size": "sequences", "input_tokens": "tokens/request",
    "output_tokens": "tokens/request", "n_layers": "1", "d_model": "1", "active_params": "parameters",
    "weight_bytes_per_step": "B", "kv_bytes_per_token": "B/token", "attn_flops_per_token_ctx": "FLOP/token/position",
    "prefill_extra_flops": "FLOP/request", "moe_touch_fraction": "1", "peak_flops_per_s": "FLOP/s",
    "hbm_bytes_per_s": "B/s", "tdp_w": "W", "link_bytes_per_s": "B/s",
}

_REQUIRED = ("model", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "params_b")
_ARCH = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim")

#: Bytes per activation element exchanged in TP all-reduces (16-bit activations).
ACTIVATION_BYTES = 2.0
#: Vision-encoder FLOPs per image token per encoder parameter (one forward pass: 2 FLOP/param/token).
ENCODER_FLOPS_PER_PARAM_TOKEN = 2.0
#: Default vision-encoder size (billions) when an image model's table row has none (CLIP ViT-L ~0.3B).
DEFAULT_VISION_PARAMS_B = 0.3


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    try:
        return np.array(pd.to_numeric(df[name], errors="raise"), dtype=np.float64, copy=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"profile column {name!r} is not numeric: {exc}") from None


def build_features(profiles: pd.DataFrame) -> dict[str, np.ndarray]:
    """Template inputs for every row of ``profiles``.

    Required columns: model, gpu, tp, pp, batch_size, input_tokens, output_tokens, params_b.
    Optional: active_params_b (default params_b), precision (default bf16), kv_cache_dtype (default
    auto: the activation dtype), n_layers, d_model,
    n_heads, n_kv_heads, head_dim (NaN/absent -> model table, else estimated from params_b),
    n_experts, experts_per_token (default 1), modality, image_tokens_per_image.

    Returns:
        dict name -> contiguous float64 array of len(profiles), keys in :data:`FEATURE_NAMES` order.

    Raises:
        ValueError: a missing required column, an empty table, a non-numeric or non-positive value,
            an unknown GPU or precision (the message names the column / value).
    """
    if not isinstance(profiles, pd.DataFrame):
        raise ValueError(f"build_features expects a pandas DataFrame, got {type(profiles).__name__}")
    missing = [c for c in _REQUIRED if c not in profiles.columns]
    if missing:
        raise ValueError(f"profile table lacks required column(s): {', '.join(missing)}")
    if len(profiles) == 0:
        raise ValueError("profile table is empty")
    df = profiles.reset_index(drop=True)
    n = len(df)

    tp = _col(df, "tp")
    pp = _col(df, "pp")
    B = _col(df, "batch_size")
    Li = _col(df, "input_tokens")
    Lo = _col(df, "output_tokens")
    P = _col(df, "params_b") * 1e9
    for name, v, lo in (("tp", tp, 1.0), ("pp", pp, 1.0), ("batch_size", B, 0.0), ("input_tokens", Li, 0.0),
                        ("output_tokens", Lo, 0.0), ("params_b", P, 0.0)):
        bad = ~np.isfinite(v) | (v < lo) | ((v <= 0) if lo == 0.0 else False)
        if bad.any():
            rows = np.flatnonzero(bad)[:10].tolist()
            raise ValueError(f"profile column {name!r} must be finite and "
                             f"{'>= 1' if lo == 1.0 else '> 0'}; bad rows (0-based): {rows}")

    Pa = _col(df, "active_params_b") * 1e9 if "active_params_b" in df.columns else np.full(n, np.nan)
    pa_given = np.isfinite(Pa) & (Pa > 0)

    precision = (df["precision"].astype(str) if "precision" in df.columns
                 else pd.Series(["bf16"] * n)).to_numpy()
    kv_dtype = (df["kv_cache_dtype"].astype(object).where(df["kv_cache_dtype"].notna(), "auto").map(str)
                if "kv_cache_dtype" in df.columns else pd.Series(["auto"] * n)).to_numpy(dtype=object)
    gpus = df["gpu"].astype(str).to_numpy()

    # --- hardware: one table lookup per unique (gpu, precision) -------------------------------
    peak = np.empty(n)
    bw = np.empty(n)
    tdp = np.empty(n)
    link = np.empty(n)
    bpp = np.empty(n)
    keys = pd.MultiIndex.from_arrays([gpus, precision])
    specs = _gpu_specs(profiles)
    for (g, pr), idx in pd.Series(np.arange(n)).groupby(keys).groups.items():
        spec = specs[str(g).strip()]
        try:
            pk = tables.peak_flops(spec, pr)          # at the compute precision of the weight format
            b = tables.bytes_per_param(pr)            # block scales included (profiles.precision)
        except ValueError as exc:
            raise ValueError(f"profile column 'precision': {exc}") from None
        idx = np.asarray(idx)
        peak[idx] = pk
        bw[idx] = spec.hbm_bw_gbs * 1e9
        tdp[idx] = spec.tdp_w
        link[idx] = spec.interconnect_bw_gbs * 1e9 / 2.0   # table is bidirectional
        bpp[idx] = b

    # --- architecture: profile columns, else model table, else estimate from params ----------
    arch = {c: (_col(df, c) if c in df.columns else np.full(n, np.nan)) for c in _ARCH}
    E = _col(df, "n_experts") if "n_experts" in df.columns else np.full(n, np.nan)
    k = _col(df, "experts_per_token") if "experts_per_token" in df.columns else np.full(n, np.nan)
    img = (_col(df, "image_tokens_per_image") if "image_tokens_per_image" in df.columns
           else np.full(n, np.nan))
    modality = (df["modality"].astype(str).to_numpy() if "modality" in df.columns
                else np.array(["text"] * n))
    need = np.zeros(n, dtype=bool)
    for c in _ARCH:
        need |= ~np.isfinite(arch[c])
    vision_b = np.zeros(n)
    is_image = np.isin(modality, ("image", "video"))
    lookup = need | is_image | ~pa_given
    if lookup.any():
        models = df["model"].astype(str).to_numpy()
        for (m, p_b), idx in pd.Series(np.arange(n))[lookup].groupby(
                [models[lookup], P[lookup] / 1e9]).groups.items():
            idx = np.asarray(idx)
            spec = tables.find_model(m)
            if spec is None:
                spec = tables.estimate_architecture(float(p_b))
            for c in _ARCH:
                v = arch[c][idx]
                arch[c][idx] = np.where(np.isfinite(v), v, float(getattr(spec, c)))
            ratio = float(spec.active_params_b) / float(spec.params_b)
            Pa[idx] = np.where(pa_given[idx], Pa[idx], P[idx] * ratio)
            E[idx] = np.where(np.isfinite(E[idx]), E[idx], float(spec.n_experts))
            k[idx] = np.where(np.isfinite(k[idx]), k[idx], float(spec.experts_per_token))
            vb = spec.vision_params_b
            vision_b[idx] = vb if (vb is not None and math.isfinite(vb)) else DEFAULT_VISION_PARAMS_B
            it = spec.image_tokens_per_image
            if it is not None and math.isfinite(it):
                img[idx] = np.where(np.isfinite(img[idx]), img[idx], float(it))
    Pa = np.where(np.isfinite(Pa) & (Pa > 0), Pa, P)
    E = np.where(np.isfinite(E) & (E >= 1), E, 1.0)
    k = np.where(np.isfinite(k) & (k >= 1), np.minimum(k, E), 1.0)
    for c in _ARCH:
        if not (np.isfinite(arch[c]).all() and (arch[c] > 0).all()):
            rows = np.flatnonzero(~(np.isfinite(arch[c]) & (arch[c] > 0)))[:10].tolist()
            raise ValueError(f"architecture column {c!r} unknown or non-positive for rows {rows}")
    L = arch["n_layers"]
    d = arch["d_model"]
    H = arch["n_heads"]
    Hkv = arch["n_kv_heads"]
    dh = arch["head_dim"]

    # --- derived, parameter-free quantities ----------------------------------------------------
    moe = E > 1.0
    frac = k / E                                                  # experts per token / experts
    touch = np.where(moe, 1.0 - (1.0 - frac) ** np.maximum(B, 1.0), 1.0)
    n_exp_params = np.where(moe, np.maximum(P - Pa, 0.0) / np.where(moe, 1.0 - frac, 1.0), 0.0)
    shared = P - n_exp_params
    # dense: the language model's weights (a vision encoder runs once per image, not per step)
    weight_bytes = np.where(moe, bpp * (shared + touch * n_exp_params), bpp * Pa)
    kv_bytes = 2.0 * L * Hkv * dh * _kv_element_bytes_vec(bpp, kv_dtype)
    attn = 4.0 * L * H * dh
    # visual tokens the encoder produces: one image per request for "image" (its table token count,
    # else the whole prompt), every prompt token for "video" (frames x tokens per frame, text is small)
    is_video = modality == "video"
    vis_tok = np.where(is_video, Li, np.where(np.isfinite(img), np.minimum(img, Li), Li))
    extra = np.where(is_image, ENCODER_FLOPS_PER_PARAM_TOKEN * vision_b * 1e9 * vis_tok, 0.0)

    out = {
        "tp": tp, "pp": pp, "batch_size": B, "input_tokens": Li, "output_tokens": Lo,
        "n_layers": L, "d_model": d, "active_params": Pa, "weight_bytes_per_step": weight_bytes,
        "kv_bytes_per_token": kv_bytes, "attn_flops_per_token_ctx": attn, "prefill_extra_flops": extra,
        "moe_touch_fraction": touch, "peak_flops_per_s": peak, "hbm_bytes_per_s": bw, "tdp_w": tdp,
        "link_bytes_per_s": link,
    }
    return {name: np.ascontiguousarray(out[name], dtype=np.float64) for name in FEATURE_NAMES}


def _gpu_specs(profiles: pd.DataFrame) -> dict:
    """Every distinct GPU's spec (table, user GPU table, or the profile's ``gpu_*`` spec columns); a spec
    the template needs but the row lacks is an error naming the GPU, the column and both remedies."""
    try:
        specs = tables.gpu_specs_for_profiles(profiles)
    except UnknownGpuError as exc:  # the message names the rows and both remedies
        raise ValueError(f"profile column 'gpu': {exc}") from None
    for g, spec in specs.items():
        blank = [c for c in ("hbm_bw_gbs", "tdp_w", "interconnect_bw_gbs") if not (getattr(spec, c) > 0)]
        if blank:
            raise ValueError(
                f"profile column 'gpu': GPU {g!r} ({spec.name}) has no {', '.join(blank)} in the GPU table; "
                f"give it in the profile columns {', '.join('gpu_' + c for c in blank)} or in a user GPU "
                "table (--gpu-table FILE; docs/reference-tables.md)")
    return specs


def _kv_element_bytes_vec(bpp: np.ndarray, kv_dtype: np.ndarray) -> np.ndarray:
    """KV-cache element size: the row's ``kv_cache_dtype`` when explicit (fp8 1 B, fp16/bf16 2 B, fp32
    4 B); for ``auto`` (vLLM's default) the activation dtype: 16-bit unless the weights are fp32.

    Serving stacks keep the KV cache in the activation dtype by default also for fp8/int8/int4
    weight-quantised checkpoints; an fp8 KV cache is an explicit opt-in (``kv_cache_dtype=fp8``).
    """
    out = np.where(bpp >= 4.0, 4.0, 2.0)
    for dtype in np.unique(kv_dtype):
        key = str(dtype).strip().lower()
        if key in ("auto", "", "nan"):
            continue
        try:
            out = np.where(kv_dtype == dtype, tables.KV_CACHE_DTYPE_BYTES[tables.normalize_kv_cache_dtype(key)], out)
        except ValueError as exc:
            raise ValueError(f"profile column 'kv_cache_dtype': {exc}") from None
    return out
