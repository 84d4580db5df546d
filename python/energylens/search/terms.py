"""The split of a search result's energy per request into terms: prefill and decode, each static and
dynamic, and (load mode) the static power of idle headroom, with the term that decides each configuration.

Static energy is the template with busy power and FLOP energy zeroed, through the model's own evaluator,
times the energy calibration's factor. In load mode the engine adds ``idle_j``: the static draw of the
provisioned GPUs beyond what the template charges. A rank whose running batch B is below one serves each
request alone, so the engine prices it at one sequence and the time between requests falls in ``idle_j``
(docs/search.md, "Modes"); the terms here are evaluated at that batch too (:func:`served_batch`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens import _core
from energylens.model import EnergyModel
from energylens.search.result import TERMS
from energylens.search.space import COMBO_FIELDS, SearchSpace

__all__ = ["point_features", "served_batch", "split_terms", "term_columns", "with_columns"]


def served_batch(df: pd.DataFrame) -> np.ndarray:
    """The running batch per rank at which the rows ``df`` are priced: ``df["batch"]``, but at least one
    sequence (or the cap, when a candidate table's cap is below one) -- a load-mode rank below one running
    request serves each request alone, as the engine prices it (fixed-batch rows run at their cap)."""
    batch = df["batch"].to_numpy(dtype=float)
    return np.maximum(batch, np.minimum(1.0, df["max_num_seqs"].to_numpy(dtype=float)))


def point_features(space: SearchSpace, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """``build_features`` of every workload point of the result rows ``df``, as ``EnergyModel.predict`` takes
    them (dp, ep, batch_size = dp x the rank's running batch, :func:`served_batch`); row-major (row, point)."""
    points = np.asarray(space.points(df["index"].to_numpy())).reshape(len(df), -1)
    return space.point_features(points.reshape(-1), np.repeat(served_batch(df), points.shape[1]))


def split_terms(space: SearchSpace, df: pd.DataFrame, model: EnergyModel, *,
                feats: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Static and dynamic energy per phase through the model's own evaluator (busy power and FLOP energy
    zeroed for the static part), and the term that decides each configuration: ``df`` with the columns of
    :func:`term_columns`. ``feats``: :func:`point_features` of ``df`` when the caller has them."""
    if not len(df):  # the columns, empty, added in one step (six set one by one cost ~0.6 ms); idle_j is the
        # engine's own (an empty top-k got it twice: to_json warned "columns are not unique")
        return with_columns(df, {t: pd.Series(dtype=float if t != "decided_by" else object, index=df.index)
                                 for t in (*TERMS, "decided_by") if t not in df.columns})
    return with_columns(df, term_columns(space, df, model, point_features(space, df) if feats is None else feats))


def term_columns(space: SearchSpace, df: pd.DataFrame, model: EnergyModel, feats: dict[str, np.ndarray]) -> dict:
    """The columns :func:`split_terms` adds to the (non-empty) rows ``df``, from their :func:`point_features`."""
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
    new = {"prefill_static_j": s_pf, "prefill_dynamic_j": df["prefill_j"].to_numpy() - s_pf,
           "decode_static_j": s_dec, "decode_dynamic_j": df["decode_j"].to_numpy() - s_dec}
    new["decided_by"] = _largest(np.column_stack([new[t] if t in new else df[t].to_numpy() for t in TERMS]), df.index)
    return new


def _largest(terms: np.ndarray, index: pd.Index) -> pd.Series:
    """Per row, the name of its largest term: ``DataFrame.idxmax(axis=1)`` of the terms (the first of equal
    ones), by ``argmax`` where no term is NaN (that frame cost ~0.5 ms of a one-candidate search)."""
    if np.isnan(terms).any():  # idxmax skips NaN, argmax would pick it
        return pd.DataFrame(terms, index=index, columns=list(TERMS)).idxmax(axis=1)
    names = pd.Index(list(TERMS))
    return pd.Series(names.take(np.argmax(terms, axis=1)), index=index, dtype=names.dtype)


def with_columns(df: pd.DataFrame, new: dict) -> pd.DataFrame:
    """``df`` with the columns ``new`` added at its end, one frame built (each column set on a frame costs
    ~0.2-0.4 ms, a tenth of a one-candidate search); ``df.attrs`` kept."""
    out = pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1)
    out.attrs = dict(df.attrs)
    return out

