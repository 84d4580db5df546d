"""The weight bytes a decode step streams (the ``weight_bytes_per_step`` feature, docs/model.md section 1).

Every replica streams its dense / shared weights once per step; a mixture of experts streams the experts its
batch touches, once per expert copy. Since accuracy round 10 (docs/model.md) the count is what the kernels
read per step (:func:`decode_reads`; ``features.DECODE_WEIGHT_READS``): the input embedding is a lookup of
the batch's rows, not a full read (a tied one is read in full as the lm_head); the lm_head is a full GEMM
read in 16 bits whatever the checkpoint's format (vLLM leaves embeddings and lm_head unquantised:
``energylens.search.memory.EMBEDDING_BYTES_PER_PARAM``); a vision encoder (and an audio tower) runs in the
prefill only. The FLOPs of a token count the same matrices (:func:`token_params`): not the input embedding.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from energylens.profiles import topology

__all__ = ["HEAD_BYTES_PER_PARAM", "DecodeReads", "decode_reads", "token_params", "step_weight_bytes",
           "moe_touch_fraction"]

#: Bytes per lm_head parameter of a checkpoint in a narrower format: 16-bit (a wider format keeps its own).
HEAD_BYTES_PER_PARAM = 2.0


class DecodeReads(NamedTuple):
    """Per row: parameters of the counts that a decode step does not stream in the weight format."""

    embeddings: np.ndarray  #: input embedding + lm_head parameters in the counts (once when tied)
    head: np.ndarray        #: lm_head parameters (vocab_size x d_model), streamed at 16 bits
    vision: np.ndarray      #: encoder parameters in params_b (vision, audio: run in the prefill only)


def decode_reads(arch: dict[str, np.ndarray], on: bool, audio: bool = True) -> DecodeReads:
    """:class:`DecodeReads` from the architecture's ``vocab_size``, ``tie_word_embeddings``, ``d_model``,
    ``vision_params_b`` and ``audio_params_b``; zeros where unknown (NaN: today's count, every parameter
    streamed in the format) and everywhere when ``on`` is false (the ablation). The model table's ``params_b``
    and ``active_params_b`` include the embedding and the lm_head (Hugging Face's convention: Llama-3.1-8B's
    8.03 B holds two 128256 x 4096 matrices); ``active_params_b`` excludes the encoders, ``params_b`` includes
    them. ``audio``: an audio tower (Qwen3-Omni's) counts with the vision encoder (false: as a routed expert,
    before ``features.TOKEN_FLOPS_AND_ENCODERS``)."""
    d = arch["d_model"]
    zero = np.zeros(np.shape(d))
    if not on:
        return DecodeReads(zero, zero, zero)
    embeddings, head = _embedding_params(arch)
    v = arch["vision_params_b"]
    vision = np.where(np.isfinite(v) & (v > 0), v * 1e9, 0.0)
    if audio:
        a = arch["audio_params_b"]
        vision = vision + np.where(np.isfinite(a) & (a > 0), a * 1e9, 0.0)
    return DecodeReads(embeddings, head, vision)


def _embedding_params(arch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Input embedding + lm_head parameters in the counts (once when tied), and the lm_head's; 0 unknown."""
    vocab, tied, d = arch["vocab_size"], arch["tie_word_embeddings"], arch["d_model"]
    known = np.isfinite(vocab) & (vocab > 0) & np.isfinite(tied)
    head = np.where(known, vocab * d, 0.0)  # (a NaN product is dropped, no warning; no nan_to_num: ~4 us each)
    return head * (2.0 - (tied > 0)), head  # untied: a separate input embedding as large


def token_params(Pa: np.ndarray, arch: dict[str, np.ndarray], on: bool) -> np.ndarray:
    """The parameters a token multiplies (the ``active_params`` feature, 2 FLOP each in decode and prefill):
    ``Pa`` less the input embedding, a lookup that does no matrix multiply; the lm_head is a GEMM and counts
    (tied: the one matrix, once, as the lm_head). Computed as the matrices of :func:`step_weight_bytes`'s dense
    count: Pa - min(embeddings, Pa) + lm_head (a row's own count below the embeddings: the lm_head alone).
    ``Pa`` itself where the vocabulary is unknown or ``on`` is false (``features.TOKEN_FLOPS_AND_ENCODERS``)."""
    if not on:
        return Pa
    embeddings, head = _embedding_params(arch)
    return Pa - np.minimum(embeddings, Pa) + head


