"""The search's axes as a user gives them, checked before any combination is resolved (:mod:`.space`).

Each axis is a scalar, a list or a comma-separated string (:func:`as_list`); whole-number axes (tp, pp, dp,
ep, max_num_seqs) and positive ones (tokens) are checked value by value, naming the axis and the value; a
value given twice is refused (after normalising, for the named axes: ``bf16,BF16``), as are models or GPUs
that resolve to one entry, TP / EP values no model can use and PP values above a model's layers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import numpy as np

from energylens.outputs import plural
from energylens.profiles import tables
from energylens.profiles.architecture import ATTENTION_COLUMNS, attention_per_layer
from energylens.search.layout import SERVER_GPUS, layout_reason, tp_limit
from energylens.search.serving_limits import served_spec

__all__ = ["DEFAULT_TP", "default_tp", "as_list", "checked_axis", "int_axis", "positive_axis", "check_distinct", "check_divisibility",
           "check_layers", "tp_node", "TP_RULE", "point_weights", "normalised_axis", "workload_points",
           "check_kv_alike", "check_prices", "vllm_kv_cache_dtype"]


def as_list(value, name: str) -> list:
    """An axis as a list: a comma-separated string split (a stray comma is an error), a scalar or spec as one
    item, any other iterable as it is; ValueError naming the axis when nothing is left or an item is bytes (a value
    never decoded)."""
    if value is None:
        raise ValueError(f"{name} is required")
    if isinstance(value, _BYTES):  # (a bytearray was listed byte by byte: "unknown GPU '72'")
        value = [value]
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
        if len(items) > 1 and not all(items):  # "H100," or "1,,2": a stray comma, not a silent drop
            raise ValueError(f"{name}: empty item in {value!r} (a stray comma?); give comma-separated values")
        items = [v for v in items if v]
    elif isinstance(value, (tables.ModelSpec, tables.GpuSpec)) or np.isscalar(value):
        items = [value]
    else:
        items = list(value)
        blank = [i for i, v in enumerate(items) if isinstance(v, str) and not v.strip()]
        if blank:  # gpus=["H100", ""]: was "unknown GPU ''" with the whole table's names
            raise ValueError(f"{name}: item {blank[0] + 1} of {items!r} is blank; give each a value or drop it")
    raw = next((v for v in items if isinstance(v, _BYTES)), None)
    if raw is not None:  # (tp=b"2" was searched as 2, gpus=[b"A100..."] an unknown GPU "b'A100...'")
        raise ValueError(f"{name}: {raw!r} is a {type(raw).__name__} value, not text or a number: decode it (a str)")
    if not items:
        raise ValueError(f"{name} is empty: give at least one value ({_OPTIONS.get(name, '--' + name.replace('_', '-'))})")
    return items


#: Binary values, which no axis takes (text is a str).
_BYTES = (bytes, bytearray, memoryview)

#: The command-line option of an axis where it is not the axis' own name (the rest: --{name}).
_OPTIONS = {"models": "--model"}


def checked_axis(values, name: str, bad, message) -> list[float]:
    """The axis values as floats; ValueError naming the axis and the first value that is not a number, or
    for which ``bad(float)`` holds (``message(value)`` says why, quoting the value as given)."""
    out = []
    for v in as_list(values, name):
        if isinstance(v, (bool, np.bool_)):  # float(True) is 1: a boolean is a mistake, not a value
            raise ValueError(f"{name}: {v!r} is a boolean, not a number")
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {v!r} is not a number") from None
        if bad(f):
            raise ValueError(message(v))
        out.append(f)
    return out


def int_axis(values, name: str, high: float) -> np.ndarray:
    out = checked_axis(values, name, lambda f: not math.isfinite(f) or f < 1 or f != int(f) or f > high,
                       lambda v: f"{name}: {v!r} is not a whole number in [1, {high:.0f}]")
    if len(set(out)) != len(out):  # was "tp: repeated values in [1.0, 1.0]" until 2026-12-07
        twice = next(v for i, v in enumerate(out) if v in out[:i])
        raise ValueError(f"{name} ({_OPTIONS.get(name, '--' + name.replace('_', '-'))}): {twice:g} is given twice "
                         f"({', '.join(f'{v:g}' for v in out)}); give each value once")
    return np.asarray(out, dtype=np.float64)


def check_distinct(specs, given, name: str, what: str) -> None:
    """ValueError when two names of ``given`` resolve to one entry as searched (aliases: the same configurations
    would be searched twice and share P(best) with themselves); two checkpoints of one model-table row with
    values of their own (served_spec: Qwen3-235B-A22B and its 2507 refresh) are two models."""
    seen: dict[str, tuple] = {}
    for spec, raw in zip(specs, as_list(given, name), strict=True):
        key = served_spec(spec, raw).name if isinstance(spec, tables.ModelSpec) else spec.name
        if key in seen and _differ(spec, seen[key][1]):
            raise ValueError(f"{name}: two {what}s are named {key!r} with different values ({_differ(spec, seen[key][1])}); "
                             "give each its own name (the results, calibrations and features tell them apart by it)")
        if key in seen:
            raise ValueError(f"{name}: {_label(raw)!r} and {_label(seen[key][0])!r} are the same {what} ({key}); give "
                             "each once" + (" (a quantised copy: search its formats with precision=)" if what == "model" else ""))
        seen[key] = (raw, spec)


def _label(given) -> str:
    """A model or GPU as the user gave it, for a message: a spec by its name (its repr is 40 fields long)."""
    return given.name if isinstance(given, (tables.ModelSpec, tables.GpuSpec)) else str(given)


def _differ(spec, other) -> str:
    """The first fields (at most 3) in which two specs of one name differ, "field a vs b" ("" when they agree)."""
    names = [f.name for f in dataclasses.fields(spec) if f.name not in ("name", "aliases", "source")]
    diff = [n for n in names if not _same(getattr(spec, n), getattr(other, n))]
    return ", ".join(f"{n} {getattr(other, n)!r} vs {getattr(spec, n)!r}" for n in diff[:3])


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def positive_axis(values, name: str) -> np.ndarray:
    out = checked_axis(values, name, lambda f: not math.isfinite(f) or f <= 0,
                       lambda v: f"{name} must be finite and > 0, got {v!r}")
    return np.asarray(out, dtype=np.float64)


#: TP degrees searched when none are given on 8-GPU servers (vLLM's powers of two up to one node; a larger
#: scale-up domain or --node-size extends them: :func:`default_tp`).
DEFAULT_TP = (1, 2, 4, 8)


def default_tp(node: int) -> tuple[int, ...]:
    """The TP degrees searched when none are given: the powers of two up to ``node`` (:func:`tp_node`: the largest
    scale-up domain of the searched GPUs or ``--node-size``), at least :data:`DEFAULT_TP`: 1-64 on GB200 NVL72,
    1-16 under ``--node-size 16``; a node under 8 GPUs keeps 1,2,4,8, the values above it dropped and said
    (:func:`check_divisibility`). Before 2026-12-06 it was 1,2,4,8 whatever the domain: a search on GB200
    NVL72 got no TP 16-64 candidates though the engine's tp_node check allows them."""
    out, t = list(DEFAULT_TP), DEFAULT_TP[-1] * 2
    while t <= node:
        out.append(t)
        t *= 2
    return tuple(out)
