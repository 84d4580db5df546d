"""Feature mappings to checked float columns, and the template's native evaluation of them: what
``evaluate_features`` and ``predict_features`` of :class:`~energylens.model.base.ClosedFormModel` and
:class:`~energylens.model.expression.ExpressionEnergyModel` run on, without pandas. Every feature name
present and none that is not one, no boolean, complex or text column, at most 1-D, scalars broadcast; with
``validate`` each value in its feature's domain and the outputs finite (ValueError naming the feature and row).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from energylens import _core
from energylens.model.domain import (
    check_feature_keys,
    check_feature_mapping,
    check_feature_real,
    check_finite_outputs,
    empty_among_scalars,
)
from energylens.parallel import threads
from energylens.profiles.features import FEATURE_NAMES, check_feature_domain, domain_lower_bounds

if TYPE_CHECKING:
    from energylens.model.base import ClosedFormModel

__all__ = ["template_columns", "template_evaluation", "expression_columns", "evaluation_dtype", "expression_prediction"]


_DTYPE_NAMES = {np.dtype(np.float64): "float64", np.dtype(np.float32): "float32"}  # (dtype.name: ~4 us a call)
_F64 = np.dtype(np.float64)


def evaluation_dtype(dtype: Any) -> np.dtype:
    """``dtype`` of a features call (``predict_features``, ``evaluate_features``) as a NumPy dtype, float64 or float32;
    ValueError for another, NumPy's TypeError for what is not a dtype. The template's and the expression model's."""
    kind = np.dtype(dtype)
    if kind not in _DTYPE_NAMES:
        raise ValueError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
    return kind


def template_columns(model: ClosedFormModel, features: Mapping[str, Any], validate: bool,
                     dtype=np.float64) -> list[np.ndarray]:
    """``model``'s template-ordered columns in ``dtype`` from a feature mapping (scalars and 1-element arrays
    broadcast)."""
    check_feature_keys(features, model.feature_names, model.template_id)
    cols, empty = [], False
    for name in model.feature_names:
        raw = features[name]
        if type(raw) is np.ndarray and raw.dtype == dtype and raw.ndim == 1 and raw.flags.c_contiguous:
            col = raw  # a hot loop's column as the native loop reads it: nothing to convert or refuse
        else:
            check_feature_real(name, raw)
            col = np.asarray(raw, dtype=dtype)  # no copy when it already is
            if col.ndim > 1:
                raise ValueError(f"feature {name!r} must be a scalar or 1-D, got shape {col.shape}")
        if validate:
            check_feature_domain(name, col)
        empty = empty or col.size == 0
        cols.append(col if col.flags.c_contiguous else np.ascontiguousarray(col))
    return empty_among_scalars(cols) if empty else cols


def template_evaluation(model: ClosedFormModel, features: Mapping[str, Any],
                        out: tuple[np.ndarray, np.ndarray] | None, validate: bool, dtype, n_threads: int | None,
                        *, summed: bool) -> Any:
    """The native evaluation behind ``model.evaluate_features`` (and, ``summed``: out0 + out1 added chunk by
    chunk in cache, predict_features): the native result, its ``out0`` / ``out1`` the outputs."""
    kind = evaluation_dtype(dtype)
    theta = model._require_fitted()
    if out is not None and len(out) == 2 and np.may_share_memory(out[0], out[1]):
        raise ValueError("out: the two arrays overlap; the template writes prefill and decode separately")
    # Without out=, the domain check runs inside the native pass (one read of every column, not three);
    # with out=, first, so that a caller's arrays are never overwritten by a call that then fails.
    fused = validate and out is None
    columns = model._feature_columns(features, validate and not fused, kind)
    domain = domain_lower_bounds(model.feature_names, kind) if fused else None
    with threads(n_threads):
        try:
            ev = _core.evaluate(model._template, columns, theta, dtype=_DTYPE_NAMES[kind], out=out, domain=domain,
                                sum=summed)
        except ValueError as exc:
            if fused:  # name the feature and row exactly as the check before the pass would have
                for name, col in zip(model.feature_names, columns, strict=True):
                    check_feature_domain(name, col)
            if out is not None and "evaluation dtype" in str(exc):  # (which dtype was not said)
                got = ", ".join(_dtype_said(a) for a in out)
                raise ValueError(f"{str(exc).split(' of the evaluation')[0].replace('a NumPy array', 'a NumPy')} "
                                 f"{kind.name} array (this call's dtype); got {got}") from None
            raise
    if validate:
        check_finite_outputs(model.feature_names, columns, (ev.out0,) if summed else (ev.out0, ev.out1))
    return ev


