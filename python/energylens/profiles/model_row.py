"""One row of the model table (:class:`ModelSpec`): an LLM checkpoint's architecture as its ``config.json``
gives it, or as :func:`energylens.profiles.tables.estimate_architecture` estimates it.

The model table itself (the bundled rows, look-ups by name, the estimate) is :mod:`energylens.profiles.tables`,
which re-exports :class:`ModelSpec`; user model tables are :mod:`energylens.profiles.model_table`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import KW_ONLY, MISSING, dataclass, fields

from energylens.profiles import model_registry

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """One row of the model table (or an estimate). The name may be given by position, every other field by
    keyword (``ModelSpec("org/x", aliases=(), family=..., ...)``): a positional call is a TypeError naming them.

    Attributes:
        name: Hugging Face id, e.g. ``"meta-llama/Meta-Llama-3.1-70B-Instruct"``.
        aliases: other spellings.
        family: e.g. ``"llama-3.1"``.
        architecture: ``"dense"``, ``"moe"`` or ``"hybrid"``.
        params_b: total parameters of the checkpoint (incl. any vision encoder), billions.
        active_params_b: parameters the language model uses per generated token (top-k experts only
            for MoE; the vision encoder, which runs once per image, excluded), billions. Both counts hold
            the input embedding and the lm_head (once when tied), as config.json's and Hugging Face's do.
        n_layers, d_model, n_heads, n_kv_heads, head_dim: from ``config.json``.
        n_experts, experts_per_token: 1 for dense models.
        image_tokens_per_image: LLM prompt tokens one image becomes (NaN for text-only models).
        vision_params_b: vision encoder + projector, billions (NaN if none).
        source: URL of the config.json (or ``"estimated"``).
        estimated: True when the row came from :func:`estimate_architecture`.
        n_attention_layers: layers with attention and a KV cache (hybrids: fewer than n_layers; NaN = all).
        n_moe_layers: layers with routed experts (NaN = all layers of a MoE model).
        sliding_window: tokens a sliding-window / chunked-attention layer attends to (NaN = none).
        n_sliding_layers: how many of the attention layers use that window (NaN = none).
        state_elems_per_seq: recurrent-state elements of one sequence over all Mamba layers (SSM
            state + conv state; NaN = none).
        video_tokens_per_frame: LLM prompt tokens one video frame becomes (NaN: not a video model).
        vision_patches_per_token: vision-encoder patches merged into one LLM visual token (Qwen-VL's
            2x2 spatial merge and Llama 4's / Nemotron VL's pixel shuffle: 4; Gemma 3's 4x4 average
            pool: 16; NaN = 1, one patch per token as in LLaVA-1.5).
        vision_layers, vision_d_model: depth and width of the vision encoder's transformer (its
            attention over an image's patches; NaN = attention not counted).
        video_sample_fps, video_min_frames: the model's video processor re-samples a clip to this
            frame rate, keeping at least ``video_min_frames`` and at most the frames sent (Qwen3-VL
            in vLLM: 2 fps, >= 4 frames); NaN = every frame sent is encoded.
        fp8_weight_block: block size of the model's fp8 checkpoint's weight scales (Qwen3 -FP8: 128 x 128);
            an ``fp8`` row of such a model computes as ``fp8_block`` (energylens.profiles.precision);
            NaN = per-tensor / per-channel scales.
        vision_tile_tokens: LLM visual tokens of one tile / crop the vision encoder runs on alone (its
            attention spans one tile: Llama 4's 336-px tiles 144, Nemotron VL's 512-px tiles 256);
            NaN = the encoder attends over the whole image at once (Qwen-VL, Gemma 3's one crop).
        conv_state_elems_per_seq: the conv-state part of ``state_elems_per_seq`` (kept in the
            activation dtype; the rest is the SSM state, in ``mamba_ssm_cache_dtype``); NaN = none.
        kv_lora_rank, qk_rope_head_dim: multi-head latent attention (DeepSeek-V3, Kimi K2): vLLM caches
            ``kv_lora_rank + qk_rope_head_dim`` elements per token and layer (one latent, no K/V heads);
            NaN = ordinary attention (``2 x n_kv_heads x head_dim`` per token and layer).
        v_head_dim: an MLA model's value head (config.json ``v_head_dim``; DeepSeek-V3 and Kimi K2: 128), which
            vLLM's MLA prefill decompresses the latent to; ``head_dim`` is then the query/key head
            (``qk_nope_head_dim + qk_rope_head_dim`` = 192). NaN = ``head_dim - qk_rope_head_dim``
            (``qk_nope_head_dim``, equal to ``v_head_dim`` in every DeepSeek-V2/V3 config).
        intermediate_size: FFN width of the dense layers (config.json ``intermediate_size``; a MoE model's
            dense layers, NaN when every layer is MoE), moe_intermediate_size: FFN width of one routed expert
            (``moe_intermediate_size``; Mixtral-style configs: ``intermediate_size``); NaN = unknown.
        shared_expert_intermediate_size: FFN width of a MoE's shared expert(s), split over tp like the dense
            layers; NaN = none. The search checks a block-scaled fp8 checkpoint's shards against the widths.
        context_window_tokens: the longest sequence (prompt + output tokens) the checkpoint is served with,
            vLLM's default ``max_model_len`` from config.json; the table's cell may give an alias its own
            (``40960; Qwen/Qwen3-235B-A22B-Instruct-2507=262144``), which :func:`find_model` applies for
            that name. NaN = unknown (not checked).
        vocab_size, tie_word_embeddings: config.json's (tied 1: the lm_head is the input embedding); the two hold
            vocab_size x d_model parameters each (once when tied), which quantised checkpoints keep in bf16
            (:func:`energylens.search.memory.embedding_params`); NaN = unknown (counted in the checkpoint's format).
        audio_params_b: an audio encoder in ``params_b`` (Qwen3-Omni's audio tower), billions: like the vision
            encoder it runs in the prefill only and holds no routed expert; NaN = none.
        layer_pattern: a hybrid's layer kinds in order, one character per layer (``*`` attention, ``M`` recurrent
            state, ``-`` / ``E`` neither; ``(UNIT)xN`` repeats UNIT N times: :mod:`energylens.profiles.layer_pattern`),
            which the search's per-stage memory check reads at pp > 1; "" = unknown (KV cache and state spread
            over the layers in proportion).
    """

    name: str
    _: KW_ONLY  # every field after the name by keyword: five ints of layer shape are easy to misorder
    aliases: tuple[str, ...]
    family: str
    architecture: str
    params_b: float
    active_params_b: float
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    n_experts: int
    experts_per_token: int
    image_tokens_per_image: float
    vision_params_b: float
    source: str
    estimated: bool = False
    n_attention_layers: float = math.nan
    n_moe_layers: float = math.nan
    sliding_window: float = math.nan
    n_sliding_layers: float = math.nan
    state_elems_per_seq: float = math.nan
    video_tokens_per_frame: float = math.nan
    vision_patches_per_token: float = math.nan
    vision_layers: float = math.nan
    vision_d_model: float = math.nan
    video_sample_fps: float = math.nan
    video_min_frames: float = math.nan
    fp8_weight_block: float = math.nan
    vision_tile_tokens: float = math.nan
    conv_state_elems_per_seq: float = math.nan
    kv_lora_rank: float = math.nan
    qk_rope_head_dim: float = math.nan
    v_head_dim: float = math.nan
    intermediate_size: float = math.nan
    moe_intermediate_size: float = math.nan
    shared_expert_intermediate_size: float = math.nan
    context_window_tokens: float = math.nan
    vocab_size: float = math.nan
    tie_word_embeddings: float = math.nan
    audio_params_b: float = math.nan
    layer_pattern: str = ""

    def __post_init__(self) -> None:  # "denso": an error naming the values (it was taken, and priced as dense)
        if (kind := str(self.architecture).strip().lower()) not in (known := model_registry.ARCHITECTURES):
            raise ValueError(f"ModelSpec {self.name!r}: architecture {self.architecture!r} is not one of {', '.join(known)}")
        object.__setattr__(self, "architecture", kind)  # "MoE " -> "moe", as the table spells it

    def __hash__(self) -> int:
        # The generated hash walks all 30-odd fields (~3 us), and the feature builder's per-row caches
        # (architecture.spec_column, keyed on the row) pay it for every distinct model of every call. A frozen
        # row's hash never changes, so it is computed once and kept outside the fields (not pickled: str
        # hashes differ between processes).
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}


def _keywords_after_name(init):
    """``ModelSpec.__init__`` refusing positional values after the name with the fields to name (Python's own
    error said only 'takes 2 positional arguments but 17 were given')."""
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if len(args) > 1:
            named = ", ".join(f"{f.name}=" for f in fields(ModelSpec)
                              if f.name != "name" and f.default is MISSING) + ", and any optional field"
            raise TypeError(f"ModelSpec({args[0]!r}, ...): every field after the name is given by keyword ({named}); "
                            f"got {len(args) - 1} positional value(s) after it (n_layers, d_model, n_heads, ... by "
                            "position were easy to misorder)")
        init(self, *args, **kwargs)
    return __init__


ModelSpec.__init__ = _keywords_after_name(ModelSpec.__init__)