#: vLLM's rule for a TP degree, as the engine's tp_heads check applies it (:func:`.layout.layout_reason`).
TP_RULE = "tp must divide the attention heads, and the KV heads divide tp or tp divide them"


@functools.lru_cache(maxsize=1024)
def engine_kv_heads(m: tables.ModelSpec) -> float:
    """The KV heads the engine splits or replicates (an MLA latent counts as 1, :func:`attention_per_layer`);
    remembered per spec (a scheduler's repeated search asks the same few specs on every call)."""
    return float(attention_per_layer({c: float(_number(getattr(m, c, math.nan))) for c in ATTENTION_COLUMNS})[0])


_kv_heads = engine_kv_heads


def _number(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _splits(m: tables.ModelSpec, t: float) -> bool:
    """Whether tp ``t`` passes the engine's tp_heads check for model ``m`` (heads and KV heads, vLLM's rule)."""
    return tp_heads_ok(float(m.n_heads), engine_kv_heads(m), float(t))


@functools.lru_cache(maxsize=4096)
def tp_heads_ok(heads: float, kv_heads: float, t: float) -> bool:
    """Whether tp ``t`` passes the engine's tp_heads check for ``heads`` attention and ``kv_heads`` KV heads (the
    engine's count: :func:`engine_kv_heads`), by :func:`.layout.layout_reason`; remembered per triple."""
    return int(layout_reason(heads, kv_heads, 1, t, 1, 1, math.inf)) != 0


def tp_node(gpus: Sequence[tables.GpuSpec], node_size=None) -> int:
    """The largest TP group of the searched GPUs, as the engine's tp_node check allows it: ``node_size`` when
    given, else a server's 8 GPUs or the largest scale-up domain of ``gpus`` (:func:`.layout.tp_limit`)."""
    return int(max(tp_limit([g.domain_gpus() for g in gpus] or [SERVER_GPUS], node_size or 0)))


def _refusal(unusable, models, names) -> str:
    """Why the tp values ``unusable`` suit none of ``models`` (named ``names``): the attention heads ("X has 28"),
    or, where the KV heads refuse one the heads take, both counts and vLLM's rule."""
    s = "s" if len(unusable) == 1 else ""
    if all(m.n_heads % t != 0 for t in unusable for m in models):
        heads = ", ".join(f"{n} has {m.n_heads}" for m, n in zip(models, names, strict=True))
        return f"divide{s} the attention heads of none of the models ({heads})"
    heads = ", ".join(f"{n} has {m.n_heads} attention heads and {_kv_heads(m):g} KV heads"
                      for m, n in zip(models, names, strict=True))
    return f"suit{s} none of the models ({heads}; {TP_RULE})"


def check_divisibility(models: Sequence[tables.ModelSpec], tp: np.ndarray, ep: np.ndarray, tp_given: bool = True,
                       node: int = int(SERVER_GPUS), names: Sequence[str] | None = None) -> tuple[np.ndarray, str]:
    """An axis value no model can use is a mistake, not a rejection: say which and why. A tp value no model's
    heads take (the engine's tp_heads check: the attention heads, and vLLM's KV-head rule) is an error naming
    the values that do within ``node`` GPUs (:func:`tp_node`; above it the engine rejects, tp_node); on the
    default TP axis (``tp_given`` False) such values are dropped instead (Qwen2.5-7B's 28 heads: no TP8; phi-4's
    10 KV heads: no TP4), as are values above ``node`` (``--node-size 4``: no TP8), and the sentence saying so
    returned with the kept axis ("" when nothing was dropped). The tp and ep errors and the note name each model by
    ``names`` (as the user gave them, one per model; default: the table's short names; before 2026-12-07 the tp
    ones always named the table's)."""
    names = list(names or [m.name.split("/")[-1] for m in models])
    unusable = [t for t in tp if not any(_splits(m, t) for m in models)]
    if unusable and tp_given:  # the values that would do, per model, within the node
        take = "; ".join(f"{n}: --tp {','.join(str(t) for t in range(1, node + 1) if _splits(m, t))}"
                         for m, n in zip(models, names, strict=True) if m.n_heads > 0)
        raise ValueError(f"tp={int(unusable[0])} {_refusal(unusable[:1], models, names)}; tp values that do, within a node "
                         f"of {node} GPUs (--node-size): {take}")
    over = [] if tp_given else [t for t in tp if t > node and t not in unusable]  # --node-size under 8
    note = ""
    if unusable or over:
        kept = [t for t in tp if t not in unusable and t not in over]
        why = [f"tp {','.join(str(int(t)) for t in unusable)} {_refusal(unusable, models, names)}"] if unusable else []
        why += [f"tp {','.join(str(int(t)) for t in over)} exceed{'s' if len(over) == 1 else ''} a node of {node} "
                "GPUs (--node-size)"] if over else []
        note = (f"tp (--tp) not given: searched tp {','.join(str(int(t)) for t in kept)} of the default "
                f"{','.join(map(str, default_tp(node)))}; {'; '.join(why)}")
        tp = np.asarray(kept, dtype=np.float64)
    for e in ep:
        if e > 1 and not any(m.n_experts > 1 and m.n_experts % e == 0 for m in models):
            raise ValueError(_ep_refusal(int(e), models, names))
    return tp, note


def _ep_refusal(e: int, models: Sequence[tables.ModelSpec], names: Sequence[str]) -> str:
    """Why ep ``e`` suits none of ``models`` (named ``names``) and what would: drop --ep for dense models, else the
    ep values that divide each MoE model's experts (before 2026-12-06 a MoE was told "ep > 1 needs a
    mixture-of-experts model"; before 2026-12-07 each model was named by the table's short name, not as given)."""
    experts = ", ".join(f"{n} has {m.n_experts}" for m, n in zip(models, names, strict=True))
    moe = [(m, n) for m, n in zip(models, names, strict=True) if m.n_experts > 1]
    if not moe:
        return (f"ep={e} divides the experts of none of the models ({experts}): expert parallelism (ep > 1) needs "
                "a mixture-of-experts model; for dense models drop --ep (ep 1; spread them with --tp, --pp, --dp)")
    take = "; ".join(f"{n}: --ep {','.join(str(d) for d in range(2, m.n_experts + 1) if m.n_experts % d == 0)}"
                     for m, n in moe)
    return (f"ep={e} divides the experts of none of the models ({experts}); ep values that do: {take} (the EP group "
            "is a stage's tp x dp GPUs: give --tp and --dp whose product is the ep)")


def check_layers(models: Sequence[tuple[str, float]], pp: np.ndarray) -> None:
    """A pipeline stage needs at least one layer: a pp value above a model's layer count is an error naming
    the model (``models``: (name, n_layers) pairs; with several models the axis must suit each of them)."""
    for name, layers in models:
        over = [int(p) for p in pp if math.isfinite(float(layers)) and p > layers]
        if over:
            raise ValueError(f"pp={over[0]} exceeds the {int(layers)} layers of {name}: a pipeline stage needs at "
                             f"least one layer; pick --pp values up to {int(layers)} (pp is searched for every "
                             "model, so it must suit each of them)")


def point_weights(weights, n_points: int, points=None) -> np.ndarray | None:
    """None, or the weights normalised to sum 1 (ValueError naming what is wrong). A weight of 0 is refused,
    naming the point (``points``: its input and output tokens): the point would add nothing to the energy yet
    its memory and latency, the worst point's, would still reject configurations (the CLI refused it, the
    Python API searched it, until 2026-12-07)."""
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights != "equal":
            raise ValueError(f"workload_weights (--workload-weights) must be a list of numbers or 'equal', got {weights!r}")
        return np.full(n_points, 1.0 / n_points)
    w = np.asarray(checked_axis(weights, "workload_weights", lambda f: not math.isfinite(f) or f < 0,
                                lambda v: f"workload_weights must be finite and >= 0, got {v!r}"))
    if len(w) != n_points:
        raise ValueError(f"workload_weights (--workload-weights) has {plural(len(w), 'value')} for "
                         f"{plural(n_points, 'workload point')} "
                         "(one per --input-tokens / --output-tokens pair)")
    if (w == 0).any():
        i = int(np.flatnonzero(w == 0)[0])
        at = f" ({points[0][i]:g} in, {points[1][i]:g} out)" if points is not None else ""
        raise ValueError(f"workload_weights (--workload-weights): point {i + 1}{at} has weight 0; a point's memory and "
                         "latency limits count whatever its weight (the worst point decides), so it would reject "
                         "configurations while adding nothing to the energy: remove the point (and its weight) to "
                         "leave it out, or give it a weight > 0")
    w = w / w.max()  # relative: scaled first, so weights of 1e308 each do not overflow their sum
    return np.ascontiguousarray(w / w.sum())


def normalised_axis(values, name: str, normalise, what: str) -> list[str]:
    """A named axis (precision, kv_cache_dtype) normalised item by item; ValueError naming the axis, its option
    and both spellings when two items are one value (``bf16,BF16``, ``fp8,fp8_e4m3``: the same configurations
    would be searched twice and share P(best) with themselves)."""
    given = as_list(values, name)
    out = [normalise(str(v)) for v in given]
    first: dict[str, object] = {}
    for raw, key in zip(given, out, strict=True):
        if key in first:
            raise ValueError(f"{name} (--{name.replace('_', '-')}): {first[key]!r} and {raw!r} are the same {what} "
                             f"({key}); give each once")
        first[key] = raw
    return out


def vllm_kv_cache_dtype(dtype: str) -> str:
    """:func:`energylens.profiles.tables.normalize_kv_cache_dtype` of a searched KV-cache dtype, one vLLM's
    ``--kv-cache-dtype`` takes: ValueError for fp32 / float32, which it has not (``CacheDType``: auto,
    float16, bfloat16, fp8 ...; ``auto`` is the fp32 cache of fp32 weights). ``fp16`` is the package's
    name of vLLM's float16 (docs/profile-schema.md), as ``fp8`` is of fp8_e4m3."""
    key = tables.normalize_kv_cache_dtype(dtype)
    if key == "fp32":
        raise ValueError(f"kv_cache_dtype (--kv-cache-dtype): {dtype!r} is no KV cache vLLM keeps (its "
                         "--kv-cache-dtype takes auto, float16, bfloat16, fp8, fp8_e4m3, fp8_e5m2 ...): auto keeps "
                         "the cache in the activation dtype, fp32 for fp32 weights (--precision fp32)")
    return key


def check_kv_alike(kvs: Sequence[str], formats: Sequence[Sequence[str]]) -> None:
    """ValueError naming both when two KV-cache dtypes (normalised, :func:`normalised_axis`) give the same cache for
    every searched weight format (``formats``: the formats per checkpoint): ``auto`` keeps the cache in the
    activation dtype (fp32 for fp32 weights, else 16-bit), so ``auto,bf16`` on bf16 weights is one deployment, and
    bf16 / fp16 caches are priced alike; each configuration would be listed twice at the same energy."""
    fmts = sorted({p for ps in formats for p in ps})

    def size(kv: str, fmt: str) -> float:
        return tables.KV_CACHE_DTYPE_BYTES.get(kv) or (4.0 if fmt == "fp32" else 2.0)

    for i, a in enumerate(kvs):
        for b in kvs[i + 1:]:
            if all(size(a, p) == size(b, p) for p in fmts):
                auto = "; auto keeps it in the activation dtype" if "auto" in (a, b) else ""
                raise ValueError(f"kv_cache_dtype (--kv-cache-dtype): {a!r} and {b!r} give the same KV cache for "
                                 f"{', '.join(fmts)} weights ({size(a, fmts[0]):g} bytes per element{auto}), so every "
                                 "configuration would be listed twice at the same energy, sharing P(best) with "
                                 "itself: give one of them")


def check_prices(price_per_gpu_hour, gpu_specs: Sequence[tables.GpuSpec]) -> None:
    """``price_per_gpu_hour``: None, one number >= 0, or GPU name -> price with every name one of the searched
    GPUs (``gpu_specs``), each GPU priced once; ValueError naming what is wrong."""
    if price_per_gpu_hour is None:
        return
    prices = price_per_gpu_hour if isinstance(price_per_gpu_hour, dict) else {"every GPU": price_per_gpu_hour}
    for key, value in prices.items():
        if not (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
                and math.isfinite(float(value)) and float(value) >= 0):
            raise ValueError(f"price_per_gpu_hour for {key}: {value!r} is not a number >= 0")
    if not isinstance(price_per_gpu_hour, dict):
        return
    owner: dict[str, list[str]] = {}
    unknown = []
    for key in prices:
        hits = list(dict.fromkeys(g.name for g in gpu_specs if tables.normalize_name(str(key)) in
                                  (tables.normalize_name(g.name), *map(tables.normalize_name, g.aliases))))
        if not hits:
            unknown.append(str(key))
        for h in hits:
            owner.setdefault(h, []).append(str(key))
    if unknown:
        raise ValueError(f"price_per_gpu_hour (--price) names GPU(s) that are not searched: {', '.join(unknown)} "
                         f"(searched: {', '.join(g.name for g in gpu_specs)})")
    twice = {g: keys for g, keys in owner.items() if len(keys) > 1}
    if twice:
        g, keys = next(iter(twice.items()))
        raise ValueError(f"price_per_gpu_hour (--price) prices {g} more than once ({', '.join(keys)})")


def workload_points(input_tokens, output_tokens, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The workload points (input and output tokens: one value each, or as many points; a single value pairs
    with every point of the other) and their weights (:func:`point_weights`). Without weights a point given
    twice is an error naming both (each would be searched twice); in a distribution equal quantiles may
    repeat."""
    li = positive_axis(input_tokens, "input_tokens")
    lo = positive_axis(output_tokens, "output_tokens")
    if (lo < 1).any():  # (a mean: fractional is fine, below one token is not a request)
        raise ValueError(f"output_tokens must be >= 1 (every request generates at least one token), got "
                         f"{float(lo[lo < 1][0])!r}")
    if len(li) != len(lo):
        if len(li) == 1:
            li = np.full(len(lo), li[0])
        elif len(lo) == 1:
            lo = np.full(len(li), lo[0])
        else:
            raise ValueError(f"input_tokens (--input-tokens) has {len(li)} workload points, output_tokens "
                             f"(--output-tokens) {len(lo)}; give one value or the same number of points")
    if weights is None:
        first: dict[tuple[float, float], int] = {}
        for i, point in enumerate(zip(li.tolist(), lo.tolist(), strict=True)):
            if point in first:
                raise ValueError(f"input_tokens / output_tokens (--input-tokens / --output-tokens): workload points "
                                 f"{first[point] + 1} and {i + 1} are the same ({point[0]:g} in, {point[1]:g} out); "
                                 "give each once (repeats count only in a distribution, workload_weights)")
            first[point] = i
    return li, lo, point_weights(weights, len(li), (li, lo))
