"""The closed-form energy and latency models: fit, predict (with phases and intervals), save/load.

Both models wrap one native template (``cpp/include/energylens/*_template.hpp``, derivation in
docs/model.md): the formula is evaluated and fitted in C++ (OpenMP/SIMD; CUDA for device arrays), the
NumPy twin in :mod:`energylens.model.reference` is the test oracle. Fitting is a bounded Levenberg-Marquardt
on relative error with the analytic Jacobian and a few seeded starts; uncertainty comes from a
parallel bootstrap (refits on resampled rows) combined with the training residuals. The machinery both
share (chunked prediction, intervals, extrapolation and design checks, state) is in
:mod:`energylens.model.base`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from energylens import _core, warning_sink
from energylens.errors import DegenerateFitWarning, ModelFileError
from energylens.model.base import ClosedFormModel, fit_input, load_configs
from energylens.model.calibration import (
    Calibration,
    as_frame,
    calibrated_interval,
    check_calibration_key,
    fit_calibration,
    read_calibration,
)
from energylens.model.chunks import per_row_frame
from energylens.model.domain import warn_unit_slips
from energylens.model.fit_options import ENERGY_TPOT_WEIGHT
from energylens.model.fit_summary import FitSummary, Param
from energylens.model.intervals import DEFAULT_CHUNK_ROWS, OUT0, OUT1, OUT_SUM, PREDICT_CHUNK_ROWS
from energylens.model.latency_calibration import (
    LatencyCalibration,
    fit_latency_calibration,
    read_latency_calibration,
)
from energylens.model.persistence import (
    EXPRESSION_MODEL_ID,
    MODEL_FILE_VERSION,
    read_model_file,
    write_model_file,
)
from energylens.model.prior import checked_prior_weight, prior_values
from energylens.model.template_state import latency_calibration_by, measured_rows
from energylens.model.time_in_system import (
    PREFILL_STALL_START,
    describe_prefill_stall,
    fitted_prefill_stall,
    read_prefill_stall,
    stall_outputs,
)
from energylens.parallel import once, threads

if TYPE_CHECKING:  # the expression model needs SymPy, which the template path does not load
    from energylens.model.expression import ExpressionEnergyModel

__all__ = ["Param", "FitSummary", "EnergyModel", "LatencyModel", "load_model", "MODEL_FILE_VERSION",
           "DEFAULT_CHUNK_ROWS", "ENERGY_TPOT_WEIGHT"]

#: predict_interval's DegenerateFitWarning without measured TTFT (until 2026-12-07 silent; the CLI's note says it)
NO_TTFT_BOUNDS = ("LatencyModel.predict_interval: ttft_s_lo and ttft_s_hi are NaN: no training row measured ttft_s "
                  "(ttft_fitted is False, as on the ML.ENERGY data), so no residual sizes a TTFT interval and ttft_s_pred "
                  "is a roofline estimate at start values: fit on rows with measured ttft_s to get TTFT bounds "
                  "(the tpot_s bounds are unaffected)")


class LatencyModel(ClosedFormModel):
    """Closed-form time to first token and time per output token in the energy model's features.

    Fitted on ``ttft_s`` and ``tpot_s`` (either may be absent per row: NaN entries are skipped).
    ``calibration="model"`` (or ``"family"``; default None) also fits one shrunk multiplicative offset per
    key for TPOT and one for TTFT (:mod:`energylens.model.latency_calibration`), applied by predict and
    predict_interval; unseen keys keep the template's prediction. ``prefill_stall`` (sigma, fitted after them
    where training rows measured throughput; :mod:`energylens.model.time_in_system`) prices the time a
    request spends in the system, which predict gives as ``time_in_system_s_pred``.
    """

    _template = "latency"
    # latency.v3 added tp_sync_us (a per-layer cost per extra TP peer); at 0 it is latency.v2 exactly.
    _upgradable: ClassVar[dict[str, dict[str, float]]] = {"energylens.latency.v2": {"tp_sync_us": 0.0}}
    _fit_target = "per_output"
    _kind = "latency"
    _too_few_remedy = ": more rows with a measured ttft_s or tpot_s (the latency model takes no prior)"
    #: The parameters only measured TTFT determines (they keep their start values without it).
    TTFT_PARAMS: ClassVar[tuple[str, ...]] = ("eta_prefill", "prefill_batch_factor")

    def __init__(self, *, calibration: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calibration_by = check_calibration_key(calibration)
        self.calibration: LatencyCalibration | None = None
        #: Training rows with a measured ``ttft_s`` / ``tpot_s`` (None: a file written before energylens
        #: recorded them). With no TTFT row, eta_prefill and prefill_batch_factor keep their start values.
        self.measured_rows: dict[str, int] | None = None
        #: sigma of the time in the system (:mod:`energylens.model.time_in_system`), and the training rows
        #: it was fitted on (0: none measured throughput, sigma at its start; None: a file without it).
        self.prefill_stall: float = PREFILL_STALL_START
        self.prefill_stall_rows: int | None = None

    def _fit_frame(self, frame: Any, shared: dict | None = None) -> LatencyModel:
        super()._fit_frame(frame, shared)
        self.measured_rows = {name: int(np.isfinite(col).sum())
                              for name, col in zip(("ttft_s", "tpot_s"), self._targets(frame), strict=True)}
        self.calibration = (None if self.calibration_by is None
                            else fit_latency_calibration(self, frame, self.calibration_by))
        self.prefill_stall, self.prefill_stall_rows = fitted_prefill_stall(self, frame)
        return self

    def describe_prefill_stall(self) -> str:
        """One line on the time-in-system term's sigma (fitted, not identified, or a file's default)."""
        return describe_prefill_stall(self.prefill_stall, self.prefill_stall_rows)

    @property
    def ttft_fitted(self) -> bool | None:
        """Whether the fit saw measured TTFT (None: unknown, a file from before the count was recorded)."""
        return None if self.measured_rows is None else self.measured_rows["ttft_s"] > 0

    def _targets(self, frame: pd.DataFrame) -> list[np.ndarray]:
        cols = []
        for name in ("ttft_s", "tpot_s"):
            cols.append(np.asarray(frame[name], dtype=np.float64) if name in frame else np.full(len(frame), np.nan))
        if not any(np.isfinite(c).any() for c in cols):
            raise ValueError("LatencyModel.fit: the profiles have no ttft_s or tpot_s measurements")
        return cols

    #: Columns of predict_interval (NaN-filled by ``energylens predict`` when intervals are unavailable).
    interval_columns: ClassVar[tuple[str, ...]] = ("ttft_s_lo", "ttft_s_hi", "tpot_s_lo", "tpot_s_hi")

    def predict(self, configs: Any, *, chunk_rows: int = PREDICT_CHUNK_ROWS, check_range: bool = True,
                n_threads: int | None = None) -> pd.DataFrame:
        """A DataFrame of ``ttft_s_pred``, ``tpot_s_pred`` and ``time_in_system_s_pred`` (s: TTFT + L_out TPOT +
        prefill_stall x B_r t_p, :mod:`energylens.model.time_in_system`) for each configuration row
        (``chunk_rows`` rows at a time; ``check_range``: warn once about rows outside the fitted range, see
        :meth:`extrapolated`; ``n_threads`` caps the native loop's threads). Errors as :meth:`EnergyModel.predict`.
        Where :attr:`ttft_fitted` is False (no row measured TTFT: ML.ENERGY), ``ttft_s_pred`` is a roofline estimate."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        configs = configs if self.calibration is None else as_frame(configs, load_configs)  # a path read once
        with threads(n_threads):
            ttft, tpot, stall, lo = stall_outputs(self, configs, chunk_rows, check_range, "LatencyModel.predict")
        if self.calibration is not None:
            f_ttft, f_tpot = self.calibration.factors(configs)
            ttft, tpot, stall = ttft * f_ttft, tpot * f_tpot, f_ttft * stall
        w = ttft + lo * tpot + self.prefill_stall * stall  # the search's kernel::time_in_system
        return per_row_frame({"ttft_s_pred": ttft, "tpot_s_pred": tpot, "time_in_system_s_pred": w}, configs)

    def predict_interval(self, configs: Any, level: float = 0.9, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                         check_range: bool = True, n_threads: int | None = None) -> pd.DataFrame:
        """Prediction intervals of TTFT and TPOT at ``level``: a DataFrame of ``ttft_s_lo``, ``ttft_s_hi``,
        ``tpot_s_lo``, ``tpot_s_hi`` (s); IntervalsUnavailableError when the model has none (see
        :meth:`intervals_unavailable`). Memory: O(rows) + O(replicates x chunk_rows). A calibrated model scales
        the template's interval by each row's factor (the offset's own uncertainty is not added). With no
        measured TTFT (:attr:`ttft_fitted` False) the TTFT bounds are NaN, with a DegenerateFitWarning saying why.
        A row on an unseen GPU draws a TPOT transfer factor (:data:`.intervals.TPOT_TRANSFER_LOG_SD`)."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        configs = configs if self.calibration is None else as_frame(configs, load_configs)
        with threads(n_threads):
            (lo_t, hi_t), (lo_p, hi_p) = self._intervals(configs, level, (OUT0, OUT1),
                                                         chunk_rows, check_range, transfer=True)
        if self.ttft_fitted is False:
            lo_t, hi_t = np.full(len(lo_t), np.nan), np.full(len(hi_t), np.nan)
            warning_sink.warn_bounded(NO_TTFT_BOUNDS, DegenerateFitWarning, stacklevel=2)
        if self.calibration is not None:
            f_ttft, f_tpot = self.calibration.factors(configs)
            lo_t, hi_t, lo_p, hi_p = lo_t * f_ttft, hi_t * f_ttft, lo_p * f_tpot, hi_p * f_tpot
        return per_row_frame({"ttft_s_lo": lo_t, "ttft_s_hi": hi_t, "tpot_s_lo": lo_p, "tpot_s_hi": hi_p}, configs)

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        if self.calibration is not None:
            state["calibration"] = self.calibration.to_state()
        if self.measured_rows is not None:
            state["measured_rows"] = dict(self.measured_rows)
        if self.prefill_stall_rows is not None:
            state["prefill_stall"] = {"sigma": self.prefill_stall, "rows": self.prefill_stall_rows}
        return state

    @classmethod
    def _from_state(cls, state: dict[str, Any], path: str) -> LatencyModel:
        model = super()._from_state(state, path)
        assert isinstance(model, LatencyModel)
        model.calibration = read_latency_calibration(state.get("calibration"), f"{path}: latency")
        model.calibration_by = None if model.calibration is None else model.calibration.by
        model.measured_rows = measured_rows(state.get("measured_rows"), path, model._res_counts)
        model.prefill_stall, model.prefill_stall_rows = read_prefill_stall(state.get("prefill_stall"), path)
        return model

    def save(self, path: str | Path) -> None:
        """Write a model file holding this latency model alone (versioned JSON, as EnergyModel.save); ValueError
        when not fitted, OutputError when the file cannot be written or an existing file there is not a model file."""
        write_model_file(path, {"energy": None, "latency": self._state()})

    @classmethod
    def load(cls, path: str | Path) -> LatencyModel:
        """The latency model of a model file (one written by either model); ModelFileError when it has none."""
        state = read_model_file(path)
        if not state.get("latency"):
            raise ModelFileError(f"{path}: holds no latency model{_energy_only(state)}")
        return cls._from_state(state["latency"], str(path))

    def to_sympy(self, *, numeric: bool = True):
        """(TTFT, TPOT) as SymPy expressions of the features; fitted values substituted (``numeric``)."""
        from energylens.model.symbolic import latency_expressions

        return latency_expressions(self.params if numeric and self.is_fitted else None)

    def to_latex(self, *, numeric: bool = True) -> str:
        """TTFT and TPOT as LaTeX (needs the [symbolic] extra)."""
        ttft, tpot = self.to_sympy(numeric=numeric)  # first: a missing sympy names the extra to install
        import sympy

        return (r"\mathrm{TTFT} = " + sympy.latex(ttft) + r" \\ " + r"\mathrm{TPOT} = " + sympy.latex(tpot))

class EnergyModel(ClosedFormModel):
    """The 12-parameter closed-form energy per request: prefill part + decode part.

    ``fit`` also fits a :class:`LatencyModel` (``latency_model``) when the profiles carry ``ttft_s``
    or ``tpot_s``, so configurations can be chosen under latency limits; ``save`` stores both.
    ``calibration="family"`` (or ``"model"``, opt-in; default None: the 12 shared parameters alone) also
    fits one shrunk multiplicative offset per key (:mod:`energylens.model.calibration`), applied by
    predict, predict_phases and predict_interval; ``calibration`` then holds it. ``latency_calibration``
    (same keys, default None) calibrates the latency model the same way (:class:`LatencyModel`).
    ``tpot_weight`` (default :data:`ENERGY_TPOT_WEIGHT`) weighs the measured-TPOT residuals of the joint fit
    against the energy residuals; the latency model's own fit does not use it. ``prior`` (opt-in): parameter
    values the fit is pulled toward with ``prior_weight``: ``"bundled"``, a model file, a fitted EnergyModel,
    12 numbers in :attr:`param_names` order or a mapping name -> value (``other.params`` works).
    """

    _template = "energy"
    _fit_target = "sum"
    _kind = "energy"
    _too_few_remedy = ", or a prior (EnergyModel(prior=...), fit --prior)"

    def __init__(self, *, calibration: str | None = None, latency_calibration: str | None = None,
                 tpot_weight: float = ENERGY_TPOT_WEIGHT, prior: Any = None, prior_weight: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(tpot_weight=tpot_weight, **kwargs)
        values = resolve_prior(prior, self._desc)
        self.options.update(prior=values, prior_weight=checked_prior_weight(prior_weight, values))
        self.latency_calibration_by = check_calibration_key(latency_calibration)
        self.latency_model: LatencyModel | None = None
        self.calibration_by = check_calibration_key(calibration)
        self.calibration: Calibration | None = None

    def _targets(self, frame: pd.DataFrame) -> list[np.ndarray]:
        tpot = np.asarray(frame["tpot_s"], dtype=np.float64) if "tpot_s" in frame else np.full(len(frame), np.nan)
        return [np.asarray(frame["energy_j"], dtype=np.float64), tpot]

    def _target_mode(self, targets: list[np.ndarray]) -> str:
        # Energy alone cannot tell power from time (docs/model.md, identifiability): where TPOT was
        # measured, the step time the energy implies is fitted against it too.
        if self.options["tpot_weight"] > 0 and np.isfinite(targets[1]).any():
            return "sum_with_aux"
        return "sum"

    @classmethod
    def from_expression(cls, expr: Any, **kwargs: Any) -> ExpressionEnergyModel:
        """An energy model whose formula is ``expr`` (SymPy or string) of the feature columns, e.g. a
        discovered one (``energylens discover``): fit, predict, predict_features, predict_interval,
        save/load and the comparison harness work as for the template. Floats in ``expr`` become the
        constants refitted natively; see :class:`energylens.model.expression.ExpressionEnergyModel` for
        ``params``, ``bounds`` and the fit options."""
        from energylens.model.expression import ExpressionEnergyModel

        return ExpressionEnergyModel(expr, **kwargs)

    def fit(self, profiles: Any, *, latency: bool = True, n_threads: int | None = None) -> EnergyModel:
        """Fit on measured profiles (a schema-v1 path or DataFrame with ``energy_j``, J); with ``latency`` also
        fit the latency model where the rows carry ``ttft_s`` / ``tpot_s``; ``n_threads`` caps the native fits
        and bootstraps (default: the process-wide setting). The state (parameters, calibration, latency model)
        is replaced in one step at the end, as :meth:`ClosedFormModel.fit` says.

        Returns: ``self``, fitted (``summary``: its :class:`FitSummary`; ``params``: values in their units).
        Raises: ProfileSchemaError (a row or column violating the schema), FileNotFoundError (no such path),
        ValueError (fewer measurements than parameters, without a prior). Warns DegenerateFitWarning (a
        parameter not identified, or too few latency rows for a latency model)."""
        with threads(n_threads):
            new = copy.copy(self)._fit_with_latency(fit_input(profiles, require_energy=True), latency)
        return self._adopt(new)

    def _fit_with_latency(self, frame: Any, latency: bool) -> EnergyModel:
        shared: dict = {}  # the two templates read the same features: built and stacked once
        self._fit_frame(frame, shared)
        self.calibration = None if self.calibration_by is None else fit_calibration(self, frame, self.calibration_by)
        self.latency_model = None
        n_lat = sum(int(np.count_nonzero(np.isfinite(np.asarray(frame[c], dtype=float))))
                    for c in ("ttft_s", "tpot_s") if c in frame)  # latency measurements
        if latency and n_lat:
            shared_options = {k: v for k, v in self.options.items() if k not in ("prior", "prior_weight")}
            lm = LatencyModel(**shared_options, bootstrap=self.bootstrap_replicates,
                              calibration=self.latency_calibration_by)
            if n_lat >= len(lm.param_names):
                self.latency_model = lm._fit_frame(frame, shared)  # (which checks tpot_s's units)
            else:
                warning_sink.warn(
                    f"{type(self).__name__}.fit: no latency model fitted: the profiles carry {n_lat} latency "
                    f"measurement(s) (ttft_s / tpot_s) for its {len(lm.param_names)} parameters; predictions "
                    "get no TTFT / TPOT (profile more rows with ttft_s or tpot_s)", DegenerateFitWarning, stacklevel=3)
        if self.latency_model is None and self.options["tpot_weight"] > 0:  # read by the energy fit, else unchecked
            warn_unit_slips(frame, "energy_tpot")
        return self

    #: Columns of predict_interval (NaN-filled by ``energylens predict`` when intervals are unavailable).
    interval_columns: ClassVar[tuple[str, ...]] = ("energy_j_lo", "energy_j_hi")

    def predict(self, configs: Any, *, chunk_rows: int = PREDICT_CHUNK_ROWS, check_range: bool = True,
                n_threads: int | None = None) -> np.ndarray:
        """Energy per request (J) for each configuration row (path or DataFrame, schema v1; ``energy_j`` not
        needed), ``chunk_rows`` rows at a time; ``check_range`` warns once (ExtrapolationWarning) about rows
        outside the fitted range (:meth:`extrapolated`); ``n_threads`` caps the native loop's threads.

        Returns: a float64 array, one energy per request per row (J). Raises: ValueError (not fitted),
        ProfileSchemaError (an invalid row or missing column), FileNotFoundError (no such path)."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        configs = configs if self.calibration is None else as_frame(configs, load_configs)  # a path read once
        with threads(n_threads):
            out = self._outputs(configs, chunk_rows, check_range, "EnergyModel.predict", summed=True)[0]
        return out if self.calibration is None else np.multiply(out, self.calibration.factors(configs), out=out)

    def predict_features(self, features: Mapping[str, Any], *, validate: bool = True, dtype=np.float64,
                         n_threads: int | None = None) -> np.ndarray:
        """Energy per request (J) from feature columns (see :meth:`evaluate_features`; scalars broadcast).

        The fast path for schedulers and sweeps: no DataFrame, no table lookups, one native pass;
        ``dtype=np.float32`` runs the float32 loop. Not for a calibrated model (features carry no model
        name): multiply by ``model.calibration.factors(frame)`` yourself.
        """
        if self.calibration is not None:
            raise ValueError(f"predict_features: this model is calibrated by {self.calibration.by!r} and feature "
                             "columns carry no model name; use predict(frame), or multiply by "
                             "model.calibration.factors(frame)")
        return self._evaluation(features, None, validate, dtype, n_threads, summed=True).out0

    def predict_bootstrap(self, configs: Any) -> np.ndarray:
        """Energy per request (J) under each converged bootstrap refit, shape (replicates, rows):
        the parameter uncertainty alone (no residual scatter), e.g. for choosing what to measure next."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        self._require_fitted()
        if self._boot is None or len(self._boot) == 0:
            raise ValueError("no bootstrap replicates: fit with bootstrap >= 1")
        configs = configs if self.calibration is None else as_frame(configs, load_configs)  # a path read once
        n, chunks = self._chunks(configs, DEFAULT_CHUNK_ROWS, None)  # the light path, as predict (was the schema's)
        out = np.empty((len(self._boot), n), dtype=np.float64)
        for start, stop, columns in chunks:  # one native call per chunk
            out0, out1 = _core.evaluate_replicates(self._template, columns, self._boot)
            np.add(out0, out1, out=out[:, start:stop])
        return out if self.calibration is None else out * self.calibration.factors(configs)

    def predict_phases(self, configs: Any, *, chunk_rows: int = PREDICT_CHUNK_ROWS,
                       check_range: bool = True, n_threads: int | None = None) -> pd.DataFrame:
        """Prefill and decode energy per request (J), and their sum, for each configuration row (a DataFrame
        input's index is kept): columns ``prefill_energy_j_pred``, ``decode_energy_j_pred``, ``energy_j_pred``.
        Arguments and errors as :meth:`predict`."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        configs = configs if self.calibration is None else as_frame(configs, load_configs)
        with threads(n_threads):
            e_pf, e_dec = self._outputs(configs, chunk_rows, check_range, "EnergyModel.predict_phases")
        total = e_pf + e_dec
        if self.calibration is not None:  # the total scaled as predict() scales it: the same bits, not f*pf + f*dec
            f = self.calibration.factors(configs)
            e_pf, e_dec, total = e_pf * f, e_dec * f, total * f
        return per_row_frame({"prefill_energy_j_pred": e_pf, "decode_energy_j_pred": e_dec,
                              "energy_j_pred": total}, configs)

    def predict_interval(self, configs: Any, level: float = 0.9, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                         check_range: bool = True, n_threads: int | None = None) -> pd.DataFrame:
        """Prediction interval of the energy per request at ``level`` (bootstrap + residuals), computed
        ``chunk_rows`` rows at a time (memory O(rows) + O(replicates x chunk_rows)); IntervalsUnavailableError
        when the model has none (:meth:`intervals_unavailable`: no replicates, or parameters not identified).
        The residual draws follow each row's position in the table (reproducible whatever ``chunk_rows``),
        so the bounds of one configuration vary by a few percent with where it sits: a Monte Carlo interval,
        not a per-configuration constant (:mod:`energylens.model.intervals`). A row on a GPU the model was not
        fitted on (:meth:`unseen_gpu`) draws each factor times a GPU transfer factor, a bias the fitted GPUs'
        residuals cannot show (:func:`energylens.model.intervals.transfer_factors`): its interval is wider.

        Returns: a DataFrame of ``energy_j_lo`` / ``energy_j_hi`` (J per request; a DataFrame input's index).
        Raises: IntervalsUnavailableError, ValueError (``level`` not in (0, 1); not fitted), ProfileSchemaError."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        with threads(n_threads):
            if self.calibration is not None:
                lo, hi = calibrated_interval(self, configs, level, chunk_rows, check_range, load_configs)
            else:
                ((lo, hi),) = self._intervals(configs, level, (OUT_SUM,), chunk_rows, check_range, transfer=True)
        return per_row_frame({"energy_j_lo": lo, "energy_j_hi": hi}, configs)

    def jacobian(self, configs: Any) -> np.ndarray:
        """d energy_j / d params at the fitted parameters, shape (rows, 12): the derivative of what
        :meth:`predict` returns, so for a calibrated model each row's times its factor (the offsets are
        fixed once fitted)."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        frame = load_configs(configs, require_energy=False)
        ev = _core.evaluate(self._template, self._columns(frame), self._require_fitted(), jacobian=True)
        jac = ev.jacobian0 + ev.jacobian1
        return jac if self.calibration is None else jac * self.calibration.factors(frame)[:, None]

    def save(self, path: str | Path) -> None:
        """Write a versioned JSON model file, atomically: template id, parameters, fit metrics, data hash,
        bootstrap, and the latency model. ValueError: not fitted; OutputError: not written, or a file there is not a model."""
        energy = self._state()
        if self.calibration is not None:
            energy["calibration"] = self.calibration.to_state()
        if self.latency_calibration_by is not None:  # kept for a refit when no latency model was fitted
            energy["latency_calibration_by"] = self.latency_calibration_by
        write_model_file(path, {"energy": energy,
                      "latency": None if self.latency_model is None else self.latency_model._state()})

    @classmethod
    def load(cls, path: str | Path) -> EnergyModel | ExpressionEnergyModel:
        """The energy model a file holds (an :class:`ExpressionEnergyModel` for a saved expression model);
        ModelFileError naming the path when it is missing, malformed or holds no energy model."""
        state = read_model_file(path)
        if not state.get("energy"):
            only = " (a LatencyModel only: LatencyModel.load or load_model reads it)" if state.get("latency") else ""
            raise ModelFileError(f"{path}: holds no energy model{only}")
        if state["energy"].get("template") == EXPRESSION_MODEL_ID:
            from energylens.model.expression import ExpressionEnergyModel  # SymPy loads on first use

            return ExpressionEnergyModel.from_document(state, str(path))
        model = cls._from_state(state["energy"], str(path))
        assert isinstance(model, EnergyModel)
        model.calibration = read_calibration(state["energy"].get("calibration"), f"{path}: energy")
        model.calibration_by = None if model.calibration is None else model.calibration.by
        if state.get("latency"):
            model.latency_model = LatencyModel._from_state(state["latency"], str(path))
        model.latency_calibration_by = latency_calibration_by(state["energy"], model.latency_model, str(path))
        return model

    def to_sympy(self, *, numeric: bool = True):
        """(prefill, decode) as SymPy expressions of the features; fitted values substituted."""
        from energylens.model.symbolic import energy_expressions

        return energy_expressions(self.params if numeric and self.is_fitted else None)

    def to_latex(self, *, numeric: bool = True) -> str:
        """Prefill and decode energy as LaTeX (needs the [symbolic] extra)."""
        prefill, decode = self.to_sympy(numeric=numeric)  # first: a missing sympy names the extra to install
        import sympy

        return (r"E_\mathrm{prefill} = " + sympy.latex(prefill) + r" \\ " + r"E_\mathrm{decode} = "
                + sympy.latex(decode))


@once
def bundled_prior() -> tuple[float, ...]:
    """The template's parameters fitted on the bundled ML.ENERGY v2 rows (no bootstrap), once per process."""
    return tuple(map(float, EnergyModel(bootstrap=0).fit("bundled", latency=False).theta))


def resolve_prior(prior: Any, desc: Any) -> tuple[float, ...] | None:
    """The prior's parameter values (template order) from what ``EnergyModel(prior=...)`` accepts:
    ``"bundled"``, a model file, a fitted EnergyModel, or the values or a name -> value mapping
    (:mod:`energylens.model.prior`)."""
    if prior is None:
        return None
    if isinstance(prior, str) and prior == "bundled":
        return bundled_prior()
    if isinstance(prior, (str, os.PathLike)):
        if not os.path.exists(prior):
            raise ValueError(f"prior {os.fspath(prior)!r}: no such model file; a prior is 'bundled' (the fit on the "
                             "bundled v2 rows), a model file written by energylens fit, a fitted EnergyModel or "
                             f"the {len(desc.param_names)} parameter values")
        model = load_model(prior)
        if not isinstance(model, EnergyModel) or model.template_id != desc.id:
            raise ValueError(f"prior {os.fspath(prior)!r} holds no {desc.id} energy model")
        prior = model
    if isinstance(prior, EnergyModel):
        if prior.template_id != desc.id:
            raise ValueError(f"prior: an {prior.template_id} model, this fit is {desc.id}")
        if not prior.is_fitted:  # (it said 'this EnergyModel is not fitted yet', as if this one were)
            raise ValueError("prior: the EnergyModel given is not fitted yet; fit it, or give 'bundled' or a model file")
        return tuple(map(float, prior.theta))
    return prior_values(prior, desc)


def _energy_only(state: dict[str, Any]) -> str:
    """What a model file without a latency model holds instead, and what reads it ("" for neither model)."""
    energy = state.get("energy")
    if not energy:
        return ""
    kind = ("an ExpressionEnergyModel" if isinstance(energy, dict) and energy.get("template") == EXPRESSION_MODEL_ID
            else "an EnergyModel fitted without latency")
    return (f" ({kind} only: EnergyModel.load or load_model reads it; a latency model is fitted from profiles with "
            "ttft_s / tpot_s measurements)")


def load_model(path: str | Path) -> EnergyModel | LatencyModel | ExpressionEnergyModel:
    """The model a file written by ``save`` holds: an EnergyModel (with its latency model when one was
    fitted) or, for a file written from latency-only profiles, a LatencyModel."""
    state = read_model_file(path)
    if state.get("energy"):
        return EnergyModel.load(path)
    if not state.get("latency"):
        raise ModelFileError(f"{path}: holds neither an energy nor a latency model (its 'energy' and 'latency' "
                             "entries are empty); a model file comes from a fitted model's save() or energylens fit")
    return LatencyModel.load(path)
