"""The search's keyword options, checked before any work: the engine's option dict (:func:`native_options`),
the objective a search minimises (:func:`resolve_objective`: ``carbon_g_per_kwh`` / ``price_per_gpu_hour``
select it when none is named), and the progress lines of the long passes (docs/search.md)."""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from energylens.arguments import flag
from energylens.profiles.schema import MAX_GPU_COUNT
from energylens.search.memory import MEMORY_DEFAULTS
from energylens.search.space import GIB

__all__ = ["OBJECTIVES", "MAX_TOP", "keyword_hints", "native_options", "checked_options", "check_call_options", "resolve_objective", "progress_printer", "refit_printer"]

#: The most configurations a search keeps (``top``); each is a row of the result.
MAX_TOP = 100_000
#: Objective -> its unit.
OBJECTIVES = {"energy": "J", "carbon": "g CO2", "cost": "currency"}


#: vLLM's option names (as ``vllm serve`` / ``LLM(...)`` take them) -> the search's parameter, and what to add.
VLLM_NAMES = {"tensor_parallel_size": ("tp", ""), "pipeline_parallel_size": ("pp", ""),
              "data_parallel_size": ("dp", ""),
              "enable_expert_parallel": ("ep", ", the EP group size, which vLLM makes tp x dp: tp=8, ep=[1, 8] "
                                               "searches TP 8 with and without expert parallelism"),
              "expert_parallel_size": ("ep", " (vLLM makes the EP group tp x dp)"),
              "quantization": ("precision", ", the weights' format: 'fp8', 'int4', 'mxfp4', ...")}


