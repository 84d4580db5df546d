"""The native prediction inputs of the light path: a table's own columns and one row of constants per
(model, GPU, weight precision) combination, for ``_core.predict_rows``.

:func:`energylens.profiles.features.features_of` builds the template's 23 features with about 60 NumPy
passes over the rows. Most of them are the same for every row of one combination (architecture from the
model table, hardware from the GPU table); what varies per row (tp, pp, batch, lengths, params_b) is a
few lines of arithmetic. :func:`row_inputs` resolves the constants once per combination the rows use
(the same table lookups and clean-ups as features.py, in the same order, so the values are equal bit for
bit) and hands the columns to the native pass (cpp/src/row_features.cpp), which builds each block of
features in cache and evaluates the template on it. It only ever accepts: where features.py would raise
or warn for some combination (an architecture value missing, a precision the GPU cannot run) it returns
None and the caller runs features.py, which raises with its usual message. tests/profiles/test_native_rows.py
checks the features against features.py and the predictions against the NumPy path.
"""
from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np

from energylens import _core
from energylens.errors import EnergyLensError
from energylens.profiles import features as _features
from energylens.profiles import precision as _precision
from energylens.profiles import tables
from energylens.profiles.architecture import attention_per_layer, prefill_attention_per_layer
from energylens.profiles.cells import Coded
from energylens.profiles.checkpoints import checkpoint_layout, weight_only_compute
from energylens.profiles.light import LightProfiles
from energylens.profiles.step_weights import HEAD_BYTES_PER_PARAM, decode_reads

__all__ = ["RowInputs", "row_inputs", "feature_rows", "MAX_COMBOS"]

#: Largest model x GPU x precision key space the native pass takes (its constant table is that long).
MAX_COMBOS = 1 << 16
_NUMBERS = ("tp", "pp", "batch_size", "input_tokens", "output_tokens", "params_b")
# ComboField (row_features.hpp) of the routed experts and experts per token: _combo's order
_EXPERTS, _EXPERTS_PER_TOKEN = 5, 6
# the architecture values step_weights.decode_reads reads
_READS = ("d_model", "vocab_size", "tie_word_embeddings", "vision_params_b", "audio_params_b")


class RowInputs(NamedTuple):
    """The arguments of ``_core.predict_rows`` after the template name."""

    numbers: list[np.ndarray]
    codes: list[np.ndarray | None]
    n_gpu: int
    n_precision: int
    combos: np.ndarray
    kv_head_replication: bool


def row_inputs(light: LightProfiles) -> RowInputs | None:
    """The native pass's inputs for validated light-path rows, or None where features.py must run."""
    if "precision" in light:
        prec = light["precision"]
        assert isinstance(prec, Coded)
        try:
            formats = [tables.normalize_precision(str(v)) for v in prec.values]
        except ValueError:
            return None
        prec_codes: np.ndarray | None = prec.codes
    else:
        formats, prec_codes = [tables.normalize_precision("bf16")], None
    models, gpus = light["model"], light["gpu"]
    assert isinstance(models, Coded) and isinstance(gpus, Coded)
    if any(weight_only_compute(str(m), f) for m in models.values for f in formats):
        return None  # a weight-only checkpoint (quantized.w8a16): features.py gives its rows 16-bit compute
    only = _features.EXPERT_ONLY_PRECISIONS
    if any(checkpoint_layout(str(m), f, only) != checkpoint_layout("", f, only) for m in models.values for f in formats):
        return None  # a checkpoint's own layout (Kimi-K2-Thinking: int4 experts only): features.py prices it
    shape = (len(models.values), len(gpus.values), len(formats))
    if math.prod(shape) > MAX_COMBOS:
        return None
    codes = [models.codes, gpus.codes, prec_codes]
    used = _core.used_combos(codes, *shape)
    specs = ([light.model_specs[m] for m in models.values], [light.gpu_specs[g] for g in gpus.values])
    combos = _combo_table(specs, formats, used, shape)
    if combos is None:
        return None
    numbers = [np.asarray(light[c], dtype=np.float64) for c in _NUMBERS]
    if not _core.numbers_ok(numbers[3], 0.0, False):  # input_tokens 0: the schema allows it, features.py raises
        return None
    if "scale_up_domain_gpus" in light:
        return None  # the rows' own domains: features.py reads them (profiles/topology.py)
    if any(c in light and (np.asarray(light[c]) != 1.0).any() for c in ("dp", "ep")):
        return None  # data / expert parallelism: the native row features count one replica, no EP group
    if "kv_cache_dtype" in light and any(v != "auto" for v in light["kv_cache_dtype"].values):
        return None  # a KV-cache dtype of its own: features.py prices its bytes
    return RowInputs(numbers, codes, shape[1], shape[2], combos, bool(_features.KV_HEAD_REPLICATION))


