"""A search's space with its KV cache in fp8 (:func:`fp8_kv_space`), priced as :func:`.space.build_space` prices
``--kv-cache-dtype fp8``, so the KV-cache remedy (:func:`.remedies.kv_room`) can follow its own advice through the
engine's memory check and say whether an fp8 KV cache fits, and at how many sequences, instead of offering it
unchecked ("or store the KV cache in fp8: half the bytes per token", before 2026-12-06)."""

from __future__ import annotations

import dataclasses

from energylens.profiles import tables
from energylens.search.space import SearchSpace, resolve_combos

__all__ = ["fp8_kv_space", "respec_space", "searched_fp8_kv"]


def searched_fp8_kv(kv_cache_dtypes) -> bool:
    """Whether a KV-cache dtype of the search is an fp8 one (fp8, fp8_e4m3, fp8_e5m2): then fp8 is no remedy."""
    return any(str(k).lower().startswith("fp8") for k in kv_cache_dtypes or [])


def fp8_kv_space(space: SearchSpace) -> SearchSpace | None:
    """``space`` with each (model, GPU, weight format) in an fp8 KV cache and every axis as searched; None where
    fp8 was searched already or a model has no spec of its own (a candidate table's estimate)."""
    if searched_fp8_kv(c.kv_cache_dtype for c in space.combos):
        return None
    return respec_space(space, kv_cache_dtype="fp8")


def respec_space(space: SearchSpace, *, kv_cache_dtype: str | None = None, precision: str | None = None,
                 gpus=None) -> SearchSpace | None:
    """``space`` with each combo's KV-cache dtype, weight format or GPU replaced (``gpus``: GpuSpecs, each
    combo on every one of them), priced as :func:`.space.build_space` prices them, every axis as searched; None
    where a model has no spec of its own (a candidate table's estimate). The layout remedy
    (:func:`.layout_room.layout_room`) follows "a smaller format" or "a GPU with more memory" through it."""
    keys: dict[tuple, tuple] = {}
    for c in space.combos:
        spec = space.model_specs.get(c.model)
        if spec is None:
            return None
        for g in gpus or [tables.gpu_spec(c.gpu)]:
            p, kv = precision or c.precision, kv_cache_dtype or c.kv_cache_dtype
            keys.setdefault((c.model, g.name, p, kv, c.overrides), (spec, g, p, kv, c.overrides))
    combos, rows, values, extra = resolve_combos(list(keys.values()), space.workloads[:, 0], space.workloads[:, 1], None)
    return dataclasses.replace(space, combos=combos, combo_values=values, profile_rows=rows, prefill_extra_flops=extra)
