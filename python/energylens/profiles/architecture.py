"""Model facts taken from the model table (:mod:`energylens.profiles.tables`), in one place.

:func:`fill_architecture` fills the architecture cells of schema-v1 rows that a profile left empty
(:func:`energylens.profiles.load_profiles` calls it); :func:`vision_encoders` gives the vision-encoder
size and tokens per image of image/video rows (:func:`energylens.profiles.features.build_features` calls
it); :func:`attention_per_layer` sizes one attention layer's KV cache and FLOPs (ordinary or multi-head
latent attention), the one place that formula lives (:func:`prefill_attention_per_layer` the
prefill's FLOPs, which differ for MLA). Unknown models are estimated from ``params_b
(:func:`energylens.profiles.tables.estimate_architecture`) with one
:class:`~energylens.profiles.tables.EstimatedArchitectureWarning` naming them.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from energylens import warning_sink
from energylens.profiles import cells, tables

__all__ = ["fill_architecture", "vision_encoders", "spec_column", "attention_per_layer",
           "prefill_attention_per_layer",
           "DEFAULT_VISION_PARAMS_B"]

#: The columns :func:`attention_per_layer` reads.
ATTENTION_COLUMNS = ("n_heads", "n_kv_heads", "head_dim", "kv_lora_rank", "qk_rope_head_dim", "v_head_dim")

#: Default vision-encoder size (billions) when an image model's table row has none (CLIP ViT-L ~0.3B).
DEFAULT_VISION_PARAMS_B = 0.3

# Columns that do not make a row "need" the table: an image count is only meaningful for image rows.
_NOT_REQUIRED = ("image_tokens_per_image",)


def fill_architecture(models: np.ndarray, params_b: np.ndarray, arch: dict[str, np.ndarray],
                      architecture: np.ndarray, active_params_b: np.ndarray, *, source: str) -> None:
    """Fill, in place, NaN cells of ``arch`` (architecture column -> float array), blank cells of
    ``architecture`` and NaN cells of ``active_params_b`` from the model table, one lookup per
    (model, params_b). Models not in the table get an estimated architecture (and no architecture kind
    or active ratio), listed in one warning that names ``source``."""
    need_arch = np.zeros(len(models), dtype=bool)
    for c, values in arch.items():
        if c not in _NOT_REQUIRED:
            need_arch |= np.isnan(values)
    need_meta = cells.is_missing(architecture) | np.isnan(active_params_b)
    rows = np.flatnonzero(need_arch | need_meta)
    if len(rows) == 0:
        return
    whole = len(rows) == len(models)
    codes, keys = cells.key_codes(models if whole else models[rows])  # the table row depends on the model only
    if any(tables.find_model(str(name)) is None for (name,) in keys):  # params_b estimates an unknown one
        codes, keys = cells.key_codes(models if whole else models[rows], params_b if whole else params_b[rows])
    else:
        keys = [(name, math.nan) for (name,) in keys]
    arch_pick = need_arch[rows]
    arch_rows, arch_codes = rows[arch_pick], codes[arch_pick]
    first_arch_row = np.full(len(keys), -1, dtype=np.intp)  # per key: its first row that needs the table
    first_arch_row[arch_codes[::-1]] = arch_rows[::-1]
    # per distinct (model, params_b), one table lookup: the column values, kind and active/total params
    fill = np.full((len(arch), len(keys)), np.nan)
    kind = np.full(len(keys), None, dtype=object)
    active, total = np.full(len(keys), np.nan), np.full(len(keys), np.nan)
    estimated: list[tuple[int, str, float]] = []  # (first row needing it, model, params_b)
    for j, (name, p) in enumerate(keys):
        name, p = str(name), float(p)
        spec = tables.find_model(name)
        if spec is None:
            if first_arch_row[j] < 0:
                continue
            r = first_arch_row[j]  # estimated (MoE / hybrid per the row's kind): fills no kind / active ratio
            kind_r = "" if cells.is_missing(architecture[r:r + 1])[0] else str(architecture[r])
            if not kind_r and "n_experts" in arch and arch["n_experts"][r] > 1:
                kind_r = kind[j] = "moe"  # routed experts given: a MoE, sized and labelled as one
            pa = float(active_params_b[r]) if np.isfinite(active_params_b[r]) else None
            spec = tables.estimate_architecture(p, kind_r or "dense", pa)
            cols = tuple(c for c, v in arch.items() if c not in _NOT_REQUIRED and np.isnan(v[r])
                         and not (c in ("n_experts", "experts_per_token") and (kind_r or "dense") == "dense"))
            if kind_r == "moe" and pa is None:  # sized and priced as if every parameter ran for every token
                cols += ("no active_params_b given, so every parameter is taken as active: an upper bound on a "
                         "MoE's work per token (give the active count in active_params_b)",)
            if cols:  # (a dense model's one expert is no estimate: every shape column given, nothing to warn)
                estimated.append((int(first_arch_row[j]), name, p, cols))
        fill[:, j] = [float(getattr(spec, c)) for c in arch]
        if not spec.estimated:
            kind[j] = spec.architecture
            if spec.params_b > 0:
                active[j], total[j] = spec.active_params_b, spec.params_b
    for values, table in zip(arch.values(), fill, strict=True):
        sub = values[arch_rows]
        values[arch_rows] = np.where(np.isnan(sub), table.take(arch_codes), sub)
    has_kind = np.array([k is not None for k in kind], dtype=bool)
    pick = cells.is_missing(architecture[rows]) & has_kind.take(codes)
    architecture[rows[pick]] = kind.take(codes[pick])
    pick = np.isnan(active_params_b[rows]) & np.isfinite(total).take(codes)
    active_params_b[rows[pick]] = params_b[rows[pick]] * active.take(codes[pick]) / total.take(codes[pick])
    _warn_moe_without_active(models, rows, architecture, arch, active_params_b, {e[1] for e in estimated}, source)
    if estimated:
        first: dict[str, tuple[float, tuple[str, ...]]] = {}
        for _, name, p, cols in sorted(estimated):
            first.setdefault(name, (p, cols))
        _warn_estimated(first, source)


def _warn_moe_without_active(models: np.ndarray, rows: np.ndarray, architecture: np.ndarray,
                             arch: dict[str, np.ndarray], active_params_b: np.ndarray, estimated: set[str],
                             source: str) -> None:
    """One warning naming the MoE rows (``architecture`` moe, or n_experts > 1) of models the table lacks whose
    ``active_params_b`` is still NaN, which the schema then fills with params_b (until 2026-12-07 without a word:
    a swept MoE the table lacks was priced as dense). Models :func:`_warn_estimated` names are left to it."""
    left = rows[np.isnan(active_params_b[rows])]  # the table filled its models' rows: only others are left
    if len(left) == 0:
        return
    moe = np.array([str(a).strip().lower() == "moe" for a in architecture[left]], dtype=bool)
    if "n_experts" in arch:
        moe |= arch["n_experts"][left] > 1
    count: dict[str, int] = {}
    for r in left[moe]:
        count[str(models[r])] = count.get(str(models[r]), 0) + 1
    listed = [f"{name!r} ({n} row{'s' if n > 1 else ''})" for name, n in count.items() if name not in estimated]
    if listed:
        warning_sink.warn(
            f"{source}: MoE rows of {len(listed)} model(s) the model table lacks give no active_params_b, so every "
            f"parameter is taken as active (priced as a dense model of params_b: an upper bound on a MoE's work per "
            f"token): {'; '.join(listed)}; give active_params_b (a sweep derives it from the checkpoint's "
            f"config.json: energylens.profiling.hf_experts) or the model in a model table",
            tables.EstimatedArchitectureWarning, stacklevel=6)


def _warn_estimated(estimated: dict[str, tuple[float, tuple[str, ...]]], source: str) -> None:
    listed = []
    for name, (p, cols) in estimated.items():
        close = tables._close_matches(name, tables._model_frame(), n=3)
        listed.append(f"{name!r} ({p:g}B; estimated: {', '.join(cols)}" + (f"; close: {', '.join(close)})" if close
                                                                            else ")"))
    warning_sink.warn(
        f"{source}: {len(estimated)} model(s) not in the model table; the architecture columns their rows left "
        f"empty were estimated from params_b (energylens.profiles.tables.estimate_architecture): "
        f"{'; '.join(listed)}", tables.EstimatedArchitectureWarning, stacklevel=6)  # the caller of load_profiles


def vision_encoders(models: np.ndarray, params_b: np.ndarray, is_image: np.ndarray,
                    image_tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vision-encoder parameters in billions, tokens per image) for every row: for image/video rows the
    model table's encoder (else :data:`DEFAULT_VISION_PARAMS_B`) and, where ``image_tokens`` is NaN, its
    tokens per image; 0 and ``image_tokens`` unchanged elsewhere. One lookup per (model, params_b)."""
    vision_b = np.zeros(len(models))
    tokens = image_tokens.copy()
    if not is_image.any():
        return vision_b, tokens
    for (name, _), idx in cells.key_groups(models, params_b, rows=np.flatnonzero(is_image)):
        spec = tables.find_model(str(name))
        vb = None if spec is None else spec.vision_params_b
        vision_b[idx] = vb if (vb is not None and math.isfinite(vb)) else DEFAULT_VISION_PARAMS_B
        it = None if spec is None else spec.image_tokens_per_image
        if it is not None and math.isfinite(it):
            tokens[idx] = np.where(np.isfinite(tokens[idx]), tokens[idx], float(it))
    return vision_b, tokens


