"""The baselines ours is compared with, each a :class:`~energylens.compare.methods.Method`:

* :class:`LatencyProxy` -- choose the configuration with the lowest *measured* TPOT (an oracle
  latency, so the strongest form of "latency as the energy proxy").
* :class:`WilkinsClosedForm` -- Wilkins, Keshav and Mortier 2024, ``e = a0 tin + a1 tout +
  a2 tin tout``, one least-squares fit per (model, GPU) as published.
* :class:`LLMCarbonRoofline` -- LLMCarbon-style ``n_gpus x TDP x u x time`` with the time from a
  roofline of the GPU's specs; ``u`` is one utilisation factor fitted on the training rows.
* :class:`EnsembleRegressor` -- RandomForest, GradientBoosting and XGBoost on log energy, on
  :func:`~energylens.compare.inputs.baseline_features` (the closed form's own per-row inputs);
  needs the ``compare`` extra (scikit-learn, xgboost).

Every physical quantity a baseline reads is the template's value for the row
(:func:`~energylens.compare.inputs.template_inputs`); a quantity a published form has no place for is left
out, not grafted on (docs/evaluation.md, "Inputs of the baselines").

Imports :mod:`energylens.compare.methods`, :mod:`energylens.compare.inputs` and :mod:`energylens.extras`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.inputs import (
    GpuSpecFn,
    baseline_features,
    column,
    measured_energy,
    require_columns,
    template_inputs,
)
from energylens.compare.methods import MethodBase
from energylens.extras import require

__all__ = ["LatencyProxy", "WilkinsClosedForm", "LLMCarbonRoofline", "EnsembleRegressor"]


class LatencyProxy(MethodBase):
    """Latency as the energy proxy: rank configurations by their *measured* TPOT.

    This is an oracle latency (no prediction error at all), the strongest form of the practice of
    choosing the fastest configuration; how well that chooses for energy is what the evaluation measures.
    """

    predicts_energy_scale = False

    def __init__(self, name: str = "latency_proxy") -> None:
        self.name = name

    def fit(self, train_df: pd.DataFrame) -> LatencyProxy:
        return self

    def _tpot(self, df: pd.DataFrame) -> np.ndarray:
        require_columns(df, ["tpot_s"], self.name)
        t = df["tpot_s"].to_numpy(dtype=float)
        if np.isnan(t).any():
            rows = np.flatnonzero(np.isnan(t))
            more = " ..." if len(rows) > 10 else ""
            if pd.api.types.is_integer_dtype(df.index.dtype):  # the evaluated frame's positions: its data rows
                shown = f"data rows {', '.join(str(int(i) + 1) for i in df.index[rows[:10]])}{more} (1-based)"
            else:
                shown = f"index {', '.join(map(str, df.index[rows[:10]]))}{more}"
            raise ValueError(f"{self.name}: tpot_s is missing in {len(rows)} rows ({shown})")
        return t

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        return self._tpot(df)

    def has_tpot(self) -> bool:
        """False: no latency model; the SLO filter takes the measured TPOT, which is what it ranks by (it said True,
        handing the measured TPOT back as a "prediction", and the report called its TPOT predicted)."""
        return False

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        """The measured TPOT (s per output token): what this oracle ranks by."""
        return self._tpot(df)


class WilkinsClosedForm(MethodBase):
    """Wilkins, Keshav and Mortier 2024 (HotCarbon '24, arXiv 2407.04014, the workload-based energy
    model): ``e = a0 tin + a1 tout + a2 tin tout`` per (model, GPU).

    As published: ordinary least squares without intercept, one fit per (model, GPU) on the
    training rows. Where a (model, GPU) has fewer than ``min_rows`` training rows (or none), we
    pool: one fit per GPU of ``e / P_active`` on the same three terms, scaled back by the
    model's active parameters (our choice; the paper does not cover unseen models), the template's
    ``active_params`` (:func:`~energylens.compare.inputs.template_inputs`: MoE active parameters from the
    row or the model table). The form has no TP, PP, DP, batch, precision, KV-cache or hardware term, so
    within a (model, GPU, task) it predicts (nearly) the same energy for every configuration. ``pooled_groups`` lists the
    (model, GPU) pairs predicted by the pooled fit at the last ``predict_energy`` call and
    ``pooled_fraction`` the share of its rows they hold.
    """

    predicts_energy_scale = True

    def __init__(self, name: str = "wilkins2024", min_rows: int = 3, gpu_spec: GpuSpecFn | None = None) -> None:
        self.name = name
        self.min_rows = int(min_rows)
        self._gpu_spec = gpu_spec
        self.coef_: dict[tuple[str, str], np.ndarray] = {}
        self.pooled_coef_: dict[str, np.ndarray] = {}
        self.global_coef_: np.ndarray | None = None
        self.pooled_groups: list[tuple[str, str]] = []
        self.pooled_fraction = 0.0

    @staticmethod
    def _terms(df: pd.DataFrame) -> np.ndarray:
        tin, tout = column(df, "input_tokens"), column(df, "output_tokens")
        return np.column_stack([tin, tout, tin * tout])

    @staticmethod
    def _lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        scale = np.maximum(np.abs(x).max(axis=0), 1e-12)
        coef, *_ = np.linalg.lstsq(x / scale, y, rcond=None)
        return coef / scale

    def fit(self, train_df: pd.DataFrame) -> WilkinsClosedForm:
        require_columns(train_df, ["model", "gpu", "input_tokens", "output_tokens", "energy_j"], self.name)
        y = measured_energy(train_df)
        x = self._terms(train_df)
        keys = list(zip(train_df["model"].astype(str), train_df["gpu"].astype(str), strict=False))
        self.coef_, self.pooled_coef_ = {}, {}
        key_arr = np.array([f"{m}\x00{g}" for m, g in keys], dtype=object)
        for k in np.unique(key_arr):
            rows = key_arr == k
            if rows.sum() >= self.min_rows:
                m, g = k.split("\x00")
                self.coef_[(m, g)] = self._lstsq(x[rows], y[rows])
        p = template_inputs(train_df, self._gpu_spec)["active_params"] / 1e9
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
        p = template_inputs(df, self._gpu_spec)["active_params"] / 1e9
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

    def run_notes(self) -> Mapping[str, float]:
        """``pooled_fraction``: share of the last prediction's rows predicted by the pooled fit."""
        return {"pooled_fraction": self.pooled_fraction}


