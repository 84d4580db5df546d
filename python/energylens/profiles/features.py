"""Per-row inputs of the energy / latency template (docs/model.md).

:func:`build_features` turns a profile table (schema v1, e.g. from :func:`energylens.profiles.load_profiles`
or :func:`energylens.profiles.datasets.mlenergy_v2`) into a dict of contiguous float64 arrays, one per name in
:data:`FEATURE_NAMES`. Hardware numbers come only from :mod:`energylens.profiles.tables` (looked up once per
unique GPU / precision), the model only through its architecture columns; every derived quantity that
needs no fitted parameter (MoE expected touched fraction, weight and KV bytes, attention FLOPs, vision
encoder FLOPs) is computed here, vectorised.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import UnknownGpuError
from energylens.profiles import cells, tables, topology
from energylens.profiles import precision as _precision
from energylens.profiles.architecture import attention_per_layer, prefill_attention_per_layer, spec_column
from energylens.profiles.checkpoints import EXPERT_ONLY_FORMATS, fill_weight_only_compute, layout_rows
from energylens.profiles.frame_columns import FrameColumns
from energylens.profiles.schema import as_profiles
from energylens.profiles.step_weights import decode_reads, moe_touch_fraction, step_weight_bytes, token_params

__all__ = ["FEATURE_NAMES", "FEATURE_UNITS", "build_features", "features_of", "check_feature_domain",
           "domain_lower_bounds", "moe_touch_fraction", "hardware_values", "spec_values", "ARCH_LOOKUP"]

_DESCRIPTOR = _core.describe_template("energy")  # both templates share the feature list

#: Ordered per-row inputs of the templates (units in the names): the native descriptor's list (cpp/src/templates.cpp).
FEATURE_NAMES: tuple[str, ...] = _DESCRIPTOR.feature_names

#: Unit of each feature, from the same descriptor.
FEATURE_UNITS: dict[str, str] = dict(zip(FEATURE_NAMES, _DESCRIPTOR.feature_units, strict=True))

#: Formats that hold only a MoE checkpoint's routed experts (checkpoints.EXPERT_ONLY_FORMATS; a checkpoint's own
#: layout may say so too: checkpoints.checkpoint_layout); its other weights count at the compute dtype.
EXPERT_ONLY_PRECISIONS = EXPERT_ONLY_FORMATS
#: Ablation switch (accuracy round 10, docs/model.md): a decode step streams what its kernels read: not the
#: input embedding (a lookup; tied: read in full as the lm_head), the lm_head at 16 bits whatever the format,
#: no vision encoder (prefill only); energylens.profiles.step_weights. False = every counted parameter in the
#: weight format (before round 10). On by default.
DECODE_WEIGHT_READS = True
#: Ablation switch (accuracy round 10, follow-up): a token's FLOPs (active_params) leave out the input embedding, a
#: lookup (the lm_head GEMM counts; tied, once), and an audio tower (Qwen3-Omni's) is encoder weight, not routed
#: experts (step_weights.token_params / decode_reads). False = 2 FLOP per active parameter, audio as experts.
TOKEN_FLOPS_AND_ENCODERS = True
#: Ablation switch (docs/model.md): charge EP steps for the slowest rank (step_weights._ep_imbalance); off: no gain on v3.
EP_SLOWEST_RANK = False
#: Ablation switch: a MoE layer counts as two layers of per-layer (kernel-launch) overhead (router,
#: top-k, permute and grouped-GEMM kernels on top of a dense layer's). On by default (docs/model.md).
MOE_LAUNCH_LAYERS = True
#: Ablation switch: with tp > n_kv_heads vLLM replicates KV heads, so the KV bytes all GPUs read grow
#: by tp / n_kv_heads (Qwen3-235B-A22B, 4 KV heads, at tp 8: 2x). On by default.
KV_HEAD_REPLICATION = True
#: Ablation switch: an ``fp8`` row of a model whose fp8 checkpoint has block-scaled weights (model table
#: ``fp8_weight_block``, Qwen3 -FP8) runs as ``fp8_block``: at the 16-bit rate on Hopper, whose tensor
#: cores lack block scaling (energylens.profiles.precision). On by default.
FP8_BLOCK_SCALED = True
#: Ablation switch: the vision encoder costs its patches (``vision_patches_per_token`` per visual token)
#: and their attention (model table); off = 2 FLOP per encoder parameter per visual token. On by default.
VISION_PATCHES = True
#: Extra launch layers of a W8A8 layer (:func:`energylens.profiles.precision.activation_quantised`): a
#: quantisation kernel runs before every GEMM, so it counts twice, as a MoE layer (0 = ablation; docs/model.md).
ACT_QUANT_LAUNCH_LAYERS = 1.0
_REQUIRED_LOWER = np.array([[1.0], [1.0], [0.0], [0.0], [0.0], [0.0]])  # _required_numbers: tp, pp >= 1, the rest > 0
_ARCH = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim")

#: Bytes per activation element exchanged in TP all-reduces (16-bit activations).
ACTIVATION_BYTES = 2.0
#: HBM passes over a sequence's Mamba state per decode step: vLLM's selective_state_update and
#: causal_conv1d_update kernels read it and write it back in place (2 x its bytes); 1 = read only (ablation).
STATE_TRAFFIC_PER_STEP = 2.0
#: Vision-encoder FLOPs per patch per encoder parameter (one forward pass: 2 FLOP/param/patch).
ENCODER_FLOPS_PER_PARAM_TOKEN = 2.0


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    values = df[name]
    if isinstance(values, np.ndarray) and values.dtype == np.float64:  # a light-path column: checked already
        return values.copy()
    try:
        return np.array(pd.to_numeric(values, errors="raise"), dtype=np.float64, copy=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"profile column {name!r} is not numeric: {exc}") from None


def build_features(profiles: pd.DataFrame) -> dict[str, np.ndarray]:
    """Template inputs for every row of ``profiles``.

    Required columns: model, gpu, tp, batch_size, input_tokens, output_tokens, params_b.
    Optional: pp (default 1), active_params_b (default params_b), precision (default bf16; the weight format),
    compute_precision (default: the precision table's for the weight format on that GPU),
    mamba_ssm_cache_dtype (hybrids' SSM state; default auto, as kv_cache_dtype), kv_cache_dtype
    (default auto: the compute dtype), dp and ep (default 1), n_layers, d_model, n_heads,
    n_kv_heads, head_dim (NaN/absent -> model table, else estimated from params_b), scale_up_domain_gpus
    (blank/absent -> the GPU table's; energylens.profiles.topology), n_experts,
    experts_per_token (default 1), modality, image_tokens_per_image, video_frames, and the model
    table's n_attention_layers, n_moe_layers, sliding_window, n_sliding_layers,
    state_elems_per_seq, video_tokens_per_frame (a profile column overrides the table).

    Returns:
        dict name -> contiguous float64 array of len(profiles), keys in :data:`FEATURE_NAMES` order.

    Raises:
        ValueError: a missing required column, a non-numeric or non-positive value,
            an unknown GPU or precision (the message names the column / value).
    """
    if isinstance(profiles, FrameColumns):  # a chunk of a frame re-checked whole (frame_columns.checked_columns)
        return features_of(profiles)
    if not isinstance(profiles, pd.DataFrame):
        raise ValueError(f"build_features expects a pandas DataFrame, got {type(profiles).__name__}")
    if len(profiles) == 0:  # the columns are still checked; every feature is an empty array
        as_profiles(profiles, require_energy=False)
        return {name: np.empty(0) for name in FEATURE_NAMES}
    valid = as_profiles(profiles, require_energy=False)
    return features_of(FrameColumns(valid.reset_index(drop=True), labelled=valid))


def features_of(df, gpu_specs: dict | None = None, model_specs: dict | None = None) -> dict[str, np.ndarray]:
    """:func:`build_features` of rows already validated: a frame from :func:`energylens.profiles.load_profiles`,
    or the columns of :class:`energylens.profiles.light.LightProfiles` (with their ``gpu_specs`` and the
    model-table row of every model, ``model_specs``; text columns may be
    :class:`energylens.profiles.cells.Coded`)."""
    tp, pp, B, Li, Lo, P = _required_numbers(df)
    n = len(tp)

    Pa = _col(df, "active_params_b") * 1e9 if "active_params_b" in df.columns else np.full(n, np.nan)
    pa_given = np.isfinite(Pa) & (Pa > 0)

    # text columns: the rule runs once per distinct value (energylens.profiles.cells), never per row
    precision = _precision_codes(df, n)
    compute = fill_weight_only_compute(df["model"], precision, _compute_precision(df, n))  # "": the table's
    kv_dtype = cells.per_value(df["kv_cache_dtype"], str, missing="auto") if "kv_cache_dtype" in df.columns else None
    dp, ep = (np.where(np.isfinite(v) & (v >= 1), v, 1.0) if (v := _col(df, c) if c in df.columns else None) is not None
              else np.ones(n) for c in ("dp", "ep"))
    arch = _architecture(df, P, Pa, pa_given, model_specs)
    if FP8_BLOCK_SCALED:  # fp8 checkpoints with block scales (model table) compute as fp8_block
        codes, values = precision
        blk = arch["fp8_weight_block"]
        blocked = (values == "fp8").take(codes) & np.isfinite(blk) & (blk > 0) if "fp8" in values.tolist() else None
        if blocked is not None and blocked.any():  # else no fp8_block value the hardware lookup resolves for nothing
            precision = np.where(blocked, len(values), codes), np.array([*values, "fp8_block"], dtype=object)
    hw = _hardware(df, precision, compute, gpu_specs)
    Pa = arch["active"]
    E, k, L = arch["n_experts"], arch["experts_per_token"], arch["n_layers"]

    # --- derived, parameter-free quantities ----------------------------------------------------
    moe = E > 1.0
    layout = (layout_rows(df["model"], precision, EXPERT_ONLY_PRECISIONS,  # a row's own weight_layout first
                          df["weight_layout"] if "weight_layout" in df.columns else None)
              if moe.any() else (moe, np.full(n, np.nan)))
    weight_bytes, touch = step_weight_bytes(P, Pa, E, k, B, dp, ep, tp, layout, hw,
                                            decode_reads(arch, DECODE_WEIGHT_READS, TOKEN_FLOPS_AND_ENCODERS),
                                            EP_SLOWEST_RANK)
    ctx = Li + 0.5 * Lo
    # attention layers only (hybrids), sliding-window layers attend to at most `window` positions
    La = arch["n_attention_layers"]
    sliding = arch["n_sliding_layers"] > 0
    window_share = np.where(sliding, (La - arch["n_sliding_layers"] + arch["n_sliding_layers"]
                                      * np.minimum(ctx, arch["sliding_window"]) / np.maximum(ctx, 1.0)) / La,
                            1.0) if sliding.any() else np.ones(n)  # (no window anywhere: the same ones)
    elem = _precision.kv_element_bytes(hw["compute_bytes"], kv_dtype)
    kv_heads, kv_elems, attn_layer = attention_per_layer(arch)  # replicated when tp > KV heads (MLA: 1 latent)
    kv_replication = np.maximum(tp / kv_heads, 1.0) if KV_HEAD_REPLICATION else np.ones_like(tp)
    kv_bytes = La * kv_elems * elem * window_share * kv_replication
    attn = La * attn_layer * window_share
    attn_prefill = La * prefill_attention_per_layer(arch) * window_share  # MLA: decompressed K/V (= attn otherwise)
    # all Mamba layers of one sequence, read and written back every step; the SSM part in its own dtype
    ssm_dtype = (cells.per_value(df["mamba_ssm_cache_dtype"], str, missing="auto")
                 if "mamba_ssm_cache_dtype" in df.columns else None)
    ssm_elem = _precision.kv_element_bytes(hw["compute_bytes"], ssm_dtype, "mamba_ssm_cache_dtype")
    conv = np.minimum(arch["conv_elems"], arch["state_elems"])
    state = ((arch["state_elems"] - conv) * ssm_elem + conv * elem) * STATE_TRAFFIC_PER_STEP
    a2a_layers = np.where(moe & (dp > 1.0), arch["n_moe_layers"], 0.0)  # dp ranks' tokens: topology.moe_group_gpus
    extra = _encoder_flops(df, Li, arch)

    link, a2a_link, hops = topology.comm_features(tp, pp, topology.moe_group_gpus(tp, dp, ep), hw["link"],
                                                  topology.domains(df, hw["domain"]),
                                                  hw["out"])  # per collective (docs/search.md, Topology)
    launch = np.where(moe & MOE_LAUNCH_LAYERS, arch["n_moe_layers"], 0.0)
    if ACT_QUANT_LAUNCH_LAYERS:
        launch = launch + np.where(hw["act_quant"] > 0, ACT_QUANT_LAUNCH_LAYERS * L, 0.0)
    out = {
        "tp": tp, "pp": pp, "batch_size": B, "input_tokens": Li, "output_tokens": Lo,
        "n_layers": L, "d_model": arch["d_model"], "active_params": token_params(Pa, arch, TOKEN_FLOPS_AND_ENCODERS),
        "weight_bytes_per_step": weight_bytes,
        "kv_bytes_per_token": kv_bytes, "attn_flops_per_token_ctx": attn, "prefill_extra_flops": extra,
        "prefill_attn_flops_per_token_ctx": attn_prefill, "moe_touch_fraction": touch, "peak_flops_per_s": hw["peak"], "hbm_bytes_per_s": hw["bw"],
        "tdp_w": hw["tdp"], "link_bytes_per_s": link, "dp": dp, "ep": ep, "a2a_moe_layers": a2a_layers,
        "experts_per_token": k, "state_bytes_per_seq": state, "moe_layers": launch, "a2a_bytes_per_s": a2a_link,
        "scale_out_bytes_per_s": hw["out"], "pp_scale_out_hops": hops}
    return {name: np.ascontiguousarray(out[name], dtype=np.float64) for name in FEATURE_NAMES}


def _required_numbers(df: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """tp, pp, batch_size, input_tokens, output_tokens and params (count), checked finite and in range."""
    tp, pp, B, Li, Lo = (_col(df, c) for c in ("tp", "pp", "batch_size", "input_tokens", "output_tokens"))
    P = _col(df, "params_b") * 1e9
    checks = (("tp", tp, 1.0), ("pp", pp, 1.0), ("batch_size", B, 0.0), ("input_tokens", Li, 0.0),
              ("output_tokens", Lo, 0.0), ("params_b", P, 0.0))
    stacked = np.array([v for _n, v, _lo in checks])  # all six at once: finite, > 0 and >= the lower bound
    if ((stacked > 0.0) & (stacked >= _REQUIRED_LOWER) & np.isfinite(stacked)).all():
        return tp, pp, B, Li, Lo, P
    for name, v, lo in checks:  # the first bad column, named as before
        bad = ~np.isfinite(v) | (v < lo) | ((v <= 0) if lo == 0.0 else False)
        if bad.any():
            rows, src = (np.flatnonzero(bad)[:10] + 1).tolist(), df.attrs.get("source") or "the profiles"
            raise ValueError(f"{src}: profile column {name!r} must be finite and "
                             f"{'>= 1' if lo == 1.0 else '> 0'}; bad rows (1-based): {rows}")
    return tp, pp, B, Li, Lo, P


def _canonical_precision(value: str) -> str:
    try:
        return tables.normalize_precision(value)
    except ValueError as exc:
        raise ValueError(f"profile column 'precision': {exc}") from None


def _precision_codes(df: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, canonical weight format per code): blank cells and an absent column are bf16."""
    default = _canonical_precision("bf16")
    if "precision" not in df.columns:
        return np.zeros(n, dtype=np.intp), np.array([default], dtype=object)
    codes, uniques = cells.codes(df["precision"])
    values = np.array([*(_canonical_precision(str(u)) for u in uniques), default], dtype=object)
    return np.where(codes < 0, len(uniques), codes), values


def _compute_precision(df: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, GEMM precision per code): the ``compute_precision`` column's where given, else ""
    (the precision table then picks it per GPU: :func:`energylens.profiles.precision.compute_precision`)."""
    if "compute_precision" not in df.columns:
        return np.zeros(n, dtype=np.intp), np.array([""], dtype=object)
    codes, uniques = cells.codes(df["compute_precision"])
    mapped = np.full(len(uniques) + 1, "", dtype=object)  # the last slot: missing cells (code -1)
    errors: dict[int, ValueError] = {}
    for j, value in enumerate(uniques):
        if str(value).strip() != "":
            try:
                mapped[j] = _precision.normalize_compute_precision(str(value))
            except ValueError as exc:
                errors[j] = exc
    if errors:  # the first bad row, as a row-by-row pass would meet it
        i = int(np.flatnonzero(np.isin(codes, list(errors)))[0])
        raise ValueError(f"profile column 'compute_precision', row {i + 1} (1-based): {errors[int(codes[i])]}")
    return np.where(codes < 0, len(uniques), codes), mapped


def _hardware(df: pd.DataFrame, precision: tuple[np.ndarray, np.ndarray], compute: tuple[np.ndarray, np.ndarray],
              gpu_specs: dict | None) -> dict[str, np.ndarray]:
    """GPU specs per row (the GPU table, a user GPU table or the profile's ``gpu_*`` columns), one lookup per
    unique (gpu, weight precision, compute precision); the compute precision of a weight format is the
    precision table's for that GPU unless the row gives one."""
    specs = _gpu_specs(df) if gpu_specs is None else gpu_specs
    codes, keys = cells.key_codes(df["gpu"], cells.Coded(*precision), cells.Coded(*compute))
    # (the Coded columns give their values as keys)
    table = np.empty((9, len(keys)))  # hardware_values, act_quant, domain GPUs, scale-out B/s per distinct key
    for j, (g, pr, cp) in sorted(enumerate(keys), key=lambda item: tuple(map(str, item[1]))):  # errors in key order
        spec = specs[str(g).strip()]
        table[:6, j] = hardware_values(spec, pr, cp)
        table[6:, j] = _precision.activation_quantised(pr, spec, cp), spec.domain_gpus(), spec.scale_out_gbs() * 1e9 / 2.0
    return dict(zip(("peak", "bw", "tdp", "link", "bpp", "compute_bytes", "act_quant", "domain", "out"),
                    table.take(codes, axis=1), strict=True))


def hardware_values(spec, precision: str, compute: str) -> tuple[float, ...]:
    """(peak FLOP/s, HBM bytes/s, TDP W, link bytes/s, weight bytes per param, compute bytes per param) of
    a GPU spec at a weight format and GEMM precision ("": the precision table's for that GPU)."""
    try:
        compute = compute or _precision.compute_precision(precision, spec)
        peak = _precision.gemm_peak_flops(spec, compute)  # "fp4" the fp4 peak, not the mxfp4 alias's bf16
    except ValueError as exc:
        raise ValueError(f"profile column 'precision': {exc}") from None
    return (peak, spec.hbm_bw_gbs * 1e9, spec.tdp_w,
            spec.interconnect_bw_gbs * 1e9 / 2.0,  # table is bidirectional
            tables.bytes_per_param(precision), tables.bytes_per_param(compute))


#: Optional model-table columns (tables.ModelSpec) the features use; NaN = the default in _architecture.
_EXTRA_ARCH = ("n_attention_layers", "n_moe_layers", "sliding_window", "n_sliding_layers",
               "state_elems_per_seq", "video_tokens_per_frame", "image_tokens_per_image",
               "vision_patches_per_token", "vision_layers", "vision_d_model", "fp8_weight_block",
               "vision_tile_tokens", "conv_state_elems_per_seq", "kv_lora_rank", "qk_rope_head_dim", "v_head_dim",
               "vocab_size", "tie_word_embeddings", "vision_params_b", "audio_params_b")
#: Every model-table column the architecture lookup reads, in its order (spec_values).
ARCH_LOOKUP = (*_ARCH, "n_experts", "experts_per_token", *_EXTRA_ARCH)


def _architecture(df: pd.DataFrame, P: np.ndarray, Pa: np.ndarray, pa_given: np.ndarray,
                  model_specs: dict | None = None) -> dict[str, np.ndarray]:
    """Architecture per row: profile columns, else the model table, else an estimate from params_b."""
    n = len(P)
    filled = ARCH_LOOKUP
    given = {c: _col(df, c) for c in filled if c in df.columns}  # an absent column: the table's, row by row
    is_image, is_video = _modalities(df, n)
    need = np.zeros(n, dtype=bool) if all(c in given for c in _ARCH) else np.ones(n, dtype=bool)
    for c in _ARCH:
        if c in given:
            need |= ~np.isfinite(given[c])
    codes, keys, specs = _model_keys(df["model"], P, model_specs)
    any_need = np.bincount(codes, weights=need | is_image | ~pa_given, minlength=len(keys)) > 0
    first = np.zeros(len(keys), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # each key's first row
    # per distinct (model, params_b): the table's value of each column, NaN where nothing is filled
    table = np.full((len(filled) + 2, len(keys)), np.nan)  # + active ratio, vision encoder size
    table[-1] = 0.0
    kinds = df["architecture"].astype(str).to_numpy() if "architecture" in df.columns else np.full(n, "dense")
    for j, _key in sorted(enumerate(keys), key=lambda item: (str(item[1][0]), float(item[1][1]))):
        spec, r = specs[j], first[j]
        if spec is None:  # unknown model: estimated from its first row (MoE by its active params, hybrid)
            if not any_need[j] and kinds[r] not in ("moe", "hybrid"):
                continue
            spec = tables.estimate_architecture(float(P[r]) / 1e9, kinds[r], float(Pa[r]) / 1e9 if pa_given[r] else None)
        table[:, j] = spec_column(spec, filled)
    arch: dict[str, np.ndarray] = {}
    per_row = table.take(codes, axis=1)  # one take for every column (each row of it contiguous)
    for c, row in zip(filled, per_row, strict=False):
        v = given.get(c)
        arch[c] = row if v is None else np.where(np.isfinite(v), v, row)
    ratio = per_row[-2]
    Pa = np.where(pa_given | np.isnan(ratio), Pa, P * ratio)  # NaN ratio: no table row was looked up
    arch["vision_b"] = per_row[-1]
    arch["active"] = np.where(np.isfinite(Pa) & (Pa > 0), Pa, P)
    E = arch["n_experts"]
    arch["n_experts"] = E = np.where(np.isfinite(E) & (E >= 1), E, 1.0)
    k = arch["experts_per_token"]
    arch["experts_per_token"] = np.where(np.isfinite(k) & (k >= 1), np.minimum(k, E), 1.0)
    known = np.array([arch[c] for c in _ARCH])
    if not ((known > 0) & np.isfinite(known)).all():  # (the first bad column named, as column by column)
        for c in _ARCH:
            if not (np.isfinite(arch[c]).all() and (arch[c] > 0).all()):
                rows = np.flatnonzero(~(np.isfinite(arch[c]) & (arch[c] > 0)))[:10].tolist()
                raise ValueError(f"architecture column {c!r} unknown or non-positive for rows {rows}")
    L = arch["n_layers"]
    La = arch["n_attention_layers"]
    arch["n_attention_layers"] = np.where(np.isfinite(La) & (La >= 1), np.minimum(La, L), L)
    Lm = arch["n_moe_layers"]
    arch["n_moe_layers"] = np.where(np.isfinite(Lm) & (Lm >= 0), np.minimum(Lm, L), L)
    ns, w = arch["n_sliding_layers"], arch["sliding_window"]
    ok = np.isfinite(ns) & (ns > 0) & np.isfinite(w) & (w > 0)
    arch["n_sliding_layers"] = np.where(ok, np.minimum(ns, arch["n_attention_layers"]), 0.0)
    arch["sliding_window"] = np.where(ok, w, 1.0)
    st = arch["state_elems_per_seq"]
    arch["state_elems"] = np.where(np.isfinite(st) & (st > 0), st, 0.0)
    cv = arch["conv_state_elems_per_seq"]
    arch["conv_elems"] = np.where(np.isfinite(cv) & (cv > 0), cv, 0.0)
    arch["is_image"], arch["is_video"] = is_image, is_video
    return arch


def _model_keys(models, P: np.ndarray, model_specs: dict | None = None) -> tuple[np.ndarray, list[tuple], list]:
    """(code, (model, params_b), model-table row or None) per distinct key of the architecture lookup.
    The table's row depends on the model alone and params_b only estimates an unknown model, so with
    every model known the key is the model (params_b NaN; a float column's factorisation was a large
    part of the lookup)."""
    codes, keys = cells.key_codes(models)
    specs = [tables.find_model(str(m)) if model_specs is None else model_specs[m] for (m,) in keys]
    if all(spec is not None for spec in specs):
        return codes, [(m, math.nan) for (m,) in keys], specs
    codes, keys = cells.key_codes(models, P / 1e9)
    return codes, keys, [tables.find_model(str(m)) for m, _ in keys]


def _modalities(df: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: an image or video row; a video row (one comparison per distinct modality)."""
    if "modality" not in df.columns:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    codes, uniques = pd.factorize(df["modality"], use_na_sentinel=False)
    kinds = np.array([str(u) for u in uniques], dtype=object)
    return np.isin(kinds, ("image", "video")).take(codes), (kinds == "video").take(codes)


def spec_values(spec, names: tuple[str, ...]) -> tuple[float, ...]:
    """A model-table row's values of ``names`` as floats (NaN where blank)."""
    return tuple(spec_column(spec, names)[: len(names)].tolist())


def _encoder_flops(df: pd.DataFrame, Li: np.ndarray, arch: dict[str, np.ndarray]) -> np.ndarray:
    """Vision-encoder FLOPs per request. Visual LLM tokens: image rows one image of the table's tokens
    per image (capped at the prompt, the whole prompt if unknown); video rows ``video_frames``
    (profile column: frames the encoder sees) x the table's tokens per frame, capped at the prompt,
    else the whole prompt. The encoder runs on patches, ``vision_patches_per_token`` (p, default 1) per
    visual token, each costing 2 FLOP per encoder parameter plus attention over the patches of its
    image (video: of its frame; a tiled encoder: of its tile, ``vision_tile_tokens`` x p),
    4 x ``vision_layers`` x ``vision_d_model`` FLOP per patch pair
    (QK^T and PV, bidirectional; 0 where the table has no depth / width)."""
    n = len(Li)
    if not arch["is_image"].any():
        return np.zeros(n)
    img = arch["image_tokens_per_image"]
    per_frame = arch["video_tokens_per_frame"]
    frames = _col(df, "video_frames") if "video_frames" in df.columns else np.full(n, np.nan)
    vid = frames * per_frame
    is_video = arch["is_video"]
    vis_tok = np.where(is_video, np.where(np.isfinite(vid), np.minimum(vid, Li), Li),
                       np.where(np.isfinite(img), np.minimum(img, Li), Li))
    p = arch["vision_patches_per_token"]
    p = np.where(np.isfinite(p) & (p >= 1) & VISION_PATCHES, p, 1.0)
    tile = arch["vision_tile_tokens"]
    tile = np.where(np.isfinite(tile) & (tile > 0), tile, vis_tok)   # tiled encoders attend within a tile
    window = np.where(is_video, np.where(np.isfinite(per_frame), per_frame, vis_tok), np.minimum(tile, vis_tok))
    window = np.minimum(window, vis_tok) * p
    attn = 4.0 * arch["vision_layers"] * arch["vision_d_model"] * window
    attn = np.where(np.isfinite(attn) & (attn > 0) & VISION_PATCHES, attn, 0.0)
    per_patch = ENCODER_FLOPS_PER_PARAM_TOKEN * arch["vision_b"] * 1e9 + attn
    return np.where(arch["is_image"], vis_tok * p * per_patch, 0.0)


# Domain of each feature where it is not "finite and > 0": (lower bound, bound included).
_FEATURE_DOMAIN: dict[str, tuple[float, bool]] = {
    "tp": (1.0, True), "pp": (1.0, True), "prefill_extra_flops": (0.0, True), "dp": (1.0, True), "ep": (1.0, True),
    "a2a_moe_layers": (0.0, True), "experts_per_token": (1.0, True), "state_bytes_per_seq": (0.0, True),
    "moe_layers": (0.0, True), "pp_scale_out_hops": (0.0, True)}


def check_feature_domain(name: str, col: np.ndarray) -> None:
    """Raise ValueError naming the feature and first bad row unless every value of feature ``name`` is
    finite and in its domain (tp, pp >= 1; prefill_extra_flops >= 0; every other feature > 0). For
    feature columns built without :func:`build_features` (which gets them from validated rows)."""
    lower, inclusive = _FEATURE_DOMAIN.get(name, (0.0, False))
    if col.size == 0:
        return
    # a broadcast scalar: no reductions (the per-call cost of small inputs); NaN propagates into min and max
    lo, hi = (float(col.reshape(-1)[0]),) * 2 if col.size == 1 else (float(col.min()), float(col.max()))
    if math.isfinite(lo) and math.isfinite(hi) and (lo >= lower if inclusive else lo > lower):
        return
    flat = np.atleast_1d(col)
    bad = ~np.isfinite(flat) | ((flat < lower) if inclusive else (flat <= lower))
    row = int(np.flatnonzero(bad)[0])
    need = f">= {lower:g}" if inclusive else f"> {lower:g}"
    raise ValueError(f"feature {name!r} row {row} is {float(flat[row])!r}; it must be finite and {need}")


@functools.lru_cache(maxsize=64)
def _lower_bounds(names: tuple[str, ...], dtype: str) -> np.ndarray:
    kind = np.dtype(dtype).type
    bounds = (_FEATURE_DOMAIN.get(name, (0.0, False)) for name in names)
    values = np.array([float(kind(lo) if inc else np.nextafter(kind(lo), kind(np.inf))) for lo, inc in bounds],
                      dtype=np.float64)
    values.flags.writeable = False
    return values


def domain_lower_bounds(names: tuple[str, ...], dtype=np.float64) -> np.ndarray:
    """Per feature of ``names``, the least value of its domain in ``dtype`` (the next representable value
    above an exclusive bound), as float64: the native evaluator's fused domain check (``_core.evaluate(...,
    domain=)``) accepts exactly what :func:`check_feature_domain` accepts."""
    return _lower_bounds(tuple(names), np.dtype(dtype).name)


def _gpu_specs(profiles: pd.DataFrame) -> dict:
    """Every distinct GPU's spec (table, user GPU table, or the profile's ``gpu_*`` spec columns); a spec
    the template needs but the row lacks is an error naming the GPU, the column and both remedies."""
    try:
        specs = profiles.gpu_specs() if isinstance(profiles, FrameColumns) else tables.gpu_specs_for_profiles(profiles)
    except UnknownGpuError as exc:  # the message names the rows and both remedies (and the column, where it does)
        raise UnknownGpuError(str(exc) if "column 'gpu'" in str(exc) else f"profile column 'gpu': {exc}") from None
    for g, spec in specs.items():
        blank = [c for c in ("hbm_bw_gbs", "tdp_w", "interconnect_bw_gbs") if not (getattr(spec, c) > 0)]
        if blank:
            raise ValueError(
                f"profile column 'gpu': GPU {g!r} ({spec.name}) has no {', '.join(blank)} in the GPU table; "
                f"give it in the profile columns {', '.join('gpu_' + c for c in blank)} or in a user GPU "
                "table (--gpu-table FILE; docs/reference-tables.md)")
    return specs
