"""The split of a search result's energy per request into terms: prefill and decode, each static and
dynamic, and (load mode) the static power of idle headroom, with the term that decides each configuration.

Static energy is the template with busy power and FLOP energy zeroed, through the model's own evaluator,
times the energy calibration's factor. In load mode the engine adds ``idle_j``: the static draw of the
provisioned GPUs beyond what the template charges. When the running batch B of a rank is below one, the
template itself (which divides a decode step's static energy by B) already charges the time between
requests to the request; that (1 - B) share of its static energy is moved to ``idle_j`` here, so the
report says how much of a lightly loaded deployment's energy is idle GPUs, as docs/search.md describes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens import _core
from energylens.model import EnergyModel
from energylens.search.result import TERMS
from energylens.search.space import COMBO_FIELDS, SearchSpace

__all__ = ["point_features", "split_terms"]


def point_features(space: SearchSpace, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """``build_features`` of every workload point of the result rows ``df``, as ``EnergyModel.predict`` takes
    them (dp, ep, batch_size = dp x the rank's running batch ``df["batch"]``); row-major (row, point)."""
    points = np.asarray(space.points(df["index"].to_numpy())).reshape(len(df), -1)
    return space.point_features(points.reshape(-1), np.repeat(df["batch"].to_numpy(), points.shape[1]))


def split_terms(space: SearchSpace, df: pd.DataFrame, model: EnergyModel, *, load: bool = False,
                feats: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Static and dynamic energy per phase through the model's own evaluator (busy power and FLOP energy
    zeroed for the static part), and the term that decides each configuration. ``load``: rows of a load-mode
    search whose running batch is below one move the idle share of the template's static energy to idle_j
    (module docstring). ``feats``: :func:`point_features` of ``df`` when the caller has them."""
    if not len(df):
        for t in (*TERMS, "decided_by"):
            df[t] = pd.Series(dtype=float if t != "decided_by" else object)
        return df
    feats = point_features(space, df) if feats is None else feats
    per = len(feats["batch_size"]) // len(df)  # workload points per row (a distribution's, else 1)
    theta = model.theta
    names = list(model.param_names)
    static = theta.copy()
    static[[names.index("busy_power_frac"), names.index("flop_energy_coef")]] = 0.0
    cols = [feats[n] for n in model.feature_names]
    static_only = _core.evaluate("energy", cols, static)
    s_pf, s_dec = static_only.out0, static_only.out1
    if space.distribution:  # weighted means over the distribution's points, as the engine's energy
        s_pf, s_dec = s_pf.reshape(-1, per) @ space.workload_weights, s_dec.reshape(-1, per) @ space.workload_weights
    # the energy calibration's factor of each configuration's combo, as the engine applies it (1: none)
    factor = space.combo_values[space.digits(df["index"].to_numpy())[0], COMBO_FIELDS.index("energy_factor")]
    s_pf, s_dec = s_pf * factor, s_dec * factor
    df["prefill_static_j"] = s_pf
    df["prefill_dynamic_j"] = df["prefill_j"] - s_pf
    df["decode_static_j"] = s_dec
    df["decode_dynamic_j"] = df["decode_j"] - s_dec
    if load:
        _idle_between_requests(df)
    df["decided_by"] = df[list(TERMS)].idxmax(axis=1)
    return df


def _idle_between_requests(df: pd.DataFrame) -> None:
    """At a running batch B < 1 a rank holds a request only B of the time; the template, dividing a step's
    static energy by B, charges the static power of the time between requests to the request's prefill and
    decode. That (1 - B) share of their static energy is idle time, reported as idle_j (the total is
    unchanged; prefill_j and decode_j keep the share the rank spends working)."""
    idle_share = np.clip(1.0 - df["batch"].to_numpy(dtype=float), 0.0, 1.0)
    for phase in ("prefill", "decode"):
        moved = idle_share * df[f"{phase}_static_j"].to_numpy()
        df[f"{phase}_static_j"] -= moved
        df[f"{phase}_j"] -= moved
        df["idle_j"] += moved
