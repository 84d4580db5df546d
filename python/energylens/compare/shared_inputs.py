"""The template's per-row inputs of one evaluated frame, computed once and sliced for every split.

The runner (:func:`energylens.compare.runner.run_evaluation`) fits each baseline on a copy of some rows of
its frame and predicts a copy of others; each baseline asks :func:`energylens.compare.inputs.template_inputs`
for the template's inputs of those rows, which used to run :func:`energylens.profiles.features.features_of`
again for every method, split, fit and prediction. Inside :func:`sharing`, a lookup of a frame made of rows of
the evaluated frame returns the slice of the whole frame's inputs, computed once, instead.

A slice is returned only where it is provably what the computation on those rows gives; otherwise
:func:`lookup` returns ``None`` and the caller computes as before. The conditions:

* the same ``gpu_spec`` object, and it still gives the same spec for every GPU of the frame;
* the same global state: the template's switches (upper-case settings of :mod:`energylens.profiles.features`)
  and the registered user GPUs;
* the frame's index names rows of the evaluated frame and its cells equal those rows' cells exactly (same
  columns, dtypes and ``attrs``; floats bit for bit), so a frame edited in place, another frame, or a row
  subset with other values is never served stale inputs;
* the evaluated frame is validated already (``energylens.profiles.load_profiles``), so validation reads each
  row alone, and the template's inputs of a row depend on that row only: every model is in the model table (an
  unknown model's architecture is estimated from the first of its rows in the frame) and, without
  ``gpu_spec``, each GPU's ``gpu_*`` spec columns hold one value on all its rows (a GPU's spec is read from any
  of its rows that carry one);
* the whole frame's computation succeeds without a warning (otherwise each call computes, raises and warns as
  before).

Imports numpy, pandas and :mod:`energylens.profiles`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from energylens.profiles import features as _features
from energylens.profiles import model_registry, tables
from energylens.profiles.gpu_table import INLINE_COLUMNS, user_gpus
from energylens.profiles.schema import as_profiles

__all__ = ["SharedInputs", "sharing", "lookup", "active"]

Inputs = dict[str, np.ndarray]
Compute = Callable[[pd.DataFrame, Any], Inputs]

_ACTIVE: ContextVar[SharedInputs | None] = ContextVar("energylens_shared_inputs", default=None)


def _global_state() -> tuple:
    """What the template reads besides the frame and ``gpu_spec``: its switches, the user GPUs and user models."""
    switches = tuple(sorted((k, v) for k, v in vars(_features).items()
                            if k.isupper() and isinstance(v, (bool, int, float, str))))
    return switches, user_gpus(), model_registry.specs()


def _cell_keys(column: pd.Series) -> np.ndarray:
    """One key per cell, equal only for cells that are the same value of the same type (floats bit for bit)."""
    if column.dtype == np.float64:
        return column.to_numpy(dtype=np.float64).view(np.int64)
    return np.array([f"{type(v).__name__}:{v!r}" for v in column.to_numpy(dtype=object)], dtype=object)


def _float_bits(frame: pd.DataFrame) -> np.ndarray:
    """The float64 columns' cells as their bits (rows x columns)."""
    return frame.select_dtypes(include=[np.float64]).to_numpy(dtype=np.float64).view(np.int64)


def _same(a: Any, b: Any) -> bool:
    """``a`` is ``b`` or equal to it (``False`` where comparing raises)."""
    try:
        return a is b or bool(a == b)
    except Exception:  # an ambiguous comparison (arrays in attrs) is no match
        return False


