"""Methods that choose LLM serving configurations, compared side by side by ``energylens.compare.runner``.

Every method has the same small interface (:class:`Method`): a ``name``, ``fit(train_df) -> self``,
``predict_energy(df) -> ndarray`` (joules per request, one value per row) and, where the method has
a latency model, ``predict_tpot(df) -> ndarray`` (seconds per output token). ``predicts_energy_scale``
is ``False`` for a method whose "energy" is only a ranking score (the latency proxy); MAPE is then
not defined for it.

The methods:

* :class:`ClosedForm` -- ours: ``energylens.model.EnergyModel`` (and ``LatencyModel`` for TPOT).
* :class:`LatencyProxy` -- choose the configuration with the lowest *measured* TPOT (an oracle
  latency, so the strongest form of "latency as the energy proxy").
* :class:`WilkinsClosedForm` -- Wilkins, Keshav and Mortier 2024, ``e = a0 tin + a1 tout +
  a2 tin tout``, one least-squares fit per (model, GPU) as published.
* :class:`LLMCarbonRoofline` -- LLMCarbon-style ``n_gpus x TDP x u x time`` with the time from a
  roofline of the GPU's specs; ``u`` is one utilisation factor fitted on the training rows.
* :class:`EnsembleRegressor` -- RandomForest, GradientBoosting and XGBoost on log energy, on
  :func:`baseline_features` (the same information the closed form gets).

GPU specifications come from ``energylens.profiles.tables.gpu_specs_for_profiles`` (the GPU table, a
registered user GPU table, or the profile's ``gpu_*`` spec columns) unless a ``gpu_spec`` callable is
passed (tests pass a small table); bytes per weight from :mod:`energylens.profiles.precision`. A spec
needs ``hbm_bw_gbs``, ``tdp_w`` and
``peak_flops(precision)`` (FLOP/s).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from energylens.model import EnergyModel
from energylens.profiles import precision as _precision
from energylens.profiles import tables as _tables

__all__ = [
    "Method",
    "ClosedForm",
    "LatencyProxy",
    "WilkinsClosedForm",
    "LLMCarbonRoofline",
    "EnsembleRegressor",
    "baseline_features",
    "BASELINE_FEATURES",
    "precision_bytes",
    "default_methods",
    "register_method",
    "unregister_method",
    "method_names",
    "METHOD_NAMES",
]

GpuSpecFn = Callable[[str], Any]


@runtime_checkable
class Method(Protocol):
    """What ``energylens.compare.runner`` needs from a method (``predict_tpot`` is optional)."""

    name: str
    predicts_energy_scale: bool

    def fit(self, train_df: pd.DataFrame) -> Method: ...

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray: ...


# --------------------------------------------------------------------------------------------
# shared helpers

def precision_bytes(precision: str) -> float:
    """Bytes per weight of a precision name, block scales included (``"bf16"`` -> 2.0, ``"mxfp4"`` ->
    0.53125): :func:`energylens.profiles.precision.bytes_per_param`, the one precision table; ``ValueError`` if
    unknown."""
    return _precision.bytes_per_param(precision)


def _col(df: pd.DataFrame, name: str, default: float | None = None) -> np.ndarray:
    if name in df.columns:
        return df[name].to_numpy(dtype=float)
    if default is None:
        raise ValueError(f"profiles lack column {name!r} (schema v1)")
    return np.full(len(df), float(default))


def _require(df: pd.DataFrame, cols: list[str], who: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{who} needs columns {missing}, absent from the profiles")


def _n_gpus(df: pd.DataFrame) -> np.ndarray:
    if "n_gpus" in df.columns:
        n = df["n_gpus"].to_numpy(dtype=float)
        if not np.isnan(n).any():
            return n
    return _col(df, "tp", 1.0) * _col(df, "pp", 1.0) * _col(df, "ep", 1.0)


def _active_params_b(df: pd.DataFrame) -> np.ndarray:
    total = _col(df, "params_b")
    if "active_params_b" not in df.columns:
        return total
    act = df["active_params_b"].to_numpy(dtype=float)
    return np.where(np.isnan(act), total, act)


def _precisions(df: pd.DataFrame) -> np.ndarray:
    if "precision" not in df.columns:
        return np.full(len(df), "bf16", dtype=object)
    return df["precision"].fillna("bf16").astype(str).to_numpy(dtype=object)


class _GpuSpecs:
    """Per-row GPU specs, each GPU name looked up once."""

    def __init__(self, gpu_spec: GpuSpecFn | None) -> None:
        self._fn = gpu_spec
        self._cache: dict[tuple[str, str], tuple[float, float, float]] = {}

    def arrays(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hbm_bw bytes/s, peak FLOP/s, TDP W) per row of ``df``."""
        _require(df, ["gpu"], "GPU specs")
        # default: the GPU table, a user GPU table, or the profile's gpu_* spec columns
        table = _tables.gpu_specs_for_profiles(df) if self._fn is None else None
        gpus = df["gpu"].astype(str).to_numpy(dtype=object)
        precs = _precisions(df)
        out = np.empty((len(df), 3))
        for i, key in enumerate(zip(gpus, precs, strict=False)):
            if key not in self._cache:
                spec = table[str(key[0]).strip()] if table is not None else self._fn(key[0])
                self._cache[key] = (float(spec.hbm_bw_gbs) * 1e9,
                                    float(spec.peak_flops(key[1])),
                                    float(spec.tdp_w))
            out[i] = self._cache[key]
        return out[:, 0], out[:, 1], out[:, 2]


