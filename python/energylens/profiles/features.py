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

from energylens import _core
from energylens.errors import UnknownGpuError
from energylens.profiles import cells, tables
from energylens.profiles.architecture import vision_encoders
from energylens.profiles.schema import as_profiles

__all__ = ["FEATURE_NAMES", "FEATURE_UNITS", "build_features", "check_feature_domain", "moe_touch_fraction"]

_DESCRIPTOR = _core.describe_template("energy")  # both templates share the feature list

#: Ordered per-row inputs of the templates (units in the names): the native descriptor's list
#: (cpp/src/templates.cpp), not a copy of it.
FEATURE_NAMES: tuple[str, ...] = _DESCRIPTOR.feature_names

#: Unit of each feature, from the same descriptor.
FEATURE_UNITS: dict[str, str] = dict(zip(FEATURE_NAMES, _DESCRIPTOR.feature_units, strict=True))

_ARCH = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim")

#: Bytes per activation element exchanged in TP all-reduces (16-bit activations).
ACTIVATION_BYTES = 2.0
#: Vision-encoder FLOPs per image token per encoder parameter (one forward pass: 2 FLOP/param/token).
ENCODER_FLOPS_PER_PARAM_TOKEN = 2.0


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    return np.array(df[name], dtype=np.float64, copy=True)


def build_features(profiles: pd.DataFrame) -> dict[str, np.ndarray]:
    """Template inputs for every row of ``profiles``.

    ``profiles`` is a profile table of schema v1. A frame :func:`energylens.profiles.load_profiles` has not
    validated yet is validated (and its architecture filled) by it first (``energy_j`` not required), so
    its errors name the column and 1-based rows; rows are validated and architectures filled there only.

    Returns:
        dict name -> contiguous float64 array of len(profiles), keys in :data:`FEATURE_NAMES` order.

    Raises:
        ValueError: not a DataFrame, an empty table, a row that violates schema v1
            (:class:`~energylens.errors.ProfileSchemaError`), an unknown GPU or a precision the GPU has no
            peak for, an architecture left unknown (a frame loaded with ``fill_architecture=False``).
    """
    if not isinstance(profiles, pd.DataFrame):
        raise ValueError(f"build_features expects a pandas DataFrame, got {type(profiles).__name__}")
    if len(profiles) == 0:
        raise ValueError("profile table is empty")
    df = as_profiles(profiles, require_energy=False).reset_index(drop=True)
    hw = _hardware(df)
    model = _model_columns(df)
    B, Li = _col(df, "batch_size"), _col(df, "input_tokens")
    L, H, Hkv, dh = model["n_layers"], model["n_heads"], model["n_kv_heads"], model["head_dim"]
    kv_dtype = df["kv_cache_dtype"].to_numpy(dtype=object)
    out = {
        "tp": _col(df, "tp"), "pp": _col(df, "pp"), "batch_size": B, "input_tokens": Li,
        "output_tokens": _col(df, "output_tokens"), "n_layers": L, "d_model": model["d_model"],
        "active_params": model["active_params"],
        "weight_bytes_per_step": _weight_bytes(model, hw["bytes_per_param"], B),
        "kv_bytes_per_token": 2.0 * L * Hkv * dh * _kv_element_bytes_vec(hw["bytes_per_param"], kv_dtype),
        "attn_flops_per_token_ctx": 4.0 * L * H * dh,
        "prefill_extra_flops": _encoder_flops(df, Li),
        "peak_flops_per_s": hw["peak"], "hbm_bytes_per_s": hw["bw"], "tdp_w": hw["tdp"], "link_bytes_per_s": hw["link"],
    }
    return {name: np.ascontiguousarray(out[name], dtype=np.float64) for name in FEATURE_NAMES}