def _dtype_said(array: Any) -> str:
    """An ``out`` array's dtype as an error says it: ``float32``, ``big-endian float64 ('>f8')`` (a byte order other
    than the machine's: its name alone read as the dtype wanted), or the type of what is not an array."""
    kind = getattr(array, "dtype", None)
    if not isinstance(kind, np.dtype) or kind.isnative:
        return getattr(kind, "name", type(array).__name__)
    return f"{'big' if kind.byteorder == '>' else 'little'}-endian {kind.name} ({kind.str!r})"


def expression_prediction(model: Any, features: Mapping[str, Any], validate: bool, dtype: Any,
                          n_threads: int | None) -> np.ndarray:
    """``ExpressionEnergyModel.predict_features``: its columns (:func:`expression_columns`) through its compiled
    expression. ``dtype`` as the template's (:func:`evaluation_dtype`): float32 reads each feature rounded to float32,
    as the template's float32 loop does, and returns float32; the expression itself is evaluated in float64 (its only
    native loop), so the bits can differ from a float32 loop's in the last place."""
    kind = evaluation_dtype(dtype)
    columns = expression_columns(features, model.feature_names, validate, model.expression, kind)
    with threads(n_threads):
        out = model.compiled.evaluate(columns, model._theta)
    if kind is not _F64:
        out = out.astype(kind)
    if validate:  # (as the template's: an overflow is an error naming the row, not a silent inf / nan)
        check_finite_outputs(model.feature_names, columns, (out,))
    return out



def expression_columns(features: Mapping[str, Any], names: tuple[str, ...], validate: bool, expr: Any,
                       dtype: np.dtype = _F64) -> list[np.ndarray]:
    """The ``dtype`` (float64 or float32) columns ``names`` of a feature mapping, checked as the template's are
    (``ClosedFormModel._feature_columns``): every name present and no key that is not a feature name (with its
    close match), no boolean, complex or text column, at most 1-D, with ``validate`` each value in its feature's
    domain, and the columns of more than one value all of one length. ValueError naming the feature. ``expr`` is
    printed only in an error (sympy's printing took ~150 us of a ~170 us call)."""
    if type(features) is not dict:
        check_feature_mapping(features)
    missing = [n for n in names if n not in features]
    unknown = [k for k in features if k not in FEATURE_NAMES]
    if missing or unknown:
        hints = [f"{k!r} -> did you mean {m[0]!r}?" for k in unknown
                 if (m := difflib.get_close_matches(str(k), FEATURE_NAMES, n=1))]
        parts = ([f"features {missing} missing for the expression {expr}"] if missing else []) + (
            [f"{unknown} are not feature names (energylens.profiles.features.FEATURE_NAMES)"
             + (f" ({'; '.join(hints)})" if hints else "")] if unknown else [])
        raise ValueError(" and ".join(parts))
    cols = []
    for name in names:
        col = features[name]
        if not (type(col) is np.ndarray and col.dtype == dtype and col.ndim == 1):  # (else nothing to do)
            check_feature_real(name, col)
            col = np.asarray(col, dtype=dtype)
            if col.ndim > 1:
                raise ValueError(f"feature {name!r} must be a scalar or 1-D, got shape {col.shape}")
        if validate:
            check_feature_domain(name, col)
        cols.append(np.ascontiguousarray(col))
    cols = empty_among_scalars(cols) if any(c.size == 0 for c in cols) else cols
    sized = [(n, c.size) for n, c in zip(names, cols, strict=True) if c.size != 1]
    other = next(((n, k) for n, k in sized if k != sized[0][1]), None)
    if other is not None:
        raise ValueError(f"feature {other[0]!r} has {other[1]} rows, feature {sized[0][0]!r} has {sized[0][1]} (a "
                         "column may also hold one value for every row)")
    return cols
