"""Architecture columns of a profile row, read from the model's Hugging Face config.

Both profiling backends record what the features need to cost a model the model table lacks: the
attention shape, the experts, and the cells of today's architectures that a plain ``head_dim`` /
``num_experts`` reading gets wrong:

* **MLA** (DeepSeek-V3/R1, Kimi K2, ...): ``kv_lora_rank`` and ``qk_rope_head_dim``; the q/k head is
  ``qk_nope_head_dim + qk_rope_head_dim`` (192), while transformers' ``head_dim`` is the rope part (64).
* **Routed experts** under every spelling (``num_local_experts``, ``num_experts``, ``n_routed_experts``)
  and the MoE layers when some layers are dense (``first_k_dense_replace``, ``decoder_sparse_step`` /
  ``mlp_only_layers``, ``interleave_moe_layer_step``, Jamba's ``expert_layer_period``), and a MoE's active
  parameters (:mod:`energylens.profiling.hf_experts`).
* **Local attention**: ``layer_types`` with ``sliding_attention`` and the ``sliding_window``; Llama 4's chunked
  attention (``attention_chunk_size`` on the layers ``no_rope_layers`` marks RoPE), a window of one chunk.
* **Hybrids**: attention layers and recurrent-state elements per sequence for Mamba-2
  (``hybrid_override_pattern``), Gated DeltaNet (``layer_types`` with ``linear_attention``, or Qwen3-Next's
  ``full_attention_interval``), Jamba's Mamba (``attn_layer_period`` / ``attn_layer_offset``) and the layers that
  hold attention and Mamba-2 at once (Falcon-H1's every layer, Zamba2's ``hybrid`` ones), by the
  formulas of docs/reference-tables.md, and the text column ``layer_pattern`` (which layers are which: the
  search's per-stage memory check places the KV cache and state by it; blank where a layer holds both).
* **Vocabulary**: ``vocab_size`` and ``tie_word_embeddings`` (1 / 0), which set the lm_head a decode step
  streams and the embedding lookup it does not (:mod:`energylens.profiles.step_weights`).
* **Block-scaled fp8** checkpoints: ``fp8_weight_block`` from ``quantization_config.weight_block_size``.
* **Quantised** checkpoints: the weight format and, for weight-only 8-bit ones (W8A16: GPTQ 8-bit, llm-compressor's
  W8A16, compressed-tensors fp8 weights without input activations), the 16-bit compute precision
  (:func:`declared_precision`), which the row records instead of the format the spec names.
* **Serving limits** (:data:`LIMIT_COLUMNS`, the search's ``context_length`` and ``fp8_block_shape`` rules):
  the context window as vLLM derives its default ``max_model_len`` (the smallest length key, times a RoPE
  scaling factor), the dense FFN width, one routed expert's width and the shared experts' width.

A cell the config does not determine is NaN ("the model table's, else the default"), never a guess.
"""

from __future__ import annotations

import math
import re
from typing import Any

from energylens.profiles.checkpoints import EXPERT_ONLY_FORMATS, WeightLayout, layout_of
from energylens.profiles.layer_pattern import LAYER_KINDS
from energylens.profiling.hf_experts import active_params_b, config_value, expert_columns, ffn_widths

__all__ = ["SHAPE_COLUMNS", "LIMIT_COLUMNS", "architecture_columns", "text_config", "declared_weight_format",
           "declares_weight_only", "declared_precision", "declared_layout", "declared_layout_words"]

#: The numeric architecture columns :func:`architecture_columns` may write (besides params_b).
SHAPE_COLUMNS: tuple[str, ...] = (
    "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token", "n_moe_layers",
    "kv_lora_rank", "qk_rope_head_dim", "sliding_window", "n_sliding_layers", "n_attention_layers",
    "state_elems_per_seq", "conv_state_elems_per_seq", "fp8_weight_block", "vocab_size", "tie_word_embeddings",
)