BASELINE_FEATURES = (
    "tp", "pp", "n_gpus", "batch_size", "input_tokens", "output_tokens", "params_b",
    "active_params_b", "hbm_bw_gbs", "peak_tflops", "tdp_w", "precision_bytes", "n_layers",
    "d_model", "kv_dim",
)


def baseline_features(df: pd.DataFrame, gpu_spec: GpuSpecFn | None = None,
                      _specs: _GpuSpecs | None = None) -> np.ndarray:
    """The ensemble learners' design matrix, columns in :data:`BASELINE_FEATURES` order.

    The same information the closed form gets: parallelism, batch, token counts, model size and the
    GPU's bandwidth, peak FLOP/s and TDP at the row's precision, bytes per weight, and the
    architecture (layers, model width, KV width ``n_kv_heads x head_dim``; 0 where unknown).
    """
    _require(df, ["tp", "batch_size", "input_tokens", "output_tokens", "params_b"],
             "baseline_features")
    specs = _specs or _GpuSpecs(gpu_spec)
    bw, flops, tdp = specs.arrays(df)
    pbytes = np.array([precision_bytes(p) for p in _precisions(df)])
    cols = [
        _col(df, "tp"), _col(df, "pp", 1.0), _n_gpus(df), _col(df, "batch_size"),
        _col(df, "input_tokens"), _col(df, "output_tokens"), _col(df, "params_b"),
        _active_params_b(df), bw / 1e9, flops / 1e12, tdp, pbytes,
        np.nan_to_num(_col(df, "n_layers", 0.0)), np.nan_to_num(_col(df, "d_model", 0.0)),
        np.nan_to_num(_col(df, "n_kv_heads", 0.0) * _col(df, "head_dim", 0.0)),
    ]
    return np.column_stack(cols)


def _energy(df: pd.DataFrame) -> np.ndarray:
    _require(df, ["energy_j"], "fitting")
    y = df["energy_j"].to_numpy(dtype=float)
    if not np.all(np.isfinite(y) & (y > 0)):
        raise ValueError("energy_j must be finite and positive in the training rows")
    return y


# --------------------------------------------------------------------------------------------
# ours

class ClosedForm:
    """Ours: the closed-form energy model, ``energylens.model.EnergyModel``.

    Fitted with ``bootstrap=0`` (the evaluation needs point predictions only) and the model's
    default seeded multi-start. TPOT comes from the ``LatencyModel`` that ``EnergyModel.fit`` fits
    alongside when the rows carry ``tpot_s``; without it the method has no ``predict_tpot`` and the
    evaluation uses measured TPOT for its SLO filter (said in the table).
    """

    predicts_energy_scale = True

    def __init__(self, name: str = "energylens", seed: int = 0) -> None:
        self.name = name
        self.seed = seed
        self.backend = "EnergyModel"
        self._model: Any = None
        self._latency: Any = None

    def fit(self, train_df: pd.DataFrame) -> ClosedForm:
        self._model = EnergyModel(bootstrap=0, seed=self.seed).fit(train_df)
        self._latency = self._model.latency_model
        return self

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("ClosedForm.predict_energy called before fit")
        return np.asarray(self._model.predict(df), dtype=float)

    def has_tpot(self) -> bool:
        return self._latency is not None

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        if self._latency is None:
            raise NotImplementedError("no latency model was fitted")
        return self._latency.predict(df)["tpot_s_pred"].to_numpy(dtype=float)



# --------------------------------------------------------------------------------------------
# baselines

