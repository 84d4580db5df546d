"""The routed experts of a Hugging Face config, for :func:`energylens.profiling.hf_config.architecture_columns`:
how many, how many a token runs, in which layers, their widths, and the parameters a token runs through.

``active_params_b`` is the checkpoint's total less the routed experts a token skips:
``params_b - n_moe_layers x (n_experts - experts_per_token) x one expert``, one expert a gated FFN of
``3 x hidden_size x moe width`` (gpt-oss adds its biases; Nemotron-H's relu² experts have no gate: 2 x). What stays
is attention, embeddings, the dense layers, the shared experts, the routers and the k routed experts, as the model
table's rows count them (Qwen3-30B-A3B 30.53 -> 3.35, Mixtral-8x7B 46.70 -> 12.88, gpt-oss-120b 116.79 -> 5.71
with its input embedding, OpenAI's 5.13 without; tests/profiling/test_hf_config_moe_hybrids.py). A multimodal
checkpoint's count keeps its vision encoder (Llama 4 Scout: 18.1 against the table's 17.2 for the language model).
NaN where the config gives no expert width, or the subtraction leaves no more than the routed experts alone
(a ``params_b`` that is not the checkpoint's): the loader then warns that it prices the row's every parameter.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["expert_columns", "ffn_widths", "active_params_b", "config_value"]


def config_value(c: Any, *names: str) -> Any:
    """The first attribute of ``c`` among ``names`` that is set (not None), else None (a config key under its
    several spellings; hf_config reads through it too)."""
    for n in names:
        v = getattr(c, n, None)
        if v is not None:
            return v
    return None


def expert_columns(c: Any, params_b: float) -> dict[str, Any]:
    """``n_experts``, ``experts_per_token``, ``architecture`` and ``n_moe_layers`` of a text config (1 / dense /
    NaN for a dense model); ``active_params_b`` is the dense model's ``params_b`` and a MoE's NaN here
    (:func:`active_params_b` once the widths are known)."""
    pattern = getattr(c, "hybrid_override_pattern", None)
    if isinstance(pattern, str):  # Nemotron-H: routed experts only in its E layers (the class has defaults)
        experts = int(c.n_routed_experts) if "E" in pattern else 1
    else:
        experts = int(config_value(c, "num_local_experts", "num_experts", "n_routed_experts") or 1)
    per_token = int(config_value(c, "num_experts_per_tok", "num_experts_per_token", "moe_topk", "experts_per_token") or 1)
    moe = experts > 1
    return {"n_experts": float(experts), "experts_per_token": float(per_token if moe else 1),
            "architecture": "moe" if moe else "dense", "active_params_b": math.nan if moe else params_b,
            "n_moe_layers": _moe_layers(c) if moe else math.nan}


def _moe_layers(c: Any) -> float:
    """Layers with routed experts when some are dense (NaN: all of them): Nemotron-H's E layers, Llama 4's
    ``moe_layers``, DeepSeek's ``first_k_dense_replace``, Jamba's ``expert_layer_period`` / ``expert_layer_offset``
    (MoE where i % period == offset: JambaConfig.layers_num_experts), else ``interleave_moe_layer_step`` /
    ``decoder_sparse_step`` less ``mlp_only_layers``."""
    layers = int(c.num_hidden_layers)
    pattern = getattr(c, "hybrid_override_pattern", None)
    if isinstance(pattern, str):
        return float(pattern.count("E"))
    listed = getattr(c, "moe_layers", None)  # Llama 4: the MoE layer indices
    if isinstance(listed, (list, tuple)):
        return float(len(listed)) if len(listed) != layers else math.nan
    k = getattr(c, "first_k_dense_replace", None)
    if k:
        return float(layers - int(k))
    period = getattr(c, "expert_layer_period", None)
    if isinstance(period, int) and period > 0:
        offset = int(getattr(c, "expert_layer_offset", None) or 0)
        n = sum(1 for i in range(layers) if i % period == offset)
        return float(n) if n != layers else math.nan
    step = getattr(c, "interleave_moe_layer_step", None) or getattr(c, "decoder_sparse_step", None) or 1
    dense = set(getattr(c, "mlp_only_layers", None) or ())
    n = sum(1 for i in range(layers) if i not in dense and (i + 1) % int(step) == 0)
    return float(n) if n != layers else math.nan


def _shared_expert_width(c: Any, expert: Any) -> float | None:
    """The FFN width of a MoE layer's shared expert(s), the MLP vLLM builds beside the routed experts:
    ``shared_expert_intermediate_size`` (Qwen2-MoE, Qwen3-Next; Nemotron-H's ``moe_shared_expert_intermediate_size``,
    beside its ``n_shared_experts`` 1), ``n_shared_experts`` x the routed width
    (DeepSeek-V2/V3, Kimi K2, GLM-4.5), Llama 4's one shared expert of the routed width; None = no shared
    expert (Qwen3 MoE, Mixtral, gpt-oss: the keys are absent or 0)."""
    width = config_value(c, "shared_expert_intermediate_size", "moe_shared_expert_intermediate_size")  # Nemotron-H: the 2nd
    if width:
        return float(width)
    shared = getattr(c, "n_shared_experts", None)
    if shared and expert:
        return float(shared) * float(expert)
    if getattr(c, "model_type", None) == "llama4_text" and expert:  # Llama4TextMoe: shared_expert = MLP(config)
        return float(expert)
    return None


def ffn_widths(c: Any, moe: bool, all_moe: bool) -> dict[str, float]:
    """Dense FFN width, one routed expert's and the shared experts' (the model table's ``intermediate_size`` /
    ``moe_intermediate_size`` / ``shared_expert_intermediate_size``): an expert is ``moe_intermediate_size``
    where the config has it (Qwen3 MoE, DeepSeek), else ``intermediate_size`` (Mixtral, gpt-oss, Llama 4, Jamba);
    a MoE's dense layers are ``intermediate_size_mlp`` (Llama 4), else ``intermediate_size`` (DeepSeek's first
    layers, Jamba's every other layer: JambaMLP); none when every layer is MoE."""
    width = config_value(c, "intermediate_size", "ff_intermediate_size", "ffn_hidden_size")
    if not moe:
        return {"intermediate_size": float(width)} if width else {}
    expert = getattr(c, "moe_intermediate_size", None)
    dense = getattr(c, "intermediate_size_mlp", None) or width
    out = {"moe_intermediate_size": float(expert or width)} if (expert or width) else {}
    shared = _shared_expert_width(c, expert or width)
    out |= {"shared_expert_intermediate_size": shared} if shared else {}
    return out | ({"intermediate_size": float(dense)} if dense and not all_moe else {})


