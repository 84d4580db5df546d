"""The search space: axes validated, (model, GPU, precision, KV dtype) combinations resolved once.

:func:`build_space` turns what a user names (models, GPUs, TP/PP/DP/EP, max_num_seqs, precisions, KV
dtypes, workload points) into :class:`SearchSpace`: the per-combination static values the native
engine needs, computed through :func:`energylens.profiles.features.build_features` (the model's own
feature code, not a second copy of its formulas), plus the axes as arrays. Candidate ``i`` is the
mixed-radix index over (combo, tp, pp, dp, ep, max_num_seqs, workload), slowest first (without the workload
digit when the workload points are one distribution, ``workload_weights``); :meth:`SearchSpace.decode` maps
indices back to configurations and :meth:`SearchSpace.point_profiles` to the schema-v1 rows the energy
model predicts on. :func:`candidate_space` builds the space of an explicit table of configurations
(``energylens.search(candidates=df)``, :mod:`.candidates`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energylens import _core
from energylens.profiles import tables
from energylens.profiles.architecture import ATTENTION_COLUMNS, attention_per_layer
from energylens.profiles.bare_fp4 import axis_format, formats_per_checkpoint
from energylens.profiles.checkpoints import weight_only_compute
from energylens.profiles.features import STATE_TRAFFIC_PER_STEP, features_of
from energylens.profiles.frame_columns import FrameColumns
from energylens.profiles.schema import MAX_GPU_COUNT, load_profiles
from energylens.search import memory as _memory
from energylens.search.axes import (
    as_list,
    check_distinct,
    check_divisibility,
    check_kv_alike,
    check_layers,
    check_prices,
    default_tp,
    int_axis,
    normalised_axis,
    tp_node,
    vllm_kv_cache_dtype,
    workload_points,
)
from energylens.search.combo_cache import memo_combo_values, memo_features
from energylens.search.memory import BF16_KEPT, GIB
from energylens.search.serving_limits import limit_values, served_spec
from energylens.search.specs import check_model_spec, named_model

__all__ = ["SearchSpace", "build_space", "COMBO_FIELDS", "GIB", "Combo", "resolve_combos", "profile_row", "check_layers",
           "check_prices", "check_gpu_specs", "combo_features", "canonical_rows"]

#: Column order of the native combos array (template features, then the engine's extra fields).
COMBO_FIELDS: tuple[str, ...] = tuple(_core.search_combo_fields())
#: The largest max_num_seqs the engine takes (its native axis check).
MAX_NUM_SEQS = 1_000_000
#: A batch large enough that every expert is touched ((1 - k/E)^B underflows to 0).
_ALL_EXPERTS_BATCH = 1e9


@dataclass(frozen=True)
class Combo:
    """One (model, GPU, weight precision, KV-cache dtype) combination; ``overrides``: profile columns that
    replace the model table's values (sorted (column, value) pairs; candidate tables, e.g. modality)."""

    model: str
    gpu: str
    precision: str
    kv_cache_dtype: str
    overrides: tuple = ()