#: The serving-limit columns :func:`architecture_columns` writes (the model table's names).
LIMIT_COLUMNS: tuple[str, ...] = ("context_window_tokens", "intermediate_size", "moe_intermediate_size",
                                  "shared_expert_intermediate_size")

#: Config keys vLLM takes the model's length from (the smallest that is set; its _get_and_verify_max_len).
_LENGTH_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "max_sequence_length",
                "max_seq_length", "seq_len")


def text_config(config: Any) -> Any:
    """The language model's config of a multimodal config (``text_config``), else the config itself."""
    return getattr(config, "text_config", None) or config


def _attention(c: Any, heads: float, d_model: float) -> dict[str, float]:
    rank = getattr(c, "kv_lora_rank", None)
    if rank:  # multi-head latent attention: the q/k head is the no-rope part plus the rope part
        return {"head_dim": float(c.qk_nope_head_dim + c.qk_rope_head_dim), "kv_lora_rank": float(rank),
                "qk_rope_head_dim": float(c.qk_rope_head_dim)}
    # Zamba2's shared attention runs on 2 x hidden: its head is attention_head_dim (2 x hidden / heads)
    return {"head_dim": float(config_value(c, "head_dim", "attention_head_dim") or d_model / heads)}


#: ``layer_types`` words -> layer kinds: attention of any span (a KV cache; ``S`` where the config gives the
#: window: :func:`_window`); a layer with a recurrent state (transformers 5 writes ``linear_attention`` for Gated
#: DeltaNet and for the Mamba layers of Jamba, Bamba, Granite-4.0-H and Nemotron-H alike); an MLP or MoE layer;
#: ``H`` a layer with both a KV cache and a state (Falcon-H1's and Zamba2's ``hybrid``), which no pattern
#: character says: counted in both, the pattern left blank. Others (a ``conv`` layer) leave the pattern blank.
_TYPE_KINDS = {"full_attention": "*", "sliding_attention": "*", "chunked_attention": "*", "attention": "*",
               "linear_attention": "M", "mamba": "M", "mlp": "-", "moe": "E", "hybrid": "H"}


def _chunked_types(c: Any, n: int) -> list[str]:
    """Llama 4's layers: chunked local attention (``attention_chunk_size``) on the layers that use RoPE
    (``no_rope_layers`` 1; an empty list: all but every ``no_rope_layer_interval``-th, 4, as Llama4TextConfig
    fills it), global NoPE attention on the others (vLLM's Llama4Attention); [] without a chunk size."""
    if not getattr(c, "attention_chunk_size", None):
        return []
    rope = getattr(c, "no_rope_layers", None)
    if not (isinstance(rope, (list, tuple)) and len(rope) == n):
        interval = int(getattr(c, "no_rope_layer_interval", None) or 4)
        rope = [int((i + 1) % interval != 0) for i in range(n)]
    return ["chunked_attention" if r else "full_attention" for r in rope]