@functools.lru_cache(maxsize=1024)
def spec_column(spec, names: tuple[str, ...]) -> np.ndarray:
    """A model-table row as one column of the feature builder's architecture table: its values of ``names``
    as floats (NaN where blank), its active / total parameter ratio and its vision encoder size (billions);
    built once per row (specs are frozen) and read-only."""
    vb = spec.vision_params_b
    column = np.array([*(_float_or_nan(getattr(spec, c)) for c in names),
                       float(spec.active_params_b) / float(spec.params_b),
                       vb if (vb is not None and math.isfinite(vb)) else DEFAULT_VISION_PARAMS_B], dtype=np.float64)
    column.flags.writeable = False
    return column


def _float_or_nan(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def attention_per_layer(arch) -> tuple:
    """(KV heads the cache is replicated by, KV-cache elements per token, attention FLOPs per context
    token) of one attention layer; ``arch`` maps n_heads, n_kv_heads, head_dim, kv_lora_rank and
    qk_rope_head_dim (NaN = none) to arrays or floats (the feature builder's architecture, or one row's).

    Ordinary (grouped-query) attention: ``n_kv_heads`` heads, ``2 x n_kv_heads x head_dim`` elements (K
    and V), ``4 x n_heads x head_dim`` FLOPs (QK^T and AV). Multi-head latent attention (``kv_lora_rank``
    > 0: DeepSeek-V3, Kimi K2) as vLLM runs it (``MLACommonImpl``, ``MLAAttentionSpec``): one latent of
    ``kv_lora_rank + qk_rope_head_dim`` elements per token, shared by all heads and held whole on every
    TP rank (vLLM's ``get_num_kv_heads`` is 1 for MLA, so it is replicated like a single KV head), and
    decode with the up-projections absorbed: per head ``2 (kv_lora_rank + qk_rope_head_dim)`` FLOPs for
    the score and ``2 kv_lora_rank`` for the value, i.e. ``2 n_heads (2 kv_lora_rank + qk_rope_head_dim)``
    per context token (DeepSeek-V2 paper, arXiv 2405.04434, sec. 2.1.3; DeepSeek-V3: 2 x 128 x 1088).
    The values are exact integers for integer shapes, so the products do not depend on their order."""
    n_heads, n_kv_heads, head_dim = arch["n_heads"], arch["n_kv_heads"], arch["head_dim"]
    kv_lora_rank, qk_rope_head_dim = arch["kv_lora_rank"], arch["qk_rope_head_dim"]
    mla = np.isfinite(kv_lora_rank) & (np.nan_to_num(kv_lora_rank) > 0)
    rank, rope = np.nan_to_num(kv_lora_rank), np.nan_to_num(qk_rope_head_dim)
    heads = np.where(mla, 1.0, n_kv_heads)
    elems = np.where(mla, rank + rope, 2.0 * n_kv_heads * head_dim)
    flops = np.where(mla, 2.0 * n_heads * (2.0 * rank + rope), 4.0 * n_heads * head_dim)
    if np.ndim(heads) == 0:
        return float(heads), float(elems), float(flops)
    return heads, elems, flops


def prefill_attention_per_layer(arch):
    """Prefill attention FLOPs per query-key pair of one attention layer (the template's
    ``prefill_attn_flops_per_token_ctx`` per layer); ``arch`` as :func:`attention_per_layer`'s, plus
    ``v_head_dim`` (NaN = none).

    Ordinary attention: ``4 x n_heads x head_dim``, the same expression (and bits) as the decode FLOPs of
    :func:`attention_per_layer`. Multi-head latent attention as vLLM runs a prefill (``MLACommonImpl.
    _forward_prefill``, the "compute friendly approach" of vllm/v1/attention/backends/mla/common.py): the
    latent is up-projected by ``kv_b_proj`` to per-head K (``qk_nope_head_dim``, plus the shared rope part)
    and V, and ordinary multi-head attention runs with a ``head_dim``-wide query/key head (``qk_nope +
    qk_rope`` = 192) and a ``v_head_dim``-wide value head: ``2 x n_heads x (head_dim + v_head_dim)``
    (DeepSeek-V3: 128 x (2 x 192 + 2 x 128) = 128 x 640, 0.29x the absorbed decode form's 128 x 2176).
    The up-projection itself (2 x kv_lora_rank x n_heads x (qk_nope + v_head) per prompt token) is a
    matmul over ``kv_b_proj``'s weights, counted once per prompt token in 2 x active_params (decode
    applies the same weights, absorbed, to the query and output). ``v_head_dim`` NaN: ``head_dim -
    qk_rope_head_dim`` (qk_nope_head_dim, which equals v_head_dim in every DeepSeek-V2/V3 config)."""
    n_heads, head_dim = arch["n_heads"], arch["head_dim"]
    kv_lora_rank, qk_rope_head_dim, v_head_dim = arch["kv_lora_rank"], arch["qk_rope_head_dim"], arch["v_head_dim"]
    mla = np.isfinite(kv_lora_rank) & (np.nan_to_num(kv_lora_rank) > 0)
    v_dim = np.where(np.isfinite(v_head_dim) & (np.nan_to_num(v_head_dim) > 0), v_head_dim,
                     head_dim - np.nan_to_num(qk_rope_head_dim))
    flops = np.where(mla, 2.0 * n_heads * (head_dim + v_dim), 4.0 * n_heads * head_dim)
    return float(flops) if np.ndim(flops) == 0 else flops


def table_params_b(models: object, params_b: np.ndarray) -> np.ndarray:
    """``params_b`` (float64, NaN = blank or the column absent) with each blank cell of a model the model table
    knows filled with the table's parameter count, so a configuration of a known model needs no ``params_b``
    (the search and the CLI's ``--model`` already take the table's). Blank cells of other models stay NaN, and
    the schema reports them as missing, naming the rows. One table lookup per distinct model."""
    blank = np.flatnonzero(np.isnan(params_b))
    if len(blank) == 0:
        return params_b
    out = params_b.copy()
    for (name,), idx in cells.key_groups(np.asarray(models, dtype=object), rows=blank):
        name = cells.text_of(name) if isinstance(name, bytes) else name  # (a NumPy 'S' column's cell)
        spec = tables.find_model(str(name)) if isinstance(name, str) and name.strip() else None
        if spec is not None and spec.params_b > 0:
            out[idx] = float(spec.params_b)
    return out



def unknown_models_said(models: object, missing: np.ndarray) -> str:
    """The note of a blank ``params_b`` in the ``missing`` rows: which of their models the model table does not
    know (up to five, each once; a blank model cell is its own problem), and the ways to give the count."""
    names = list(dict.fromkeys(cells.text_of(m).strip() for m in np.asarray(models, dtype=object)[missing]
                               if isinstance(m, (str, bytes)) and cells.text_of(m).strip()))
    which = "the model" if not names else f"the model{'s' * (len(names) > 1)} " + ", ".join(
        repr(n) for n in names[:5]) + (f" (and {len(names) - 5} more)" if len(names) > 5 else "")
    return (f" (the model table does not know {which}, so its parameter count, in billions, is needed, or its row "
            "in a user model table: --model-table FILE, docs/reference-tables.md)")