def step_weight_bytes(P, Pa, E, k, B, dp, ep, tp, layout, hw, reads: DecodeReads,
                      slowest_rank: bool) -> tuple[np.ndarray, np.ndarray]:
    """Weight bytes all GPUs stream per decode step, and the experts' touched fraction.

    Every replica streams its dense / shared weights less the embeddings (``reads``) in the format, and the
    lm_head at :data:`HEAD_BYTES_PER_PARAM` (or the format's, if wider); the experts are streamed once per
    expert copy: one per EP group (ep > 1: n_gpus / (ep pp) copies), else one (vLLM:
    topology.moe_group_gpus), each copy serving its share of the batch and touching 1 - (1 - k/E)^(B /
    copies) of its experts. A MoE's experts are what its language model (params_b less the vision encoder)
    holds beyond the active parameters, scaled by 1 / (1 - k/E). With every ``reads`` value 0 the bytes
    equal the count before accuracy round 10 bit for bit (the row path of cpp/src/row_features.cpp keeps
    the same order of operations).
    """
    moe = E > 1.0
    frac = k / E                                                  # experts per token / experts
    lm = P - np.minimum(reads.vision, np.maximum(P - Pa, 0.0))   # the language model's parameters
    n_exp_params = np.where(moe, np.maximum(lm - Pa, 0.0) / np.where(moe, 1.0 - frac, 1.0), 0.0)
    shared = lm - n_exp_params                                   # attention, shared experts, embeddings
    copies = np.maximum(tp * dp / topology.moe_group_gpus(tp, dp, ep), 1.0)
    touch = moe_touch_fraction(E, k, B / copies)
    imbalance = _ep_imbalance(E, k, ep, B / copies, moe & (ep > 1.0) & slowest_rank)
    bpp_shared = np.where(moe & layout[0], hw["compute_bytes"], hw["bpp"])  # checkpoints.checkpoint_layout's
    bpp_experts = np.where(np.isfinite(layout[1]), layout[1], hw["bpp"])
    head_bytes = np.maximum(bpp_shared, HEAD_BYTES_PER_PARAM) * reads.head
    # (at most the count they are taken from: a row's own params_b / active_params_b may be smaller)
    body = np.where(moe, shared - np.minimum(reads.embeddings, np.maximum(shared, 0.0)),
                    Pa - np.minimum(reads.embeddings, Pa))
    weight_bytes = np.where(moe, dp * bpp_shared * body + dp * head_bytes
                            + copies * touch * imbalance * bpp_experts * n_exp_params,
                            dp * hw["bpp"] * body + dp * head_bytes)
    return weight_bytes, touch


def _ep_imbalance(E: np.ndarray, k: np.ndarray, ep: np.ndarray, tokens: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Slowest-rank factor of expert parallelism (1 without EP).

    A decode step waits for the EP rank that touches the most of its E/ep experts. With uniform
    routing each expert is touched with probability q = 1 - (1 - k/E)^tokens, so a rank's touched
    count is ~Binomial(E/ep, q); the expected maximum over ep ranks is taken as
    mean + sd sqrt(2 ln ep) (Gaussian extreme), capped at all E/ep experts. Returned as max / mean,
    the factor on the expert bytes the step's time is set by. No fitted parameter.
    """
    if not on.any():  # the switch is off, or no row uses expert parallelism
        return np.ones(len(E))
    e = E / np.maximum(ep, 1.0)
    q = 1.0 - (1.0 - k / E) ** np.maximum(tokens, 1.0)
    mean = e * q
    top = np.minimum(mean + np.sqrt(mean * (1.0 - q)) * np.sqrt(2.0 * np.log(np.maximum(ep, 1.0))), e)
    return np.where(on & (mean > 0), top / np.maximum(mean, 1e-12), 1.0)


def moe_touch_fraction(n_experts: np.ndarray, experts_per_token: np.ndarray, batch_size: np.ndarray) -> np.ndarray:
    """Expected fraction of the experts a decode step of ``batch_size`` top-k tokens touches:
    1 - (1 - k/E)^B for a mixture of experts (E > 1), 1 for a dense model. Scales the expert weights in
    ``weight_bytes_per_step``."""
    moe = n_experts > 1.0
    if not moe.any():
        return np.ones(np.broadcast(n_experts, experts_per_token, batch_size).shape)
    return np.where(moe, 1.0 - (1.0 - experts_per_token / n_experts) ** np.maximum(batch_size, 1.0), 1.0)