def feature_rows(light: LightProfiles, names: tuple[str, ...] = _features.FEATURE_NAMES) -> np.ndarray | None:
    """The template features ``names`` of validated light-path rows as one C-contiguous (features, rows)
    float64 array, built by the native pass's feature code (``_core.row_features``), or None where it
    cannot serve: ``names`` other than :data:`~energylens.profiles.features.FEATURE_NAMES` (its order),
    or rows :func:`row_inputs` declines (features.py must run). Equal to features.py's bit for bit: the MoE rows' touched fraction 1 - (1 - k/E)^B is
    computed here by features.py's own NumPy expression (NumPy's SIMD pow and the C library's differ in
    the last bit for some inputs) and handed to the native code. What ``fit(df)`` stacks for the fitter."""
    inputs = row_inputs(light) if names == _features.FEATURE_NAMES else None
    if inputs is None:
        return None
    touch = None
    if np.fmax.reduce(inputs.combos[:, _EXPERTS]) > 1.0:  # some combination is a MoE (fmax: unused ones are NaN)
        models, gpus, precisions = inputs.codes
        assert models is not None and gpus is not None
        combo = models * inputs.n_gpu + gpus if precisions is None else \
            (models * inputs.n_gpu + gpus) * inputs.n_precision + precisions
        E, k = inputs.combos[:, [_EXPERTS, _EXPERTS_PER_TOKEN]].T.take(combo, axis=1)  # contiguous rows
        # features.py's moe_touch_fraction(E, k, B / copies) for its MoE rows (copies = dp = 1 on the light
        # path, B / 1.0 = B): the same NumPy expression on contiguous arrays of the same values, the same bits
        touch = 1.0 - (1.0 - k / E) ** np.maximum(inputs.numbers[2], 1.0)
    return _core.row_features(inputs.numbers, inputs.codes, inputs.n_gpu, inputs.n_precision, inputs.combos,
                              inputs.kv_head_replication, touch=touch)


# (ids of the model specs, ids of the GPU specs, formats, switches, used combinations) -> (the specs, the
# combination table, read-only): a table whose rows use the same combinations as the last fit's or chunk's
# (a refit, a cross-validation fold, the next chunk of a large table) skips the per-combination lookups.
_TABLES: dict[tuple, tuple] = {}
#: Largest combination table remembered (1024 x 21 values, 172 kB; at most 32 of them).
_TABLE_CACHE_COMBOS = 1024


def _switches() -> tuple:
    """The features.py ablation switches a combination row depends on."""
    return (_features.FP8_BLOCK_SCALED, _features.MOE_LAUNCH_LAYERS, _features.STATE_TRAFFIC_PER_STEP,
            _features.ACT_QUANT_LAUNCH_LAYERS, _features.DECODE_WEIGHT_READS, _features.TOKEN_FLOPS_AND_ENCODERS)


def _combo_table(specs: tuple[list, list], formats: list[str], used: np.ndarray,
                 shape: tuple[int, int, int]) -> np.ndarray | None:
    """The ComboField rows of every combination ``used`` marks (NaN elsewhere), a read-only
    (combinations, ROW_COMBO_FIELDS) array; None where :func:`_combo` declines one."""
    switches = _switches()
    key = (tuple(map(id, specs[0])), tuple(map(id, specs[1])), tuple(formats), switches, used.tobytes())
    hit = _TABLES.get(key)
    if hit is not None and all(map(operator.is_, hit[0][0] + hit[0][1], specs[0] + specs[1])):
        return hit[1]
    model_specs, gpu_specs = specs
    flat = np.flatnonzero(used)
    rows = []
    for m, g, p in zip(*(i.tolist() for i in np.unravel_index(flat, shape)), strict=True):
        row = _combo_cached(model_specs[m], gpu_specs[g], formats[p], switches)
        if row is None:
            return None
        rows.append(row)
    combos = np.full((math.prod(shape), _core.ROW_COMBO_FIELDS), np.nan)
    combos[flat] = np.concatenate(rows).reshape(len(rows), _core.ROW_COMBO_FIELDS)  # (one C loop, not lists)
    combos.flags.writeable = False
    if len(combos) <= _TABLE_CACHE_COMBOS:
        if len(_TABLES) >= 32:
            _TABLES.clear()
        _TABLES[key] = ((list(model_specs), list(gpu_specs)), combos)
    return combos


# (id(model spec), id(GPU spec), format, switches) -> (model spec, GPU spec, combo row as a float64 array,
# never written to): the specs are frozen values, held here so their ids stay theirs; a chunk of a large
# table (or the next fit) looks its combinations up again.
_CACHE: dict[tuple, tuple] = {}


def _combo_cached(model, gpu, weight_format: str, switches: tuple) -> np.ndarray | None:
    """:func:`_combo`, remembered per (model spec, GPU spec, format) object and the ablation ``switches``
    it reads (:func:`_switches`)."""
    key = (id(model), id(gpu), weight_format, switches)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is model and hit[1] is gpu:
        return hit[2]
    values = _combo(model, gpu, weight_format)
    row = None if values is None else np.array(values, dtype=np.float64)
    if len(_CACHE) >= 4096:
        _CACHE.clear()
    _CACHE[key] = (model, gpu, row)
    return row