class LLMCarbonRoofline(MethodBase):
    """LLMCarbon-style operational energy: ``n_gpus x TDP x u x time`` per request.

    LLMCarbon (Faiz et al., ICLR 2024, arXiv 2309.14393) charges each device its TDP for the execution
    time, times a hardware-efficiency factor (its operational carbon model), with the time from its FLOP
    model (``2 P`` FLOPs per token of inference, ``P`` the active parameters of a MoE) at the devices' peak.
    That form has no memory-bound phase, which LLM decode is; ``time`` per request here is therefore a
    roofline of the GPU's datasheet (our extension, named "-style" for it): prefill is compute-bound
    (``2 P_active tin`` FLOPs, plus the vision encoder's FLOPs of an image or video request, at peak over all
    GPUs), each decode step is the slower of moving its bytes at HBM bandwidth and ``2 P_active batch``
    FLOPs at peak; a decode step is shared by the batch's requests. A step's bytes are the weights all GPUs
    stream, the batch's KV cache at the mean context ``tin + tout / 2``, and a hybrid's per-sequence state.

    Every one of those quantities is the template's for the row (:func:`~energylens.compare.inputs.template_inputs`):
    ``n_gpus`` = tp x pp x dp, ``active_params``, ``weight_bytes_per_step`` (bytes per parameter of the weight
    format, data-parallel replicas, the experts a step touches), ``kv_bytes_per_token`` (attention layers
    only, sliding-window share, KV heads replicated when tp exceeds them, MLA latent per TP rank,
    ``kv_cache_dtype``), ``state_bytes_per_seq``, ``prefill_extra_flops``, and the peak FLOP/s of the compute
    precision, HBM bandwidth and TDP. The form has no place for communication (TP all-reduces, EP
    all-to-alls), attention FLOPs, static power or per-layer overheads: those stay out.
    LLMCarbon uses a fixed utilisation and TDP; here ``u`` is one scalar fitted on the training rows
    (geometric mean of measured over estimated energy), which can only help it. TPOT is the roofline
    step time scaled by a second fitted scalar.
    """

    predicts_energy_scale = True

    def __init__(self, name: str = "llmcarbon", gpu_spec: GpuSpecFn | None = None) -> None:
        self.name = name
        self._gpu_spec = gpu_spec
        self.utilisation_: float | None = None
        self.tpot_scale_: float | None = None

    def _roofline(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(energy per request at u = 1 in J, decode step time in s)."""
        require_columns(df, ["tp", "batch_size", "input_tokens", "output_tokens", "params_b"], self.name)
        f = template_inputs(df, self._gpu_spec)
        bw, flops, tdp = f["hbm_bytes_per_s"], f["peak_flops_per_s"], f["tdp_w"]
        n, b, p_act = f["n_gpus"], f["batch_size"], f["active_params"]
        tin, tout = f["input_tokens"], f["output_tokens"]
        ctx = tin + 0.5 * tout
        step_bytes = f["weight_bytes_per_step"] + b * (ctx * f["kv_bytes_per_token"] + f["state_bytes_per_seq"])
        step_s = np.maximum(step_bytes / (n * bw), 2.0 * p_act * b / (n * flops))
        prefill_s = (2.0 * p_act * tin + f["prefill_extra_flops"]) / (n * flops)
        time_per_req = prefill_s + tout * step_s / b
        return n * tdp * time_per_req, step_s

    def fit(self, train_df: pd.DataFrame) -> LLMCarbonRoofline:
        y = measured_energy(train_df)
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
_LEARNERS = {"rf": ("sklearn.ensemble", "RandomForestRegressor"),
             "gb": ("sklearn.ensemble", "GradientBoostingRegressor"),
             "xgb": ("xgboost", "XGBRegressor")}


def _learner_class(kind: str, name: str) -> Any:
    """The regressor class of ``kind``, from the ``compare`` extra (``MissingExtraError`` without it)."""
    module, cls = _LEARNERS[kind]
    return getattr(require(module, "compare", f"the {name} baseline"), cls)


class EnsembleRegressor(MethodBase):
    """RandomForest (``"rf"``), GradientBoosting (``"gb"``) or XGBoost (``"xgb"``) on log energy.

    Features: :func:`baseline_features`, the template's own per-row inputs plus the GPU count, total
    parameters and bytes per weight. A second regressor of the same kind fits log TPOT, so the
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
        # imported here, at construction, so a missing extra stops the run before any fit
        self._learner = _learner_class(kind, self.name)
        self.seed = int(seed)
        self._gpu_spec = gpu_spec
        self._energy_model: Any = None
        self._tpot_model: Any = None
        self._tpot_data: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def learner_seed(self) -> int:
        """The learner's ``random_state``: the method seed where it is below 2**32 (the libraries' limit), else a
        32-bit seed drawn from it (``numpy.random.SeedSequence``): evaluate's method seeds reach 2**63, and a
        seed from 2**32 on had failed every fit of these baselines (NaN figures)."""
        return self.seed if self.seed < 2**32 else int(np.random.SeedSequence(self.seed).generate_state(1)[0])

    def _make(self) -> Any:
        if self.kind == "rf":
            return self._learner(n_estimators=100, random_state=self.learner_seed, n_jobs=1)
        if self.kind == "gb":
            return self._learner(random_state=self.learner_seed)
        return self._learner(n_estimators=200, learning_rate=0.1, max_depth=4, n_jobs=1,
                             random_state=self.learner_seed, tree_method="hist")

    def fit(self, train_df: pd.DataFrame) -> EnsembleRegressor:
        x = baseline_features(train_df, self._gpu_spec)
        y = measured_energy(train_df)
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
        return np.exp(self._energy_model.predict(baseline_features(df, self._gpu_spec)))

    def has_tpot(self) -> bool:
        return self._tpot_model is not None or self._tpot_data is not None

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        if self._tpot_model is None:
            if self._tpot_data is None:
                raise NotImplementedError("no tpot_s in the training rows")
            self._tpot_model = self._make().fit(*self._tpot_data)
        return np.exp(self._tpot_model.predict(baseline_features(df, self._gpu_spec)))
