"""Pipeline stages of a deployment for the memory check (:mod:`.memory`): vLLM's split of the decoder layers
(:func:`stage_layers`, :func:`binding_stages`), where the MoE layers sit (:func:`moe_layers_before`), each
stage's weights (:func:`stage_bytes`), and, for a hybrid whose model table row gives its ``layer_pattern``
(:mod:`energylens.profiles.layer_pattern`), each stage's KV cache and recurrent state by the attention and
state layers it holds (:func:`pattern_cache`; the engine's ``kernel::pattern_slots``).

A hybrid's attention layers are few and not evenly spread: Nemotron-Nano-9B-v2's 4 of 56 sit at layers 14, 21,
30 and 39, so at pp 3 (19, 19, 18 layers) its stages hold 1, 2 and 1 of them; spread in proportion to the
layers the fullest stage held 19 / 56 x 4 = 1.36, and the middle stage's KV cache is 47 % larger than that.
vLLM sizes every worker's KV cache from the most constrained one, so every stage is checked: at pp up to
:data:`MAX_PATTERN_STAGES` each with its own weights, attention and state layers; above, each stage's largest
weights, attention layers and state layers together (an upper bound).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.profiles.layer_pattern import MAX_PATTERN_LAYERS, parse_layer_pattern, sliding_layers

__all__ = ["moe_layers_before", "binding_stages", "longer_stage", "stage_layers", "stage_bytes", "pattern_cache", "pattern_fields",
           "row_patterns", "row_windows", "own_pattern", "MAX_PATTERN_STAGES", "MASK_BITS", "MASK_FIELDS", "stage_pattern_layers"]

#: Stages the per-stage check weighs one by one (the engine's kernel::kMaxPatternStages); above, an upper bound.
MAX_PATTERN_STAGES = 8
#: Layers per engine mask field (whole numbers below 2^53 are exact in a double).
MASK_BITS = 48
#: The engine's combo fields of a layer pattern: the attention layers', the state layers' and the sliding-window
#: layers' masks, 4 each.
MASK_FIELDS = tuple(f"{kind}_layer_mask_{k}" for kind in ("attention", "state", "sliding") for k in range(4))


def moe_layers_before(x, n_layers, n_moe):
    """MoE layers among the first ``x`` decoder layers of a model of ``n_layers`` with ``n_moe`` MoE layers (the
    engine's ``kernel::moe_layers_before``): all of them where every layer is MoE (``n_moe`` 0, unknown or
    ``n_layers``); every step-th, those with (i + 1) % step == 0, where n_layers = step x n_moe with step >= 2
    (Llama 4's ``interleave_moe_layer_step``, Qwen2-MoE's ``decoder_sparse_step``: Llama-4-Maverick's 24 of 48);
    else the dense layers first (``first_k_dense_replace``: DeepSeek-V3's 3 of 61, Kimi-K2's 1, GLM-4.5's 3).
    Arrays or scalars."""
    x, n, m = (np.asarray(a, dtype=float) for a in (x, n_layers, n_moe))
    every = ~((m > 0) & (m < n))
    step = n / np.where(every, 1.0, m)
    interleaved = (step >= 2.0) & (np.floor(step) == step)
    dense = n - m
    return np.where(every, x, np.where(interleaved, np.floor(x / step), np.where(x > dense, x - dense, 0.0)))


def binding_stages(total, experts, matrix, encoder, tied, n_layers, n_moe, tp, pp, shard):
    """Per row, the pipeline stages that can bind (the engine's ``kernel::binding_stages``): vLLM's stages hold
    q = n_layers // pp or q + 1 layers (:func:`stage_layers`' split), the KV cache and state grow with the
    layers, so of each size only the one with the most weights can bind. Returns (layers, weights) of the stage
    with the most weights (of the smaller size where sizes differ and it holds more) and of the heaviest stage
    of q + 1 layers where it holds fewer weights than that one (else 0 layers). Each stage per
    :func:`stage_bytes`, its MoE layers from :func:`moe_layers_before` (``n_moe``: the model's MoE layers,
    NaN = every layer), the embedding on the first, the lm_head on the last. DeepSeek-V3 at pp 4 (15, 15, 16,
    15 layers): the third stage, 16 MoE layers, where the first holds the 3 dense ones and 12 MoE. pp 1: all."""
    n, pp = np.asarray(n_layers, dtype=float), np.asarray(pp, dtype=float)
    raw = np.where(np.asarray(experts, dtype=float) > 0, np.nan_to_num(np.asarray(n_moe, dtype=float)), 0.0)
    moe_n = np.where((raw > 0) & (raw < n), raw, n)
    args = (total, experts, matrix, encoder, tied, n, tp, pp, shard)
    one = stage_bytes(*args, n, moe_n, moe_n, np.zeros(np.shape(n)))
    q = np.floor(n / pp)
    r = n - q * pp
    short_w, long_w = np.full(np.shape(n), -np.inf), np.full(np.shape(n), -np.inf)
    start = np.zeros(np.shape(n))
    with np.errstate(invalid="ignore"):
        for s in range(int(np.max(np.atleast_1d(pp), initial=1.0))):
            on = s < pp
            longer = longer_stage(s, pp, r)
            layers = np.where(longer, q + 1.0, q)
            moe = moe_layers_before(start + layers, n, raw) - moe_layers_before(start, n, raw)
            extra = np.where(s == 0, matrix + encoder, np.where(s == pp - 1, encoder + matrix, encoder))
            w = stage_bytes(*args, layers, moe, moe_n, extra)
            long_w = np.where(on & longer & ~(long_w >= w), w, long_w)
            short_w = np.where(on & ~longer & ~(short_w >= w), w, short_w)
            start = start + np.where(on, layers, 0.0)
    has_long, has_short = long_w > -np.inf, short_w > -np.inf
    single_long = has_long & (~has_short | (long_w >= short_w))
    two = has_long & ~single_long
    heavy_n = np.where(pp > 1, np.where(single_long, q + 1.0, q), n)
    heavy = np.where(pp > 1, np.where(single_long, long_w, short_w), one)
    return heavy_n, heavy, np.where((pp > 1) & two, q + 1.0, 0.0), np.where((pp > 1) & two, long_w, 0.0)


def longer_stage(s, pp, r):
    """Whether stage ``s`` of ``pp`` holds one of the ``r`` layers left over from ``n_layers // pp`` each (vLLM's
    ``get_pp_indices``: the stages from the second-to-last backwards, never the last). Scalars or arrays."""
    return (r > 0) & (s >= pp - 1 - r) & (s <= pp - 2)


def stage_layers(n_layers, pp):
    """Decoder layers of the first pipeline stage, and of the fullest other stage where it holds more (else 0),
    by vLLM's default split (vllm/distributed/utils.py ``get_pp_indices``: ``n_layers // pp`` each, the
    remainder one each to the stages from the second-to-last backwards, ``partitions[-i] += 1`` for i in
    2 .. remainder + 1; 80 layers over pp 3: 27, 27, 26; 61 over pp 4: 15, 15, 16, 15; ``VLLM_PP_LAYER_PARTITION``
    overrides it and is not modelled). The last stage never gets one of the remainder and holds the lm_head,
    as large as the first stage's embedding, so where every layer holds the same bytes it never holds more than
    the first (where the MoE layers sit matters too: :func:`binding_stages`). pp 1: all layers on the first.
    Scalars or arrays."""
    n, pp = np.asarray(n_layers, dtype=float), np.asarray(pp, dtype=float)
    q = np.floor(n / pp)
    r = n - q * pp
    first = np.where(pp > 1, q + np.where((r > 0) & (r == pp - 1), 1.0, 0.0), n)
    return first, np.where((pp > 1) & (r > 0) & (r < pp - 1), q + 1.0, 0.0)


def stage_bytes(total, experts, matrix, encoder, tied, n_layers, tp, pp, shard, layers, moe_layers, n_moe, extra):
    """Weight bytes per GPU of a pipeline stage of ``layers`` decoder layers, ``moe_layers`` of them MoE, of a
    model of ``n_moe`` MoE layers (n_layers where every layer is MoE) (the engine's ``stage_weights``): at pp 1
    all of them, dense over tp, experts over ``shard`` (:func:`topology.moe_group_gpus`); else the stage's share
    (layers / n_layers) of the weights outside the embeddings and vision encoder, over tp, and of the routed
    experts (moe_layers / n_moe), over ``shard``, plus ``extra`` over tp: on the first stage one vocabulary x
    d_model ``matrix`` (the input embedding) and the vision encoder (``encoder``), on the last the lm_head (a
    copy where ``tied``) and the encoder, on the others the encoder (vLLM's multimodal models build it on every
    rank). The layers' other weights (attention, norms, a dense layer's MLP, a MoE layer's router and shared
    expert; Mamba or attention) count alike per layer: the model table has no per-kind sizes (DeepSeek-V3: a
    dense layer's MLP holds 0.35e9 parameters more than a MoE layer's shared expert and router, under 0.2 % of
    a stage)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.asarray(layers, dtype=float) / np.asarray(n_layers, dtype=float)
        held = matrix * np.where(np.asarray(tied, dtype=float) > 0, 1.0, 2.0) + encoder
        body = np.maximum(total - experts - held, 0.0)
        own = body * share + extra
        moe_share = np.asarray(moe_layers, dtype=float) / np.asarray(n_moe, dtype=float)
        staged = own / tp + experts * moe_share / shard
    return np.where(np.asarray(pp) > 1, staged, (total - experts) / (tp * pp) + experts / (shard * pp))

def pattern_fields(cell, n_layers, n_attention_layers) -> dict[str, float]:
    """The engine's :data:`MASK_FIELDS` of a combo whose model has ``layer_pattern`` ``cell`` (bit i of mask
    field i // 48 set where layer i is attention / holds a state); all 0 where the pattern is blank or does not
    fit the combo's layers (:func:`_fits`: a candidate row's own n_layers / n_attention_layers)."""
    kinds = parse_layer_pattern(cell)
    out = dict.fromkeys(MASK_FIELDS, 0.0)
    if kinds is None or not _fits(kinds, n_layers, n_attention_layers):
        return out
    for name, mask in zip(("attention", "state", "sliding"), (*kinds, sliding_layers(cell)), strict=True):
        for i in np.flatnonzero(mask):
            out[f"{name}_layer_mask_{i // MASK_BITS}"] += float(2 ** int(i % MASK_BITS))
    return out


def own_pattern(row: dict, spec) -> str:
    """A combo's ``layer_pattern``: its profile row's own cell where it gives one (a candidate table's, a
    config.json's: :mod:`energylens.profiling.hf_config`), else its ModelSpec's."""
    cell = row.get("layer_pattern")
    return cell.strip() if isinstance(cell, str) and cell.strip() else spec.layer_pattern


def _fits(kinds, n_layers, n_attention_layers) -> bool:
    """The pattern holds the row's layers and attention layers (NaN or < 1: every layer)."""
    att = kinds[0]
    n_att = n_attention_layers if np.isfinite(n_attention_layers) and n_attention_layers >= 1 else n_layers
    return len(att) == n_layers <= MAX_PATTERN_LAYERS and int(att.sum()) == min(n_att, n_layers)


def row_patterns(frame: pd.DataFrame, specs: dict, n_layers) -> np.ndarray:
    """Per row of ``frame``, its ``layer_pattern``: the row's own cell where it gives one (a profile row of a model
    the table lacks, read from its config.json: :mod:`energylens.profiling.hf_config`), else its model's; where
    it fits the row's layers and attention layers (its own n_attention_layers column where given, else the
    model's; :func:`_fits`), else "" (``specs``: model name -> ModelSpec or None; ``n_layers`` per row). Once per
    (model, cell): 420k predict rows, few models."""
    inv, names = _model_codes(frame)
    patterns = [getattr(specs.get(n), "layer_pattern", "") or "" for n in names]
    if not any(patterns) and "layer_pattern" not in frame.columns:
        return np.full(len(frame), "", dtype=object)  # no row's model places its layers: the usual case
    cells = np.array(patterns, dtype=object)[inv]
    model_att = np.array([float(getattr(specs.get(n), "n_attention_layers", np.nan)) for n in names])[inv]
    if "layer_pattern" in frame.columns:
        codes, texts = pd.factorize(frame["layer_pattern"].to_numpy(dtype=object))  # NaN / None: code -1
        given = np.array([t.strip() if isinstance(t, str) else "" for t in texts] + [""], dtype=object)[codes]
        cells = np.where(given != "", given, cells)
    out = np.full(len(cells), "", dtype=object)
    own = (pd.to_numeric(frame["n_attention_layers"], errors="coerce").to_numpy(dtype=float)
           if "n_attention_layers" in frame.columns else np.full(len(cells), np.nan))
    n_layers = np.asarray(n_layers, dtype=float)
    codes, uniques = pd.factorize(cells)  # hashed, not sorted: 420k rows of object strings sorted cost 0.3 s
    for k, cell in enumerate(uniques):
        kinds = parse_layer_pattern(cell)
        if kinds is None:
            continue
        at = np.flatnonzero(codes == k)
        n_att = np.where(np.isfinite(own[at]), own[at], model_att[at])
        n_att = np.where(np.isfinite(n_att) & (n_att >= 1), np.minimum(n_att, n_layers[at]), n_layers[at])
        fits = (n_layers[at] == len(kinds[0])) & (n_att == float(kinds[0].sum())) & (len(kinds[0]) <= MAX_PATTERN_LAYERS)
        out[at[fits]] = cell
    return out


def _model_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """(code per row, the distinct model names as text) of ``frame``'s model column, hashed once."""
    codes, uniques = pd.factorize(frame["model"].to_numpy(dtype=object))
    if (codes < 0).any():  # a missing name, read as the text "nan" (as astype(str) read it)
        uniques, codes = np.append(np.asarray(uniques, dtype=object), np.nan), np.where(codes < 0, len(uniques), codes)
    return codes, [str(n) for n in uniques]


def row_windows(frame: pd.DataFrame, specs: dict) -> np.ndarray:
    """Per row of ``frame``, the sliding window its pattern's ``S`` layers hold (its own ``sliding_window`` cell
    where given, else its model's; 0: none), as the search's combo values take it (space.py ``window_tokens``)."""
    inv, names = _model_codes(frame)
    window = np.array([float(getattr(specs.get(n), "sliding_window", np.nan)) for n in names])[inv]
    if "sliding_window" in frame.columns:
        own = pd.to_numeric(frame["sliding_window"], errors="coerce").to_numpy(dtype=float)
        window = np.where(np.isfinite(own), own, window)
    return np.where(np.isfinite(window) & (window > 0), window, 0.0)


def stage_pattern_layers(cell, pp: int) -> list[tuple[int, int, int]]:
    """Per stage of vLLM's split at ``pp``: (layers, attention layers, state layers) of pattern ``cell``.
    Nemotron-Nano-9B-v2 at pp 3: (19, 1, 10), (19, 2, 8), (18, 1, 9)."""
    att, rec = parse_layer_pattern(cell)
    n = len(att)
    q, r = divmod(n, pp)
    out, start = [], 0
    for s in range(pp):
        layers = q + 1 if longer_stage(s, pp, r) else q
        out.append((layers, int(att[start:start + layers].sum()), int(rec[start:start + layers].sum())))
        start += layers
    return out


def stage_sliding_layers(cell, pp: int) -> list[int]:
    """Per stage of vLLM's split at ``pp`` (:func:`stage_pattern_layers`): the sliding-window layers (``S``) of
    pattern ``cell``. gemma-3-12b ``(SSSSS*)x8`` at pp 3 (16 layers each): 14, 13, 13."""
    window = sliding_layers(cell)
    out, start = [], 0
    for layers, _, _ in stage_pattern_layers(cell, pp):
        out.append(int(window[start:start + layers].sum()))
        start += layers
    return out


def pattern_cache(patterns, parts, tp, pp, shard, weights, kv_per_token, state, tokens, seqs,
                  ctx=None, window=None) -> np.ndarray:
    """Per row, what the KV cache and recurrent state add to the fullest stage's weights on the tightest stage
    (:class:`.memory.GpuMemory`'s ``kv``) where the row's model gives a layer pattern (``patterns``,
    :func:`row_patterns`) and pp > 1; NaN elsewhere. Stage s holds its weights W_s (:func:`stage_bytes`, as
    :func:`binding_stages` weighs it), a_s of the n_a attention layers and m_s of the n_m state layers: (W_s -
    ``weights``) + tokens x ``kv_per_token`` / (tp x n_a / a_s) + seqs x ``state`` / (tp x n_m / m_s), the
    largest over the stages (above :data:`MAX_PATTERN_STAGES` stages: the largest a_s and m_s together, W_s -
    weights 0). A pattern with sliding-window layers (``S``) holds on stage s its f_s full layers' KV of every
    position and its w_s sliding layers' of min(ctx, ``window``) of ``ctx`` (the features' window share, at the
    mean context): tokens x ``kv_per_token`` x (f_s + w_s x r) / (F + W x r) / tp (r = min(ctx, window) / ctx,
    F and W the model's; above :data:`MAX_PATTERN_STAGES` the largest f_s and w_s together). ``parts``:
    :func:`.memory.weight_parts`' values."""
    out = np.full(np.shape(tp), np.nan)
    pp = np.asarray(pp, dtype=float)
    some = np.flatnonzero((patterns != "") & (pp > 1))  # the rows of hybrids that place them; often none
    keys = [(patterns[i], int(pp[i])) for i in some]
    ctx = np.ones(np.shape(tp)) if ctx is None else np.broadcast_to(np.asarray(ctx, dtype=float), np.shape(tp))
    window = np.zeros(np.shape(tp)) if window is None else np.broadcast_to(np.asarray(window, dtype=float),
                                                                           np.shape(tp))
    for key in sorted(set(keys)):
        at = some[[k == key for k in keys]]
        seen = np.minimum(ctx[at], window[at]) / np.maximum(ctx[at], 1.0)
        out[at] = _group_cache(key, [np.asarray(a, dtype=float)[at] for a in parts],
                               *(np.asarray(a, dtype=float)[at] for a in (tp, pp, shard, weights, kv_per_token,
                                                                          state, tokens, seqs)),
                               np.where(window[at] > 0, seen, np.nan))
    return out


def _group_cache(key, parts, tp, pp, shard, weights, kv_per_token, state, tokens, seqs, seen) -> np.ndarray:
    """:func:`pattern_cache` of rows of one pattern and one pp (the engine's kernel::pattern_slots and
    kernel::pattern_cache_bytes); ``seen``: the window's share of the context (NaN: no window)."""
    cell, p = key
    total, experts, matrix, encoder, tied, n, n_moe = parts
    raw = np.where(experts > 0, np.nan_to_num(n_moe), 0.0)
    moe_n = np.where((raw > 0) & (raw < n), raw, n)
    stages = stage_pattern_layers(cell, p)
    slid = stage_sliding_layers(cell, p)
    n_att, n_rec, n_win = float(sum(s[1] for s in stages)), float(sum(s[2] for s in stages)), float(sum(slid))
    windowed = (n_win > 0) & np.isfinite(seen)
    best, start = np.full(len(tp), np.nan), 0.0
    top_f, top_w, top_m = max(s[1] - w for s, w in zip(stages, slid, strict=True)), max(slid), max(s[2] for s in stages)
    with np.errstate(invalid="ignore", divide="ignore"):
        every = (n_att - n_win) + n_win * seen  # the model's full and sliding layers at the window's share
        for s, ((layers, a, m), sw) in enumerate(zip(stages, slid, strict=True)):
            moe = moe_layers_before(start + layers, n, raw) - moe_layers_before(start, n, raw)
            extra = matrix + encoder if s == 0 else (encoder + matrix if s == p - 1 else encoder)
            w = stage_bytes(total, experts, matrix, encoder, tied, n, tp, pp, shard, float(layers), moe, moe_n, extra)
            start += layers
            if p > MAX_PATTERN_STAGES:
                w, a, m, sw = weights, top_f + top_w, top_m, top_w
            spread_a = n_att / a if a > 0 else np.inf
            spread_m = n_rec / m if m > 0 else np.inf
            held = tokens * kv_per_token * ((a - sw) + sw * seen) / (every * tp)  # its full and sliding layers
            kv = np.where(windowed, held, tokens * kv_per_token / (tp * spread_a))
            value = (w - weights) + (kv + seqs * state / (tp * spread_m))
            best = value if s == 0 else np.where(best > value, best, value)
    return best