@dataclass
class SearchSpace:
    """Axes and per-combination values; ``size`` candidates, never materialised."""

    combos: list[Combo]
    combo_values: np.ndarray          # (n_combos, len(COMBO_FIELDS)) float64
    profile_rows: list[dict]          # per combo: the schema-v1 columns that describe it (for decode / oracle)
    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    ep: np.ndarray
    max_num_seqs: np.ndarray
    workloads: np.ndarray             # (n_workloads, 2): input_tokens, output_tokens
    prefill_extra_flops: np.ndarray   # (n_combos, n_workloads)
    workload_weights: np.ndarray | None = None  # per point, summing to 1: the points are one distribution
    node_size: int = 0  # > 0: GPUs per scale-up domain for every GPU (the search's override); 0: the GPU table's
    checkpoint_precisions: dict[str, str] | None = None  # no precision axis: checkpoint as named -> its format
    tp_note: str = ""  # the default TP axis without the values no model can use: which, and why
    given_names: dict[str, str] = field(default_factory=dict)  # searched model name -> the name given, where they differ
    model_specs: dict = field(default_factory=dict)  # combo model name -> its ModelSpec (a table row or the user's;
    # None: a candidate table's model estimated per (name, params_b), looked up as predict does)
    shape: tuple[int, ...] = field(init=False)         # candidates
    point_shape: tuple[int, ...] = field(init=False)   # workload points (= shape without a distribution)

    def __post_init__(self) -> None:
        self.point_shape = (len(self.combos), len(self.tp), len(self.pp), len(self.dp), len(self.ep),
                            len(self.max_num_seqs), len(self.workloads))
        self.shape = self.point_shape[:-1] + ((1,) if self.distribution else self.point_shape[-1:])

    @property
    def distribution(self) -> bool:
        """True when the workload points are quantiles of one distribution (one candidate per configuration)."""
        return self.workload_weights is not None

    @property
    def size(self) -> int:
        """Number of candidates (product of the axis lengths)."""
        return int(math.prod(self.shape))

    def native_args(self) -> tuple:
        """The space as the positional arguments of ``_core.search_run`` / ``search_evaluate``."""
        return (self.combo_values, self.tp, self.pp, self.dp, self.ep, self.max_num_seqs, self.workloads,
                self.prefill_extra_flops, self.workload_weights)

    def digits(self, index: Iterable[int]) -> tuple[np.ndarray, ...]:
        """Axis positions (combo, tp, pp, dp, ep, max_num_seqs, workload) of candidate indices."""
        idx = np.asarray(index, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.size):
            raise ValueError(f"candidate index outside the space of {self.size} candidates")
        return np.unravel_index(idx, self.shape)

    def decode(self, index: Iterable[int]) -> pd.DataFrame:
        """Configurations of candidate indices: model, gpu, precision, kv_cache_dtype, tp, pp, dp, ep,
        max_num_seqs, input_tokens, output_tokens (a distribution's weighted mean tokens)."""
        return pd.DataFrame(self.decode_columns(index))

    def decode_columns(self, index: Iterable[int]) -> dict[str, object]:
        """:meth:`decode` as a dict of columns (a caller adding columns builds its frame once)."""
        c, t, p, d, e, b, w = self.digits(index)
        workloads = self.workloads
        if self.distribution:
            w, workloads = np.zeros(len(c), dtype=np.int64), (self.workload_weights @ self.workloads)[None, :]
        return {
            "index": np.asarray(index, dtype=np.int64),
            "model": [self.combos[i].model for i in c], "gpu": [self.combos[i].gpu for i in c],
            "precision": [self.combos[i].precision for i in c],
            "kv_cache_dtype": [self.combos[i].kv_cache_dtype for i in c],
            "tp": self.tp[t].astype(int), "pp": self.pp[p].astype(int), "dp": self.dp[d].astype(int),
            "ep": self.ep[e].astype(int), "max_num_seqs": _whole(self.max_num_seqs[b]),
            "input_tokens": workloads[w, 0], "output_tokens": workloads[w, 1],
        }

    def points(self, index: Iterable[int]) -> np.ndarray:
        """Workload-point indices (into ``point_shape``) of candidates: ``index`` itself, or for a
        distribution the candidate's n points (shape (len(index), n_points))."""
        idx = np.asarray(index, dtype=np.int64)
        if not self.distribution:
            return idx
        return idx[:, None] * len(self.workloads) + np.arange(len(self.workloads))[None, :]

    def point_profiles(self, point_index: Iterable[int], rank_batch=None) -> pd.DataFrame:
        """Schema-v1 rows of workload points (indices into ``point_shape``), what
        :meth:`energylens.model.EnergyModel.predict` takes: the combo's columns, tp, pp, dp, ep, tokens and
        ``batch_size`` = dp x the running batch per data-parallel rank (``rank_batch``; default the
        point's max_num_seqs, the fixed-batch mode's running batch), and ``scale_up_domain_gpus`` when the
        space carries a node-size override."""
        return pd.DataFrame(self._point_columns(point_index, rank_batch))  # one construction (~0.1 ms a column added)

    def _point_columns(self, point_index: Iterable[int], rank_batch=None) -> dict[str, np.ndarray]:
        idx = np.asarray(point_index, dtype=np.int64).reshape(-1)
        c, t, p, d, e, b, w = np.unravel_index(idx, self.point_shape)
        cols = {name: values[c] for name, values in _row_columns(self.profile_rows).items()}
        cols["tp"], cols["pp"], cols["dp"], cols["ep"] = self.tp[t], self.pp[p], self.dp[d], self.ep[e]
        cols["input_tokens"], cols["output_tokens"] = self.workloads[w, 0], self.workloads[w, 1]
        rb = self.max_num_seqs[b] if rank_batch is None else np.asarray(rank_batch, dtype=np.float64).reshape(-1)
        cols["batch_size"] = self.dp[d] * rb
        if self.node_size > 0:  # the override, as the engine applies it (docs/search.md, Topology)
            cols["scale_up_domain_gpus"] = np.full(len(idx), float(self.node_size))
        return cols

    def point_features(self, point_index: Iterable[int], rank_batch=None) -> dict[str, np.ndarray]:
        """The template's features of :meth:`point_profiles` rows, each model priced by its ModelSpec
        (:func:`combo_features`); remembered per rows, specs and GPU specs (a scheduler's repeated top rows)."""
        cols = self._point_columns(point_index, rank_batch)
        return memo_features(cols, self.model_specs, lambda: combo_features(pd.DataFrame(cols), self.model_specs))