def _hardware(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-row GPU specs at the row's precision, one table lookup per unique (gpu, precision)."""
    n = len(df)
    hw = {k: np.empty(n) for k in ("peak", "bw", "tdp", "link", "bytes_per_param")}
    specs = _gpu_specs(df)
    for (g, pr), idx in cells.key_groups(df["gpu"], df["precision"]):
        g, pr = str(g), str(pr)
        spec = specs[g.strip()]
        try:
            pk = tables.peak_flops(spec, pr)          # at the compute precision of the weight format
            b = tables.bytes_per_param(pr)            # block scales included (profiles.precision)
        except ValueError as exc:
            raise ValueError(f"profile column 'precision': {exc}") from None
        hw["peak"][idx] = pk
        hw["bw"][idx] = spec.hbm_bw_gbs * 1e9
        hw["tdp"][idx] = spec.tdp_w
        hw["link"][idx] = spec.interconnect_bw_gbs * 1e9 / 2.0   # table is bidirectional
        hw["bytes_per_param"][idx] = b
    return hw


def _model_columns(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Architecture (filled by load_profiles), total and active parameters (counts), experts (1 dense)."""
    arch = {c: _col(df, c) for c in _ARCH}
    for c in _ARCH:
        if not (np.isfinite(arch[c]).all() and (arch[c] > 0).all()):
            rows = np.flatnonzero(~(np.isfinite(arch[c]) & (arch[c] > 0)))[:10].tolist()
            raise ValueError(f"architecture column {c!r} unknown or non-positive for rows {rows} (0-based); "
                             "load the profiles with fill_architecture=True or give the column")
    P = _col(df, "params_b") * 1e9
    Pa = _col(df, "active_params_b") * 1e9
    E = _col(df, "n_experts")
    k = _col(df, "experts_per_token")
    E = np.where(np.isfinite(E) & (E >= 1), E, 1.0)
    return {**arch, "params": P, "active_params": np.where(np.isfinite(Pa) & (Pa > 0), Pa, P), "n_experts": E,
            "experts_per_token": np.where(np.isfinite(k) & (k >= 1), np.minimum(k, E), 1.0)}


def _weight_bytes(model: dict[str, np.ndarray], bpp: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Weight bytes one decode step streams: dense, the language model's active weights (a vision encoder
    runs once per image, not per step); MoE, the shared weights plus the experts the batch touches."""
    P, Pa, E, k = model["params"], model["active_params"], model["n_experts"], model["experts_per_token"]
    moe = E > 1.0
    frac = k / E                                                  # experts per token / experts
    touch = moe_touch_fraction(E, k, B)
    n_exp_params = np.where(moe, np.maximum(P - Pa, 0.0) / np.where(moe, 1.0 - frac, 1.0), 0.0)
    shared = P - n_exp_params
    return np.where(moe, bpp * (shared + touch * n_exp_params), bpp * Pa)


def _encoder_flops(df: pd.DataFrame, Li: np.ndarray) -> np.ndarray:
    """Vision-encoder FLOPs per request. Visual tokens: one image per request for "image" (its table
    token count, else the whole prompt), every prompt token for "video" (frames x tokens per frame)."""
    modality = df["modality"].astype(str)
    is_image = modality.isin(("image", "video")).to_numpy(dtype=bool)
    if not is_image.any():
        return np.zeros(len(df))
    vision_b, img = vision_encoders(df["model"].astype(str), _col(df, "params_b"), is_image,
                                    _col(df, "image_tokens_per_image"))
    is_video = (modality == "video").to_numpy(dtype=bool)
    vis_tok = np.where(is_video, Li, np.where(np.isfinite(img), np.minimum(img, Li), Li))
    return np.where(is_image, ENCODER_FLOPS_PER_PARAM_TOKEN * vision_b * 1e9 * vis_tok, 0.0)


# Domain of each feature where it is not "finite and > 0": (lower bound, bound included).
_FEATURE_DOMAIN: dict[str, tuple[float, bool]] = {"tp": (1.0, True), "pp": (1.0, True),
                                                   "prefill_extra_flops": (0.0, True)}


def check_feature_domain(name: str, col: np.ndarray) -> None:
    """Raise ValueError naming the feature and first bad row unless every value of feature ``name`` is
    finite and in its domain (tp, pp >= 1; prefill_extra_flops >= 0; every other feature > 0). For
    feature columns built without :func:`build_features` (which gets them from validated rows)."""
    lower, inclusive = _FEATURE_DOMAIN.get(name, (0.0, False))
    if col.size == 0:
        return
    if col.size == 1:  # a broadcast scalar: no reductions (the per-call cost of small inputs)
        lo = hi = float(col.reshape(-1)[0])
    else:
        lo, hi = float(col.min()), float(col.max())  # NaN propagates into both
    ok = math.isfinite(lo) and math.isfinite(hi) and (lo >= lower if inclusive else lo > lower)
    if ok:
        return
    flat = np.atleast_1d(col)
    bad = ~np.isfinite(flat) | ((flat < lower) if inclusive else (flat <= lower))
    row = int(np.flatnonzero(bad)[0])
    need = f">= {lower:g}" if inclusive else f"> {lower:g}"
    raise ValueError(f"feature {name!r} row {row} is {float(flat[row])!r}; it must be finite and {need}")


def moe_touch_fraction(n_experts: np.ndarray, experts_per_token: np.ndarray, batch_size: np.ndarray) -> np.ndarray:
    """Expected fraction of the experts a decode step of ``batch_size`` top-k tokens touches:
    1 - (1 - k/E)^B for a mixture of experts (E > 1), 1 for a dense model. Scales the expert weights in
    ``weight_bytes_per_step``."""
    moe = n_experts > 1.0
    return np.where(moe, 1.0 - (1.0 - experts_per_token / n_experts) ** np.maximum(batch_size, 1.0), 1.0)


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
    codes, uniques = pd.factorize(kv_dtype, sort=True)  # sorted: the first unknown dtype raises, as before
    for j, dtype in enumerate(uniques):
        key = str(dtype).strip().lower()
        if key in ("auto", "", "nan"):
            continue
        try:
            out = np.where(codes == j, tables.KV_CACHE_DTYPE_BYTES[tables.normalize_kv_cache_dtype(key)], out)
        except ValueError as exc:
            raise ValueError(f"profile column 'kv_cache_dtype': {exc}") from None
    return out
