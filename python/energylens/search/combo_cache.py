"""A bounded memo of a space's per-combination engine values (:func:`energylens.search.space._combo_values`).

Those values depend only on the call's arguments: the combos' profile rows, their ``ModelSpec`` and
``GpuSpec`` (frozen values, compared field by field, so a GPU or model registered again under the same name
with other figures is another key), the workload points and the price. Building them is a feature pass
over a DataFrame, a third of a one-candidate search's fixed cost, paid again by a scheduler's every call on
the same models and GPUs. Arrays are copied in and out: the caller writes calibration factors into its copy.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

__all__ = ["memo_combo_values", "clear"]

#: Entries kept (least recently used dropped first); each holds a few KB per combination.
MAX_ENTRIES = 128

_CACHE: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


def _array_key(a: np.ndarray) -> tuple:
    a = np.asarray(a)
    return a.dtype.str, a.shape, a.tobytes()


def _key(rows: list[dict], specs, li, lo, price) -> tuple | None:
    """Everything the values depend on, hashable; None (no memo) where a value is not hashable."""
    key = (tuple(tuple(r.items()) for r in rows), tuple(tuple(s) for s in specs), _array_key(li),
           _array_key(lo), type(price).__name__, repr(price))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def clear() -> None:
    """Drop every remembered entry."""
    with _LOCK:
        _CACHE.clear()


def memo_combo_values(fn: Callable) -> Callable:
    """``fn(rows, specs, li, lo, price) -> (values, extra)`` remembered per :func:`_key`, copies handed out."""
    @functools.wraps(fn)
    def wrapper(rows, specs, li, lo, price):
        key = _key(rows, specs, li, lo, price)
        if key is not None:
            with _LOCK:
                hit = _CACHE.get(key)
                if hit is not None:
                    _CACHE.move_to_end(key)
            if hit is not None:
                return tuple(a.copy() for a in hit)
        out = fn(rows, specs, li, lo, price)
        if key is not None:
            with _LOCK:
                _CACHE[key] = tuple(a.copy() for a in out)
                while len(_CACHE) > MAX_ENTRIES:
                    _CACHE.popitem(last=False)
        return out
    return wrapper
