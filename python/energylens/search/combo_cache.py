"""Bounded memos of a space's per-combination engine values (:func:`energylens.search.space._combo_values`)
and of the features of a result's rows (:func:`memo_features`, :meth:`energylens.search.space.SearchSpace.point_features`).

Those values depend only on the call's arguments: the combos' profile rows, their ``ModelSpec`` and
``GpuSpec`` (frozen values, compared field by field, so a GPU or model registered again under the same name
with other figures is another key), the workload points and the price. Building them is a feature pass
over a DataFrame, a third of a one-candidate search's fixed cost, paid again by a scheduler's every call on
the same models and GPUs. Arrays are copied in and out: the caller writes calibration factors into its copy.

The result rows' features (the explanation's terms and range check) were the next feature pass a scheduler
paid again for the same top rows on every call (~1.3 ms of a ~6 ms one-candidate search): they depend only
on the rows' profile columns, their ModelSpecs and the GPU table's specs of their GPUs (by value). Both keys
hold the feature code's switches (``energylens.profiles.features``' module constants an ablation sets).
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from energylens.profiles import features, tables

__all__ = ["memo_combo_values", "memo_features", "clear"]

#: Entries kept (least recently used dropped first); each holds a few KB per combination.
MAX_ENTRIES = 128

#: Rows (result rows x workload points) above which their features are not remembered: an entry holds ~30
#: features and ~20 key columns per row, so 128 entries of 256 rows stay under ~13 MB (a top-k of up to 256).
MAX_FEATURE_ROWS = 256

_CACHE: OrderedDict = OrderedDict()
_FEATURES: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


def _array_key(a: np.ndarray) -> tuple:
    a = np.asarray(a)
    return a.dtype.str, a.shape, a.tobytes()


def _switches() -> tuple:
    """The feature code's module-level switches and constants (``FP8_BLOCK_SCALED``, ``ACT_QUANT_LAUNCH_LAYERS``
    ...), which an ablation or a test sets: values computed under other ones are another key."""
    return tuple((k, v) for k, v in vars(features).items()
                 if k[:1].isupper() and isinstance(v, (bool, int, float, str, tuple)))


def _key(rows: list[dict], specs, li, lo, price) -> tuple | None:
    """Everything the values depend on, hashable; None (no memo) where a value is not hashable."""
    key = (tuple(tuple(r.items()) for r in rows), tuple(tuple(s) for s in specs), _array_key(li),
           _array_key(lo), type(price).__name__, repr(price), _switches())
    try:
        hash(key)
    except TypeError:
        return None
    return key


def clear() -> None:
    """Drop every remembered entry."""
    with _LOCK:
        _CACHE.clear()
        _FEATURES.clear()


def _get(cache: OrderedDict, key):
    with _LOCK:
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
    return hit


def _put(cache: OrderedDict, key, value) -> None:
    with _LOCK:
        cache[key] = value
        while len(cache) > MAX_ENTRIES:
            cache.popitem(last=False)


def _column_key(values) -> tuple:
    a = np.asarray(values)
    return _array_key(a) if a.dtype.kind in "biuf" else (a.dtype.str, a.shape, tuple(a.tolist()))


def _features_key(cols: dict, model_specs: dict) -> tuple | None:
    """Everything :func:`energylens.search.space.combo_features` of the frame ``cols`` reads: its columns, the
    ModelSpecs, and from the tables the spec of each GPU (and, where a model has no spec, the model table's row
    of its name), by value; None (no memo) where a value is not hashable or a table look-up fails."""
    try:
        names = tuple(dict.fromkeys(map(str, cols["gpu"])))
        table = any(v is None for v in model_specs.values())  # then every model is looked up (combo_features)
        models = tuple(sorted((str(k), tables.find_model(str(k)) if table else v) for k, v in model_specs.items()))
        key = (tuple((name, _column_key(v)) for name, v in cols.items()), models,
               tuple((n, tables.gpu_spec(n)) for n in names), _switches())
        hash(key)
    except (TypeError, KeyError, ValueError, LookupError):
        return None
    return key


def memo_features(cols: dict, model_specs: dict, compute: Callable[[], dict]) -> dict:
    """``compute()`` (the features of the frame of columns ``cols``), remembered per :func:`_features_key` for
    frames of at most :data:`MAX_FEATURE_ROWS` rows; copies handed out."""
    n = len(next(iter(cols.values()))) if cols else 0
    key = _features_key(cols, model_specs) if n <= MAX_FEATURE_ROWS else None
    hit = None if key is None else _get(_FEATURES, key)
    if hit is not None:
        return {k: v.copy() for k, v in hit.items()}
    out = compute()
    if key is not None:
        _put(_FEATURES, key, {k: v.copy() for k, v in out.items()})
    return out


def memo_combo_values(fn: Callable) -> Callable:
    """``fn(rows, specs, li, lo, price) -> (values, extra)`` remembered per :func:`_key`, copies handed out."""
    @functools.wraps(fn)
    def wrapper(rows, specs, li, lo, price):
        key = _key(rows, specs, li, lo, price)
        hit = None if key is None else _get(_CACHE, key)
        if hit is not None:
            return tuple(a.copy() for a in hit)
        out = fn(rows, specs, li, lo, price)
        if key is not None:
            _put(_CACHE, key, tuple(a.copy() for a in out))
        return out
    return wrapper
