"""An energy model whose formula is any expression of the feature columns (``EnergyModel.from_expression``).

Owns the discovered-formula counterpart of :class:`energylens.model.EnergyModel`: the expression is compiled
once to the native stack machine (:mod:`energylens.model.compile`), its constants are refitted
(:mod:`energylens.model.expression_fit`) by the native bounded Levenberg-Marquardt with forward-mode
derivatives, intervals come from a native parallel bootstrap plus the training residuals (as for the
template), and the model is written to and read from the same versioned model file. As the template's,
predictions work ``chunk_rows`` rows at a time (intervals in memory O(rows) + O(replicates x chunk_rows), the
same bits whatever the chunking) and warn once (ExtrapolationWarning, ``check_range=False`` opts out) about
rows outside the training ranges of the features the expression reads, which the model file keeps
(``train_ranges``; a file written before has none: unchecked).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energylens.errors import ModelFileError
from energylens.model.chunks import config_chunks, per_row_frame
from energylens.model.compile import CompiledExpression, compile_expression, sp  # sympy, or the extra named
from energylens.model.discovery_names import with_discovery_variables
from energylens.model.domain import (
    RangeCheck,
    range_check,
)
from energylens.model.expression_file import read_expression_state, refuse_latency_beside, written_bounds
from energylens.model.expression_fit import fit_expression
from energylens.model.expression_units import constant_units
from energylens.model.feature_eval import expression_prediction
from energylens.model.fit_options import checked_bound_pair, checked_fit_options
from energylens.model.fit_summary import FitSummary, Param
from energylens.model.gpu_domain import (
    FittedGpus,
    transfer_rows,
    unseen_gpu_rows,
)
from energylens.model.intervals import (
    DEFAULT_CHUNK_ROWS,
    OUT_SUM,
    PREDICT_CHUNK_ROWS,
    GpuTransfer,
    interval_preflight,
    model_factors,
    row_keys,
    transfer_sd,
    unavailable_reason,
)
from energylens.model.persistence import EXPRESSION_MODEL_ID, read_model_file, write_model_file
from energylens.parallel import threads
from energylens.profiles.features import FEATURE_NAMES, FEATURE_UNITS, build_features
from energylens.profiles.light import LightProfiles
from energylens.profiles.native_rows import feature_rows

__all__ = ["ExpressionEnergyModel", "EXPRESSION_MODEL_ID"]


class ExpressionEnergyModel(FittedGpus):
    """Energy per request (J) = ``expr`` of the feature columns (:data:`energylens.features.FEATURE_NAMES`).

    ``expr``: a SymPy expression or string whose symbols are feature names and constants (or the variables an
    energy discovery prints, ``E_mem``, ``E_layer``, ``B``, ...: read as the definitions its ``variables:`` line
    gives, :mod:`energylens.model.discovery_names`). ``params``:
    constant name -> start value; when omitted every float in ``expr`` is a fitted constant (``c0``,
    ``c1``, ...; integers and rationals stay fixed). ``bounds``: constant name -> (lower, upper), None for an unbounded side.
    Until :meth:`fit`, predictions use the expression's own constants.
    """

    def __init__(self, expr: sp.Expr | str, *, params: Mapping[str, float] | None = None,
                 bounds: Mapping[str, tuple[float, float]] | None = None, residual: str = "log",
                 loss: str = "linear", loss_scale: float = 0.1, n_starts: int = 3, start_spread: float = 0.5,
                 seed: int = 0, bootstrap: int = 200, max_iterations: int = 300, name: str = "expression") -> None:
        # the template's checks (EnergyModel(...)): a bad option is refused here, not at fit (or truncated)
        options, self.bootstrap_replicates = checked_fit_options(
            residual=residual, loss=loss, loss_scale=loss_scale, n_starts=n_starts, start_spread=start_spread,
            seed=seed, bootstrap=bootstrap, max_iterations=max_iterations, tpot_weight=0.0)
        if not isinstance(name, str):  # (its file then refused to load: 'name = None must be a string')
            raise TypeError(f"name must be a string (the model's name in its file), got {name!r}")
        # a formula pasted from energylens discover's table reads its variables (E_layer, ...) as they are defined
        expr = with_discovery_variables(expr, FEATURE_NAMES, params)
        self.compiled: CompiledExpression = compile_expression(expr, FEATURE_NAMES, params)
        self.name = name
        self.options = {k: v for k, v in options.items() if k != "tpot_weight"}  # (energy only: no TPOT term)
        n = len(self.compiled.param_names)
        self._lower = np.full(n, -np.inf)
        self._upper = np.full(n, np.inf)
        for key, pair in (bounds or {}).items():
            if key not in self.compiled.param_names:
                raise ValueError(f"bounds name {key!r} is not a constant of the expression "
                                 f"({list(self.compiled.param_names)})")
            j = self.compiled.param_names.index(key)
            self._lower[j], self._upper[j] = checked_bound_pair(key, pair)
        self._theta = self.compiled.start.copy()
        self._boot: np.ndarray | None = None
        self._residuals: np.ndarray | None = None
        self._ranges: dict[str, list[float]] | None = None  # feature -> [min, max] over the training rows
        self.summary: FitSummary | None = None
        self.latency_model = None  # the expression models energy only

    # ---- description -------------------------------------------------------------------------
    @property
    def template_id(self) -> str:
        """The model file's id for an expression model, ``energylens.expression.v1``."""
        return EXPRESSION_MODEL_ID

    @property
    def expression(self) -> sp.Expr:
        """The expression with constant symbols (``c0``, ...)."""
        return self.compiled.expr

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The feature columns the expression reads."""
        return self.compiled.feature_names

    @property
    def param_names(self) -> tuple[str, ...]:
        """The expression's constants, in the order of :attr:`theta`."""
        return self.compiled.param_names

    @property
    def is_fitted(self) -> bool:
        """Whether the model was fitted (or loaded from a file); before, :attr:`theta` holds start values."""
        return self.summary is not None

    @property
    def theta(self) -> np.ndarray:
        """The constants in :attr:`param_names` order (a copy; start values before :meth:`fit`)."""
        return self._theta.copy()

    @property
    def params(self) -> dict[str, Param]:
        """Constants by name with bounds and 90 % bootstrap interval (NaN before a bootstrap). A constant in
        :attr:`unidentified_params` has ``identified=False`` and a NaN interval; its value is the fit's."""
        lo = hi = np.full(len(self._theta), math.nan)
        if self._boot is not None and len(self._boot) >= 10:
            lo, hi = np.quantile(self._boot, [0.05, 0.95], axis=0)
        unset = self.unidentified_params
        units = self.param_units
        return {n: Param(n, float(self._theta[j]), units[n], "constant of the discovered expression",
                         float(self._lower[j]), float(self._upper[j]),
                         *((math.nan, math.nan) if n in unset else (float(lo[j]), float(hi[j]))),
                         identified=n not in unset)
                for j, n in enumerate(self.param_names)}

    @property
    def param_units(self) -> dict[str, str]:
        """Each constant's unit where the expression's structure and the features' units fix it (a term of the
        energy: J over its features' units; a factor inside exp() or log(): one over them), else "unit not
        derived" (:mod:`energylens.model.expression_units`; until 2026-12-07 every unit was blank)."""
        if getattr(self, "_units", None) is None:
            self._units = constant_units(self.compiled.expr, self.param_names, FEATURE_UNITS)
        return dict(self._units)

    @property
    def unidentified_params(self) -> tuple[str, ...]:
        """The constants the training rows cannot identify, in :attr:`param_names` order: all of them where the
        rows hold no more distinct configurations (of the features the expression reads) than constants
        (``summary.identifiable`` False), else those no row depends on (their derivative is zero on every
        training row at the fit: ``summary.unidentified``). Empty before a fit (as the template's, which
        raises there) and for a file that recorded neither."""
        return () if self.summary is None else self.summary.unidentified_of(self.param_names)

    @property
    def train_ranges(self) -> dict[str, list[float]] | None:
        """[min, max] over the training rows of each feature the expression reads (finite values; a copy), what
        the extrapolation check compares against; None before a fit and for a model file written before the
        ranges were stored (its predictions are not checked)."""
        return None if self._ranges is None else {k: list(v) for k, v in self._ranges.items()}

    # ---- data --------------------------------------------------------------------------------
    def _columns(self, frame: pd.DataFrame | LightProfiles) -> list[np.ndarray]:
        stacked = feature_rows(frame) if isinstance(frame, LightProfiles) else None  # native, features.py's bits
        if stacked is not None:  # (features.py in Python: ~220 of a one-row predict's ~360 us)
            return [stacked[FEATURE_NAMES.index(n)] for n in self.feature_names]
        feats = frame.features() if isinstance(frame, LightProfiles) else build_features(frame)
        return [np.ascontiguousarray(feats[n], dtype=np.float64) for n in self.feature_names]

    def _chunks(self, configs: Any, chunk_rows: int, check: RangeCheck | None) -> tuple[int, Any]:
        """The number of rows and (start, stop, feature columns) per chunk of ``chunk_rows`` rows, extrapolation
        flags tallied in ``check``, as the template's (``ClosedFormModel._chunks``): a DataFrame not validated
        yet (a mapping or a list of them is one) is validated chunk by chunk; paths and validated frames at once."""
        return config_chunks(configs, chunk_rows, self._columns, check, False)

    def _range_check(self, check_range: bool) -> RangeCheck | None:
        return range_check(self._ranges, self.feature_names, check_range, self._gpu_check())

    def unseen_gpu(self, configs: Any) -> tuple[np.ndarray, str | None]:
        """Per row: is it on a GPU the model was not fitted on (``summary.gpus``)? And what those rows are
        (:class:`~energylens.model.gpu_domain.GpuCheck`), None when none is: the template's
        (:meth:`energylens.model.EnergyModel.unseen_gpu`); predict warns the same (UnseenGpuWarning). All False,
        None, before a fit and for a model file written before its GPUs were recorded (2026-12-07)."""
        return unseen_gpu_rows(configs, () if self.summary is None else self.summary.gpus)

    def _native_options(self) -> dict[str, Any]:
        return dict(self.options)

    # ---- fitting -----------------------------------------------------------------------------
    def fit(self, profiles: Any, *, latency: bool = False, n_threads: int | None = None) -> ExpressionEnergyModel:
        """Refit the constants on measured profiles (path or DataFrame, schema v1), natively; ``n_threads`` caps
        the native fit's and bootstrap's threads; the ranges of the features read are kept (:attr:`train_ranges`).
        ``latency``: as the template's call reads (``fit(profiles, latency=False)``); an expression has no latency
        model, so True is a ValueError (it was a TypeError for any ``latency=``)."""
        if latency:
            raise ValueError(f"{type(self).__name__}.fit(latency=True): an expression model predicts energy only (no "
                             "TTFT / TPOT); fit it with latency=False, and the template (EnergyModel) for latency")
        with threads(n_threads):
            return fit_expression(self, profiles)

    # ---- prediction --------------------------------------------------------------------------
    def _one_fit(self) -> ExpressionEnergyModel:
        """A shallow copy of this model taken in one dict copy under the GIL, as a fit replaces the state in one
        dict update (:func:`energylens.model.expression_fit.fit_expression`): one fit's constants, bootstrap,
        residuals, ranges and GPUs together, whatever refit lands meanwhile (the template's
        ``ClosedFormModel._one_fit``). The prediction calls run on it (``self = self._one_fit()``): ``predict`` read
        the constants once per chunk, ``predict_interval`` the factors, then the refits, so a refit on another
        thread landing between gave values of neither fit."""
        frozen = object.__new__(type(self))
        vars(frozen).update(vars(self))
        return frozen

    def predict(self, configs: Any, *, chunk_rows: int = PREDICT_CHUNK_ROWS, check_range: bool = True,
                n_threads: int | None = None) -> np.ndarray:
        """Energy per request (J) for each configuration row, ``chunk_rows`` rows at a time; ``check_range`` warns
        once (ExtrapolationWarning) about rows outside the fitted range (:meth:`extrapolated`); ``n_threads`` caps
        the native loop's threads: the arguments of :meth:`energylens.model.EnergyModel.predict`."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        check = self._range_check(check_range)
        with threads(n_threads):
            return self._predicted(configs, chunk_rows, check)

    def _predicted(self, configs: Any, chunk_rows: int, check: RangeCheck | None) -> np.ndarray:
        n, chunks = self._chunks(configs, chunk_rows, check)
        parts = [self.compiled.evaluate(columns, self._theta) for _start, _stop, columns in chunks]
        if check is not None:
            check.warn(f"{type(self).__name__}.predict")  # (the warning names predict's caller)
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(n)

    def extrapolated(self, configs: Any, *, chunk_rows: int = PREDICT_CHUNK_ROWS) -> np.ndarray:
        """Per row: does some feature the expression reads lie outside the fitted data's [min, max] by more than
        :data:`energylens.model.domain.EXTRAPOLATION_FACTOR`? Warns once (ExtrapolationWarning), as the template's.
        All False for a model file written before training ranges were stored (:attr:`train_ranges` None)."""
        return self._flagged(configs, chunk_rows)

    def _flagged(self, configs: Any, chunk_rows: int) -> np.ndarray:
        check = RangeCheck(self._ranges, self.feature_names)
        flags = [check.flags(columns) for _s, _e, columns in self._chunks(configs, chunk_rows, None)[1]]
        check.warn(f"{type(self).__name__}.extrapolated")  # (the warning names extrapolated's caller)
        return np.concatenate(flags) if flags else np.zeros(0, dtype=bool)

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        """The comparison harness's method protocol (``energylens.evaluate``): :meth:`predict` without the range
        check (held-out splits extrapolate on purpose; the template's method, compare.methods, does the same)."""
        return self.predict(df, check_range=False)

    def predict_features(self, features: Mapping[str, Any], *, validate: bool = True, dtype=np.float64,
                         n_threads: int | None = None) -> np.ndarray:
        """Energy per request (J) from feature columns (scalars broadcast), without pandas: the template's
        checks (:meth:`energylens.model.EnergyModel.evaluate_features`) on the features the expression reads.
        Other feature names are ignored (a :func:`~energylens.profiles.features.build_features` dict passes
        whole), a key that is none is refused; ``validate=False`` skips the domain check of each value only.
        ``dtype`` as the template's: ``np.float32`` reads the features as float32 and returns float32 (the
        expression is evaluated in float64, its one native loop); another dtype is a ValueError.
        ``n_threads`` caps the native loop's threads. No range check (as the template's)."""
        return expression_prediction(self, features, validate, dtype, n_threads)

    @property
    def bootstrap_params(self) -> np.ndarray:
        """The converged bootstrap replicates of the constants, shape (replicates, constants) (a copy; 0 rows
        when fitted without bootstrap), as the template's."""
        return np.empty((0, len(self.param_names))) if self._boot is None else self._boot.copy()

    def intervals_unavailable(self) -> str | None:
        """Why this model cannot give prediction intervals, or None when it can: the template's reasons
        (:meth:`energylens.model.EnergyModel.intervals_unavailable`), counted in constants; before a fit, that."""
        if self.summary is None:  # (the start constants predict; nothing sizes an interval around them)
            return ("this ExpressionEnergyModel is not fitted yet (its constants are the expression's start values, "
                    "with no bootstrap refits): call fit(profiles) or load(path)")
        return unavailable_reason(len(self.bootstrap_params), self.summary, len(self.param_names), "constants")

    def measurement_factors(self) -> np.ndarray:
        """The factors measured / predicted that :meth:`predict_interval` draws from (sorted; one per training
        residual), their scatter inflated for the fitted constants among the distinct training rows, as the
        template's (:func:`energylens.model.intervals.model_factors`: exact copies are not new measurements)."""
        res = self._residuals if self._residuals is not None else np.zeros(0)
        return model_factors(self, res, len(res))

    def predict_interval(self, configs: Any, level: float = 0.9, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                         check_range: bool = True, n_threads: int | None = None) -> pd.DataFrame:
        """Prediction interval at ``level``: bootstrap refits times the measurement a resampled training residual
        stands for (1 / (1 + r), r = predicted / measured - 1; :meth:`measurement_factors`), computed
        ``chunk_rows`` rows at a time (memory O(rows) + O(replicates x chunk_rows)); ``check_range`` and
        ``n_threads`` as :meth:`predict`. The residual drawn for (replicate, row) is a hash of the seed, the
        replicate and the row's feature values to 12 significant bits (:func:`energylens.model.intervals.row_keys`),
        so any ``chunk_rows`` or row order gives the same bits and a configuration the same bounds wherever it sits; a row on a GPU the model was not fitted
        on (:meth:`unseen_gpu`) draws each factor times the GPU transfer factor, as the template's.
        IntervalsUnavailableError, as the template's, where :meth:`intervals_unavailable` gives a reason."""
        self = self._one_fit()  # one fit's state throughout, should a refit land meanwhile
        level = interval_preflight(self, level, stacklevel=3)
        check = self._range_check(check_range)
        with threads(n_threads):
            lo, hi = self._interval_bounds(configs, level, chunk_rows, check)
        return per_row_frame({"energy_j_lo": lo, "energy_j_hi": hi}, configs)

    def _interval_bounds(self, configs: Any, level: float, chunk_rows: int,
                         check: RangeCheck | None) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) per row, chunk by chunk: one replicates x chunk table of values, its draws and quantiles in one
        native pass (:func:`energylens.model.intervals.drawn_quantiles`, bit for bit NumPy's); rows on a GPU the
        model was not fitted on draw their factors times the GPU transfer factor (the template's:
        :func:`energylens.model.intervals.transfer_factors`), with or without the range check."""
        factors = GpuTransfer([self.measurement_factors()], [transfer_sd("energy", OUT_SUM)])
        boot, seed = self._boot, self.options["seed"]
        alpha = (1.0 - level) / 2.0
        gpus = check.gpus if check is not None else self._gpu_check()
        n, chunks = config_chunks(configs, chunk_rows, self._columns, check, False, gpus)
        lo, hi = np.empty(n), np.empty(n)
        for start, stop, columns in chunks:
            values = np.empty((len(boot), stop - start))
            for b, theta_b in enumerate(boot):  # (a whole chunk per call: the native loop's threads)
                values[b] = self.compiled.evaluate(columns, theta_b)
            lo[start:stop], hi[start:stop] = factors.quantiles(values, 0, transfer_rows(gpus, stop - start),
                                                               keys=row_keys(columns), seed=seed, q_lo=alpha,
                                                               q_hi=1.0 - alpha)
        if check is not None:
            check.warn(f"{type(self).__name__}.predict_interval")
        return np.maximum(lo, 0.0, out=lo), hi

    # ---- symbolic ----------------------------------------------------------------------------
    def to_sympy(self, *, numeric: bool = True) -> sp.Expr:
        """The expression; with ``numeric`` the current constants substituted (6 significant digits)."""
        if not numeric:
            return self.expression
        values = dict(zip(self.param_names, map(float, self._theta), strict=True))
        # by name: a user's constants (params=...) are plain symbols, the parametrised ones real
        return self.expression.xreplace({s: sp.Float(values[s.name], 6) for s in self.expression.free_symbols
                                         if s.name in values})

    def to_latex(self, *, numeric: bool = True) -> str:
        """``E = ...`` in LaTeX, of what :meth:`to_sympy` gives (``numeric``: the current constants substituted)."""
        return "E = " + sp.latex(self.to_sympy(numeric=numeric))

    # ---- persistence -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "template": EXPRESSION_MODEL_ID,
            "expression": sp.srepr(self.expression),
            "expression_text": str(self.expression),
            "constants": list(self.param_names),  # the bootstrap columns' order, whatever a JSON tool does to keys
            "params": dict(zip(self.param_names, map(float, self._theta), strict=True)),
            "start": dict(zip(self.param_names, map(float, self.compiled.start), strict=True)),
            "bounds": {n: written_bounds(lo, hi) for n, lo, hi in zip(self.param_names, self._lower, self._upper,
                                                                      strict=True)},
            "options": self.options, "name": self.name,
            "bootstrap_replicates": self.bootstrap_replicates,
            "bootstrap_params": [] if self._boot is None else self._boot.tolist(),
            "train_residuals": [] if self._residuals is None else self._residuals.tolist(),
            "train_ranges": self._ranges,
            "fit": None if self.summary is None else asdict(self.summary),
        }

    def save(self, path: str | Path) -> None:
        """Write the versioned model file (``load_model`` and ``EnergyModel.load`` read it back); ValueError,
        before anything is written, for a model not fitted yet, or a fit whose constants or training predictions
        are not finite (a file of it would hold Infinity / NaN, which load refuses); OutputError as for
        :meth:`EnergyModel.save` (not written, or an existing file there that is not a model file, kept)."""
        if self.summary is None:  # its file would load as a fitted model (before, it did, start constants and all)
            raise ValueError(f"ExpressionEnergyModel.save: not saving {path}: this ExpressionEnergyModel is not "
                             "fitted (a model file holds a fitted model, as EnergyModel.save requires): call "
                             "fit(profiles) first")
        bad = [] if self._residuals is None else np.flatnonzero(~np.isfinite(self._residuals))
        if len(bad) or not np.isfinite(self._theta).all():
            status = f" (fit status {self.summary.status})"
            raise ValueError(f"ExpressionEnergyModel.save: not saving {path}: the fitted expression is not finite on "
                             f"{len(bad)} training rows (0-based: {bad[:10].tolist()}){status} or in its constants "
                             f"{self._theta.tolist()}; bound the constants or change the expression, then refit")
        write_model_file(path, {"energy": self._state(), "latency": None})

    @classmethod
    def from_state(cls, state: Mapping[str, Any], path: str) -> ExpressionEnergyModel:
        """The model a file's ``energy`` entry describes (``ModelFileError`` naming what is wrong); the
        expression text is parsed, never evaluated (:func:`energylens.model.expression_file.parse_srepr`)."""
        if state.get("template") != EXPRESSION_MODEL_ID:
            raise ModelFileError(f"{path}: template {state.get('template')!r} is not {EXPRESSION_MODEL_ID!r}")
        read = read_expression_state(dict(state), path)
        try:
            model = cls(read.expression, params=read.start, bounds=read.bounds, bootstrap=read.bootstrap,
                        name=read.name, **read.options)
        except ValueError as exc:  # a constant named in start but absent from the expression, ...
            raise ModelFileError(f"{path}: expression model expression does not compile ({exc})") from None
        if model.param_names != tuple(read.start):
            raise ModelFileError(f"{path}: constants {list(read.start)} do not match the expression's "
                                 f"{list(model.param_names)}")
        model._theta = read.params
        model._boot, model._residuals, model.summary = read.boot, read.residuals, read.summary
        unknown = sorted(set(read.ranges or ()) - set(model.feature_names))
        if unknown:
            raise ModelFileError(f"{path}: expression model train_ranges: {unknown} are not features the expression "
                                 f"reads ({list(model.feature_names)})")
        model._ranges = read.ranges  # None in a file written before they were stored: predictions unchecked
        return model

    @classmethod
    def load(cls, path: str | Path) -> ExpressionEnergyModel:
        """The expression model saved at ``path``; ModelFileError for a missing, malformed or other file. A file
        written before training ranges were stored (2026-12-06: no ``train_ranges``) loads as before: its
        predictions are checked against no range and never warn ExtrapolationWarning (:attr:`train_ranges` None)."""
        return cls.from_document(read_model_file(path), str(path))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], path: str) -> ExpressionEnergyModel:
        """The expression model of a model file's document (:func:`energylens.model.persistence.read_model_file`)."""
        if not doc.get("energy"):
            only = " (a LatencyModel only: LatencyModel.load or load_model reads it)" if doc.get("latency") else ""
            raise ModelFileError(f"{path}: holds no energy model{only}")
        template = doc["energy"].get("template")
        if isinstance(template, str) and template.startswith("energylens.energy."):  # (before: 'latency holds ...')
            raise ModelFileError(f"{path}: holds an EnergyModel (template {template!r}), not an expression model "
                                 f"({EXPRESSION_MODEL_ID!r}): EnergyModel.load or load_model reads it")
        refuse_latency_beside(dict(doc), path)
        return cls.from_state(doc["energy"], path)
