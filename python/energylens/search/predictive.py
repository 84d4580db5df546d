"""What a search result's energy interval and P(best) draw beyond the bootstrap refits, as ``predict_interval`` does:
each candidate's 90 % interval is the refits' energies times the factor of one measurement, and on a GPU the model
was not fitted on (at a share on one with a few rows in the fit) also times the GPU transfer factor
(:func:`interval`: predict_interval's own draws at the configuration's key, :func:`candidate_keys`, so ``energylens
predict`` of that configuration gives the same bounds); P(best) draws one transfer factor per such GPU and replicate
(:func:`transfer_draws`).
Before 2026-12-07 the interval was the refits' spread alone and P(best) drew no transfer: the bundled A100 / H100
fit gave an H200 row 241-257 J where predict gave 177-334 J, and P(best) 0.995 to it against a B200 row 3.5 %
dearer (docs/search.md, "What a result says")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from energylens.model.calibration import widened
from energylens.model.gpu_domain import same_hardware
from energylens.model.intervals import (
    OUT_SUM,
    GpuTransfer,
    draw_indices,
    model_factors,
    row_keys,
    transfer_sd,
)
from energylens.search.legend import INTERVAL_LEVEL
from energylens.search.space import SearchSpace

__all__ = ["transfer_scales", "transfer_groups", "transfer_draws", "candidate_keys", "interval", "ENERGY_STREAM", "TPOT_STREAM", "TTFT_STREAM"]

#: The random streams of ``bootstrap_seed`` the transfer draws take, apart from the calibration offsets' and each
#: other's (energy, TPOT, TTFT): adding the latency draws left the energy's as they were, bit for bit.
ENERGY_STREAM, TPOT_STREAM, TTFT_STREAM = 0x6770755F, 0x74706F74, 0x74746674


def transfer_scales(space: SearchSpace, model: Any) -> np.ndarray | None:
    """Per combination of ``space``: the share of the GPU transfer log sd its rows draw in ``model``'s
    predict_interval (the model's ``transfer_shares``: 1 on a GPU the model was not fitted on, (1 - w) x min(1,
    sqrt(p / n)) on a fitted GPU of n of the fit's rows, w their share, p the parameters, where that is at least 0.25
    (:func:`~energylens.model.intervals.few_row_scales`), 0 on the others). None when every
    combination's is 0, or the model cannot say (a model without ``transfer_shares``)."""
    if not hasattr(model, "transfer_shares"):
        return None
    gpus = [row.get("gpu", combo.gpu) for row, combo in zip(space.profile_rows, space.combos, strict=True)]
    shares = np.asarray(model.transfer_shares(pd.DataFrame({"gpu": gpus})), dtype=np.float64)
    return shares if (shares > 0).any() else None


def transfer_groups(space: SearchSpace, scales: np.ndarray) -> np.ndarray:
    """Per combination of ``space``: which transfer factor it draws (0, 1, ...; 0 too where its share ``scales`` is
    0), one per GPU hardware: combinations on one GPU share it, and so do GPUs under two names whose GPU table rows
    are the same hardware (:func:`~energylens.model.gpu_domain.same_hardware`: a user's GPU table or a ``GpuSpec``
    naming a B200 "Lab-B200"), which the model cannot tell apart, so they carry one GPU-level bias; until 2026-12-07
    each name drew its own. Numbered in the order of each hardware's first name, sorted."""
    names = sorted({c.gpu for c, s in zip(space.combos, scales, strict=True) if s > 0})
    first: list[str] = []  # one name per hardware
    group = {}
    for g in names:
        group[g] = next((k for k, f in enumerate(first) if same_hardware(g, f)), len(first))
        if group[g] == len(first):
            first.append(g)
    return np.array([group[c.gpu] if s > 0 else 0 for c, s in zip(space.combos, scales, strict=True)], dtype=np.int64)


