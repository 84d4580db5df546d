"""A user's ModelSpec (``search(model=ModelSpec(...))``) checked before anything is priced from it.

A table row passes (tests/search/test_search_spec_checks.py runs every row through :func:`check_model_spec`);
a hand-written or edited spec with a value no model has (0 layers, NaN heads, 32 heads over 3 KV heads,
more active parameters than parameters, 4 experts per token of 1) is a ValueError naming the spec and the
field. Before, such a spec met the first check that happened to read the field: "pp=1 exceeds the 0
layers", "tp=1 divides the attention heads of none of the models (x has nan)", a schema error about data
row 1 of an internal "<DataFrame>", or no error at all (experts_per_token above n_experts was clamped to it,
KV heads that do not divide the heads were priced as given).
"""

from __future__ import annotations

import dataclasses
import math

from energylens.errors import UnknownModelError
from energylens.profiles import tables

__all__ = ["check_model_spec", "named_model", "UNKNOWN_MODEL_REMEDY", "spec_problem", "WHOLE_FIELDS", "OPTIONAL_FIELDS"]

#: Fields every model has: a whole number >= 1.
WHOLE_FIELDS = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token")
#: Optional numeric fields (NaN / None: the model has none, or it is unknown): else a finite number >= 0.
OPTIONAL_FIELDS = tuple(f.name for f in dataclasses.fields(tables.ModelSpec)
                        if f.default is not dataclasses.MISSING and f.name != "estimated") + (
    "image_tokens_per_image", "vision_params_b")
#: Optional layer counts that cannot exceed n_layers.
_LAYER_COUNTS = ("n_attention_layers", "n_moe_layers", "n_sliding_layers")


def _number(value) -> float | None:
    """``value`` as a float, None when it is not a number (a boolean is not one)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_model_spec(spec: tables.ModelSpec, where: str = "search(model=...)") -> tables.ModelSpec:
    """``spec`` itself when its values describe a model; else ValueError naming the spec, the field, its value
    and what it must be (:func:`spec_problem`)."""
    name = spec.name if isinstance(spec.name, str) and spec.name.strip() else None
    if name is None:
        raise ValueError(f"a ModelSpec given to {where} has no name ({spec.name!r}); the results and the features "
                         "tell models apart by it")
    problem = spec_problem(spec)
    if problem is not None:
        field, value, need, _ = problem
        raise ValueError(f"ModelSpec {name!r} given to {where}: {field} is {value!r}; it must be {need}")
    return spec


def spec_problem(spec: tables.ModelSpec) -> tuple[str, object, str, str] | None:
    """The first value of ``spec`` no model has, as (field, value, what it must be, the other field the rule
    reads or ""); None when there is none. Estimates (``tables.estimate_architecture``) are held to the same rules:
    their heads are a multiple of their KV heads at every size (53e9175; before, 8 B gave 30 over 8 and was exempt)."""
    for field in WHOLE_FIELDS:
        v = _number(getattr(spec, field))
        if v is None or not math.isfinite(v) or v < 1 or v != int(v):
            return field, getattr(spec, field), "a whole number >= 1", ""
    p, pa = _number(spec.params_b), _number(spec.active_params_b)
    if p is None or not math.isfinite(p) or p <= 0:
        return "params_b", spec.params_b, "a finite number of billions > 0", ""
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
        v = math.nan if raw is None else _number(raw)
        if v is None or math.isinf(v) or v < 0:
            return field, raw, "a finite number >= 0, or NaN (none / unknown)", ""
    for field in _LAYER_COUNTS:
        v = float(getattr(spec, field) if getattr(spec, field) is not None else math.nan)
        if v > spec.n_layers:
            return field, getattr(spec, field), f"at most n_layers ({int(spec.n_layers)})", "n_layers"
    return None


#: What search() can be given for a model the table lacks (it takes no ``params_b``, which the table's own
#: message offers: that is :func:`energylens.profiles.tables.model_spec`'s keyword, not the search's).
UNKNOWN_MODEL_REMEDY = (
    " To search a model the table lacks, give search(model=...) its architecture as a ModelSpec (e.g. "
    "dataclasses.replace(energylens.profiles.tables.estimate_architecture(20.0), name='org/model'), then the "
    "n_layers, d_model, n_heads, n_kv_heads, head_dim and experts of its config.json; "
    "energylens.profiles.tables.ModelSpec), or search(candidates=df) with rows that give params_b (docs/search.md).")


def named_model(name: str) -> tables.ModelSpec:
    """The model table's spec of ``name``; UnknownModelError (close matches) with :data:`UNKNOWN_MODEL_REMEDY`
    in place of the table's "pass params_b", which search() does not take (before 2026-12-06 it offered it)."""
    try:
        return tables.model_spec(name)
    except UnknownModelError as exc:
        raise UnknownModelError(str(exc.args[0]).split(" Pass params_b")[0] + UNKNOWN_MODEL_REMEDY) from None
