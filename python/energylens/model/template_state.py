"""A closed-form model's entry in the model file: what :class:`~energylens.model.base.ClosedFormModel`
writes (parameters, units, options, bootstrap, residual samples, training ranges, fit summary) and reads
back, refusing an entry another template, kind or an edit made inconsistent; and the two entries the
energy and latency models add (``latency_calibration_by``, ``measured_rows``). The document around the
entries (version, atomic write, JSON checks) is :mod:`energylens.model.persistence`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from energylens.errors import ModelFileError
from energylens.model.calibration import check_calibration_key
from energylens.model.fit_summary import FitSummary
from energylens.model.persistence import (
    EXPRESSION_MODEL_ID,
    OPTION_KEYS,
    check_keys,
    check_param_units,
    check_state_types,
    checked_params,
    read_state_arrays,
    residual_state,
    summary_fields,
    upgraded_state,
)

if TYPE_CHECKING:
    from energylens.model.base import ClosedFormModel
    from energylens.model.closed_form import LatencyModel

__all__ = ["template_state", "template_from_state", "latency_calibration_by", "measured_rows"]


def template_state(model: ClosedFormModel) -> dict[str, Any]:
    """The model file entry of a fitted closed-form model (ValueError when not fitted)."""
    theta = model._require_fitted()
    return {
        "template": model.template_id,
        "params": dict(zip(model.param_names, map(float, theta), strict=True)),
        "param_units": dict(zip(model.param_names, model._desc.param_units, strict=True)),
        "options": model.options,
        "bootstrap_replicates": model.bootstrap_replicates,
        "bootstrap_params": [] if model._boot is None else model._boot.tolist(),
        **residual_state(model._res_samples or [np.zeros(0)], model._res_counts or [0]),
        "train_ranges": model._ranges,
        "fit": None if model.summary is None else asdict(model.summary),
    }


def template_from_state(cls: type[ClosedFormModel], state: dict[str, Any], path: str,
                        template_id: str) -> ClosedFormModel:
    """A ``cls`` model from its model file entry (``template_id``: the id ``cls``'s template has now);
    ModelFileError naming ``path`` and what is wrong."""
    # the template id first: another kind's file read 'unknown key(s) [...]' (its keys, not what is wrong)
    if isinstance(state, dict) and isinstance(state.get("template"), str):
        reads = (template_id, *cls._upgradable, *((EXPRESSION_MODEL_ID,) if cls._kind == "energy" else ()))
        if state.get("template") not in reads:
            raise ModelFileError(
                f"{path}: {cls._kind} template {state.get('template')!r} is not one this energylens reads "
                f"({', '.join(map(repr, reads))}); refit the model with this version, or load the file with the "
                "energylens that wrote it")
    check_state_types(state, f"{path}: {cls._kind} model")
    opts = dict(state.get("options", {}))
    check_keys(opts, OPTION_KEYS, f"{path}: {cls._kind} options")
    try:
        model = cls(**opts, bootstrap=int(state.get("bootstrap_replicates", 0)))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: {cls._kind} options are not valid: {exc}") from None
    added = cls._upgradable.get(state.get("template"), {})  # (parameters an older template's file lacks)
    state = upgraded_state(state, model.template_id, model.param_names, cls._upgradable)
    if state.get("template") != model.template_id:
        raise ModelFileError(
            f"{path}: {cls._kind} template {state.get('template')!r} does not match this energylens "
            f"({model.template_id!r}); refit the model with this version")
    model._theta = checked_params(state.get("params", {}), model._desc, f"{path}: {cls._kind} parameter")
    check_param_units(state, model._desc, added, f"{path}: {cls._kind}")
    arrays = read_state_arrays(state, model._desc, f"{path}: {cls._kind}", 1 if cls._fit_target == "sum" else 2)
    model._boot, model._res_samples, model._res_counts, model._ranges = arrays
    fit = state.get("fit")
    try:
        model.summary = FitSummary(**summary_fields(fit, model.param_names))  # (an object: require_fit)
    except TypeError as exc:
        raise ModelFileError(f"{path}: {cls._kind} fit summary is not valid ({exc})") from None
    if model.summary and "train_residuals" not in state and sum(model._res_counts) != model.summary.n_measurements:
        raise ModelFileError(f"{path}: {cls._kind} residual count(s) {model._res_counts} disagree with the fit "
                             f"summary's n_measurements {model.summary.n_measurements} (one residual per "
                             "measurement; the intervals scale with the count: refit the model)")
    return model


def latency_calibration_by(energy: dict[str, Any], latency: LatencyModel | None, path: str) -> str | None:
    """The latency calibration an energy model's file asks for: its ``latency_calibration_by`` (written since
    energylens kept it without a latency model), else the latency model's own; ModelFileError when the
    name is not a calibration key or differs from the latency model's."""
    fitted = None if latency is None else latency.calibration_by
    if "latency_calibration_by" not in energy:
        return fitted
    by = energy["latency_calibration_by"]
    try:
        by = check_calibration_key(by)
    except ValueError as exc:
        raise ModelFileError(f"{path}: energy latency_calibration_by: {exc}") from None
    if latency is not None and by != fitted:
        raise ModelFileError(f"{path}: energy latency_calibration_by = {by!r} but the latency model is calibrated "
                             f"by {fitted!r} (the file was edited: refit the model)")
    return by


def measured_rows(value: Any, path: str, counts: list[int]) -> dict[str, int] | None:
    """The ``measured_rows`` entry of a latency model file: {"ttft_s": n, "tpot_s": n}, or None when absent;
    each output has one residual per measured row, so the counts (``counts``: per output, or one for both in
    older files) must agree: an edited ttft_s 0 -> 5 made a TTFT that rests on start values read as fitted."""
    if value is None:
        return None
    ok = (isinstance(value, dict) and set(value) == {"ttft_s", "tpot_s"}
          and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values()))
    if not ok:
        raise ModelFileError(f"{path}: latency 'measured_rows' must be {{'ttft_s': n, 'tpot_s': n}} with "
                             f"whole numbers n >= 0, got {value!r}")
    rows = [value["ttft_s"], value["tpot_s"]]
    if list(counts) != (rows if len(counts) == 2 else [sum(rows)]):
        raise ModelFileError(f"{path}: latency 'measured_rows' {value!r} disagrees with the residual counts "
                             f"{list(counts)} (one residual per measured row; the file was edited: refit the model)")
    return {"ttft_s": value["ttft_s"], "tpot_s": value["tpot_s"]}