def keyword_hints(fn: Callable) -> Callable:
    """``fn`` whose TypeError for a keyword it does not take names the closest real parameter(s) (difflib):
    ``search(rate=20)`` read only "unexpected keyword argument 'rate'"; a vLLM option name (:data:`VLLM_NAMES`:
    ``tensor_parallel_size``, ``quantization``, which difflib matched to max_utilization) names its counterpart.
    Checked only once the call has failed (an unknown keyword fails before ``fn``'s body runs), so a call with
    real keywords pays one wrapper call."""
    names = [n for n, p in inspect.signature(fn).parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    vllm = {k: v for k, v in VLLM_NAMES.items() if v[0] in names}

    def hint(k: str) -> str:
        if k in vllm:
            return f"{k!r}: vLLM's name; here {vllm[k][0]!r}{vllm[k][1]}"
        close = difflib.get_close_matches(k, names, n=3, cutoff=0.6) or [n for n in names if k in n or n in k][:3]
        return f"{k!r}: did you mean {' or '.join(map(repr, close))}?" if close else f"{k!r}"

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TypeError:
            unknown = [k for k in kwargs if k not in names]
            if not unknown:
                raise
            said = "; ".join(map(hint, unknown))
            raise TypeError(f"{fn.__name__}() got {'an unexpected keyword argument' if len(unknown) == 1 else 'unexpected keyword arguments'}"
                            f" ({said}); it takes: {', '.join(names)}") from None
    return call


def _number(name: str, value, *, low: float = 0.0, high: float = math.inf, closed_high: bool = True) -> float:
    """``value`` as a float in (low, high] (or (low, high)); ValueError naming the keyword otherwise (booleans
    included: float(True) is 1)."""
    ok = not isinstance(value, (bool, np.bool_, str))
    try:
        f = float(value) if ok else math.nan
    except (TypeError, ValueError):
        f = math.nan
    if not (math.isfinite(f) and f > low and (f <= high if closed_high else f < high)):
        span = "> 0" if high == math.inf else f"in ({low:g}, {high:g}{']' if closed_high else ')'}"
        raise ValueError(f"{name} must be a finite number {span}, got {value!r}")
    return f


def _reserve(name: str, value) -> float:
    """A memory reserve: a finite number >= 0 (NaN would switch the memory check off)."""
    return 0.0 if _is_zero(value) else _number(name, value)


def _runtime_reserve(gib) -> dict[str, float]:
    """The engine's reserve options: None, the model (:data:`MEMORY_DEFAULTS`'s flat part and NVLS buffers); a
    number >= 0, that many GiB flat (no NVLS term: the user's figure is the whole reserve)."""
    if gib is None:
        return {k: MEMORY_DEFAULTS[k] for k in ("runtime_reserve_bytes", "nvls_reserve_bytes_per_gpu")}
    return {"runtime_reserve_bytes": _reserve("runtime_reserve_gib", gib) * GIB, "nvls_reserve_bytes_per_gpu": 0.0}


def _is_zero(value) -> bool:
    return not isinstance(value, (bool, np.bool_, str)) and isinstance(value, (int, float, np.number)) and value == 0


def check_call_options(*, bootstrap, bootstrap_seed, progress):
    """The search's Python-side keywords: ``bootstrap`` a boolean, ``bootstrap_seed`` a whole number >= 0,
    ``progress`` None, a boolean or a callable(done, total); ValueError naming the keyword otherwise. Returns
    ``progress`` as the search reads it: a NumPy boolean as Python's (``np.True_`` passed the check, was not
    ``True`` to the search and went to the engine as the callable: "'numpy.bool' object is not callable")."""
    flag("bootstrap", bootstrap)
    if not _whole(bootstrap_seed) and not _is_zero(bootstrap_seed):
        raise ValueError(f"bootstrap_seed must be a whole number >= 0, got {bootstrap_seed!r}")
    if progress is not None and not isinstance(progress, (bool, np.bool_)) and not callable(progress):
        raise ValueError(f"progress must be True, False, None or a callable(done, total), got {progress!r}")
    return bool(progress) if isinstance(progress, np.bool_) else progress


def _whole(value) -> bool:
    """A whole number >= 1 (not a boolean)."""
    try:
        return not isinstance(value, (bool, np.bool_, str)) and float(value) >= 1 and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        return False


def resolve_objective(objective, carbon_g_per_kwh, price_per_gpu_hour) -> str:
    """The objective to minimise. ``None`` (the default): ``"carbon"`` when only ``carbon_g_per_kwh`` is
    given, ``"cost"`` when only ``price_per_gpu_hour`` is, ``"energy"`` when neither is; both without an
    objective is ambiguous. A named objective must have its input, and an input the objective does not use
    is an error rather than silently ignored (ValueError naming the fix, CLI and Python spellings)."""
    carbon, price = carbon_g_per_kwh is not None, price_per_gpu_hour is not None
    if objective is None:
        if carbon and price:
            raise ValueError("carbon_g_per_kwh (--carbon) and price_per_gpu_hour (--price) are both given, and a "
                             "search minimises one of them: drop --price (price_per_gpu_hour) to minimise carbon, or "
                             "drop --carbon (carbon_g_per_kwh) to minimise cost")  # (objective= refuses the other)
        return "carbon" if carbon else "cost" if price else "energy"
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "cost" and not price:
        raise ValueError("objective 'cost' needs price_per_gpu_hour (--price: a number, or a dict GPU name -> price)")
    unused = [f"{k} ({flag})" for k, flag, given, used in
              (("carbon_g_per_kwh", "--carbon", carbon, "carbon"), ("price_per_gpu_hour", "--price", price, "cost"))
              if given and objective != used]
    if unused:
        raise ValueError(f"{' and '.join(unused)} would be ignored with objective '{objective}': drop it, or "
                         "minimise it (objective='carbon' / 'cost', --objective carbon / cost)")
    return objective


def native_options(*, top=10, tpot_limit_s=None, ttft_limit_s=None, rate_per_s=None, objective="energy",
                   per_token=False, carbon_g_per_kwh=None, gpu_memory_utilization=0.9, node_size=None,
                   runtime_reserve_gib=None, activation_tokens=8192, threads=None, max_utilization=None) -> dict[str, Any]:
    """The engine's option dict from the API's keywords (validated here with clear messages). ``runtime_reserve_gib``
    None: the reserve model (1.5 GiB per GPU, plus NCCL's NVLS buffers on NVSwitch GPUs in a TP / MoE group of more
    than 2: :func:`energylens.search.memory.runtime_reserve`); a number: that many GiB per GPU, flat."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "carbon" and carbon_g_per_kwh is None:
        raise ValueError("objective 'carbon' needs carbon_g_per_kwh > 0 (--carbon: grid intensity, g CO2 per kWh)")
    opts = {"objective": objective, "per_token": flag("per_token", per_token),
            "gpu_memory_utilization": _number("gpu_memory_utilization", gpu_memory_utilization, high=1.0),
            **_runtime_reserve(runtime_reserve_gib),
            "activation_tokens": _reserve("activation_tokens", activation_tokens)}
    for name, value in (("tpot_limit_s", tpot_limit_s), ("ttft_limit_s", ttft_limit_s), ("rate_per_s", rate_per_s),
                        ("carbon_g_per_kwh", carbon_g_per_kwh)):
        if value is not None:
            opts[name] = _number(name, value)
    for name, value in (("top", top), ("node_size", node_size), ("threads", threads)):
        if (value is not None or name == "top") and not _whole(value):  # top=None: int(None)'s TypeError before
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}"
                             + (" (None: each GPU's scale-up domain from the GPU table)" if name == "node_size" else ""))
    if node_size is not None and node_size > MAX_GPU_COUNT:  # the default tp's powers of two would pass the cap
        raise ValueError(f"node_size (--node-size) must be at most {MAX_GPU_COUNT:,} (2**20, the most GPUs energylens "
                         f"counts), got {node_size!r}")
    if top > MAX_TOP:
        raise ValueError(f"top (--top) must be at most {MAX_TOP:,} (the engine keeps the top rows in memory), got {top!r}")
    opts["top_k"], opts["node_size"] = int(top), int(node_size or 0)
    if max_utilization is not None:
        if rate_per_s is None:
            raise ValueError("max_utilization (--max-utilization) sizes load mode's replicas: give rate_per_s (--rate)")
        opts["max_utilization"] = _number("max_utilization", max_utilization, high=1.0)
    if threads is not None:
        opts["threads"] = int(threads)
    return opts


def progress_printer(total: int) -> Callable[[int, int], None]:
    """Plain lines on stderr for a search that takes over a second, whatever its size (a load-mode space
    of 1e6 candidates takes about that; the engine calls back about twice a second): the first once a
    second has passed, then one each tenth of the time run so far (at least 1 s, at most 30 s apart: a
    30-minute search prints about 90 lines, not 1,800), each with the time left at the pace so far, and
    the last when any was printed."""
    start = time.perf_counter()
    last = [start]

    def report(done: int, all_: int) -> None:
        now = time.perf_counter()
        gap = min(max(0.1 * (now - start), 1.0), 30.0)
        if now - start >= 1.0 and (now - last[0] >= gap or (done == all_ and last[0] > start)):
            last[0] = now
            left = f"; about {_duration((now - start) * (all_ - done) / done)} left" if 0 < done < all_ else ""
            print(f"search: {done / all_:.0%} ({done:,} of {all_:,} candidates, {now - start:.1f} s{left})",
                  file=sys.stderr, flush=True)
    return report


def _duration(seconds: float) -> str:
    """A rough time for a progress line: 40 s, 12 min, 3.5 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 90 * 60 else f"{seconds / 3600:.1f} h"


def refit_printer() -> Callable[[int, int], None]:
    """Lines for the limit-confidence pre-pass (one engine pass per bootstrap refit), once it has run a
    second: at most one a second, and the last."""
    start = time.perf_counter()
    last = [start]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - start >= 1.0 and (now - last[0] >= 1.0 or done == total):
            last[0] = now
            print(f"search: latency quantiles for --limit-confidence: {done} of {total} bootstrap refits "
                  f"({now - start:.1f} s)", file=sys.stderr, flush=True)
    return report


#: The numbers of a search's ``given`` options its settings record as the floats :func:`native_options` checked, not
#: as passed (a Fraction rate failed the summary's format, a 0-d array the JSON).
_VALIDATED = ("tpot_limit_s", "ttft_limit_s", "rate_per_s", "carbon_g_per_kwh", "max_utilization", "gpu_memory_utilization")


def checked_options(given: dict[str, Any], **kw) -> tuple[dict[str, Any], dict[str, Any]]:
    """(:func:`native_options` of a search's ``given`` options and ``kw``, a copy of ``given`` with its numbers
    replaced by the floats those checked (:data:`_VALIDATED`), what the settings record); ``given`` is left as
    passed."""
    options = native_options(**kw, **given)
    return options, {**given, **{k: options[k] for k in _VALIDATED if given.get(k) is not None}}