def _layer_types(c: Any) -> list[str]:
    """Each decoder layer's kind as the config states it: ``layer_types`` (else Zamba2's ``layers_block_type``,
    ``mamba`` / ``hybrid``); else Llama 4's chunked attention (:func:`_chunked_types`); else Qwen3-Next's
    ``full_attention_interval`` (full attention in every interval-th layer, Gated DeltaNet in the others, as
    transformers' Qwen3NextConfig fills ``layer_types``); else Jamba's ``attn_layer_period`` /
    ``attn_layer_offset`` (attention where i % period == offset, Mamba elsewhere: JambaConfig.layers_block_type);
    else Falcon-H1's attention and Mamba-2 side by side in every layer; [] where it states none."""
    for key in ("layer_types", "layers_block_type"):
        types = getattr(c, key, None)
        if isinstance(types, (list, tuple)) and types:
            return [str(t) for t in types]
    n = getattr(c, "num_hidden_layers", None)
    if not isinstance(n, int) or n < 1:
        return []
    if getattr(c, "model_type", None) in ("llama4_text", "llama4") and (chunked := _chunked_types(c, n)):
        return chunked
    interval = getattr(c, "full_attention_interval", None)
    if isinstance(interval, int) and interval > 0 and getattr(c, "linear_num_value_heads", None):
        return ["full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(n)]
    period, offset = getattr(c, "attn_layer_period", None), getattr(c, "attn_layer_offset", None)
    if isinstance(period, int) and period > 0 and isinstance(offset, int) and getattr(c, "mamba_d_state", None):
        return ["attention" if i % period == offset else "mamba" for i in range(n)]
    if getattr(c, "model_type", None) == "falcon_h1":  # FalconH1DecoderLayer: self_attn and mamba, in parallel
        return ["hybrid"] * n
    return []


def _pattern_cell(kinds: str, n_layers: Any) -> dict[str, str]:
    """``layer_pattern`` of a model's layer kinds (one character per layer, a periodic one written once with its
    repeat count, ``(MMM*)x12``, as the model table writes Qwen3-Next's) where it holds every layer in the
    pattern's characters, a state or sliding-window layer and a full attention layer; else nothing (a model of
    one kind of attention gains nothing by it; one without attention layers has no n_attention_layers the table
    can write: 0 is "all"; one with ``H`` layers, a KV cache and a state in one layer, has no character for them)."""
    if not ({"M", "S"} & set(kinds)) or "*" not in kinds or len(kinds) != n_layers or set(kinds) - set(LAYER_KINDS):
        return {}
    n = len(kinds)
    period = next(p for p in range(1, n + 1) if n % p == 0 and kinds == kinds[:p] * (n // p))
    return {"layer_pattern": f"({kinds[:period]})x{n // period}" if period < n else kinds}


def _window(c: Any, types: list[str]) -> tuple[str, float] | None:
    """(the ``layer_types`` word, its span) of a model's windowed attention layers: ``sliding_attention`` over
    ``sliding_window`` (Gemma 2 / 3, gpt-oss), ``chunked_attention`` over Llama 4's ``attention_chunk_size`` (a
    KV cache of at most one chunk, as vLLM's chunked local attention keeps it); None where neither (or no span)."""
    for word, key in (("sliding_attention", "sliding_window"), ("chunked_attention", "attention_chunk_size")):
        span = getattr(c, key, None)
        if word in types and span:
            return word, float(span)
    return None


def _layer_kinds(c: Any) -> dict[str, Any]:
    """Sliding-window, chunked-attention and hybrid cells from ``layer_types`` / ``hybrid_override_pattern`` (and
    the keys :func:`_layer_types` reads), with the ``layer_pattern`` (:mod:`energylens.profiles.layer_pattern`);
    the state layers' formula by the keys the config has (:func:`_state_of`)."""
    out: dict[str, Any] = {}
    types = _layer_types(c)
    pattern = getattr(c, "hybrid_override_pattern", None)
    window = _window(c, types)
    if window is not None:
        out |= {"sliding_window": window[1], "n_sliding_layers": float(types.count(window[0]))}
    kinds = pattern if isinstance(pattern, str) and "M" in pattern else "".join(_TYPE_KINDS.get(t, "?") for t in types)
    if window is not None:  # S: a windowed attention layer
        kinds = "".join("S" if t == window[0] else k for t, k in zip(types, kinds, strict=True))
    state = _state_of(c) if {"M", "H"} & set(kinds) else None
    if state is None:
        return out | (_pattern_cell(kinds, getattr(c, "num_hidden_layers", None)) if "S" in kinds else {})
    (per_layer, conv), n = state, kinds.count("M") + kinds.count("H")
    if not getattr(c, "linear_num_value_heads", None):  # Mamba: Nemotron-H, Jamba, Bamba (Qwen3-Next is a MoE)
        out["architecture"] = "hybrid"
    return out | {"n_attention_layers": float(kinds.count("*") + kinds.count("H")), "state_elems_per_seq": n * per_layer,
                  "conv_state_elems_per_seq": n * conv, **_pattern_cell(kinds, getattr(c, "num_hidden_layers", None))}


def _state_of(c: Any) -> tuple[float, float] | None:
    """(state, conv-state part) elements of one state layer for one sequence: Gated DeltaNet where the config has
    ``linear_num_value_heads`` (Qwen3-Next), Mamba-2 where it has the heads or their width (Nemotron-H's
    ``mamba_num_heads``, Bamba's / Granite-4.0-H's / Falcon-H1's ``mamba_n_heads``, Zamba2's ``mamba_headdim``),
    Mamba (1) for Jamba (``attn_layer_period``); None where none of them (before 2026-12-07 Falcon-H1 and Zamba2
    had no state at all; before that, a Mamba layer transformers 5 calls ``linear_attention`` was read as Gated
    DeltaNet, an AttributeError)."""
    if getattr(c, "linear_num_value_heads", None):
        return _deltanet_state(c)
    if config_value(c, "mamba_num_heads", "mamba_n_heads", "n_mamba_heads", "mamba_headdim") is not None:
        return _mamba2_state(c)
    if getattr(c, "attn_layer_period", None) and all(getattr(c, k, None) for k in ("mamba_expand", "mamba_d_state",
                                                                                   "mamba_d_conv")):
        return _mamba1_state(c)
    return None


def _weight_block(config: Any) -> dict[str, float]:
    """``fp8_weight_block`` of a block-scaled fp8 checkpoint (``quantization_config.weight_block_size``)."""
    q = getattr(config, "quantization_config", None)
    block = q.get("weight_block_size") if isinstance(q, dict) else getattr(q, "weight_block_size", None)
    return {"fp8_weight_block": float(block[0])} if block else {}


#: ModelOpt ``quant_algo`` -> weight format, as vLLM's modelopt.py ``resolve`` runs each: FP8_PB_WO (and its
#: older spelling FP8_BLOCK_SCALES) despite its name is 128 x 128 block-static fp8 weights with dynamic per-128
#: activation groups (kFp8Static128BlockSym / kFp8Dynamic128Sym, W8A8): fp8_block; W4A16_NVFP4 quantises no
#: activations (Marlin): nvfp4a16. MXFP8 has no schema format and falls through to "".
_MODELOPT_ALGOS = {"NVFP4": "nvfp4", "FP8": "fp8", "FP8_PER_CHANNEL_PER_TOKEN": "fp8", "FP8_PB_WO": "fp8_block",
                   "FP8_BLOCK_SCALES": "fp8_block", "W4A16_NVFP4": "nvfp4a16"}

#: Quantisation methods whose kernels never quantise activations (vLLM: gptq / gptq_marlin / auto_round are
#: WNA16, Marlin or Exllama, whatever the bits; awq is 4-bit only).
_WEIGHT_ONLY_METHODS = ("awq", "gptq", "awq_marlin", "gptq_marlin", "auto_round")


def _method(q: dict) -> str:
    return str(q.get("quant_method") or q.get("quant_algo") or "").lower().replace("-", "_")


def declares_weight_only(quantization_config: Any) -> bool:
    """Whether a checkpoint's ``quantization_config`` quantises its weights and none of its activations, so that
    vLLM runs its GEMMs at the activations' 16 bits (W8A16 / W4A16): a GPTQ / AWQ / AutoRound one, or a
    compressed-tensors one whose every config group has weights and no ``input_activations`` (vLLM's
    ``_get_scheme_from_parts``: ``CompressedTensorsWNA16`` for int weights, ``CompressedTensorsW8A16Fp8`` for fp8,
    ``W4A16Fp4`` for nvfp4)."""
    q = quantization_config if isinstance(quantization_config, dict) else {}
    method = _method(q)
    if method in _WEIGHT_ONLY_METHODS:
        return True
    if method == "compressed_tensors":
        groups = [g or {} for g in (q.get("config_groups") or {}).values()]
        return bool(groups) and all(g.get("weights") and not g.get("input_activations") for g in groups)
    return False


def declared_precision(quantization_config: Any, activations: str) -> tuple[str, str]:
    """(weight format, compute precision) a checkpoint's ``quantization_config`` declares, as the schema's
    ``precision`` / ``compute_precision`` columns write them: the format of :func:`declared_weight_format`; the
    compute precision ``activations`` (the run's 16-bit dtype, "bf16" / "fp16") for 8-bit weights that vLLM runs
    weight-only (:func:`declares_weight_only`: an int8 W8A16 or fp8 W8A16 checkpoint, which the precision table
    would price W8A8 at the int8 / fp8 peak), else "" (the table decides per GPU: a W8A8 checkpoint, and the
    formats whose GEMMs are 16-bit on every GPU anyway, int4 and nvfp4a16)."""
    fmt = declared_weight_format(quantization_config)
    weight_only = fmt in ("int8", "fp8", "fp8_block") and declares_weight_only(quantization_config)
    return fmt, activations if weight_only else ""


def declared_weight_format(quantization_config: Any) -> str:
    """The weight format a checkpoint's ``quantization_config`` (config.json) declares, as schema v1 names it
    (``int4``, ``int8``, ``fp8``, ``fp8_block``, ``mxfp4``, ``nvfp4``, ``nvfp4a16``), or ``""`` when it declares none that is
    known. vLLM loads a checkpoint in this format whatever ``--dtype`` / ``--quantization`` say."""
    q = quantization_config if isinstance(quantization_config, dict) else {}
    method = _method(q)
    if method in _WEIGHT_ONLY_METHODS:
        return {4: "int4", 8: "int8"}.get(int(q.get("bits") or 4), "")
    if method == "fp8":
        return "fp8_block" if q.get("weight_block_size") else "fp8"
    if method in ("mxfp4", "nvfp4"):
        return method
    if method == "modelopt":  # NVIDIA ModelOpt (nvidia/*-FP4, *-FP8): quant_algo, as vLLM's modelopt.py reads it
        algo = str(q.get("quant_algo") or (q.get("quantization") or {}).get("quant_algo") or "").upper()
        return _MODELOPT_ALGOS.get(algo, "")
    if method == "compressed_tensors":
        fmt = str(q.get("format") or "").lower()
        if "nvfp4" in fmt:  # weight-only when no group quantises its inputs (vLLM's _is_fp4a16_nvfp4: W4A16 Marlin)
            groups = [g or {} for g in (q.get("config_groups") or {}).values()]
            return "nvfp4a16" if groups and not any(g.get("input_activations") for g in groups) else "nvfp4"
        for group in (q.get("config_groups") or {}).values():
            w = (group or {}).get("weights") or {}
            bits, kind = int(w.get("num_bits") or 0), str(w.get("type") or "int")
            if kind == "float" and bits == 8:
                return "fp8_block" if w.get("block_structure") else "fp8"
            if kind == "int" and bits in (4, 8):
                return f"int{bits}"
    return ""


#: Module names of a MoE decoder layer (DeepSeek-V3 / Kimi K2 naming, as vLLM prefixes them) that
#: :func:`declared_layout` matches a checkpoint's ignore list against: attention, a shared expert, a dense
#: layer's MLP and a routed expert.
_PROBES = {"attention": "model.layers.1.self_attn.o_proj", "shared": "model.layers.1.mlp.shared_experts.down_proj",
           "dense": "model.layers.0.mlp.down_proj", "routed": "model.layers.1.mlp.experts.0.down_proj"}


def _ignored(q: dict, name: str) -> bool:
    """Whether a ``quantization_config`` leaves module ``name`` out: compressed-tensors ``ignore`` (``re:``
    regexes matched from the start, else the name or its last parts), or ``modules_to_not_convert`` /
    ``ignored_layers`` (substrings, as transformers and vLLM's fp8 / mxfp4 configs test them)."""
    for pattern in q.get("ignore") or ():
        p = str(pattern)
        if re.match(p[3:], name) if p.startswith("re:") else name == p or name.endswith("." + p):
            return True
    return any(str(m) in name for m in (q.get("modules_to_not_convert") or q.get("ignored_layers") or ()))


def declared_layout(quantization_config: Any) -> WeightLayout:
    """The :class:`~energylens.profiles.checkpoints.WeightLayout` a checkpoint's ``quantization_config``
    declares (:func:`declared_layout_words`, priced as the model table's words are): experts-only for an
    expert-only format (mxfp4) or where attention, shared experts and dense MLPs are left out and the routed
    experts are not (Kimi-K2-Thinking's compressed-tensors ``ignore``); the experts' bytes of a symmetric grouped
    int format (its ``group_size`` and a 16-bit scale per group: 0.5625 B at int4 / 32), else NaN (the format's).
    What the model table's ``checkpoint_precision`` cell records (``int4 experts group32``;
    tests/profiles/test_checkpoint_layout.py checks the two agree)."""
    q = quantization_config if isinstance(quantization_config, dict) else {}
    return layout_of(declared_weight_format(q), declared_layout_words(q).split())


def declared_layout_words(quantization_config: Any) -> str:
    """The ``weight_layout`` cell (docs/profile-schema.md) a checkpoint's ``quantization_config`` declares:
    ``experts`` where only the routed experts are in its format (an expert-only format; attention, shared
    experts and dense MLPs ignored, the routed experts not), else ``all``, then ``group<N>`` for a symmetric
    grouped compressed-tensors int4 / int8 format (one 16-bit scale per N weights); ``""`` where it declares
    no format (the model table's / the format's rule)."""
    q = quantization_config if isinstance(quantization_config, dict) else {}
    fmt = declared_weight_format(q)
    if not fmt:
        return ""
    ignored = {k: _ignored(q, v) for k, v in _PROBES.items()}
    only = fmt in EXPERT_ONLY_FORMATS or (ignored["attention"] and ignored["shared"] and ignored["dense"]
                                          and not ignored["routed"])
    words = ["experts" if only else "all"]
    if _method(q) == "compressed_tensors" and fmt in ("int4", "int8"):
        w = [(g or {}).get("weights") or {} for g in (q.get("config_groups") or {}).values()]
        size = w[0].get("group_size") if len(w) == 1 else None
        if w and w[0].get("strategy") == "group" and w[0].get("symmetric") and isinstance(size, int) and size > 0:
            words.append(f"group{size}")
    return " ".join(words)


def _context_window(c: Any) -> float:
    """vLLM's default max_model_len of a text config: the smallest length key set, times the RoPE scaling
    factor unless the type extrapolates by itself (su, longrope, llama3); yarn scales its original length."""
    lengths = [float(v) for k in _LENGTH_KEYS if isinstance(v := getattr(c, k, None), (int, float))]
    if not lengths:
        return math.nan
    window = min(lengths)
    rope = getattr(c, "rope_scaling", None)
    if isinstance(rope, dict):
        kind = rope.get("rope_type") or rope.get("type")
        if kind not in ("su", "longrope", "llama3", None):
            if kind == "yarn" and rope.get("original_max_position_embeddings"):
                window = float(rope["original_max_position_embeddings"])
            window *= float(rope.get("factor") or 1.0)
    return window


def _mamba2_state(c: Any) -> tuple[float, float]:
    """(state, conv-state part) elements of one Mamba-2 layer for one sequence, as vLLM's mamba2_state_shape counts
    them: the SSM state heads x head_dim x d_state, the conv state (conv kernel - 1) x (d_inner + 2 x groups x
    d_state), d_inner Falcon-H1's ``mamba_d_ssm`` where it has one, else heads x head_dim. Key names: Nemotron-H's,
    else Bamba's / Granite-4.0-H's / Falcon-H1's, else Zamba2's (its heads ``mamba_expand`` x hidden / head_dim
    where the config does not list ``n_mamba_heads``)."""
    head_dim = config_value(c, "mamba_head_dim", "mamba_d_head", "mamba_headdim")
    heads = config_value(c, "mamba_num_heads", "mamba_n_heads", "n_mamba_heads") or c.mamba_expand * c.hidden_size // head_dim
    state, groups = config_value(c, "ssm_state_size", "mamba_d_state"), config_value(c, "n_groups", "mamba_n_groups", "mamba_ngroups")
    inner = getattr(c, "mamba_d_ssm", None) or heads * head_dim
    conv = (config_value(c, "conv_kernel", "mamba_d_conv") - 1) * (inner + 2 * groups * state)
    return float(heads * head_dim * state + conv), float(conv)


def _mamba1_state(c: Any) -> tuple[float, float]:
    """(state, conv-state part) elements of one Mamba (1) layer for one sequence (Jamba; vLLM's
    mamba1_state_shape: the conv state of (conv kernel - 1) x d_inner, the SSM state of d_inner x d_state,
    d_inner = ``mamba_expand`` x hidden_size)."""
    inner = c.mamba_expand * c.hidden_size
    conv = (c.mamba_d_conv - 1) * inner
    return float(inner * c.mamba_d_state + conv), float(conv)


def _deltanet_state(c: Any) -> tuple[float, float]:
    """(state, conv-state part) elements of one Gated DeltaNet layer for one sequence."""
    keys = c.linear_num_key_heads * c.linear_key_head_dim
    values = c.linear_num_value_heads * c.linear_value_head_dim
    conv = (c.linear_conv_kernel_dim - 1) * (2 * keys + values)
    return float(c.linear_num_value_heads * c.linear_key_head_dim * c.linear_value_head_dim + conv), float(conv)


def _vocabulary(c: Any, config: Any) -> dict[str, float]:
    """``vocab_size`` and ``tie_word_embeddings`` (1.0 / 0.0) of the language model (a multimodal config's text
    config, else its own); NaN where the config does not say."""
    vocab = config_value(c, "vocab_size")
    tied = next((v for v in (getattr(c, "tie_word_embeddings", None), getattr(config, "tie_word_embeddings", None))
                 if isinstance(v, bool)), None)
    return {"vocab_size": float(vocab) if isinstance(vocab, int | float) and vocab > 0 else math.nan,
            "tie_word_embeddings": math.nan if tied is None else float(tied)}


def architecture_columns(config: Any, params_b: float) -> dict[str, Any]:
    """Profile-row architecture columns of a Hugging Face config (multimodal configs: their text model).

    Args:
        config: a ``transformers`` config (or any object with its attribute names).
        params_b: the checkpoint's parameters, billions (a MoE's active count is this less the routed
            experts a token skips: :mod:`energylens.profiling.hf_experts`).
    """
    c = text_config(config)
    heads = float(getattr(c, "num_attention_heads", math.nan))
    d_model = float(getattr(c, "hidden_size", math.nan))
    out = {"params_b": params_b, **expert_columns(c, params_b), "n_layers": float(getattr(c, "num_hidden_layers", math.nan)),
           "d_model": d_model, "n_heads": heads, "n_kv_heads": float(getattr(c, "num_key_value_heads", None) or heads),
           **_attention(c, heads, d_model)}
    moe = out["n_experts"] > 1
    window = _context_window(c)
    widths = ffn_widths(c, moe, moe and not math.isfinite(out["n_moe_layers"]))
    if moe:
        out["active_params_b"] = active_params_b(c, params_b, out | widths)
    limits = widths | ({"context_window_tokens": window} if math.isfinite(window) else {})
    kinds = _layer_kinds(c) | _weight_block(config) | limits | _vocabulary(c, config)
    if kinds.get("architecture") == "hybrid" and out["architecture"] == "moe":
        kinds.pop("architecture")  # a hybrid MoE keeps the MoE label (the EP checks read it)
    return out | kinds