def _combo(model, gpu, weight_format: str) -> list[float] | None:
    """The ComboField values (row_features.hpp) of one combination, as features.py computes them per row
    (None where it would raise: the caller then runs it)."""
    arch = _architecture(model)
    if arch is None:
        return None
    E, La = arch["n_experts"], arch["n_attention_layers"]
    fmt = weight_format
    blk = arch["fp8_weight_block"]
    if _features.FP8_BLOCK_SCALED and fmt == "fp8" and math.isfinite(blk) and blk > 0:
        fmt = "fp8_block"
    try:
        peak, bw, tdp, link, bpp, compute_bytes = _features.hardware_values(gpu, fmt, "")
    except (ValueError, EnergyLensError):
        return None
    moe = E > 1.0
    launch = arch["n_moe_layers"] if moe and _features.MOE_LAUNCH_LAYERS else 0.0
    if _features.ACT_QUANT_LAUNCH_LAYERS and _precision.activation_quantised(fmt, gpu):
        launch = launch + _features.ACT_QUANT_LAUNCH_LAYERS * arch["n_layers"]  # features.py: W8A8 layers
    shared_bpp = compute_bytes if moe and fmt in _features.EXPERT_ONLY_PRECISIONS else bpp
    elem = 4.0 if compute_bytes >= 4.0 else 2.0  # the KV element: the activation dtype (kv_cache_dtype auto)
    fill_active = float(model.active_params_b) if model.params_b > 0 else math.nan  # light.py's fill
    fill_total = float(model.params_b) if model.params_b > 0 else math.nan
    kv_heads, kv_elems, attn = attention_per_layer(arch)  # features.py's (MLA: one latent, on every TP rank)
    values = {c: np.float64(arch[c]) for c in _READS}
    flop_on = _features.TOKEN_FLOPS_AND_ENCODERS
    reads = decode_reads(values, _features.DECODE_WEIGHT_READS, flop_on)
    token = decode_reads(values, flop_on)  # the matrices of a token's FLOPs (step_weights.token_params)
    return [arch["n_layers"], arch["d_model"], fill_active, fill_total, arch["ratio"], E, arch["experts_per_token"],
            La, arch["n_sliding_layers"], arch["sliding_window"], La * kv_elems * elem, La * attn,
            kv_heads, _state_bytes(arch, elem), peak, bw, tdp, link, bpp, shared_bpp, launch,
            La * prefill_attention_per_layer(arch),
            gpu.scale_out_gbs() * 1e9 / 2.0,  # features.py's scale-out B/s
            gpu.domain_gpus(),  # a row with tp x pp above it crosses domains (the native pass prices it)
            float(reads.embeddings), float(max(shared_bpp, HEAD_BYTES_PER_PARAM) * reads.head),  # step_weights'
            float(reads.vision), float(token.embeddings), float(token.head)]


def _architecture(model) -> dict[str, float] | None:
    """features.py's _architecture for a model-table row (no profile overrides), or None where it raises."""
    a = dict(zip(_features.ARCH_LOOKUP, _features.spec_values(model, _features.ARCH_LOOKUP), strict=True))
    try:
        a["ratio"] = float(model.active_params_b) / float(model.params_b)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(a[c]) and a[c] > 0 for c in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim")):
        return None
    E, k, L = a["n_experts"], a["experts_per_token"], a["n_layers"]
    a["n_experts"] = E = E if math.isfinite(E) and E >= 1 else 1.0
    a["experts_per_token"] = min(k, E) if math.isfinite(k) and k >= 1 else 1.0
    La, Lm = a["n_attention_layers"], a["n_moe_layers"]
    a["n_attention_layers"] = La = min(La, L) if math.isfinite(La) and La >= 1 else L
    a["n_moe_layers"] = min(Lm, L) if math.isfinite(Lm) and Lm >= 0 else L
    ns, w = a["n_sliding_layers"], a["sliding_window"]
    ok = math.isfinite(ns) and ns > 0 and math.isfinite(w) and w > 0
    a["n_sliding_layers"] = min(ns, La) if ok else 0.0
    a["sliding_window"] = w if ok else 1.0
    st = a["state_elems_per_seq"]
    a["state_elems"] = st if math.isfinite(st) and st > 0 else 0.0
    cv = a["conv_state_elems_per_seq"]
    a["conv_elems"] = cv if math.isfinite(cv) and cv > 0 else 0.0
    return a


def _state_bytes(arch: dict[str, float], elem: float) -> float:
    """features.py's Mamba state traffic per sequence and step with no ``mamba_ssm_cache_dtype`` column (the
    SSM state in the activations' dtype), in its order of operations so the bits agree."""
    conv = min(arch["conv_elems"], arch["state_elems"])
    return ((arch["state_elems"] - conv) * elem + conv * elem) * _features.STATE_TRAFFIC_PER_STEP
