"""What a search result's energy interval and P(best) draw beyond the bootstrap refits, as ``predict_interval`` does:
each candidate's 90 % interval is the refits' energies times the factor of one measurement, and on a GPU the model
was not fitted on also times the GPU transfer factor (:func:`interval`, predict_interval's own draws at row
position 0: ``energylens predict`` of that configuration alone gives the same bounds); P(best) draws one transfer
factor per unseen GPU and replicate (:func:`transfer_draws`). Before 2026-12-07 the interval was the refits'
spread alone and P(best) drew no transfer: the bundled A100 / H100 fit gave a B200 row 241-257 J where predict gave
177-334 J, and P(best) 0.995 to an H200 row 3.5 % below a B200 one (docs/search.md, "What a result says")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from energylens.model.calibration import widened
from energylens.model.intervals import OUT_SUM, GpuTransfer, draw_indices, model_factors, transfer_sd
from energylens.search.legend import INTERVAL_LEVEL
from energylens.search.space import SearchSpace

__all__ = ["unseen_combos", "transfer_draws", "interval"]


def unseen_combos(space: SearchSpace, model: Any) -> np.ndarray | None:
    """Per combination of ``space``: is its GPU one ``model`` was not fitted on (its ``unseen_gpu``, the rows whose
    predict_interval draws the GPU transfer factor)? None when none is, or the model cannot say."""
    if not hasattr(model, "unseen_gpu"):
        return None
    gpus = [row.get("gpu", combo.gpu) for row, combo in zip(space.profile_rows, space.combos, strict=True)]
    flags, _ = model.unseen_gpu(pd.DataFrame({"gpu": gpus}))
    return np.asarray(flags, dtype=bool) if flags.any() else None


def transfer_draws(space: SearchSpace, model: Any, seed: int) -> Callable[[], np.ndarray] | None:
    """A function giving, per call, every combination's GPU transfer factor exp(sd z_g): z_g ~ N(0, 1) drawn once per
    GPU g the model was not fitted on (its combinations move together, two such GPUs independently), factor 1 on a
    fitted GPU; sd the energy's :data:`~energylens.model.intervals.GPU_TRANSFER_LOG_SD`. Its own stream of ``seed``,
    so a calibration's offset draws stay as they were. None when every combination is on a fitted GPU."""
    unseen = unseen_combos(space, model)
    sd = transfer_sd("energy", OUT_SUM)
    if unseen is None or sd == 0.0:
        return None
    names = [c.gpu for c in space.combos]
    gpus = sorted({g for g, u in zip(names, unseen, strict=True) if u})
    code = np.array([gpus.index(g) if u else len(gpus) for g, u in zip(names, unseen, strict=True)])
    rng = np.random.default_rng([int(seed), 0x6770755F])  # apart from offset_draws' default_rng(seed)

    def draw() -> np.ndarray:
        return np.exp(sd * np.append(rng.standard_normal(len(gpus)), 0.0)[code])  # the last: fitted GPUs, 1
    return draw


def _factor_kinds(space: SearchSpace, model: Any, combos: np.ndarray) -> tuple[GpuTransfer, np.ndarray]:
    """The measurement factors the candidates of ``combos`` draw (predict_interval's), and per candidate which:
    0 the model's; with an energy calibration 0 a seen key's calibrated residuals, 1 an unseen key's the model's."""
    cal = getattr(model, "calibration", None)
    sd = transfer_sd("energy", OUT_SUM)
    if cal is None:
        return GpuTransfer([model.measurement_factors()], [sd]), np.zeros(len(combos), dtype=np.int64)
    seen = cal.seen(pd.DataFrame({"model": [r["model"] for r in space.profile_rows]}))[combos]
    samples = [model_factors(model, cal.residual_sample, cal.residual_count, cal.dof), model.measurement_factors()]
    return GpuTransfer(samples, [sd, sd]), np.where(seen, 0, 1)


def interval(space: SearchSpace, model: Any, energy: np.ndarray, point: np.ndarray,
             index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) at :data:`~.legend.INTERVAL_LEVEL` of candidates ``index`` whose energies at the model's bootstrap
    refits are the columns of ``energy`` (replicates x candidates) and whose point energies are ``point``: each
    replicate's energy times the measurement factor predict_interval draws for that replicate at row position 0
    (:func:`~energylens.model.intervals.draw_indices`), times the GPU transfer factor's quantiles on an unseen GPU,
    with an energy calibration's residuals and its offsets' own error (``calibration.widened``) as predict's."""
    combos = space.digits(index.astype(np.int64))[0]
    factors, kinds = _factor_kinds(space, model, combos)
    unseen = unseen_combos(space, model)
    wide = np.zeros(len(combos), dtype=bool) if unseen is None else unseen[combos]
    alpha = (1.0 - INTERVAL_LEVEL) / 2.0
    lo, hi = np.empty(len(combos)), np.empty(len(combos))
    seed = model.options["seed"]
    for k in np.unique(kinds):
        for w in (False, True):
            rows = np.flatnonzero((kinds == k) & (wide == w))
            if not len(rows):
                continue
            f = factors.factors(int(k)) if w else factors.samples[int(k)]
            draws = f[draw_indices(seed, len(energy), 0, 1, len(f))]  # (replicates, 1): position 0's draws
            lo[rows], hi[rows] = np.quantile(energy[:, rows] * draws, [alpha, 1.0 - alpha], axis=0)
    lo = np.maximum(lo, 0.0)
    cal = getattr(model, "calibration", None)
    if cal is not None:  # the offset's own estimation error, added as calibrated_interval adds it
        frame = pd.DataFrame({"model": [r["model"] for r in space.profile_rows]})
        lo, hi = widened(lo, hi, point, cal.seen(frame)[combos], cal.offset_sd(frame)[combos], INTERVAL_LEVEL)
    return lo, hi
