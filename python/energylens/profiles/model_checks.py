"""The values a model has: the checks of a ModelSpec's fields (:func:`spec_problem`), shared by a user's ModelSpec
(:mod:`energylens.search.specs`), a candidate table's architecture columns and a user model table
(:mod:`energylens.profiles.model_table`). Moved here from ``energylens.search.specs`` (which re-exports it) so
the profiles layer can read a user model table with the same rules.
"""

from __future__ import annotations

import dataclasses
import math

from energylens.profiles import tables
from energylens.profiles.layer_pattern import pattern_problem

__all__ = ["spec_problem", "WHOLE_FIELDS", "OPTIONAL_FIELDS", "LAYER_COUNTS", "number", "MAX_PARAMS_B"]

#: The most parameters a model has, in billions (the schema's params_b limit: 100 trillion); a model table row's
#: params_b / active_params_b cells are held to it too (model_table).
MAX_PARAMS_B = 100_000.0

#: Fields every model has: a whole number >= 1.
WHOLE_FIELDS = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token")
#: Optional numeric fields (NaN / None: the model has none, or it is unknown): else a finite number >= 0.
OPTIONAL_FIELDS = tuple(f.name for f in dataclasses.fields(tables.ModelSpec)
                        if f.default is not dataclasses.MISSING and f.name not in ("estimated", "layer_pattern")) + (
    "image_tokens_per_image", "vision_params_b")
#: Optional layer counts that cannot exceed n_layers.
LAYER_COUNTS = ("n_attention_layers", "n_moe_layers", "n_sliding_layers")


def number(value) -> float | None:
    """``value`` as a float, None when it is not a number (a boolean is not one)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def spec_problem(spec: tables.ModelSpec) -> tuple[str, object, str, str] | None:
    """The first value of ``spec`` no model has, as (field, value, what it must be, the other field the rule
    reads or ""); None when there is none. Estimates (``tables.estimate_architecture``) are held to the same rules:
    their heads are a multiple of their KV heads at every size (53e9175; before, 8 B gave 30 over 8 and was exempt)."""
    for field in WHOLE_FIELDS:
        v = number(getattr(spec, field))
        if v is None or not math.isfinite(v) or v < 1 or v != int(v):
            return field, getattr(spec, field), "a whole number >= 1", ""
    p, pa = number(spec.params_b), number(spec.active_params_b)
    if p is None or not math.isfinite(p) or p <= 0:
        return "params_b", spec.params_b, "a finite number of billions > 0", ""
    if p > MAX_PARAMS_B:  # 8.03e9 for 8.03: the schema then refused a configuration row the user never wrote
        slip = f" (is it in parameters? write {p / 1e9:g})" if p / 1e9 <= MAX_PARAMS_B else ""
        return "params_b", spec.params_b, f"billions of parameters, at most {MAX_PARAMS_B:,.0f}{slip}", ""
    if pa is None or not math.isfinite(pa) or pa <= 0 or pa > p:
        return "active_params_b", spec.active_params_b, f"a finite number of billions > 0 and <= params_b ({p:g})", "params_b"
    if int(spec.n_heads) % int(spec.n_kv_heads):
        return ("n_kv_heads", spec.n_kv_heads, f"a divisor of n_heads ({int(spec.n_heads)}): each KV head serves a "
                "whole group of query heads", "n_heads")
    if spec.experts_per_token > spec.n_experts:
        return "experts_per_token", spec.experts_per_token, f"at most n_experts ({int(spec.n_experts)})", "n_experts"
    routed = p * spec.experts_per_token / spec.n_experts  # the active share if every parameter were a routed expert
    if spec.n_experts > 1 and pa <= routed:  # else the weights outside the experts come out <= 0 (engine error)
        return ("active_params_b", spec.active_params_b, f"above params_b x experts_per_token / n_experts ({p:g} x "
                f"{int(spec.experts_per_token)} / {int(spec.n_experts)} = {routed:.4g}): the routed experts alone "
                "activate that much, and attention, embeddings and any shared experts are active too", "params_b")
    for field in OPTIONAL_FIELDS:
        raw = getattr(spec, field)
        v = math.nan if raw is None else number(raw)
        if v is None or math.isinf(v) or v < 0:
            return field, raw, "a finite number >= 0, or NaN (none / unknown)", ""
    for field in LAYER_COUNTS:
        v = float(getattr(spec, field) if getattr(spec, field) is not None else math.nan)
        if v > spec.n_layers:
            return field, getattr(spec, field), f"at most n_layers ({int(spec.n_layers)})", "n_layers"
    bad = pattern_problem(spec.layer_pattern, spec.n_layers, float(spec.n_attention_layers),
                          float(spec.state_elems_per_seq), float(spec.n_sliding_layers))
    if bad is not None:
        return "layer_pattern", spec.layer_pattern, f"the model's layer kinds in order: {bad}", "n_layers"
    return None