def _row_columns(rows: list[dict]) -> dict[str, np.ndarray]:
    """Profile rows as columns (numbers float64, texts object arrays; NaN / None where a row lacks the column)."""
    out = {}
    for name in dict.fromkeys(k for r in rows for k in r):
        values = [r.get(name) for r in rows]
        numeric = all(_is_number(v) or v is None for v in values)  # not bool (np.bool_ is no np.integer)
        out[name] = (np.array([math.nan if v is None else v for v in values], dtype=np.float64) if numeric
                     else np.array(values, dtype=object))
    return out


def combo_features(frame: pd.DataFrame, model_specs: dict) -> dict[str, np.ndarray]:
    """``build_features`` of rows of a space's combos (their canonical profile rows, :func:`_canonical`, with
    the axes' tp, pp, dp, ep, batch and tokens), with every model's architecture from its ModelSpec
    (``model_specs``: name -> spec), not looked up by name in the model table: a user's explicit architecture
    (``search(model=ModelSpec(...))``, or a table row copied under another name) is priced with all it gives
    (a hybrid's attention layers and recurrent state, sliding windows, the vision encoder), as a table row
    is. The rows were validated when the space was built, so the schema is not run again here (it was most
    of a one-candidate search's time); tests/search/test_search_parity.py checks the result against
    ``EnergyModel.predict``, which does run it. A None spec (a candidate table's model estimated from its
    params_b) has every model looked up as ``predict`` looks it up: the table's row, an estimate per (name,
    params_b)."""
    specs = model_specs if all(s is not None for s in model_specs.values()) else None
    return features_of(FrameColumns(frame.reset_index(drop=True)), model_specs=specs)


def _canonical(keys, rows: list[dict]) -> list[dict]:
    """The combos' profile rows as schema v1 writes them (a modality 'Image' -> 'image', a compute precision
    'FP8' -> 'fp8', numbers as floats), validated here once for the feature passes of :func:`combo_features`.
    Only the rows' own columns are kept (no architecture filled from the table: the ModelSpec gives it). A
    row of a model-table spec without overrides is the table's own and is kept as it is (every table row in
    every weight format passes the schema unchanged: tests/search/test_search_canonical_rows.py); a user's ModelSpec or overrides are validated."""
    check = [i for i, (m, *_, o) in enumerate(keys) if o or tables.find_model(m.name) is not m]
    if not check:
        return rows
    frame = pd.DataFrame([rows[i] for i in check]).assign(tp=1, pp=1, dp=1, ep=1, batch_size=1.0, input_tokens=1.0,
                                                          output_tokens=1.0)
    valid = canonical_rows([rows[i] for i in check], load_profiles(frame, require_energy=False, fill_architecture=False),
                           range(len(check)))
    out = list(rows)
    for i, row in zip(check, valid, strict=True):
        out[i] = row
    return out


def canonical_rows(rows: list[dict], valid: pd.DataFrame, at: Iterable[int]) -> list[dict]:
    """``rows`` with each of their columns' values taken from the validated frame ``valid`` at positions ``at``
    (one per row; a column the frame lacks keeps the row's value)."""
    columns = {c: valid[c].to_numpy(dtype=object) for c in dict.fromkeys(k for r in rows for k in r) if c in valid.columns}
    return [{c: _plain(columns[c][i]) if c in columns else v for c, v in row.items()} for i, row in zip(at, rows, strict=True)]


def _plain(value):
    """A validated cell as a Python value (float for numbers, str for texts, NaN for a blank)."""
    if isinstance(value, (np.floating, np.integer)):
        return float(value)
    return math.nan if value is None or value is pd.NA else value


