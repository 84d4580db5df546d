"""What EnergyModel and LatencyModel share: fitting one native template, predicting chunk by chunk (with
intervals, extrapolation flags and the fit's design diagnostics), and their state in the model file.

Both models wrap one native template (``cpp/include/energylens/*_template.hpp``, derivation in
docs/model.md): the formula is evaluated and fitted in C++ (OpenMP/SIMD; CUDA for device arrays), the
NumPy twin in :mod:`energylens.model.reference` is the test oracle. Fitting is a bounded Levenberg-Marquardt
on relative error with the analytic Jacobian and a few seeded starts; uncertainty comes from a
parallel bootstrap (refits on resampled rows) combined with a summary of the training residuals
(:mod:`energylens.model.intervals`); :mod:`energylens.model.domain` checks duplicates, identifiability and
extrapolation. Feature mappings are checked and evaluated in :mod:`energylens.model.feature_eval`, the
model file entry is written and read in :mod:`energylens.model.template_state`.
"""
from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from energylens import _core
from energylens.model.chunks import config_chunks, evaluate_chunk
from energylens.model.configs import fit_input, load_configs
from energylens.model.domain import (
    FeatureTable,
    RangeCheck,
    design_report,
    non_finite_fit_error,
    range_check,
    unexercised_params,
    warn_unit_slips,
)
from energylens.model.feature_eval import template_columns, template_evaluation
from energylens.model.fit_options import BOOTSTRAP_PROGRESS, checked_fit_options
from energylens.model.fit_summary import FitSummary, Param, fitted_gpu_rows, param_table
from energylens.model.gpu_domain import (
    FittedGpus,
    GpuCheck,
    transfer_rows,
    unseen_gpu_rows,
)
from energylens.model.identify import NO_TPOT, same_cost, template_jacobian, undetermined, warn_undetermined
from energylens.model.intervals import (
    PREDICT_CHUNK_ROWS,
    GpuTransfer,
    interval_preflight,
    model_factors,
    output_residuals,
    residual_sample,
    row_keys,
    transfer_sd,
    unavailable_reason,
)
from energylens.model.template_state import template_from_state, template_state
from energylens.outputs import plural
from energylens.parallel import threads
from energylens.profiles.features import build_features
from energylens.profiles.light import LightProfiles
from energylens.profiles.native_rows import feature_rows

__all__ = ["ClosedFormModel", "load_configs", "fit_input"]


def _finite_count(values: np.ndarray) -> int:
    """How many values are finite (``int(np.isfinite(values).sum())`` without ndarray.sum's Python layer)."""
    return int(np.count_nonzero(np.isfinite(values)))


def _mean_abs(values: np.ndarray) -> float:
    """``float(np.mean(np.abs(values)))`` (NaN when empty) without np.mean's Python layer: the same
    pairwise sum divided by the count, so the same bits."""
    return float(np.add.reduce(np.abs(values))) / len(values) if len(values) else math.nan


def _read_rows(targets: list[np.ndarray]) -> np.ndarray | None:
    """The rows a fit on ``targets`` reads (a finite value in one of them: a latency model's TTFT or TPOT, an
    energy model's energy or its TPOT term), None when that is every row (the usual case: no mask)."""
    read = np.isfinite(targets[0])
    for t in targets[1:]:
        read |= np.isfinite(t)
    return None if read.all() else read


def _unshifted_fit(template: str, columns: list[np.ndarray], targets: list[np.ndarray], options: dict[str, Any],
                   opts: _core.FitOptions, result: Any) -> Any:
    """The fit from the unshifted start alone (the template's defaults) where it reaches the multi-start ``result``'s
    cost to the fitter's tolerance (:func:`energylens.model.identify.same_cost`), else None (keep
    ``result.best``). Along directions the rows do not see (``summary.undetermined``) a fit ends where its start
    leads, so the multi-start's winner, a seeded random shift, set those parameters and the predictions off the
    training rows: the same rows gave other values for another seed. The first start's fit is the same for every
    seed. None without running it where the unshifted start won the multi-start (it would repeat that fit bit for
    bit)."""
    if opts.n_starts <= 1 or result.best_start == 0:
        return None
    first = _core.fit(template, columns, targets, None, _fit_options(tuple({**options, "n_starts": 1}.items()),
                                                                     opts.target)).best
    return first if same_cost(first.cost, result.best.cost, opts.ftol, sum(map(_finite_count, targets))) else None


