"""Whether the search's best configurations lie outside the data the model was fitted on: the same range
check :meth:`energylens.model.EnergyModel.predict` warns with (:meth:`~energylens.model.EnergyModel.extrapolation`),
run on the top-k rows, so a search that ranks batch-1 deployments with a model fitted on batches of 64 and
up says so, as predict would; and the rows on a GPU the model was not fitted on (``unseen_gpu``,
:class:`energylens.model.gpu_domain.GpuCheck`, predict's UnseenGpuWarning), which the range check alone passes
where the GPU's specification lies within its factor (an H200 beside a fitted H100)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.model import EnergyModel
from energylens.search.space import SearchSpace
from energylens.search.terms import point_features, split_terms, term_columns, with_columns

__all__ = ["explained", "flag_extrapolated", "unseen_gpus"]


def unseen_gpus(top: pd.DataFrame, model: EnergyModel) -> tuple[np.ndarray, str | None]:
    """Per row of ``top``: is its GPU one ``model`` was not fitted on (``summary.gpus``; all False for a model that
    records none)? And :meth:`GpuCheck.summary`'s text of those rows (None when none is)."""
    if top.empty or not hasattr(model, "unseen_gpu"):
        return np.zeros(len(top), dtype=bool), None
    return model.unseen_gpu(top)


def flag_extrapolated(space: SearchSpace, top: pd.DataFrame, model: EnergyModel,
                      feats: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, str | None]:
    """``top`` with a boolean column ``extrapolated`` (some workload point of the row lies outside the fitted
    range by more than the model's factor), and the range check's detail for the flagged rows (None when
    none is). ``feats``: :func:`energylens.search.terms.point_features` of ``top`` when the caller has them
    (one feature pass for the terms and this check)."""
    if top.empty:
        return top.assign(extrapolated=np.zeros(0, dtype=bool), unseen_gpu=np.zeros(0, dtype=bool)), None
    flags, detail = model.extrapolation(None, features=point_features(space, top) if feats is None else feats)
    return with_columns(top, {"extrapolated": flags.reshape(len(top), -1).any(axis=1),
                              "unseen_gpu": unseen_gpus(top, model)[0]}), detail


def explained(space: SearchSpace, top: pd.DataFrame, model: EnergyModel, extra: dict | None = None
              ) -> tuple[pd.DataFrame, str | None, str | None]:
    """``top`` with its energy terms (:func:`~energylens.search.terms.split_terms`), range flags
    (:func:`flag_extrapolated`), ``unseen_gpu`` (:func:`unseen_gpus`) and the columns ``extra`` (name -> value), from
    one feature pass over the rows' workload points and added in one step; the range check's detail (None when no
    row is flagged) and the unseen GPUs' (None when every row is on a fitted GPU)."""
    if top.empty:  # the same columns, empty, in one step
        empty = np.zeros(0, dtype=bool)
        return split_terms(space, top.assign(extrapolated=empty, unseen_gpu=empty, **(extra or {})), model), None, None
    feats = point_features(space, top)
    flags, detail = model.extrapolation(None, features=feats)
    if detail and flags.size > len(top):  # a distribution: each row checked at every point; count those
        detail = detail.replace(" row(s),", " workload point(s) of the listed configurations,")
    unseen, gpu_detail = unseen_gpus(top, model)
    new = {**term_columns(space, top, model, feats), "extrapolated": flags.reshape(len(top), -1).any(axis=1),
           "unseen_gpu": unseen}
    return with_columns(top, {**new, **(extra or {})}), detail, gpu_detail