def _whole(values: np.ndarray) -> np.ndarray:
    """Integers where every value is whole (max_num_seqs caps; a candidate table's batch_size / dp may not be)."""
    return values.astype(np.int64) if np.all(values == np.round(values)) else values


def _resolve_model(m) -> tables.ModelSpec:
    if isinstance(m, tables.ModelSpec):
        return check_model_spec(m)  # a user's values: each checked, the spec and field named
    return named_model(str(m))  # UnknownModelError with close matches and the search's remedy


def _resolve_gpu(g) -> tables.GpuSpec:
    if isinstance(g, tables.GpuSpec):
        # a user spec: registered (process-wide, as --gpu-table does), because the feature code looks
        # GPUs up by name
        return tables.register_gpu(g, where="search(gpus=...)")
    return tables.gpu_spec(str(g), option="--gpus (Python: gpus=)")  # UnknownGpuError: close matches, variants


def profile_row(m: tables.ModelSpec, g: tables.GpuSpec, precision: str, kv: str, overrides: tuple = ()) -> dict:
    """Schema-v1 columns that describe a combination (architecture explicit, text modality unless the
    overrides say otherwise)."""
    row = {"model": m.name, "gpu": g.name, "precision": precision, "kv_cache_dtype": kv,
           "params_b": float(m.params_b), "active_params_b": float(m.active_params_b),
           "n_layers": m.n_layers, "d_model": m.d_model, "n_heads": m.n_heads, "n_kv_heads": m.n_kv_heads,
           "head_dim": m.head_dim, "n_experts": m.n_experts, "experts_per_token": m.experts_per_token,
           "modality": "text"}
    row.update(dict(overrides))
    return row


def weight_only_overrides(overrides: tuple, checkpoint: str, precision: str) -> tuple:
    """A combo's ``(column, value)`` overrides plus the 16-bit ``compute_precision`` of a weight-only checkpoint
    in its own 8-bit format (:func:`~energylens.profiles.checkpoints.weight_only_compute`: ``...quantized.w8a16``
    int8 runs W8A16, not W8A8) where they give none: the combo takes the model table's row name, which would
    lose what the checkpoint's name says. Columns stay in the overrides' order, compute_precision appended."""
    compute = weight_only_compute(str(checkpoint), precision)
    if not compute or any(c == "compute_precision" for c, _ in overrides):
        return overrides
    return (*overrides, ("compute_precision", compute))


def _arch(r: dict, m: tables.ModelSpec, name: str) -> float:
    """An architecture value of a combo: its profile row's (an override), else the model table's (NaN if none)."""
    v = r.get(name, getattr(m, name, math.nan))
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    if not math.isfinite(v):
        v = float(getattr(m, name, math.nan) if getattr(m, name, None) is not None else math.nan)
    return v


def _is_number(value) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


#: GPU spec fields the search needs, and what for.
_GPU_NEEDS = {"memory_gb": "the memory check", "hbm_bw_gbs": "the time and energy of streaming weights and KV cache",
              "tdp_w": "static and busy power", "interconnect_bw_gbs": "the tensor-parallel all-reduce time"}


def check_gpu_specs(pairs: Iterable[tuple[tables.GpuSpec, str]]) -> None:
    """Every (GPU, weight precision) of the space has the spec values the search needs (:data:`_GPU_NEEDS`
    and a peak for the precision), before the feature code or the engine meets a NaN; ValueError naming
    the GPU, where its row came from, the field and the fix."""
    for g, precision in pairs:
        where = re.sub(r"(?i)^user gpu table\s+", "", str(g.source or ""))  # the file a user row came from
        head = f"GPU {g.name!r}" + (f" (from {where})" if where and "://" not in where else "")
        fix = (f"add it to {g.name}'s row there" if where and "://" not in where else
               f"give it in a row for {g.name} of a --gpu-table FILE (docs/reference-tables.md says which bundled "
               "rows leave a figure blank, and why)")
        for name, why in _GPU_NEEDS.items():
            v = getattr(g, name)
            if not (v is not None and math.isfinite(float(v)) and float(v) > 0):
                raise ValueError(f"{head} has no {name}: the search needs it for {why}; {fix}")
        try:
            g.peak_flops(precision)
        except ValueError:
            raise ValueError(f"{head} has no peak FLOP/s for {precision} weights (peak_bf16_tflops or the format's "
                             f"own peak): the search needs it for the compute time; {fix}") from None