def _expert_params(c: Any, width: float) -> float:
    """Parameters of one routed expert of FFN width ``width``: gate, up and down (3 x hidden x width); no gate
    for Nemotron-H's relu² experts (up and down); gpt-oss's fused gate_up and down carry biases (2 x width +
    hidden)."""
    d = float(c.hidden_size)
    kind = getattr(c, "model_type", None)
    if kind == "nemotron_h":
        return 2.0 * d * width
    return 3.0 * d * width + (2.0 * width + d if kind == "gpt_oss" else 0.0)


def active_params_b(c: Any, params_b: float, columns: dict[str, Any]) -> float:
    """Parameters a token runs through, billions, of a MoE whose ``columns`` (:func:`expert_columns` with the
    :func:`ffn_widths`) are known: the module's rule; NaN where it cannot say."""
    width, hidden = columns.get("moe_intermediate_size"), getattr(c, "hidden_size", None)
    experts, per_token = columns["n_experts"], columns["experts_per_token"]
    if not width or not hidden or not (isinstance(params_b, (int, float)) and math.isfinite(params_b)):
        return math.nan
    if getattr(c, "moe_latent_size", None):  # Nemotron-H latent MoE: experts on a projected width not read here
        return math.nan
    layers = columns["n_moe_layers"] if math.isfinite(columns["n_moe_layers"]) else float(c.num_hidden_layers)
    active = params_b - layers * (experts - per_token) * _expert_params(c, float(width)) / 1e9
    return active if active > params_b * per_token / experts else math.nan
