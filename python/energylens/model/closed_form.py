"""The closed-form energy and latency models: fit, predict (with phases and intervals), save/load.

Both models wrap one native template (``cpp/include/energylens/*_template.hpp``, derivation in
docs/model.md): the formula is evaluated and fitted in C++ (OpenMP/SIMD; CUDA for device arrays), the
NumPy twin in :mod:`energylens.model.reference` is the test oracle. Fitting is a bounded Levenberg-Marquardt
on relative error with the analytic Jacobian and a few seeded starts; uncertainty comes from a
parallel bootstrap (refits on resampled rows) combined with the training residuals.

The module is a little over 500 lines because EnergyModel, LatencyModel and their shared base belong
together: the energy model owns its latency model and both share the fit, interval and persistence code.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import ModelFileError
from energylens.model.persistence import (
    EXPRESSION_MODEL_ID,
    MODEL_FILE_VERSION,
    OPTION_KEYS,
    STATE_KEYS,
    FitSummary,
    Param,
    check_keys,
    checked_params,
    data_hash,
    load_configs,
    read_model_file,
    write_model_file,
)
from energylens.parallel import threads
from energylens.profiles.features import build_features, check_feature_domain

if TYPE_CHECKING:  # the expression model needs SymPy, which the template path does not load
    from energylens.model.expression import ExpressionEnergyModel

__all__ = ["Param", "FitSummary", "EnergyModel", "LatencyModel", "load_model", "MODEL_FILE_VERSION"]



class _ClosedFormModel:
    """Shared machinery of EnergyModel and LatencyModel (one native template each)."""

    _template: ClassVar[str]
    _fit_target: ClassVar[str]  # "sum" or "per_output"
    _kind: ClassVar[str]

    def __init__(self, *, residual: str = "log", loss: str = "linear", loss_scale: float = 0.1,
                 n_starts: int = 3, start_spread: float = 0.6, seed: int = 0, bootstrap: int = 200,
                 max_iterations: int = 300, tpot_weight: float = 1.0) -> None:
        if residual not in ("relative", "log"):
            raise ValueError(f"residual must be 'relative' or 'log', got {residual!r}")
        if loss not in ("linear", "soft_l1", "huber"):
            raise ValueError(f"loss must be 'linear', 'soft_l1' or 'huber', got {loss!r}")
        if bootstrap < 0:
            raise ValueError(f"bootstrap must be >= 0, got {bootstrap}")
        if n_starts < 1:
            raise ValueError(f"n_starts must be >= 1, got {n_starts}")
        if tpot_weight < 0:
            raise ValueError(f"tpot_weight must be >= 0, got {tpot_weight}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
        self.options = {
            "residual": residual, "loss": loss, "loss_scale": float(loss_scale), "n_starts": int(n_starts),
            "start_spread": float(start_spread), "seed": int(seed), "max_iterations": int(max_iterations),
            "tpot_weight": float(tpot_weight),
        }
        self.bootstrap_replicates = int(bootstrap)
        self._desc = _core.describe_template(self._template)
        self._theta: np.ndarray | None = None
        self._boot: np.ndarray | None = None  # (B, P) converged bootstrap parameters
        self._residuals: np.ndarray | None = None  # training relative residuals, pooled
        self.summary: FitSummary | None = None

    # ---- description -------------------------------------------------------------------------
    @property
    def template_id(self) -> str:
        """Versioned id of the closed form, e.g. ``energylens.energy.v2``."""
        return self._desc.id

    @property
    def param_names(self) -> tuple[str, ...]:
        return self._desc.param_names

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._desc.feature_names

    @property
    def is_fitted(self) -> bool:
        return self._theta is not None

    def _require_fitted(self) -> np.ndarray:
        if self._theta is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit(profiles) or load(path)")
        return self._theta

    @property
    def params(self) -> dict[str, Param]:
        """Fitted parameters by name, with unit, meaning, bounds and 90 % bootstrap interval."""
        theta = self._require_fitted()
        lo = hi = np.full(len(theta), math.nan)
        if self._boot is not None and len(self._boot) >= 10:
            lo, hi = np.quantile(self._boot, [0.05, 0.95], axis=0)
        d = self._desc
        lower, upper = d.lower, d.upper
        return {
            name: Param(name, float(theta[j]), d.param_units[j], d.param_descriptions[j],
                        float(lower[j]), float(upper[j]), float(lo[j]), float(hi[j]))
            for j, name in enumerate(d.param_names)
        }

    @property
    def bootstrap_params(self) -> np.ndarray:
        """The converged bootstrap replicates of the parameters, shape (replicates, n_params) (a copy;
        0 rows when fitted without bootstrap)."""
        self._require_fitted()
        if self._boot is None:
            return np.empty((0, len(self.param_names)))
        return self._boot.copy()

    @property
    def theta(self) -> np.ndarray:
        """The fitted parameter vector in template order (a copy)."""
        return self._require_fitted().copy()

    # ---- features ----------------------------------------------------------------------------
    def _columns(self, frame: pd.DataFrame) -> list[np.ndarray]:
        feats = build_features(frame)
        missing = [n for n in self.feature_names if n not in feats]
        if missing:
            raise ValueError(f"features {missing} missing for template {self.template_id}")
        return [np.ascontiguousarray(feats[n], dtype=np.float64) for n in self.feature_names]

    def _targets(self, frame: pd.DataFrame) -> list[np.ndarray]:
        raise NotImplementedError

    def _target_mode(self, targets: list[np.ndarray]) -> str:
        return self._fit_target

    def _native_options(self, targets: list[np.ndarray]) -> _core.FitOptions:
        opts = {k: v for k, v in self.options.items() if k != "tpot_weight"}
        return _core.FitOptions(**opts, target=self._target_mode(targets), aux_weight=self.options["tpot_weight"])

    # ---- fitting -----------------------------------------------------------------------------
    def fit(self, profiles: Any, *, n_threads: int | None = None) -> _ClosedFormModel:
        """Fit the template's parameters on measured profiles (path or DataFrame, schema v1); ``n_threads``
        caps the native fit and bootstrap (default: the process-wide setting, energylens.parallel)."""
        frame = load_configs(profiles, require_energy=self._kind == "energy")
        with threads(n_threads):
            return self._fit_columns(frame, self._columns(frame))

    def _fit_columns(self, frame: pd.DataFrame, columns: list[np.ndarray]) -> _ClosedFormModel:
        """The fit on already built feature columns (EnergyModel shares them with its latency model)."""
        targets = self._targets(frame)
        n_meas = int(np.isfinite(targets[0]).sum()) if self._fit_target == "sum" else \
            int(sum(np.isfinite(t).sum() for t in targets))
        n_params = len(self.param_names)
        if n_meas < n_params:
            raise ValueError(
                f"{type(self).__name__}.fit: {n_meas} measurements for {n_params} parameters; the closed form "
                f"needs at least {n_params} (about 50 are recommended)")
        opts = self._native_options(targets)
        if opts.target == "sum":
            targets = targets[:1]
        t0 = time.perf_counter()
        result = _core.fit(self._template, columns, targets, None, opts)
        theta = result.best.params
        boot_ok = 0
        self._boot = None
        if self.bootstrap_replicates > 0:
            boot = _core.bootstrap(self._template, columns, targets, theta, self.bootstrap_replicates, opts)
            params = boot.params
            keep = boot.converged & np.all(np.isfinite(params), axis=1)
            boot_ok = int(keep.sum())
            self._boot = params[keep]
        seconds = time.perf_counter() - t0
        self._theta = theta
        self._residuals = self._relative_residuals(columns, targets)
        self.summary = FitSummary(
            n_rows=len(frame), n_measurements=n_meas, cost=result.best.cost,
            iterations=result.best.iterations, converged=result.best.converged,
            status=result.best.status, starts=result.starts, starts_converged=result.starts_converged,
            train_mape=float(np.mean(np.abs(self._residuals))) if len(self._residuals) else math.nan,
            bootstrap_replicates=self.bootstrap_replicates, bootstrap_converged=boot_ok,
            data_hash=data_hash(columns, targets), fit_seconds=seconds,
        )
        return self

    def _relative_residuals(self, columns: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
        ev = _core.evaluate(self._template, columns, self._theta)
        out0, out1 = ev.out0, ev.out1
        preds = [out0 + out1] if self._fit_target == "sum" else [out0, out1]
        targets = targets[: len(preds)]
        res = [p[np.isfinite(t)] / t[np.isfinite(t)] - 1.0 for p, t in zip(preds, targets, strict=True)]
        return np.concatenate(res) if res else np.empty(0)

    # ---- prediction --------------------------------------------------------------------------
    def _outputs(self, configs: Any, theta: np.ndarray | None = None, n_threads: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        frame = load_configs(configs, require_energy=False)
        columns = self._columns(frame)
        with threads(n_threads):
            ev = _core.evaluate(self._template, columns, self._require_fitted() if theta is None else theta)
        return ev.out0, ev.out1

    def _feature_columns(self, features: Mapping[str, Any], validate: bool, dtype=np.float64) -> list[np.ndarray]:
        """Template-ordered columns in ``dtype`` from a feature mapping (scalars and 1-element arrays broadcast)."""
        missing = [n for n in self.feature_names if n not in features]
        if missing:
            raise ValueError(f"features {missing} missing for template {self.template_id}; "
                             "build them with energylens.profiles.features.build_features or pass them as scalars")
        cols = []
        for name in self.feature_names:
            col = np.asarray(features[name], dtype=dtype)
            if col.ndim > 1:
                raise ValueError(f"feature {name!r} must be a scalar or 1-D, got shape {col.shape}")
            if validate:
                check_feature_domain(name, col)
            cols.append(np.ascontiguousarray(col))
        return cols

    def evaluate_features(self, features: Mapping[str, Any], *, out: tuple[np.ndarray, np.ndarray] | None = None,
                          validate: bool = True, dtype=np.float64, n_threads: int | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """The template's two outputs straight from feature columns, without pandas.

        ``features`` maps every name in :attr:`feature_names` to a 1-D array or a scalar; a scalar (or a
        one-element array) is used for every row, so a sweep over TP, PP, batch and lengths for one model on
        one GPU passes the model's and GPU's specs once and streams only what varies (about 2x faster than
        full columns on a memory-bound machine; bench/README.md). ``out``: a pair of preallocated float64
        arrays (of ``dtype``) to write into. ``validate=False`` skips the domain check of every value (finite;
        tp, pp >= 1; prefill_extra_flops >= 0; everything else > 0), for callers that built the columns
        themselves and evaluate in a hot loop. ``dtype=np.float32`` runs the float32 native loop end to end
        (columns cast once if needed, float32 outputs); ``n_threads`` caps its threads.
        """
        kind = np.dtype(dtype)
        if kind not in (np.float64, np.float32):
            raise ValueError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
        columns = self._feature_columns(features, validate, kind)
        with threads(n_threads):
            ev = _core.evaluate(self._template, columns, self._require_fitted(), dtype=kind.name, out=out)
        return ev.out0, ev.out1

    def _intervals(self, configs: Any, level: float, picks) -> list[tuple[np.ndarray, np.ndarray]]:
        """(lo, hi) at ``level`` for each output ``pick(out0, out1)``, from one pass over the replicates."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level}")
        self._require_fitted()
        if self._boot is None or len(self._boot) < 10:
            raise ValueError("no bootstrap replicates: fit with bootstrap >= 10 to get intervals")
        frame = load_configs(configs, require_energy=False)
        columns = self._columns(frame)
        res = self._residuals if self._residuals is not None and len(self._residuals) else np.zeros(1)
        # Training residuals understate the scatter of a new measurement by the fitted degrees of
        # freedom: inflate them by sqrt(n / (n - p)) (the usual unbiased-variance correction).
        n_res, n_par = len(res), len(self.param_names)
        if n_res > n_par:
            res = res * np.sqrt(n_res / (n_res - n_par))
        # One seeded stream per output, so each output's interval does not depend on the others asked for.
        rngs = [np.random.default_rng(self.options["seed"] + 7919) for _ in picks]
        draws: list[list[np.ndarray]] = [[] for _ in picks]
        for theta_b in self._boot:
            ev = _core.evaluate(self._template, columns, theta_b)
            for pick, rng, acc in zip(picks, rngs, draws, strict=True):
                out = pick(ev.out0, ev.out1)
                # Parameter uncertainty (the refit) and the scatter of a single measurement (a residual).
                acc.append(out * (1.0 + rng.choice(res, size=out.shape)))
        alpha = (1.0 - level) / 2.0
        bounds = []
        for acc in draws:
            lo, hi = np.quantile(np.vstack(acc), [alpha, 1.0 - alpha], axis=0)
            bounds.append((np.maximum(lo, 0.0), hi))
        return bounds

    # ---- persistence -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        theta = self._require_fitted()
        return {
            "template": self.template_id,
            "params": dict(zip(self.param_names, map(float, theta), strict=True)),
            "param_units": dict(zip(self.param_names, self._desc.param_units, strict=True)),
            "options": self.options,
            "bootstrap_replicates": self.bootstrap_replicates,
            "bootstrap_params": [] if self._boot is None else self._boot.tolist(),
            "train_residuals": [] if self._residuals is None else self._residuals.tolist(),
            "fit": None if self.summary is None else asdict(self.summary),
        }

    @classmethod
    def _from_state(cls, state: dict[str, Any], path: str) -> _ClosedFormModel:
        check_keys(state, STATE_KEYS, f"{path}: {cls._kind} model")
        opts = dict(state.get("options", {}))
        check_keys(opts, OPTION_KEYS, f"{path}: {cls._kind} options")
        try:
            model = cls(**opts, bootstrap=int(state.get("bootstrap_replicates", 0)))
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: {cls._kind} options are not valid: {exc}") from None
        if state.get("template") != model.template_id:
            raise ModelFileError(
                f"{path}: {cls._kind} template {state.get('template')!r} does not match this energylens "
                f"({model.template_id!r}); refit the model with this version")
        params = state.get("params", {})
        missing = [n for n in model.param_names if n not in params]
        if missing:
            raise ModelFileError(f"{path}: {cls._kind} parameters {missing} missing")
        model._theta = checked_params(params, model._desc, f"{path}: {cls._kind} parameter")
        try:
            boot = np.asarray(state.get("bootstrap_params", []), dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelFileError(f"{path}: {cls._kind} bootstrap_params is not a table of numbers") from None
        model._boot = boot if boot.size else None
        res = np.asarray(state.get("train_residuals", []), dtype=np.float64)
        model._residuals = res if res.size else None
        fit = state.get("fit")
        try:
            model.summary = FitSummary(**fit) if fit else None
        except TypeError as exc:
            raise ModelFileError(f"{path}: {cls._kind} fit summary is not valid ({exc})") from None
        return model


class LatencyModel(_ClosedFormModel):
    """Closed-form time to first token and time per output token in the energy model's features.

    Fitted on ``ttft_s`` and ``tpot_s`` (either may be absent per row: NaN entries are skipped).
    """

    _template = "latency"
    _fit_target = "per_output"
    _kind = "latency"

    def _targets(self, frame: pd.DataFrame) -> list[np.ndarray]:
        cols = []
        for name in ("ttft_s", "tpot_s"):
            cols.append(np.asarray(frame[name], dtype=np.float64) if name in frame else np.full(len(frame), np.nan))
        if not any(np.isfinite(c).any() for c in cols):
            raise ValueError("LatencyModel.fit: the profiles have no ttft_s or tpot_s measurements")
        return cols

    def predict(self, configs: Any, *, n_threads: int | None = None) -> pd.DataFrame:
        """Predicted ``ttft_s_pred`` and ``tpot_s_pred`` for each configuration row."""
        ttft, tpot = self._outputs(configs, n_threads=n_threads)
        return pd.DataFrame({"ttft_s_pred": ttft, "tpot_s_pred": tpot})

    def predict_interval(self, configs: Any, level: float = 0.9) -> pd.DataFrame:
        (lo_t, hi_t), (lo_p, hi_p) = self._intervals(configs, level, (lambda a, b: a, lambda a, b: b))
        return pd.DataFrame({"ttft_s_lo": lo_t, "ttft_s_hi": hi_t, "tpot_s_lo": lo_p, "tpot_s_hi": hi_p})

    def save(self, path: str | Path) -> None:
        write_model_file(path, {"energy": None, "latency": self._state()})

    @classmethod
    def load(cls, path: str | Path) -> LatencyModel:
        state = read_model_file(path)
        if not state.get("latency"):
            raise ModelFileError(f"{path}: holds no latency model")
        return cls._from_state(state["latency"], str(path))  # type: ignore[return-value]

    def to_sympy(self, *, numeric: bool = True):
        from energylens.model.symbolic import latency_expressions

        return latency_expressions(self.params if numeric and self.is_fitted else None)

    def to_latex(self, *, numeric: bool = True) -> str:
        ttft, tpot = self.to_sympy(numeric=numeric)  # first: a missing sympy names the extra to install
        import sympy

        return (r"\mathrm{TTFT} = " + sympy.latex(ttft) + r" \\ " + r"\mathrm{TPOT} = " + sympy.latex(tpot))


class EnergyModel(_ClosedFormModel):
    """The 12-parameter closed-form energy per request: prefill part + decode part.

    ``fit`` also fits a :class:`LatencyModel` (``latency_model``) when the profiles carry ``ttft_s``
    or ``tpot_s``, so configurations can be chosen under latency limits; ``save`` stores both.
    """

    _template = "energy"
    _fit_target = "sum"
    _kind = "energy"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.latency_model: LatencyModel | None = None

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
        from energylens.model.expression import (
            ExpressionEnergyModel,  # SymPy loads on first use, as in to_sympy
        )

        return ExpressionEnergyModel(expr, **kwargs)

    def fit(self, profiles: Any, *, latency: bool = True, n_threads: int | None = None) -> EnergyModel:
        """Fit on measured profiles; with ``latency`` also fit the latency model where possible (on the same
        feature columns); ``n_threads`` caps the native fits and bootstraps."""
        frame = load_configs(profiles, require_energy=True)
        columns = self._columns(frame)
        with threads(n_threads):
            self._fit_columns(frame, columns)
            self._fit_latency(frame, columns, latency)
        return self

    def _fit_latency(self, frame: pd.DataFrame, columns: list[np.ndarray], latency: bool) -> None:
        self.latency_model = None
        has_latency = any(c in frame and np.isfinite(np.asarray(frame[c], dtype=float)).sum() >= 1
                          for c in ("ttft_s", "tpot_s"))
        if latency and has_latency:
            lm = LatencyModel(**self.options, bootstrap=self.bootstrap_replicates)
            n_lat = sum(int(np.isfinite(np.asarray(frame[c], dtype=float)).sum())
                        for c in ("ttft_s", "tpot_s") if c in frame)
            if n_lat >= len(lm.param_names):
                same = lm.feature_names == self.feature_names  # both templates read one feature list today
                self.latency_model = lm._fit_columns(frame, columns if same else lm._columns(frame))  # type: ignore[assignment]

    def predict(self, configs: Any, *, n_threads: int | None = None) -> np.ndarray:
        """Energy per request (J) for each configuration row (path or DataFrame, schema v1)."""
        e_pf, e_dec = self._outputs(configs, n_threads=n_threads)
        return np.add(e_pf, e_dec, out=e_pf)

    def predict_features(self, features: Mapping[str, Any], *, validate: bool = True, dtype=np.float64,
                         n_threads: int | None = None) -> np.ndarray:
        """Energy per request (J) from feature columns (see :meth:`evaluate_features`; scalars broadcast),
        in ``dtype`` (float64, or float32 through the float32 native loop).

        The fast path for schedulers and sweeps: no DataFrame, no table lookups, one native pass.
        """
        e_pf, e_dec = self.evaluate_features(features, validate=validate, dtype=dtype, n_threads=n_threads)
        return np.add(e_pf, e_dec, out=e_pf)

    def predict_phases(self, configs: Any) -> pd.DataFrame:
        """Prefill and decode energy per request (J), and their sum, for each configuration row."""
        e_pf, e_dec = self._outputs(configs)
        return pd.DataFrame({"prefill_energy_j_pred": e_pf, "decode_energy_j_pred": e_dec,
                             "energy_j_pred": e_pf + e_dec})

    def predict_interval(self, configs: Any, level: float = 0.9) -> pd.DataFrame:
        """Prediction interval of the energy per request at ``level`` (bootstrap + residuals)."""
        ((lo, hi),) = self._intervals(configs, level, (lambda a, b: a + b,))
        return pd.DataFrame({"energy_j_lo": lo, "energy_j_hi": hi})

    def predict_bootstrap(self, configs: Any) -> np.ndarray:
        """Energy per request (J) under each converged bootstrap refit, shape (replicates, rows):
        the parameter uncertainty alone (no residual scatter), e.g. for choosing what to measure next."""
        self._require_fitted()
        if self._boot is None or len(self._boot) == 0:
            raise ValueError("no bootstrap replicates: fit with bootstrap >= 1")
        columns = self._columns(load_configs(configs, require_energy=False))
        out = np.empty((len(self._boot), len(columns[0])), dtype=np.float64)
        for b, theta_b in enumerate(self._boot):
            ev = _core.evaluate(self._template, columns, theta_b)
            out[b] = ev.out0 + ev.out1
        return out

    def jacobian(self, configs: Any) -> np.ndarray:
        """d energy_j / d params at the fitted parameters, shape (rows, 12)."""
        frame = load_configs(configs, require_energy=False)
        ev = _core.evaluate(self._template, self._columns(frame), self._require_fitted(), jacobian=True)
        return ev.jacobian0 + ev.jacobian1

    def save(self, path: str | Path) -> None:
        """Write a versioned JSON file: template id, parameters, fit metrics, data hash, bootstrap."""
        write_model_file(path, {"energy": self._state(),
                      "latency": None if self.latency_model is None else self.latency_model._state()})

    @classmethod
    def load(cls, path: str | Path) -> EnergyModel | ExpressionEnergyModel:
        """The energy model a file holds (an :class:`ExpressionEnergyModel` for a saved expression model)."""
        state = read_model_file(path)
        if not state.get("energy"):
            raise ModelFileError(f"{path}: holds no energy model")
        if state["energy"].get("template") == EXPRESSION_MODEL_ID:
            from energylens.model.expression import ExpressionEnergyModel  # SymPy loads on first use

            return ExpressionEnergyModel.from_state(state["energy"], str(path))
        model = cls._from_state(state["energy"], str(path))
        assert isinstance(model, EnergyModel)
        if state.get("latency"):
            model.latency_model = LatencyModel._from_state(state["latency"], str(path))  # type: ignore[assignment]
        return model

    def to_sympy(self, *, numeric: bool = True):
        """(prefill, decode) as SymPy expressions of the features; fitted values substituted."""
        from energylens.model.symbolic import energy_expressions

        return energy_expressions(self.params if numeric and self.is_fitted else None)

    def to_latex(self, *, numeric: bool = True) -> str:
        prefill, decode = self.to_sympy(numeric=numeric)  # first: a missing sympy names the extra to install
        import sympy

        return (r"E_\mathrm{prefill} = " + sympy.latex(prefill) + r" \\ " + r"E_\mathrm{decode} = "
                + sympy.latex(decode))


def load_model(path: str | Path) -> EnergyModel | LatencyModel | ExpressionEnergyModel:
    """The model a file written by ``save`` holds: an EnergyModel (with its latency model when one was
    fitted) or, for a file written from latency-only profiles, a LatencyModel."""
    state = read_model_file(path)
    if state.get("energy"):
        return EnergyModel.load(path)
    return LatencyModel.load(path)