def _price(price_per_gpu_hour, gpu: tables.GpuSpec) -> float:
    if price_per_gpu_hour is None:
        return 0.0
    if isinstance(price_per_gpu_hour, dict):
        for key, value in price_per_gpu_hour.items():
            if tables.normalize_name(key) in (tables.normalize_name(gpu.name),
                                              *map(tables.normalize_name, gpu.aliases)):
                return float(value)
        given = ",".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"  # the example: the user's own
                         for k, v in price_per_gpu_hour.items())
        raise ValueError(f"price_per_gpu_hour (--price) has no price for {gpu.name}: give every searched GPU one "
                         f"(--price {given + ',' if given else ''}{gpu.name}=PRICE per GPU-hour) or one number for all")
    return float(price_per_gpu_hour)


def build_space(models, gpus, *, input_tokens, output_tokens, tp=None, pp=(1,), dp=(1,), ep=(1,),
                max_num_seqs=(1, 2, 4, 8, 16, 32, 64, 128, 256), precision=None, kv_cache_dtype=("auto",),
                price_per_gpu_hour=None, workload_weights=None, node_size=None) -> SearchSpace:
    """Validate the axes and resolve every combination.

    ``input_tokens`` / ``output_tokens``: one value each, or equal-length sequences of workload points.
    ``tp``: None: :func:`~energylens.search.axes.default_tp` (1,2,4,8, and the powers of two beyond up to the
    largest scale-up domain of ``gpus`` or ``node_size``: up to 64 on GB200 NVL72) less the values no model's
    heads take (attention and KV heads, the engine's tp_heads; ``tp_note`` says which); a given value no model can use is an error naming
    those within ``node_size`` GPUs (None: the GPUs' scale-up domain, at least 8), the engine's tp_node limit.
    ``precision``: weight formats searched for every model; None: each model in the format its checkpoint
    is published in (:func:`energylens.profiles.checkpoints.checkpoint_precision`: ``openai/gpt-oss-120b``
    mxfp4, ``Qwen/Qwen3-8B-FP8`` fp8, most others bf16).
    ``workload_weights``: None (each point searched as its own candidate, e.g. a sweep over workloads), or
    one weight per point, or ``"equal"``: the points are quantiles of one workload distribution and each
    configuration is one candidate (expected energy per request over the points, limits and memory at
    the worst point; docs/search.md).

    Raises:
        ValueError: an empty or invalid axis (non-positive tokens, TP that divides no model's heads ...).
        UnknownGpuError, UnknownModelError: a name the tables do not know (close matches listed).
    """
    model_specs = [_resolve_model(m) for m in as_list(models, "models")]
    gpu_specs = [_resolve_gpu(g) for g in as_list(gpus, "gpus")]
    precisions = None if precision is None else normalised_axis(precision, "precision", axis_format, "weight format")
    kvs = normalised_axis(kv_cache_dtype, "kv_cache_dtype", vllm_kv_cache_dtype, "KV-cache dtype")
    li, lo, weights = workload_points(input_tokens, output_tokens, workload_weights)
    node = tp_node(gpu_specs, node_size)  # the default tp reaches the largest scale-up domain (or --node-size)
    axes = {name: int_axis(v, name, MAX_GPU_COUNT) for name, v in (("tp", default_tp(node) if tp is None else tp),
                                                                    ("pp", pp), ("dp", dp), ("ep", ep))}
    biggest = {name: int(axes[name].max()) for name in ("tp", "pp", "dp")}
    if math.prod(biggest.values()) > MAX_GPU_COUNT:
        raise ValueError(f"tp x pp x dp reaches {math.prod(biggest.values()):,} GPUs per deployment ("
                         f"{', '.join(f'{k} {v}' for k, v in biggest.items())}); energylens takes at most "
                         f"{MAX_GPU_COUNT:,} (2**20): drop the largest values")
    batches = int_axis(max_num_seqs, "max_num_seqs", MAX_NUM_SEQS)  # vLLM's cap: a whole number of sequences
    check_distinct(model_specs, models, "models", "model")
    check_distinct(gpu_specs, gpus, "gpus", "GPU")
    checkpoints = [m.name if isinstance(m, tables.ModelSpec) else str(m) for m in as_list(models, "models")]
    axes["tp"], tp_note = check_divisibility(model_specs, axes["tp"], axes["ep"], tp is not None, node, checkpoints)
    check_layers([(c, m.n_layers) for m, c in zip(model_specs, checkpoints, strict=True)], axes["pp"])  # as given
    check_prices(price_per_gpu_hour, gpu_specs)
    formats = formats_per_checkpoint(precisions, checkpoints, "search", "--precision")
    check_kv_alike(kvs, formats)
    keys = [(served_spec(m, raw), g, p, k, weight_only_overrides((), c, p))
            for m, raw, c, ps in zip(model_specs, as_list(models, "models"), checkpoints, formats, strict=True)
            for g in gpu_specs for p in ps for k in kvs]
    combos, rows, values, extra = resolve_combos(keys, li, lo, price_per_gpu_hour)
    return SearchSpace(combos=combos, combo_values=values, profile_rows=rows, model_specs=_specs_by_name(keys),
                       tp=axes["tp"], pp=axes["pp"], dp=axes["dp"], ep=axes["ep"], max_num_seqs=batches,
                       workloads=np.ascontiguousarray(np.column_stack([li, lo])), prefill_extra_flops=extra,
                       workload_weights=weights,
                       checkpoint_precisions=None if precisions else {c: f[0] for c, f in zip(checkpoints, formats, strict=True)},
                       tp_note=tp_note, given_names={n: c for m, raw, c in zip(model_specs, as_list(models, "models"),
                                                                               checkpoints, strict=True)
                                                     if (n := served_spec(m, raw).name) != c})