class SharedInputs:
    """The inputs of ``frame`` (rows by position) under ``gpu_spec``: ``compute(frame, gpu_spec)`` run once, on
    the first :meth:`lookup` that can use it, on a private copy of ``frame``. ``hits``, ``misses`` and
    ``computed`` count lookups served, lookups declined and whole-frame computations."""

    def __init__(self, frame: pd.DataFrame, gpu_spec: Any, compute: Compute) -> None:
        self._frame = frame.reset_index(drop=True).copy(deep=True)  # later edits of the caller's frame: no effect
        self._gpu_spec = gpu_spec
        self._compute = compute
        self._state = _global_state()
        self._gpus = [str(g).strip() for g in pd.unique(self._frame["gpu"].astype(str))] \
            if "gpu" in self._frame.columns else []
        self._specs = self._gpu_specs()
        self._float_bits = _float_bits(self._frame)
        self._taken: dict[bytes, pd.DataFrame] = {}  # the frame's rows at recent labels (a split's train, test)
        self._inputs: Inputs | None = None
        self._usable: bool | None = None  # decided on first use
        self.hits = self.misses = self.computed = 0

    def _gpu_specs(self) -> list[Any] | None:
        if self._gpu_spec is None:
            return None
        try:
            return [self._gpu_spec(g) for g in self._gpus]
        except Exception:  # the computation raises it where a baseline asks
            return None

    def _row_local(self) -> bool:
        """Whether the inputs of every row depend on that row alone (module docstring)."""
        if not len(self._frame) or as_profiles(self._frame, require_energy=False) is not self._frame:
            return False
        if any(tables.find_model(str(m)) is None for m in pd.unique(self._frame["model"].astype(str))):
            return False
        if self._gpu_spec is not None:
            return self._specs is not None
        inline = {c: _cell_keys(self._frame[c]) for c in INLINE_COLUMNS if c in self._frame.columns}
        if not inline:
            return True
        per_gpu = pd.DataFrame(inline).groupby(self._frame["gpu"].astype(str).str.strip().to_numpy())
        return bool((per_gpu.nunique(dropna=False) <= 1).to_numpy().all())

    def _whole(self) -> Inputs | None:
        """The whole frame's inputs, or ``None`` where they may not be sliced."""
        if self._usable is None:
            self._usable = False
            with warnings.catch_warnings(record=True) as caught:  # each call warns where it did
                warnings.simplefilter("always")
                try:
                    if self._row_local():
                        self._inputs = self._compute(self._frame, self._gpu_spec)
                        self.computed += 1
                        self._usable = not caught
                except Exception:  # each call raises it where it did
                    self._inputs = None
        return self._inputs if self._usable else None

    def _labels(self, df: pd.DataFrame) -> np.ndarray | None:
        """``df``'s index as positions of the frame, or ``None`` where it is not."""
        idx = df.index
        if not len(idx) or not pd.api.types.is_integer_dtype(idx.dtype):
            return None
        labels = idx.to_numpy(dtype=np.int64)
        if labels.min() < 0 or labels.max() >= len(self._frame):
            return None
        return labels

    def _rows(self, labels: np.ndarray) -> pd.DataFrame:
        """The frame's rows ``labels``; the last few kept, since every method of a split asks for the same."""
        key = labels.tobytes()
        rows = self._taken.get(key)
        if rows is None:
            if len(self._taken) >= 4:
                self._taken.pop(next(iter(self._taken)))
            rows = self._taken[key] = self._frame.iloc[labels]
        return rows

    def _same_rows(self, df: pd.DataFrame, labels: np.ndarray) -> bool:
        """``df`` holds exactly the cells of the frame's rows ``labels``: the same columns, dtypes and ``attrs``,
        equal cells (``DataFrame.equals``), floats bit for bit (``equals`` takes -0.0 for 0.0) and object cells
        of the same type (``equals`` takes 1 for 1.0 and True)."""
        if not (df.columns.equals(self._frame.columns) and df.dtypes.equals(self._frame.dtypes)):
            return False
        if not _same(df.attrs, self._frame.attrs):
            return False
        rows = self._rows(labels)
        if not (df.equals(rows) and np.array_equal(_float_bits(df), self._float_bits[labels])):
            return False
        objects = [j for j, t in enumerate(df.dtypes) if t == np.dtype(object)]
        return all(type(u) is type(v) for j in objects
                   for u, v in zip(df.iloc[:, j].to_numpy(), rows.iloc[:, j].to_numpy(), strict=True))

    def _same_specs(self, gpu_spec: Any) -> bool:
        if gpu_spec is not self._gpu_spec or self._global_state_changed():
            return False
        if gpu_spec is None:
            return True
        now = self._gpu_specs()
        return now is not None and self._specs is not None and all(
            _same(a, b) for a, b in zip(now, self._specs, strict=True))

    def _global_state_changed(self) -> bool:
        return not _same(_global_state(), self._state)

    def lookup(self, df: Any, gpu_spec: Any) -> Inputs | None:
        """The inputs of ``df``'s rows, sliced from the frame's, or ``None`` where they may not be (then the
        caller computes them)."""
        try:
            labels = self._labels(df) if isinstance(df, pd.DataFrame) and self._usable is not False else None
            same = labels is not None and self._same_specs(gpu_spec) and self._same_rows(df, labels)
        except Exception:  # a frame the checks cannot read: computed, where it raises what it raised
            same = False
        if not same:
            self.misses += 1
            return None
        whole = self._whole()
        if whole is None:
            self.misses += 1
            return None
        self.hits += 1
        return {name: values[labels] for name, values in whole.items()}  # fresh arrays: callers may write


@contextmanager
def sharing(frame: pd.DataFrame, gpu_spec: Any, compute: Compute) -> Iterator[SharedInputs]:
    """Within the block, :func:`lookup` serves rows of ``frame`` from one :class:`SharedInputs` (in this
    context only: other threads and blocks see none)."""
    shared = SharedInputs(frame, gpu_spec, compute)
    token = _ACTIVE.set(shared)
    try:
        yield shared
    finally:
        _ACTIVE.reset(token)


def active() -> SharedInputs | None:
    """The :class:`SharedInputs` of the enclosing :func:`sharing` block, if any."""
    return _ACTIVE.get()


def lookup(df: Any, gpu_spec: Any) -> Inputs | None:
    """The enclosing block's inputs of ``df``'s rows (:meth:`SharedInputs.lookup`); ``None`` outside one."""
    shared = _ACTIVE.get()
    return None if shared is None else shared.lookup(df, gpu_spec)