@functools.lru_cache(maxsize=8)
def _descriptor(template: str) -> tuple[Any, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """A template's native descriptor and its (id, parameter names, feature names), read once: each read
    of a descriptor's name list builds a new tuple (~1 us), and a fit reads them about ten times."""
    d = _core.describe_template(template)
    return d, (d.id, d.param_names, d.feature_names)


@functools.lru_cache(maxsize=256)
def _fit_options(options: tuple[tuple[str, Any], ...], target: str) -> _core.FitOptions:
    """The native fit options of a model's ``options`` items and target (read-only: built once, ~4 us)."""
    opts = {k: v for k, v in options if k != "tpot_weight" and v is not None}
    return _core.FitOptions(**opts, target=target, aux_weight=dict(options)["tpot_weight"])


class ClosedFormModel(FittedGpus):
    """Shared machinery of EnergyModel and LatencyModel (one native template each)."""

    _template: ClassVar[str]
    _fit_target: ClassVar[str]  # "sum" or "per_output"
    _kind: ClassVar[str]
    #: What the too-few-measurements error of fit offers instead (only remedies this class takes).
    _too_few_remedy: ClassVar[str]
    #: Older template ids whose files still load: the parameters each lacks and the value at which this
    #: template reduces to it exactly (e.g. a term added later, off at 0).
    _upgradable: ClassVar[dict[str, dict[str, float]]] = {}

    def __init__(self, *, residual: str = "log", loss: str = "linear", loss_scale: float = 0.1,
                 n_starts: int = 3, start_spread: float = 0.6, seed: int = 0, bootstrap: int = 200,
                 max_iterations: int = 300, tpot_weight: float = 1.0) -> None:
        self.options, self.bootstrap_replicates = checked_fit_options(
            residual=residual, loss=loss, loss_scale=loss_scale, n_starts=n_starts, start_spread=start_spread,
            seed=seed, bootstrap=bootstrap, max_iterations=max_iterations, tpot_weight=tpot_weight)
        self._names = _descriptor(self._template)[1]
        self._theta: np.ndarray | None = None
        self._boot: np.ndarray | None = None  # (B, P) converged bootstrap parameters
        self._res_samples: list[np.ndarray] = []  # per fitted output: sorted sample of its relative residuals
        self._res_counts: list[int] = []  # per fitted output: how many residuals its sample stands for
        self._ranges: dict[str, list[float]] | None = None  # feature -> [min, max] over the training rows
        self.summary: FitSummary | None = None

    # ---- description -------------------------------------------------------------------------
    @property
    def _desc(self) -> Any:  # looked up, not stored: a fitted model pickles and deep-copies
        return _descriptor(self._template)[0]

    @property
    def template_id(self) -> str:
        """Versioned id of the closed form, e.g. ``energylens.energy.v1``."""
        return self._names[0]

    @property
    def param_names(self) -> tuple[str, ...]:
        """The template's parameter names, in the order of :attr:`theta`."""
        return self._names[1]

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The feature columns :meth:`evaluate_features` takes (``energylens.profiles.features``)."""
        return self._names[2]

    @property
    def is_fitted(self) -> bool:
        """Whether the model has parameters (fitted, or loaded from a file)."""
        return self._theta is not None

    def _require_fitted(self) -> np.ndarray:
        if self._theta is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit(profiles) or load(path)")
        return self._theta

    @property
    def params(self) -> dict[str, Param]:
        """Fitted parameters by name, with unit, meaning, bounds and 90 % bootstrap interval.

        A parameter in :attr:`unidentified_params` has ``identified=False`` and a NaN interval (``ci_low``,
        ``ci_high``), as has every one fitted with fewer than 10 bootstrap refits; its value is the fit's."""
        return param_table(self._desc, self._require_fitted(), self._boot, self.unidentified_params)

    @property
    def unidentified_params(self) -> tuple[str, ...]:
        """The parameters the training rows cannot identify, in :attr:`param_names` order: all of them where
        the rows hold no more distinct configurations than parameters (``summary.identifiable`` False), else
        those no row depends on (``summary.unidentified``: pp_bubble without a pp > 1 row). Empty for a
        file that recorded neither."""
        self._require_fitted()
        return () if self.summary is None else self.summary.unidentified_of(self.param_names)

    @property
    def theta(self) -> np.ndarray:
        """The fitted parameter vector in template order (a copy)."""
        return self._require_fitted().copy()

    @property
    def bootstrap_params(self) -> np.ndarray:
        """The converged bootstrap replicates of the parameters, shape (replicates, n_params) (a copy;
        0 rows when fitted without bootstrap)."""
        self._require_fitted()
        if self._boot is None:
            return np.empty((0, len(self.param_names)))
        return self._boot.copy()

    # ---- features ----------------------------------------------------------------------------
    def _columns(self, frame: pd.DataFrame | LightProfiles) -> list[np.ndarray]:
        if isinstance(frame, LightProfiles):  # built natively, features.py's bit for bit (~1 ms less on one row)
            stacked = feature_rows(frame, self.feature_names)
            if stacked is not None:
                return list(stacked)
        feats = frame.features() if isinstance(frame, LightProfiles) else build_features(frame)
        missing = [n for n in self.feature_names if n not in feats]
        if missing:
            raise ValueError(f"features {missing} missing for template {self.template_id}")
        return [np.ascontiguousarray(feats[n], dtype=np.float64) for n in self.feature_names]

    def _targets(self, frame: pd.DataFrame) -> list[np.ndarray]:
        raise NotImplementedError

    def _target_mode(self, targets: list[np.ndarray]) -> str:
        return self._fit_target

    def _native_options(self, targets: list[np.ndarray]) -> _core.FitOptions:
        return _fit_options(tuple(self.options.items()), self._target_mode(targets))

    # ---- fitting -----------------------------------------------------------------------------
    def fit(self, profiles: Any, *, n_threads: int | None = None) -> ClosedFormModel:
        """Fit the template's parameters on measured profiles (path or DataFrame, schema v1); ``n_threads``
        caps the native fit and bootstrap (default: the process-wide setting, energylens.parallel).

        The fit runs on a copy and its state replaces this model's in one step at the end (a failed fit
        leaves the model as it was): a call on another thread sees the old or the new fit, never a half-set
        one (each prediction call takes the state once, :meth:`_one_fit`). The search, which reads the model more
        than once (energy, then latency), may still see both; a scheduler refits a new model and swaps its
        reference."""
        with threads(n_threads):
            new = copy.copy(self)._fit_frame(fit_input(profiles, require_energy=self._kind == "energy"))
        return self._adopt(new)

    def _adopt(self, fitted: ClosedFormModel) -> ClosedFormModel:
        """Take ``fitted``'s state (a fitted copy of this model) in one dict update, under the GIL."""
        vars(self).update(vars(fitted))
        return self

    def _one_fit(self) -> ClosedFormModel:
        """A shallow copy of this model taken in one dict copy under the GIL, as :meth:`_adopt` replaces the state:
        one fit's parameters, calibration, bootstrap and ranges together, whatever refit lands meanwhile. The
        prediction calls run on it (``self = self._one_fit()``; not a decorator, whose frame would move the
        warnings' stacklevel): a calibrated model's ``predict`` read the parameters, then after the native pass
        the calibration factors, so an in-place refit on another thread landing between gave values of neither
        fit."""
        frozen = object.__new__(type(self))
        vars(frozen).update(vars(self))
        return frozen

    def _fit_frame(self, frame: pd.DataFrame | LightProfiles, shared: dict | None = None) -> ClosedFormModel:
        """Fit on a validated frame. ``shared``: a dict that the fits of one frame pass along (the energy
        and the latency model's), holding the feature table of a feature list once built."""
        table = None if shared is None else shared.get(self.feature_names)
        if table is None:
            table = FeatureTable.of(self.feature_names, frame, self._columns)
            if shared is not None:
                shared[self.feature_names] = table
        columns = table.columns
        targets = self._targets(frame)
        n_meas = _finite_count(targets[0]) if self._fit_target == "sum" else sum(map(_finite_count, targets))
        n_params = len(self.param_names)
        if n_meas < (1 if self.options.get("prior_weight") else n_params):  # a prior stands in for the rest
            raise ValueError(
                f"{type(self).__name__}.fit: {plural(n_meas, 'measurement')} for {n_params} parameters; the closed form "
                f"needs at least {n_params} (about 50 are recommended){self._too_few_remedy}")
        opts = self._native_options(targets)
        if opts.target == "sum":
            targets = targets[:1]
        design = design_report(table, targets, 0 if self.options.get("prior_weight") else n_params,  # prior: identified
                               type(self).__name__, frame)
        warn_unit_slips(frame, self._kind)
        t0 = time.perf_counter()
        result = _core.fit(self._template, columns, targets, None, opts)
        best = result.best
        theta = best.params
        if best.status == "non_finite":
            ev = _core.evaluate(self._template, columns, theta, sum=False)
            raise non_finite_fit_error(type(self).__name__, table, [ev.out0, ev.out1], frame)
        identified = self._identification(columns, theta, targets, opts.target, design.identifiable)
        if identified["undetermined"]:  # where along the directions the rows do not see: the unshifted start's
            kept = _unshifted_fit(self._template, columns, targets, self.options, opts, result)
            if kept is not None:  # the summary describes the parameters returned, not the multi-start's winner
                best, theta = kept, kept.params
                identified = self._identification(columns, theta, targets, opts.target, design.identifiable)
        self._warn_undetermined(identified["undetermined"], targets, opts.target, frame)
        boot_ok, self._boot = 0, None
        if self.bootstrap_replicates > 0:
            report = BOOTSTRAP_PROGRESS.get()
            boot = _core.bootstrap(self._template, columns, targets, theta, self.bootstrap_replicates, opts,
                                   None if report is None else functools.partial(report, type(self).__name__))
            params = boot.params
            keep = boot.converged & np.all(np.isfinite(params), axis=1)
            boot_ok = int(keep.sum())
            self._boot = params[keep]
        seconds = time.perf_counter() - t0
        self._theta = theta
        per_output = output_residuals(self._template, columns, theta, targets, self._fit_target == "sum")
        residuals = np.concatenate(per_output) if len(per_output) > 1 else per_output[0]
        self._res_samples, self._res_counts = [residual_sample(r) for r in per_output], [len(r) for r in per_output]
        self._ranges = table.ranges()
        gpus, gpu_rows = fitted_gpu_rows(frame, _read_rows(targets))
        self.summary = FitSummary(
            n_rows=len(frame), n_measurements=n_meas, cost=best.cost, iterations=best.iterations,
            converged=best.converged, status=best.status, starts=result.starts, starts_converged=result.starts_converged,
            train_mape=_mean_abs(residuals),
            bootstrap_replicates=self.bootstrap_replicates, bootstrap_converged=boot_ok,
            data_hash=table.data_hash(targets), fit_seconds=seconds, n_distinct_rows=design.n_distinct_rows,
            n_distinct_configs=design.n_distinct_configs, identifiable=design.identifiable,
            **identified,
            gpus=gpus, gpu_rows=gpu_rows,
        )
        return self

    def _identification(self, columns: list[np.ndarray], theta: np.ndarray, targets: list[np.ndarray], mode: str,
                        identifiable: bool) -> dict[str, tuple[str, ...]]:
        """The summary's ``unidentified`` (parameters no measured row depends on, and those the rows exercise but
        do not determine) and ``undetermined`` (the latter: :func:`energylens.model.identify.undetermined` on the
        fit's residual Jacobian) at ``theta``. Not looked for where the design is already unidentifiable (every
        parameter is, and design_report warned) or a prior pulls every parameter toward a value."""
        unset = unexercised_params(self._template, self._desc, columns, theta, targets, self._fit_target == "sum")
        moving: tuple[str, ...] = ()
        if identifiable and not self.options.get("prior_weight"):
            jac = template_jacobian(self._template, self._desc, columns, theta, targets, mode, self.options)
            moving = tuple(n for n in undetermined(jac, self.param_names) if n not in unset)
        both = set(unset) | set(moving)
        return {"unidentified": tuple(n for n in self.param_names if n in both), "undetermined": moving}

    def _warn_undetermined(self, moving: tuple[str, ...], targets: list[np.ndarray], mode: str, frame: Any) -> None:
        """The DegenerateFitWarning naming the ``undetermined`` parameters of the fit returned (none: no warning)."""
        if moving:  # an energy fit without TPOT rows (or weight): power and step time meet only as a product
            timed = len(targets) > 1 and bool(np.isfinite(targets[1]).any())
            first = NO_TPOT if mode != "per_output" and not timed and self.options.get("tpot_weight", 1.0) else ""
            warn_undetermined(type(self).__name__, moving, len(self.param_names), frame, first)

    # ---- prediction --------------------------------------------------------------------------
    def _chunks(self, configs: Any, chunk_rows: int, check: RangeCheck | None,
                native: bool = False, gpus: GpuCheck | None = None) -> tuple[int, Iterator]:
        """The number of rows, and an iterator of (start, stop, inputs) per chunk: feature columns
        (extrapolation flags accumulated in ``check``), or with ``native`` the native pass's
        :class:`~energylens.profiles.native_rows.RowInputs` where a chunk takes it (:mod:`energylens.model.chunks`).
        A DataFrame not yet validated (a mapping or a list of mappings is one) is validated chunk by chunk
        (memory O(chunk); the light path where it takes the frame); paths and validated frames are read at once."""
        return config_chunks(configs, chunk_rows, self._columns, check, native, gpus)

    def _range_check(self, check_range: bool) -> RangeCheck | None:
        return range_check(self._ranges, self.feature_names, check_range, self._gpu_check())

    def unseen_gpu(self, configs: Any) -> tuple[np.ndarray, str | None]:
        """Per row: is it on a GPU the model was not fitted on (``summary.gpus``)? And what those rows are
        (:class:`~energylens.model.gpu_domain.GpuCheck`: each GPU, its rows and which of its specifications lie
        outside the fitted GPUs' [min, max]), None when none is; predict warns the same (UnseenGpuWarning). All
        False, None, for a model file written before its GPUs were recorded. Reads the ``gpu`` column alone."""
        self._require_fitted()
        return unseen_gpu_rows(configs, () if self.summary is None else self.summary.gpus)

    def _outputs(self, configs: Any, chunk_rows: int, check_range: bool, call: str,
                 summed: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """The template's two outputs per row (``summed``: their sum, and None)."""
        theta = self._require_fitted()
        check = self._range_check(check_range)
        n, chunks = self._chunks(configs, chunk_rows, check, native=True)
        out0, out1 = np.empty(n), None if summed else np.empty(n)
        for start, stop, inputs in chunks:
            evaluate_chunk(self._template, inputs, theta, check, out0[start:stop],
                           None if out1 is None else out1[start:stop])
        if check is not None:
            check.warn(call)
        return out0, out1

    def extrapolated(self, configs: Any, *, chunk_rows: int = PREDICT_CHUNK_ROWS) -> np.ndarray:
        """Per row: does some feature lie outside the fitted data's [min, max] by more than
        :data:`energylens.model.domain.EXTRAPOLATION_FACTOR`? Warns once (ExtrapolationWarning) with counts
        per feature. All False for a model file written before training ranges were stored."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        flags, check = self._range_flags(configs, chunk_rows)
        check.warn(f"{type(self).__name__}.extrapolated")
        return flags

    def extrapolation(self, configs: Any, *, chunk_rows: int = PREDICT_CHUNK_ROWS,
                      features: Mapping[str, Any] | None = None) -> tuple[np.ndarray, str | None]:
        """:meth:`extrapolated`'s flags and, instead of its warning, what the flagged rows lie outside (the
        fitted range by the factor; per feature the rows and extreme values against the fitted [min, max]),
        None when no row is flagged. ``features``: ``build_features(configs)`` when the caller has it."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        flags, check = self._range_flags(configs, chunk_rows, features)
        return flags, check.summary()

    def _range_flags(self, configs: Any, chunk_rows: int, features=None) -> tuple[np.ndarray, RangeCheck]:
        self._require_fitted()
        check = RangeCheck(self._ranges, self.feature_names)
        if features is not None:  # one pass, as the chunks below would compute it
            return check.flags(self._feature_columns(features, False)), check
        _n, chunks = self._chunks(configs, chunk_rows, None)
        flags = [check.flags(columns) for _s, _e, columns in chunks]
        return (np.concatenate(flags) if flags else np.zeros(0, dtype=bool)), check

    def _feature_columns(self, features: Mapping[str, Any], validate: bool, dtype=np.float64) -> list[np.ndarray]:
        """Template-ordered columns in ``dtype`` from a feature mapping (scalars and 1-element arrays broadcast)."""
        return template_columns(self, features, validate, dtype)

    def evaluate_features(self, features: Mapping[str, Any], *, out: tuple[np.ndarray, np.ndarray] | None = None,
                          validate: bool = True, dtype=np.float64, n_threads: int | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """The template's two outputs straight from feature columns, without pandas.

        ``features`` maps every name in :attr:`feature_names` to a 1-D array or a scalar; a scalar (or a
        one-element array) is used for every row, so a sweep over TP, PP, batch and lengths for one model on
        one GPU passes the model's and GPU's specs once and streams only what varies (about 2x faster than
        full columns on a memory-bound machine; bench/README.md). ``out``: a pair of preallocated float64
        arrays to write into (not overlapping). ``validate=False`` skips the domain check of every value
        (finite; tp, pp >= 1; prefill_extra_flops >= 0; everything else > 0) and of the outputs (finite: an
        overflow of the formula is a ValueError naming the row), for callers that built the
        columns themselves and evaluate in a hot loop. Boolean, complex and text columns are refused either way;
        tp, pp, dp and ep must be whole numbers, which is not checked (a per-row pass would cost the fast path). Integer
        arrays are converted to ``dtype`` on every call: pass float arrays to a hot loop.
        ``dtype=np.float32`` runs the float32 native loop end to end (columns cast once if needed, float32
        outputs); ``n_threads`` caps its threads.

        Every feature the varied axes change must vary with them, or the sweep is silently wrong:
        ``weight_bytes_per_step`` follows the batch for MoE models (experts touched); ``kv_bytes_per_token``
        follows tp once tp exceeds the KV heads (replication; MLA latents), and the lengths for
        sliding-window models, as the attention FLOP features do; ``pp_scale_out_hops`` follows pp across
        nodes. When unsure, build the columns with :func:`energylens.profiles.features.build_features` on the
        swept rows rather than taking one row's specs (the search engine does this for you:
        :func:`energylens.search`).
        """
        ev = self._evaluation(features, out, validate, dtype, n_threads, summed=False)
        return ev.out0, ev.out1

    def _evaluation(self, features: Mapping[str, Any], out: tuple[np.ndarray, np.ndarray] | None, validate: bool,
                    dtype, n_threads: int | None, *, summed: bool) -> Any:
        """The native evaluation behind evaluate_features (and, ``summed``: out0 + out1 added chunk by chunk
        in cache, predict_features): :func:`energylens.model.feature_eval.template_evaluation`."""
        return template_evaluation(self, features, out, validate, dtype, n_threads, summed=summed)

    def intervals_unavailable(self) -> str | None:
        """Why this model cannot give prediction intervals, or None when it can."""
        self._require_fitted()
        return unavailable_reason(0 if self._boot is None else len(self._boot), self.summary, len(self.param_names))

    def measurement_factors(self, output: int = 0) -> np.ndarray:
        """The factors measured / predicted the prediction interval of ``output`` draws from (sorted; one per
        kept training residual of that output, :func:`energylens.model.intervals.measurement_factors`), their
        scatter inflated for the fitted degrees of freedom (public: the search's confidence limits reproduce
        predict_interval's draws with it). ``output``: 0 TTFT, 1 TPOT of a LatencyModel; an EnergyModel has one
        (the sum), as has a latency file written before per-output samples (both outputs draw from it)."""
        if not self._res_samples:
            return model_factors(self, np.zeros(0), 0)
        k = min(output, len(self._res_samples) - 1)
        return model_factors(self, self._res_samples[k], self._res_counts[k])

    def _intervals(self, configs: Any, level: float, picks, chunk_rows: int, check_range: bool,
                   transfer: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """(lo, hi) at ``level`` for each output ``pick(out0, out1)``, chunk by chunk over the rows. ``transfer``:
        rows on a GPU the model was not fitted on draw their factors times the GPU transfer factor of each output's
        log sd (:func:`energylens.model.intervals.transfer_sd`: the energy's, a latency model's TPOT; none for TTFT,
        :func:`energylens.model.intervals.transfer_factors`), with or without the range check: in the chunk's one native
        pass, as extra outputs (:class:`energylens.model.intervals.GpuTransfer`; before, a second pass)."""
        level = interval_preflight(self, level)
        samples = [self.measurement_factors(k) for k in range(len(picks))]  # each output its own residuals
        check = self._range_check(check_range)
        factors = GpuTransfer(samples, [transfer_sd(self._kind, pick) if transfer else 0.0 for pick in picks])
        gpus = check.gpus if check is not None else self._gpu_check() if factors.outputs else None
        n, chunks = self._chunks(configs, chunk_rows, None, gpus=gpus)  # the range check runs in the native pass
        out = [(np.empty(n), np.empty(n)) for _ in picks]
        for start, stop, columns in chunks:
            unseen = transfer_rows(gpus, stop - start) if factors.outputs else None
            chunk = factors.interval_bounds(self._template, columns, self._boot, picks, unseen, check=check,
                                            seed=self.options["seed"], level=level)
            for (lo, hi), (c_lo, c_hi) in zip(out, chunk, strict=True):
                lo[start:stop], hi[start:stop] = c_lo, c_hi
        if check is not None:
            check.warn(f"{type(self).__name__}.predict_interval")
        return out

    def draw_keys(self, configs: Any, chunk_rows: int = PREDICT_CHUNK_ROWS) -> np.ndarray:
        """Per row: the key its interval draws are made at (:func:`energylens.model.intervals.row_keys`): a hash of its
        feature values to 12 significant bits, so a configuration gets the same bounds wherever it sits, float32 or
        float64 (the search's too); configurations equal to that precision share draws (their predictions agree)."""
        self._require_fitted()
        n, chunks = self._chunks(configs, chunk_rows, None)
        keys = np.empty(n, dtype=np.uint64)
        for start, stop, columns in chunks:
            keys[start:stop] = row_keys(columns)
        return keys

    # ---- persistence (energylens.model.template_state) -----------------------------------------
    def _state(self) -> dict[str, Any]:
        return template_state(self)

    @classmethod
    def _from_state(cls, state: dict[str, Any], path: str) -> ClosedFormModel:
        return template_from_state(cls, state, path, _descriptor(cls._template)[1][0])