def resolve_combos(keys, li: np.ndarray, lo: np.ndarray, price, rows: list[dict] | None = None
                   ) -> tuple[list, list, np.ndarray, np.ndarray]:
    """Combos, their profile rows, engine values and prefill extra FLOPs per workload point, for keys
    (ModelSpec, GpuSpec, precision, kv_cache_dtype, overrides); ``rows``: the keys' profile rows validated
    by the caller already (:func:`canonical_rows`), else validated here."""
    check_gpu_specs(dict.fromkeys((g, p) for _, g, p, _, _ in keys))
    combos = [Combo(m.name, g.name, p, k, o) for m, g, p, k, o in keys]
    rows = _canonical(keys, [profile_row(m, g, p, k, o) for m, g, p, k, o in keys]) if rows is None else rows
    values, extra = _combo_values(rows, [(m, g) for m, g, *_ in keys], li, lo, price)
    return combos, rows, values, extra


def _specs_by_name(keys) -> dict[str, tables.ModelSpec]:
    """Model name -> ModelSpec of resolve_combos' keys (:attr:`SearchSpace.model_specs`)."""
    return {m.name: m for m, *_ in keys}


@memo_combo_values
def _combo_values(rows: list[dict], specs, li: np.ndarray, lo: np.ndarray, price) -> tuple[np.ndarray, np.ndarray]:
    """Static engine values per combination, from build_features at batch 1, at a batch that touches
    every expert (the MoE weight bytes per step at any batch follow from these two and k/E), and with
    dp = 2 (the MoE layers' dispatch / combine among the dp ranks)."""
    n, nw = len(rows), len(li)
    n_exp = np.array([max(_arch(r, m, "n_experts"), 1.0) for r, (m, _) in zip(rows, specs, strict=True)])
    # each combo at batch 1, at a batch touching every expert, at dp 2; then, since the vision-encoder share
    # depends on the prompt, every (combo, workload) at batch 1: one feature pass, one frame built at once
    at = np.concatenate([np.tile(np.arange(n), 3), np.repeat(np.arange(n), nw)])
    cols = {name: values[at] for name, values in _row_columns(rows).items()}
    cols["tp"] = cols["pp"] = cols["ep"] = np.ones(len(at))
    cols["batch_size"] = np.concatenate([np.repeat([1.0, _ALL_EXPERTS_BATCH, 2.0], n), np.ones(n * nw)])
    cols["dp"] = np.concatenate([np.repeat([1.0, 1.0, 2.0], n), np.ones(n * nw)])
    cols["input_tokens"] = np.concatenate([np.full(3 * n, float(li[0])), np.tile(li, n)])
    cols["output_tokens"] = np.concatenate([np.full(3 * n, float(lo[0])), np.tile(lo, n)])
    both = combo_features(pd.DataFrame(cols), {m.name: m for m, _ in specs})
    feats = {k: v[:3 * n] for k, v in both.items()}
    extra = both["prefill_extra_flops"][3 * n:].reshape(n, nw)
    one = {k: v[:n] for k, v in feats.items()}
    every = {k: v[n:2 * n] for k, v in feats.items()}
    frac = np.where(n_exp > 1, one["experts_per_token"] / n_exp, 1.0)  # touched at batch 1: k/E (1 dense)
    moe = frac < 1.0
    expert = np.where(moe, (every["weight_bytes_per_step"] - one["weight_bytes_per_step"]) / np.where(moe, 1 - frac, 1), 0.0)
    values = np.zeros((n, len(COMBO_FIELDS)))
    col = {name: j for j, name in enumerate(COMBO_FIELDS)}
    for name in feats:
        if name in col:
            values[:, col[name]] = one[name]
    values[:, col["a2a_moe_layers_with_dp"]] = feats["a2a_moe_layers"][2 * n:]
    values[:, [col[k] for k in ("ttft_factor", "tpot_factor", "energy_factor", "prefill_stall")]] = 1.0  # api sets
    # memory holds one copy of a sequence's recurrent state; the feature counts its read and write per step
    values[:, col["state_memory_bytes_per_seq"]] = one["state_bytes_per_seq"] / STATE_TRAFFIC_PER_STEP
    for i, (r, (m, g)) in enumerate(zip(rows, specs, strict=True)):
        layers = _memory.pattern_fields(_memory.own_pattern(r, m), _arch(r, m, "n_layers"), _arch(r, m, "n_attention_layers"))
        for name, value in {**_memory.combo_weight_values(r, [_arch(r, m, c) for c in BF16_KEPT], expert[i], moe[i]), **layers}.items():
            values[i, col[name]] = value  # bf16 embeddings, encoder, expert-only rest; the stages' parts
        values[i, col["memory_bytes"]] = g.memory_gb * GIB
        values[i, col["scale_up_domain_gpus"]] = g.domain_gpus()  # the GPU table's (blank: the documented default)
        values[i, col["nvls"]] = float(_memory.nvls_capable(g))  # NCCL's NVLS buffers in the runtime reserve (memory.py)
        # the engine replicates KV by tp / KV heads, as features.py: an MLA latent (kv_lora_rank) counts as 1 head
        kv_heads = attention_per_layer({c: _arch(r, m, c) for c in ATTENTION_COLUMNS})[0]
        values[i, col["n_heads"]], values[i, col["n_kv_heads"]] = _arch(r, m, "n_heads"), kv_heads
        values[i, col["n_experts"]] = max(int(_arch(r, m, "n_experts")), 1)
        values[i, col["price_per_gpu_hour"]] = _price(price, g)
    # Sliding-window layers: the engine scales KV bytes and attention FLOPs by the window share of each
    # workload's context (features.py), so the combo keeps them without the share of workload 0.
    ctx0 = li[0] + 0.5 * lo[0]
    for i, (r, (m, _)) in enumerate(zip(rows, specs, strict=True)):
        nl, la = _arch(r, m, "n_layers"), _arch(r, m, "n_attention_layers")
        la = min(la, nl) if np.isfinite(la) and la >= 1 else nl
        ns = _arch(r, m, "n_sliding_layers")
        ns = ns if np.isfinite(ns) else 0.0
        win = _arch(r, m, "sliding_window")
        win = win if np.isfinite(win) and win > 0 else 0.0
        s = min(ns, la) / la if win > 0 and ns > 0 else 0.0
        share0 = 1.0 - s + s * min(ctx0, win) / max(ctx0, 1.0) if s > 0 else 1.0
        values[i, col["window_tokens"]], values[i, col["sliding_share"]] = win, s
        values[i, col["kv_bytes_per_token"]] /= share0
        values[i, col["attn_flops_per_token_ctx"]] /= share0
        values[i, col["prefill_attn_flops_per_token_ctx"]] /= share0
    for name, column in limit_values(rows, [m for m, _ in specs]).items():
        values[:, col[name]] = column
    values[:, col["weight_expert_step_bytes"]] = expert
    values[:, col["weight_shared_step_bytes"]] = every["weight_bytes_per_step"] - expert
    values[:, col["expert_miss_log"]] = np.where(moe, np.log(np.where(moe, 1 - frac, 1.0)), 0.0)
    return np.ascontiguousarray(values), np.ascontiguousarray(extra)