class LatencyProxy:
    """Latency as the energy proxy: rank configurations by their *measured* TPOT.

    This is an oracle latency (no prediction error at all), the strongest form of the practice of
    choosing the fastest configuration; it still chooses badly because the fastest configuration
    (small batch, wide TP) is rarely the one with the least energy per request.
    """

    predicts_energy_scale = False

    def __init__(self, name: str = "latency_proxy") -> None:
        self.name = name

    def fit(self, train_df: pd.DataFrame) -> LatencyProxy:
        return self

    def _tpot(self, df: pd.DataFrame) -> np.ndarray:
        _require(df, ["tpot_s"], self.name)
        t = df["tpot_s"].to_numpy(dtype=float)
        if np.isnan(t).any():
            raise ValueError(f"{self.name}: tpot_s is missing in {int(np.isnan(t).sum())} rows")
        return t

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        return self._tpot(df)

    def has_tpot(self) -> bool:
        return True

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        return self._tpot(df)


class WilkinsClosedForm:
    """Wilkins, Keshav and Mortier 2024: ``e = a0 tin + a1 tout + a2 tin tout`` per (model, GPU).

    As published: ordinary least squares without intercept, one fit per (model, GPU) on the
    training rows. Where a (model, GPU) has fewer than ``min_rows`` training rows (or none), we
    pool: one fit per GPU of ``e / active_params_b`` on the same three terms, scaled back by the
    model's active parameters (our choice; the paper does not cover unseen models). The form has
    no TP, PP or batch term, so within a (model, GPU, task) it predicts (nearly) the same energy for
    every configuration: that is the cost the evaluation shows. ``pooled_groups`` lists the
    (model, GPU) pairs predicted by the pooled fit at the last ``predict_energy`` call and
    ``pooled_fraction`` the share of its rows they hold.
    """

    predicts_energy_scale = True

    def __init__(self, name: str = "wilkins2024", min_rows: int = 3) -> None:
        self.name = name
        self.min_rows = int(min_rows)
        self.coef_: dict[tuple[str, str], np.ndarray] = {}
        self.pooled_coef_: dict[str, np.ndarray] = {}
        self.global_coef_: np.ndarray | None = None
        self.pooled_groups: list[tuple[str, str]] = []
        self.pooled_fraction = 0.0

    @staticmethod
    def _terms(df: pd.DataFrame) -> np.ndarray:
        tin, tout = _col(df, "input_tokens"), _col(df, "output_tokens")
        return np.column_stack([tin, tout, tin * tout])

    @staticmethod
    def _lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        scale = np.maximum(np.abs(x).max(axis=0), 1e-12)
        coef, *_ = np.linalg.lstsq(x / scale, y, rcond=None)
        return coef / scale

    def fit(self, train_df: pd.DataFrame) -> WilkinsClosedForm:
        _require(train_df, ["model", "gpu", "input_tokens", "output_tokens", "energy_j"], self.name)
        y = _energy(train_df)
        x = self._terms(train_df)
        keys = list(zip(train_df["model"].astype(str), train_df["gpu"].astype(str), strict=False))
        self.coef_, self.pooled_coef_ = {}, {}
        key_arr = np.array([f"{m}\x00{g}" for m, g in keys], dtype=object)
        for k in np.unique(key_arr):
            rows = key_arr == k
            if rows.sum() >= self.min_rows:
                m, g = k.split("\x00")
                self.coef_[(m, g)] = self._lstsq(x[rows], y[rows])
        p = _active_params_b(train_df)
        gpus = train_df["gpu"].astype(str).to_numpy(dtype=object)
        for g in np.unique(gpus):
            rows = gpus == g
            self.pooled_coef_[g] = self._lstsq(x[rows], y[rows] / p[rows])
        self.global_coef_ = self._lstsq(x, y / p)
        return self

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        if self.global_coef_ is None:
            raise RuntimeError("WilkinsClosedForm.predict_energy called before fit")
        x = self._terms(df)
        p = _active_params_b(df)
        out = np.empty(len(df))
        pooled: set[tuple[str, str]] = set()
        for i, (m, g) in enumerate(zip(df["model"].astype(str), df["gpu"].astype(str), strict=False)):
            coef = self.coef_.get((m, g))
            if coef is not None:
                out[i] = x[i] @ coef
            else:
                pooled.add((m, g))
                out[i] = p[i] * (x[i] @ self.pooled_coef_.get(g, self.global_coef_))
        self.pooled_groups = sorted(pooled)
        self.pooled_fraction = float(np.mean([
            (m, g) in pooled for m, g in zip(df["model"].astype(str), df["gpu"].astype(str),
                                             strict=True)])) if len(df) else 0.0
        return out