def transfer_draws(space: SearchSpace, scales: np.ndarray | None, seed: int, n: int, sd: float | None = None,
                   stream: int = ENERGY_STREAM) -> np.ndarray | None:
    """``n`` draws (rows) of every combination's GPU transfer factor exp(s_c sd z_g): z_g ~ N(0, 1) drawn once per GPU
    g and draw (:func:`transfer_groups`: a GPU's combinations move together, two GPUs independently), s_c the
    combination's share (:func:`transfer_scales`; 0, factor 1, on a fitted GPU), sd the energy's
    :data:`~energylens.model.intervals.GPU_TRANSFER_LOG_SD` (None) or the one given (a latency output's,
    :func:`~energylens.model.intervals.transfer_sd`). Its own ``stream`` of ``seed`` (:data:`ENERGY_STREAM`, ...),
    so a calibration's offset draws stay as they were. None when no combination draws one."""
    sd = transfer_sd("energy", OUT_SUM) if sd is None else float(sd)
    if scales is None or sd == 0.0 or not (scales > 0).any():
        return None
    code = transfer_groups(space, scales)
    z = np.random.default_rng([int(seed), int(stream)]).standard_normal((n, int(code.max()) + 1))
    return np.exp(sd * scales[None, :] * z[:, code])


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


def candidate_keys(space: SearchSpace, model: Any, index: np.ndarray) -> np.ndarray:
    """Per candidate of ``index``: the key ``model``'s predict_interval draws its row at
    (:func:`~energylens.model.intervals.row_keys` of the model's feature columns of the candidate's profile row,
    ``space.point_features``: the same bits as predict's; a workload distribution's first point, whose bounds have no
    predict row to match), so a candidate's bounds are those of its configuration, whatever is listed beside it;
    zeros (every candidate drawn as row key 0, the draws before 2026-12-07) for a model without ``feature_names``."""
    idx = np.asarray(index, dtype=np.int64)
    names = getattr(model, "feature_names", None)
    if names is None or not len(idx):
        return np.zeros(len(idx), dtype=np.uint64)
    points = space.points(idx)
    feats = space.point_features(points if points.ndim == 1 else points[:, 0])
    return row_keys([feats[n] for n in names])


def interval(space: SearchSpace, model: Any, energy: np.ndarray, point: np.ndarray, index: np.ndarray,
             scales: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) at :data:`~.legend.INTERVAL_LEVEL` of candidates ``index`` whose energies at the model's bootstrap
    refits are the columns of ``energy`` (replicates x candidates) and whose point energies are ``point``: each
    replicate's energy times the measurement factor predict_interval draws for that replicate and configuration
    (:func:`~energylens.model.intervals.draw_indices` at :func:`candidate_keys`), times the GPU transfer factor's quantiles at the combination's
    share ``scales`` (:func:`transfer_scales`), with an energy calibration's residuals and its offsets' own error
    (``calibration.widened``) as predict's."""
    combos = space.digits(index.astype(np.int64))[0]
    factors, kinds = _factor_kinds(space, model, combos)
    share = np.zeros(len(combos)) if scales is None else scales[combos]
    alpha = (1.0 - INTERVAL_LEVEL) / 2.0
    lo, hi = np.empty(len(combos)), np.empty(len(combos))
    seed, keys = model.options["seed"], candidate_keys(space, model, index)
    for k, s in {(int(k), float(s)) for k, s in zip(kinds, share, strict=True)}:
        rows = np.flatnonzero((kinds == k) & (share == s))
        f = factors.factors(k, s) if s > 0 else factors.samples[k]
        draws = f[draw_indices(seed, len(energy), keys[rows], len(f))]  # (replicates, rows): predict's draws
        lo[rows], hi[rows] = np.quantile(energy[:, rows] * draws, [alpha, 1.0 - alpha], axis=0)
    lo = np.maximum(lo, 0.0)
    cal = getattr(model, "calibration", None)
    if cal is not None:  # the offset's own estimation error, added as calibrated_interval adds it
        frame = pd.DataFrame({"model": [r["model"] for r in space.profile_rows]})
        lo, hi = widened(lo, hi, point, cal.seen(frame)[combos], cal.offset_sd(frame)[combos], INTERVAL_LEVEL)
    return lo, hi