class LLMCarbonRoofline:
    """LLMCarbon-style operational energy: ``n_gpus x TDP x u x time`` per request.

    ``time`` per request is a roofline estimate from the GPU's specs: prefill is compute-bound
    (``2 P_active tin`` FLOPs at peak over all GPUs), each decode step is the slower of reading the
    weights (and the batch's KV cache, where the architecture columns are present) at HBM bandwidth
    and ``2 P_active batch`` FLOPs at peak; a decode step is shared by the batch's requests.
    LLMCarbon uses a fixed utilisation and TDP; here ``u`` is one scalar fitted on the training rows
    (geometric mean of measured over estimated energy), which can only help it. TPOT is the roofline
    step time scaled by a second fitted scalar.
    """

    predicts_energy_scale = True

    def __init__(self, name: str = "llmcarbon", gpu_spec: GpuSpecFn | None = None) -> None:
        self.name = name
        self._specs = _GpuSpecs(gpu_spec)
        self.utilisation_: float | None = None
        self.tpot_scale_: float | None = None

    def _roofline(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(energy per request at u = 1 in J, decode step time in s)."""
        _require(df, ["tp", "batch_size", "input_tokens", "output_tokens", "params_b"], self.name)
        bw, flops, tdp = self._specs.arrays(df)
        n = _n_gpus(df)
        b = _col(df, "batch_size")
        tin, tout = _col(df, "input_tokens"), _col(df, "output_tokens")
        p_act = _active_params_b(df) * 1e9
        p_tot = _col(df, "params_b") * 1e9
        wbytes = np.array([precision_bytes(p) for p in _precisions(df)])
        kv_per_token = np.zeros(len(df))
        if all(c in df.columns for c in ("n_layers", "n_kv_heads", "head_dim")):
            kv = 2.0 * _col(df, "n_layers") * _col(df, "n_kv_heads") * _col(df, "head_dim") * 2.0
            kv_per_token = np.nan_to_num(kv)
        ctx = tin + 0.5 * tout
        step_bytes = p_tot * wbytes + b * ctx * kv_per_token
        step_s = np.maximum(step_bytes / (n * bw), 2.0 * p_act * b / (n * flops))
        prefill_s = 2.0 * p_act * tin / (n * flops)
        time_per_req = prefill_s + tout * step_s / b
        return n * tdp * time_per_req, step_s

    def fit(self, train_df: pd.DataFrame) -> LLMCarbonRoofline:
        y = _energy(train_df)
        e, step = self._roofline(train_df)
        self.utilisation_ = float(np.exp(np.mean(np.log(y / e))))
        self.tpot_scale_ = None
        if "tpot_s" in train_df.columns:
            t = train_df["tpot_s"].to_numpy(dtype=float)
            ok = np.isfinite(t) & (t > 0)
            if ok.any():
                self.tpot_scale_ = float(np.exp(np.mean(np.log(t[ok] / step[ok]))))
        return self

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        if self.utilisation_ is None:
            raise RuntimeError("LLMCarbonRoofline.predict_energy called before fit")
        return self.utilisation_ * self._roofline(df)[0]

    def has_tpot(self) -> bool:
        return self.tpot_scale_ is not None

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        if self.tpot_scale_ is None:
            raise NotImplementedError("no tpot_s in the training rows")
        return self.tpot_scale_ * self._roofline(df)[1]


_ENSEMBLE_NAMES = {"rf": "random_forest", "gb": "gradient_boosting", "xgb": "xgboost"}


class EnsembleRegressor:
    """RandomForest (``"rf"``), GradientBoosting (``"gb"``) or XGBoost (``"xgb"``) on log energy.

    Features: :func:`baseline_features`. A second regressor of the same kind fits log TPOT, so the
    learner has its own latency prediction for the TPOT SLO (fitted on the first ``predict_tpot``).
    Library defaults (RF and GB 100 trees; XGB 200 trees of depth 4, learning rate 0.1),
    single-threaded, seeded.
    """

    predicts_energy_scale = True

    def __init__(self, kind: str = "rf", name: str | None = None, seed: int = 0,
                 gpu_spec: GpuSpecFn | None = None) -> None:
        if kind not in _ENSEMBLE_NAMES:
            raise ValueError(f"unknown ensemble kind {kind!r}; choose one of {sorted(_ENSEMBLE_NAMES)}")
        self.kind = kind
        self.name = name or _ENSEMBLE_NAMES[kind]
        self.seed = int(seed)
        self._specs = _GpuSpecs(gpu_spec)
        self._energy_model: Any = None
        self._tpot_model: Any = None
        self._tpot_data: tuple[np.ndarray, np.ndarray] | None = None

    def _make(self) -> Any:
        if self.kind == "rf":
            from sklearn.ensemble import RandomForestRegressor
            return RandomForestRegressor(n_estimators=100, random_state=self.seed, n_jobs=1)
        if self.kind == "gb":
            from sklearn.ensemble import GradientBoostingRegressor
            return GradientBoostingRegressor(random_state=self.seed)
        from xgboost import XGBRegressor
        return XGBRegressor(n_estimators=200, learning_rate=0.1, max_depth=4, n_jobs=1,
                            random_state=self.seed, tree_method="hist")

    def fit(self, train_df: pd.DataFrame) -> EnsembleRegressor:
        x = baseline_features(train_df, _specs=self._specs)
        y = _energy(train_df)
        self._energy_model = self._make().fit(x, np.log(y))
        self._tpot_model = None
        self._tpot_data = None
        if "tpot_s" in train_df.columns:
            t = train_df["tpot_s"].to_numpy(dtype=float)
            ok = np.isfinite(t) & (t > 0)
            if ok.sum() >= 2:
                self._tpot_data = (x[ok], np.log(t[ok]))  # fitted on first predict_tpot
        return self

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        if self._energy_model is None:
            raise RuntimeError(f"{self.name}.predict_energy called before fit")
        return np.exp(self._energy_model.predict(baseline_features(df, _specs=self._specs)))

    def has_tpot(self) -> bool:
        return self._tpot_model is not None or self._tpot_data is not None

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        if self._tpot_model is None:
            if self._tpot_data is None:
                raise NotImplementedError("no tpot_s in the training rows")
            self._tpot_model = self._make().fit(*self._tpot_data)
        return np.exp(self._tpot_model.predict(baseline_features(df, _specs=self._specs)))


METHOD_NAMES = ("energylens", "latency_proxy", "wilkins2024", "llmcarbon", "random_forest",
                "gradient_boosting", "xgboost")


#: Methods added by other modules (e.g. the discovered symbolic-regression expression), by name:
#: ``factory(seed, gpu_spec) -> method``. See :func:`register_method`.
_REGISTERED: dict[str, Callable[[int, GpuSpecFn | None], Any]] = {}


def register_method(name: str, factory: Callable[[int, GpuSpecFn | None], Any]) -> None:
    """Add a method to every default comparison (after the built-in ones).

    ``factory(seed, gpu_spec)`` returns a fresh, unfitted object with the :class:`Method`
    interface. This is how the discovered symbolic-regression expression joins the comparison
    without editing this module. ``ValueError`` if the name is taken.
    """
    if name in METHOD_NAMES or name in _REGISTERED:
        raise ValueError(f"a method named {name!r} already exists")
    _REGISTERED[name] = factory


def unregister_method(name: str) -> None:
    """Remove a method added by :func:`register_method` (``KeyError`` if it was not added)."""
    del _REGISTERED[name]


def method_names() -> tuple[str, ...]:
    """Every method name :func:`default_methods` knows: built-in, then registered."""
    return METHOD_NAMES + tuple(_REGISTERED)


def default_methods(seed: int = 0, gpu_spec: GpuSpecFn | None = None,
                    include: tuple[str, ...] | None = None) -> list[Any]:
    """Fresh, unfitted instances of the compared methods (ours first), seeded with ``seed``.

    ``include`` picks a subset by name (from :func:`method_names`); ``ValueError`` on an unknown
    name.
    """
    known = method_names()
    names = known if include is None else tuple(include)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(known)}")
    factories: Mapping[str, Callable[[], Any]] = {
        "energylens": lambda: ClosedForm(seed=seed),
        "latency_proxy": LatencyProxy,
        "wilkins2024": WilkinsClosedForm,
        "llmcarbon": lambda: LLMCarbonRoofline(gpu_spec=gpu_spec),
        "random_forest": lambda: EnsembleRegressor("rf", seed=seed, gpu_spec=gpu_spec),
        "gradient_boosting": lambda: EnsembleRegressor("gb", seed=seed, gpu_spec=gpu_spec),
        "xgboost": lambda: EnsembleRegressor("xgb", seed=seed, gpu_spec=gpu_spec),
    }
    return [factories[n]() if n in factories else _REGISTERED[n](seed, gpu_spec) for n in names]
