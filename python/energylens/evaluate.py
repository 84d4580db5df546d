"""Evaluate configuration choice side by side: ours against the baselines, on identical splits.

:func:`evaluate` returns a tidy table, one row per (repeat, split, variant, detail, train_size,
method, group); :func:`summarize` turns it into one row per method (or any break-down such as
modality or task). Every metric is a small pure function tested on hand-computed cases:

* :func:`top1_hit` -- is the predicted cheapest configuration of a group the measured cheapest?
  Ties in measurement count as a hit; ties in prediction are broken at random *in expectation*
  (the hit is the share of the predicted-tied set that is measured-optimal), so a method that
  predicts the same energy for every configuration scores chance, not the first row's luck.
* :func:`regret_pct` -- measured energy of the chosen configuration over the optimum, in percent
  (again the expectation over predicted ties).
* :func:`pairwise_counts` -- concordant pairs within a group (pairs tied in measurement are
  skipped; a predicted tie counts one half). Pooled over groups: ``sum concordant / sum pairs``.
* :func:`group_spearman` -- Spearman rank correlation per group (NaN for < 3 candidates or a
  constant side); averaged over groups.
* MAPE over the held-out rows (rows, not groups), undefined for a method whose ``energy`` is only a
  ranking score (``predicts_energy_scale = False``).

With ``tpot_slo`` the Top-1 and regret of a group are taken among the candidates whose predicted
(for the method) and measured TPOT both meet the limit; a method without a latency model
(``predict_tpot``) is given the measured TPOT (``tpot_source = "measured"`` in the table).

Splits (:func:`make_splits`), each seeded with a ``numpy.random.Generator``:

* ``random`` -- ``train_size`` rows drawn per repeat, every other row held out.
* ``curve`` -- sample efficiency: per repeat a fixed held-out quarter; nested training sets of
  12, 25, 50, 100, 200, 400 rows (where the data allows) and all the remaining rows.
* ``unseen_batch`` -- per group, train on the smaller half of its batch sizes, test on the larger.
* ``unseen_gpu`` -- train on one GPU plus ``k`` rows of the other (k = 0, 5, 10), test on the rest
  of the other; both directions.
* ``unseen_model`` -- leave one model out.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Split",
    "EvaluationResult",
    "evaluate",
    "run_evaluation",
    "summarize",
    "overview",
    "make_splits",
    "random_splits",
    "curve_splits",
    "unseen_batch_split",
    "unseen_gpu_splits",
    "unseen_model_splits",
    "top1_hit",
    "regret_pct",
    "pairwise_counts",
    "group_spearman",
    "group_metrics",
    "score_groups",
    "DEFAULT_GROUP_BY",
    "CURVE_SIZES",
    "GPU_SHOTS",
    "SPLIT_NAMES",
    "METRICS",
    "SLO_METRICS",
    "add_evaluate_subparser",
    "run_evaluate",
    "demo_comparison",
]

DEFAULT_GROUP_BY = ("task", "model", "gpu")
CURVE_SIZES = (12, 25, 50, 100, 200, 400)
GPU_SHOTS = (0, 5, 10)
SPLIT_NAMES = ("random", "curve", "unseen_batch", "unseen_gpu", "unseen_model")
METRICS = ("top1", "pairwise", "mape", "spearman", "regret_pct")
SLO_METRICS = ("top1_strict", "slo_violation")
CURVE_TEST_FRACTION = 0.25


# --------------------------------------------------------------------------------------------
# metrics on one group (pure functions on arrays)

def _as_float(a: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=float).reshape(-1)


def _choice_set(pred: np.ndarray) -> np.ndarray:
    """Indices the method would choose: every candidate tied at the predicted minimum."""
    return np.flatnonzero(pred == pred.min())


def top1_hit(pred: Sequence[float], meas: Sequence[float]) -> float:
    """Top-1 hit of one group: 1.0 if the predicted cheapest is a measured cheapest.

    Measured ties count as hits. A tie in prediction is broken at random in expectation: the
    result is the share of the predicted-minimum set that is measured-minimal (so in [0, 1]).
    NaN for fewer than two candidates.
    """
    p, m = _as_float(pred), _as_float(meas)
    if p.shape != m.shape:
        raise ValueError(f"pred and meas differ in length ({p.size} vs {m.size})")
    if p.size < 2:
        return float("nan")
    chosen = _choice_set(p)
    return float(np.mean(m[chosen] <= m.min()))


def regret_pct(pred: Sequence[float], meas: Sequence[float]) -> float:
    """Measured energy of the chosen configuration over the measured optimum, in percent.

    Expectation over predicted ties, as in :func:`top1_hit`. NaN for fewer than two candidates.
    """
    p, m = _as_float(pred), _as_float(meas)
    if p.shape != m.shape:
        raise ValueError(f"pred and meas differ in length ({p.size} vs {m.size})")
    if p.size < 2:
        return float("nan")
    chosen = _choice_set(p)
    return float(np.mean(m[chosen] / m.min() - 1.0) * 100.0)


def pairwise_counts(pred: Sequence[float], meas: Sequence[float]) -> tuple[float, int]:
    """(concordant, comparable) pairs of one group.

    A pair is comparable when its measured energies differ; it is concordant when the prediction
    orders it the same way; a predicted tie counts one half.
    """
    p, m = _as_float(pred), _as_float(meas)
    if p.shape != m.shape:
        raise ValueError(f"pred and meas differ in length ({p.size} vs {m.size})")
    i, j = np.triu_indices(p.size, k=1)
    dm = np.sign(m[i] - m[j])
    dp = np.sign(p[i] - p[j])
    ok = dm != 0
    conc = np.where(dp[ok] == 0, 0.5, (dp[ok] == dm[ok]).astype(float))
    return float(conc.sum()), int(ok.sum())


def _avg_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inv]


def group_spearman(pred: Sequence[float], meas: Sequence[float]) -> float:
    """Spearman rank correlation of one group; NaN for < 3 candidates or a constant side.

    Pearson correlation of average ranks (ties share their mean rank), as ``scipy.stats.spearmanr``.
    """
    p, m = _as_float(pred), _as_float(meas)
    if p.size < 3 or np.ptp(p) == 0 or np.ptp(m) == 0:
        return float("nan")
    rp, rm = _avg_ranks(p), _avg_ranks(m)
    rp -= rp.mean()
    rm -= rm.mean()
    return float(np.dot(rp, rm) / np.sqrt(np.dot(rp, rp) * np.dot(rm, rm)))


def group_metrics(pred: Sequence[float], meas: Sequence[float],
                  pred_tpot: Sequence[float] | None = None,
                  meas_tpot: Sequence[float] | None = None,
                  tpot_slo: float | None = None,
                  energy_scale: bool = True) -> dict[str, float]:
    """All metrics of one group of held-out candidates.

    Returns ``n_rows``, ``n_candidates`` (after the TPOT SLO filter), ``top1``, ``regret_pct``,
    ``pairs_concordant``, ``pairs_total``, ``spearman`` and ``ape_sum`` (sum of absolute percentage
    errors over the rows, NaN when ``energy_scale`` is false). Pairwise, Spearman and APE use every
    held-out row of the group; Top-1 and regret use the SLO candidates.

    With ``tpot_slo`` also ``top1_strict`` and ``slo_violation``: the method chooses among the
    candidates *it predicts* meet the limit (as it would in deployment); a hit needs the choice to
    meet the limit when measured and to be the measured cheapest of those that do; a violation is
    a choice that misses the limit when measured. Choosing nothing while a feasible candidate
    exists is a miss. NaN where fewer than two rows or no candidate meets the limit when measured.
    """
    p, m = _as_float(pred), _as_float(meas)
    conc, tot = pairwise_counts(p, m)
    ape = float(np.sum(np.abs(p - m) / m) * 100.0) if energy_scale else float("nan")
    cand = np.ones(p.size, dtype=bool)
    strict: dict[str, float] = {}
    if tpot_slo is not None:
        if pred_tpot is None or meas_tpot is None:
            raise ValueError("tpot_slo needs pred_tpot and meas_tpot")
        ok_pred = _as_float(pred_tpot) <= tpot_slo
        ok_meas = _as_float(meas_tpot) <= tpot_slo
        cand = ok_pred & ok_meas
        hit = viol = float("nan")
        if p.size >= 2 and ok_meas.any():
            if not ok_pred.any():
                hit, viol = 0.0, 0.0
            else:
                pool = np.flatnonzero(ok_pred)
                chosen = pool[_choice_set(p[pool])]
                best = m[ok_meas].min()
                hit = float(np.mean(ok_meas[chosen] & (m[chosen] <= best)))
                viol = float(np.mean(~ok_meas[chosen]))
        strict = {"top1_strict": hit, "slo_violation": viol}
    return {
        "n_rows": int(p.size),
        "n_candidates": int(cand.sum()),
        "top1": top1_hit(p[cand], m[cand]),
        "regret_pct": regret_pct(p[cand], m[cand]),
        "pairs_concordant": conc,
        "pairs_total": tot,
        "spearman": group_spearman(p, m),
        "ape_sum": ape,
        **strict,
    }


def _group_codes(df: pd.DataFrame, group_by: Sequence[str]) -> np.ndarray:
    return df.groupby(list(group_by), sort=True, dropna=False).ngroup().to_numpy()


class _Groups:
    """The groups of one held-out frame, computed once and shared by every method of a split."""

    def __init__(self, test_df: pd.DataFrame, group_by: Sequence[str]) -> None:
        codes = _group_codes(test_df, group_by)
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        self.members = np.split(order, bounds) if len(order) else []
        extra = [c for c in ("modality", "task") if c not in group_by and c in test_df.columns]
        firsts = [int(idx[0]) for idx in self.members]
        head = test_df.iloc[firsts]
        cols = {c: head[c].tolist() for c in (*group_by, *extra)}
        self.meta = []
        for i in range(len(firsts)):
            rec: dict[str, Any] = {c: cols[c][i] for c in group_by}
            rec["group"] = " | ".join(str(cols[c][i]) for c in group_by)
            for c in extra:
                rec[c] = cols[c][i]
            self.meta.append(rec)


def score_groups(test_df: pd.DataFrame, pred: np.ndarray, group_by: Sequence[str],
                 pred_tpot: np.ndarray | None = None, tpot_slo: float | None = None,
                 energy_scale: bool = True, _groups: _Groups | None = None) -> pd.DataFrame:
    """:func:`group_metrics` for every group of the held-out rows (one row per group).

    Groups absent from ``test_df`` produce no row; single-candidate groups produce a row with NaN
    Top-1 (they still count for MAPE). Also carries ``group`` (the key joined with ``" | "``),
    the ``group_by`` columns, ``modality`` and ``task`` (when present).
    """
    meas = test_df["energy_j"].to_numpy(dtype=float)
    pred = np.asarray(pred, dtype=float)
    if pred.shape != meas.shape:
        raise ValueError(f"{pred.size} predictions for {meas.size} held-out rows")
    meas_tpot = None
    if tpot_slo is not None:
        meas_tpot = test_df["tpot_s"].to_numpy(dtype=float)
        if pred_tpot is None:
            pred_tpot = meas_tpot
        pred_tpot = np.asarray(pred_tpot, dtype=float)
    groups = _groups or _Groups(test_df, group_by)
    rows = []
    for idx, meta in zip(groups.members, groups.meta, strict=True):
        rec = dict(meta)
        rec.update(group_metrics(
            pred[idx], meas[idx],
            None if pred_tpot is None else pred_tpot[idx],
            None if meas_tpot is None else meas_tpot[idx],
            tpot_slo, energy_scale))
        rows.append(rec)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# splits

@dataclass(frozen=True)
class Split:
    """One train/test partition of the profile rows (positional indices into the frame).

    ``split`` is the family (:data:`SPLIT_NAMES`), ``variant`` what a summary keeps apart
    (e.g. ``"k=5"``), ``detail`` what it pools over (e.g. ``"A100 -> H100"`` or the held-out model).
    """

    split: str
    variant: str
    detail: str
    repeat: int
    train_idx: np.ndarray = field(repr=False)
    test_idx: np.ndarray = field(repr=False)

    @property
    def train_size(self) -> int:
        return int(self.train_idx.size)

    def key(self) -> tuple[str, str, str, int, int]:
        return (self.split, self.variant, self.detail, self.repeat, self.train_size)


def _rngs(seed: int, repeats: int, salt: int) -> list[np.random.Generator]:
    ss = np.random.SeedSequence([int(seed), salt])
    return [np.random.default_rng(s) for s in ss.spawn(repeats)]


def _check_train_size(n_rows: int, train_size: int) -> None:
    if train_size < 1:
        raise ValueError(f"train size must be at least 1, got {train_size}")
    if train_size >= n_rows:
        raise ValueError(f"train size {train_size} leaves no held-out rows: the profiles have "
                         f"{n_rows} rows; choose a train size below {n_rows}")


def random_splits(n_rows: int, train_size: int, repeats: int, seed: int = 0) -> list[Split]:
    """``train_size`` rows drawn without replacement per repeat; every other row is held out."""
    _check_train_size(n_rows, train_size)
    out = []
    for r, rng in enumerate(_rngs(seed, repeats, 1)):
        perm = rng.permutation(n_rows)
        out.append(Split("random", "", "", r, np.sort(perm[:train_size]), np.sort(perm[train_size:])))
    return out


def curve_splits(n_rows: int, sizes: Iterable[int] = CURVE_SIZES, repeats: int = 20,
                 seed: int = 0, test_fraction: float = CURVE_TEST_FRACTION) -> list[Split]:
    """Sample efficiency: per repeat a fixed held-out set, nested training sets of each size.

    Sizes larger than the pool (the rows not held out) are dropped; the whole pool ("all the
    others") is always one of the sizes, so small-sample and full-data methods meet on the same
    held-out rows.
    """
    n_test = max(1, int(round(n_rows * test_fraction)))
    pool = n_rows - n_test
    if pool < 2:
        raise ValueError(f"{n_rows} rows are too few for a sample-efficiency curve")
    use = sorted({s for s in sizes if 1 <= s < pool} | {pool})
    out = []
    for r, rng in enumerate(_rngs(seed, repeats, 2)):
        perm = rng.permutation(n_rows)
        test = np.sort(perm[pool:])
        for s in use:
            out.append(Split("curve", "", "", r, np.sort(perm[:s]), test))
    return out


def unseen_batch_split(df: pd.DataFrame, group_by: Sequence[str]) -> list[Split]:
    """Per group, train on the smaller half of its distinct batch sizes, test on the larger.

    Batch sizes are the configured ``max_batch_size`` where that column exists (the knob an
    operator sets), else ``batch_size``. With ``n`` distinct batch sizes the smallest ``n // 2`` go to training; a group with a single
    batch size goes entirely to training (it has no larger half).
    """
    codes = _group_codes(df, group_by)
    col = "max_batch_size" if "max_batch_size" in df.columns else "batch_size"
    b = df[col].to_numpy(dtype=float)
    is_train = np.zeros(len(df), dtype=bool)
    for code in np.unique(codes):
        idx = np.flatnonzero(codes == code)
        sizes = np.unique(b[idx])
        if sizes.size < 2:
            is_train[idx] = True
            continue
        is_train[idx] = b[idx] <= sizes[sizes.size // 2 - 1]
    if not is_train.any() or is_train.all():
        return []
    return [Split("unseen_batch", "", "", 0, np.flatnonzero(is_train), np.flatnonzero(~is_train))]


def unseen_gpu_splits(df: pd.DataFrame, shots: Iterable[int] = GPU_SHOTS, repeats: int = 20,
                      seed: int = 0) -> list[Split]:
    """Train on every row of one GPU plus ``k`` random rows of another; test on that GPU's rest.

    Every ordered pair of GPUs; ``k = 0`` is deterministic (one repeat). Empty with one GPU.
    """
    gpus = df["gpu"].astype(str).to_numpy(dtype=object)
    names = sorted(set(gpus))
    out = []
    rngs = _rngs(seed, repeats, 3)
    for src in names:
        for dst in names:
            if src == dst:
                continue
            src_idx, dst_idx = np.flatnonzero(gpus == src), np.flatnonzero(gpus == dst)
            detail = f"{_short(src)} -> {_short(dst)}"
            for k in shots:
                if k >= dst_idx.size:
                    continue
                for r in range(1 if k == 0 else repeats):
                    pick = rngs[r].permutation(dst_idx)
                    train = np.sort(np.concatenate([src_idx, pick[:k]]))
                    out.append(Split("unseen_gpu", f"k={k}", detail, r, train, np.sort(pick[k:])))
    return out


def unseen_model_splits(df: pd.DataFrame) -> list[Split]:
    """Leave one model out: train on every other model's rows, test on the model's rows."""
    models = df["model"].astype(str).to_numpy(dtype=object)
    out = []
    for m in sorted(set(models)):
        test = np.flatnonzero(models == m)
        train = np.flatnonzero(models != m)
        if train.size:
            out.append(Split("unseen_model", "", _short(m), 0, train, test))
    return out


def _short(name: str) -> str:
    s = str(name).split("/")[-1]
    return s.replace("NVIDIA ", "")


def make_splits(df: pd.DataFrame, *, train_size: int = 50, repeats: int = 20, seed: int = 0,
                group_by: Sequence[str] = DEFAULT_GROUP_BY,
                splits: Iterable[str] = SPLIT_NAMES,
                curve_sizes: Iterable[int] = CURVE_SIZES,
                gpu_shots: Iterable[int] = GPU_SHOTS) -> list[Split]:
    """Every split of the requested families, in a fixed order (a fixed seed gives equal splits)."""
    splits = list(splits)
    unknown = [s for s in splits if s not in SPLIT_NAMES]
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; known: {list(SPLIT_NAMES)}")
    out: list[Split] = []
    n = len(df)
    if "random" in splits:
        out += random_splits(n, train_size, repeats, seed)
    if "curve" in splits:
        out += curve_splits(n, curve_sizes, repeats, seed)
    if "unseen_batch" in splits:
        out += unseen_batch_split(df, group_by)
    if "unseen_gpu" in splits:
        out += unseen_gpu_splits(df, gpu_shots, repeats, seed)
    if "unseen_model" in splits:
        out += unseen_model_splits(df)
    for s in out:
        if np.intersect1d(s.train_idx, s.test_idx).size:
            raise AssertionError(f"split {s.key()} trains on held-out rows")
    return out


# --------------------------------------------------------------------------------------------
# the runner

MethodFactory = Callable[[int], Sequence[Any]]


@dataclass
class EvaluationResult:
    """What :func:`run_evaluation` returns.

    ``table``: the tidy per-group table (see :func:`evaluate`). ``predictions``: per held-out row of
    the ``random`` split (``repeat, method, row, group, energy_j, predicted_energy_j``), for plots.
    ``info``: run metadata (seed, sizes, methods, their notes, run time in seconds).
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    info: dict[str, Any]

    def summary(self, by: Sequence[str] | None = None) -> pd.DataFrame:
        """:func:`overview` of the table, or :func:`summarize` by ``by`` when given."""
        return overview(self.table) if by is None else summarize(self.table, by=by)


def _validate(df: pd.DataFrame, group_by: Sequence[str], tpot_slo: float | None) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"profiles must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in group_by if c not in df.columns]
    if missing:
        raise ValueError(f"unknown group column(s) {missing}; the profiles have columns "
                         f"{sorted(map(str, df.columns))}")
    need = ["energy_j", "batch_size", "model", "gpu"]
    if tpot_slo is not None:
        need.append("tpot_s")
        if not tpot_slo > 0:
            raise ValueError(f"tpot_slo must be a positive number of seconds, got {tpot_slo}")
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise ValueError(f"profiles lack column(s) {absent} needed by the evaluation")
    e = df["energy_j"].to_numpy(dtype=float)
    if not np.all(np.isfinite(e) & (e > 0)):
        raise ValueError("energy_j must be finite and positive in every row")


def _has_tpot(method: Any) -> bool:
    if not hasattr(method, "predict_tpot"):
        return False
    has = getattr(method, "has_tpot", None)
    return bool(has()) if callable(has) else True


def _default_factory(gpu_spec: Any, include: tuple[str, ...] | None) -> MethodFactory:
    from energylens.baselines import default_methods

    def factory(seed: int) -> Sequence[Any]:
        return default_methods(seed=seed, gpu_spec=gpu_spec, include=include)
    return factory


def run_evaluation(profiles: pd.DataFrame | str, *, train_size: int = 50, repeats: int = 20,
                   group_by: Sequence[str] = DEFAULT_GROUP_BY, tpot_slo: float | None = None,
                   seed: int = 0, splits: Iterable[str] = SPLIT_NAMES,
                   methods: MethodFactory | None = None,
                   method_names: Sequence[str] | None = None,
                   curve_sizes: Iterable[int] = CURVE_SIZES,
                   gpu_shots: Iterable[int] = GPU_SHOTS,
                   gpu_spec: Any = None, progress: bool = True) -> EvaluationResult:
    """Fit every method on exactly the same training rows and score it on the same held-out rows.

    ``profiles``: a schema-v1 frame, a profile file, an ML.ENERGY v2 flat CSV, or ``"bundled"`` (read with
    ``energylens.datasets.load_profiles_or_bundled``, as the command line does).
    ``methods``: a callable ``seed -> list of fresh methods`` (default: every method of
    ``energylens.baselines.default_methods``, or those named in ``method_names``). Methods are made
    fresh for every split with the seed ``seed * 1000 + repeat``. A method whose fit or prediction
    raises ``ValueError``/``ArithmeticError``/``LinAlgError``/``EnergyLensError`` gets NaN metrics
    and the message in the ``error`` column (and one warning), never a silent zero.
    """
    t0 = time.perf_counter()
    if not isinstance(profiles, pd.DataFrame):
        from energylens.datasets import load_profiles_or_bundled
        profiles = load_profiles_or_bundled(str(profiles))
    group_by = tuple(group_by)
    _validate(profiles, group_by, tpot_slo)
    df = profiles.reset_index(drop=True)
    all_splits = make_splits(df, train_size=train_size, repeats=repeats, seed=seed,
                             group_by=group_by, splits=splits, curve_sizes=curve_sizes,
                             gpu_shots=gpu_shots)
    factory = methods or _default_factory(gpu_spec, None if method_names is None
                                          else tuple(method_names))
    n_methods = len(factory(seed))
    if n_methods == 0:
        raise ValueError("no methods to evaluate")

    from energylens.errors import EnergyLensError
    caught = (ValueError, ArithmeticError, np.linalg.LinAlgError, EnergyLensError)

    tables: list[pd.DataFrame] = []
    preds: list[pd.DataFrame] = []
    seen: dict[tuple, list[tuple[str, int, int]]] = {}
    notes: dict[str, dict[str, Any]] = {}
    warned: set[str] = set()
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(all_splits) * n_methods, desc="evaluate", unit="fit",
                   file=sys.stderr, disable=not progress, leave=False)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        bar = None
    fit_seconds: dict[str, float] = {}
    for sp in all_splits:
        test_ref = df.iloc[sp.test_idx]  # what is scored; methods only ever see copies
        groups = _Groups(test_ref, group_by)
        for method in factory(seed * 1000 + sp.repeat):
            name = method.name
            # fresh copies per method, so a method that writes into its input can neither leak
            # into the next method's rows nor into the measurements it is scored against
            train_df = df.iloc[sp.train_idx].copy()
            test_df = test_ref.copy()
            seen.setdefault(sp.key(), []).append(
                (name, hash(sp.train_idx.tobytes()), hash(sp.test_idx.tobytes())))
            err = ""
            pred_tpot = None
            tpot_source = "" if tpot_slo is None else "measured"
            tf = time.perf_counter()
            try:
                method.fit(train_df)
                pred = np.asarray(method.predict_energy(test_df), dtype=float)
                if pred.shape != (len(test_df),):
                    raise ValueError(f"{name} returned {pred.shape} predictions for "
                                     f"{len(test_df)} rows")
                if not np.all(np.isfinite(pred)):
                    raise ValueError(f"{name} predicted non-finite energy")
                if tpot_slo is not None and _has_tpot(method):
                    pred_tpot = np.asarray(method.predict_tpot(test_df), dtype=float)
                    tpot_source = "predicted"
            except caught as exc:
                err = f"{type(exc).__name__}: {exc}"
                pred = np.full(len(test_df), np.nan)
                if name not in warned:
                    warned.add(name)
                    warnings.warn(f"{name} failed on split {sp.key()}: {err}", RuntimeWarning,
                                  stacklevel=2)
            fit_seconds[name] = fit_seconds.get(name, 0.0) + time.perf_counter() - tf
            test_df = test_ref
            if err:
                g = score_groups(test_df, np.ones(len(test_df)), group_by, _groups=groups)
                for c in ("top1", "regret_pct", "pairs_concordant", "pairs_total", "spearman",
                          "ape_sum", *(SLO_METRICS if tpot_slo is not None else ())):
                    g[c] = np.nan
            else:
                g = score_groups(test_df, pred, group_by, pred_tpot, tpot_slo,
                                 bool(getattr(method, "predicts_energy_scale", True)), _groups=groups)
            g.insert(0, "method", name)
            g.insert(0, "train_size", sp.train_size)
            g.insert(0, "detail", sp.detail)
            g.insert(0, "variant", sp.variant)
            g.insert(0, "split", sp.split)
            g.insert(0, "repeat", sp.repeat)
            g["tpot_source"] = tpot_source
            g["error"] = err
            tables.append(g)
            if sp.split == "random":
                preds.append(pd.DataFrame({
                    "repeat": sp.repeat, "method": name, "row": sp.test_idx,
                    "group": [" | ".join(map(str, k)) for k in
                              test_df[list(group_by)].itertuples(index=False)],
                    "modality": (test_df["modality"].to_numpy() if "modality" in test_df
                                 else "n/a"),
                    "energy_j": test_df["energy_j"].to_numpy(dtype=float),
                    "predicted_energy_j": pred,
                    "energy_scale": bool(getattr(method, "predicts_energy_scale", True)),
                }))
            if hasattr(method, "pooled_fraction") and not err:
                nd = notes.setdefault(name, {})
                nd.setdefault("pooled_fraction", {}).setdefault(sp.split, []).append(
                    float(method.pooled_fraction))
            if getattr(method, "backend", "") and not err:
                nd = notes.setdefault(name, {})
                nd.setdefault("backend", {})
                nd["backend"][method.backend] = nd["backend"].get(method.backend, 0) + 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    # every method saw exactly the same rows in every split
    for key, recs in seen.items():
        if len({(a, b) for _, a, b in recs}) != 1:
            raise AssertionError(f"methods saw different rows in split {key}")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    predictions = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame()
    for nd in notes.values():  # mean share of held-out rows a method predicted by pooling
        if "pooled_fraction" in nd:
            nd["pooled_fraction"] = {k: float(np.mean(v)) for k, v in nd["pooled_fraction"].items()}
    info = {
        "seed": seed, "repeats": repeats, "train_size": train_size, "group_by": list(group_by),
        "tpot_slo": tpot_slo, "n_rows": len(df), "n_splits": len(all_splits),
        "methods": list(dict.fromkeys(t["method"].iloc[0] for t in tables)) if tables else [],
        "notes": notes, "fit_seconds": fit_seconds,
        "runtime_s": time.perf_counter() - t0,
    }
    return EvaluationResult(table, predictions, info)


def evaluate(profiles: pd.DataFrame | str, *, train_size: int = 50, repeats: int = 20,
             group_by: Sequence[str] = DEFAULT_GROUP_BY, tpot_slo: float | None = None,
             seed: int = 0, splits: Iterable[str] = SPLIT_NAMES,
             methods: MethodFactory | None = None, method_names: Sequence[str] | None = None,
             progress: bool = True, **kwargs: Any) -> pd.DataFrame:
    """The tidy result table of :func:`run_evaluation`.

    One row per (``repeat``, ``split``, ``variant``, ``detail``, ``train_size``, ``method``,
    ``group``) with the ``group_by`` columns, ``modality``, ``task``, ``n_rows``, ``n_candidates``,
    ``top1``, ``regret_pct``, ``pairs_concordant``, ``pairs_total``, ``spearman``, ``ape_sum``,
    ``tpot_source`` and ``error``. Aggregate it with :func:`summarize`.
    """
    return run_evaluation(profiles, train_size=train_size, repeats=repeats, group_by=group_by,
                          tpot_slo=tpot_slo, seed=seed, splits=splits, methods=methods,
                          method_names=method_names, progress=progress, **kwargs).table


def summarize(table: pd.DataFrame,
              by: Sequence[str] = ("split", "variant", "train_size", "method")) -> pd.DataFrame:
    """One row per ``by`` key: the metrics, pooled within a repeat, then mean and std over repeats.

    Within one repeat (and key): ``top1`` and ``regret_pct`` are means over groups with at least
    two candidates, ``pairwise`` is concordant / comparable pairs pooled over groups, ``mape``
    the mean absolute percentage error over held-out rows, ``spearman`` the mean over groups.
    With a TPOT SLO, ``top1_strict`` and ``slo_violation`` (means over groups) too.
    Columns: ``by``, each metric and ``<metric>_std``, ``n_groups`` (Top-1 groups per repeat),
    ``n_repeats``.
    """
    by = list(by)
    missing = [c for c in by if c not in table.columns]
    if missing:
        raise ValueError(f"cannot summarize by unknown column(s) {missing}")
    t = table.copy()
    t["_top1_n"] = t["top1"].notna().astype(int)
    keys = by + (["repeat"] if "repeat" not in by else [])
    agg = t.groupby(keys, sort=False, dropna=False).agg(
        top1=("top1", "mean"), regret_pct=("regret_pct", "mean"),
        pairs_concordant=("pairs_concordant", lambda s: s.sum(min_count=1)),
        pairs_total=("pairs_total", "sum"),
        ape_sum=("ape_sum", lambda s: s.sum(min_count=1)), n_rows=("n_rows", "sum"),
        spearman=("spearman", "mean"), n_groups=("_top1_n", "sum"),
    ).reset_index()
    agg["pairwise"] = agg["pairs_concordant"] / agg["pairs_total"].where(agg["pairs_total"] > 0)
    agg["mape"] = agg["ape_sum"] / agg["n_rows"]
    metrics = list(METRICS)
    if "top1_strict" in t.columns:  # the deployment view of a TPOT SLO
        extra = t.groupby(keys, sort=False, dropna=False)[list(SLO_METRICS)].mean().reset_index()
        agg = agg.merge(extra, on=keys, how="left")
        metrics += list(SLO_METRICS)
    if "repeat" in by:
        out = agg
        for m in metrics:
            out[f"{m}_std"] = np.nan
        out["n_repeats"] = 1
    else:
        g = agg.groupby(by, sort=False, dropna=False)
        out = g[metrics + ["n_groups"]].mean()
        std = g[metrics].std(ddof=0).add_suffix("_std")
        out = out.join(std)
        out["n_repeats"] = g.size()
        out = out.reset_index()
    cols = by + [c for m in metrics for c in (m, f"{m}_std")] + ["n_groups", "n_repeats"]
    return out[cols]


def overview(table: pd.DataFrame) -> pd.DataFrame:
    """The canonical summary: one row per (split, variant, train_size, method).

    ``random`` and ``curve`` keep their training sizes apart; the extrapolation splits pool their
    folds (held-out model, GPU direction), whose training sizes differ, so their ``train_size``
    is NaN.
    """
    parts = []
    sized = table[table["split"].isin(("random", "curve"))]
    if not sized.empty:
        parts.append(summarize(sized, by=("split", "variant", "train_size", "method")))
    rest = table[~table["split"].isin(("random", "curve"))]
    if not rest.empty:
        s = summarize(rest, by=("split", "variant", "method"))
        s.insert(2, "train_size", np.nan)
        parts.append(s)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --------------------------------------------------------------------------------------------
# command line (wired into ``energylens`` by the CLI module)

def add_evaluate_subparser(subparsers: Any) -> Any:
    """Add ``evaluate`` to an argparse ``subparsers``; the parser's ``func`` is :func:`run_evaluate`."""
    p = subparsers.add_parser(
        "evaluate", help="compare configuration choice: ours against the baselines, same splits",
        description="Fit every method on the same seeded training rows and score it on the same "
                    "held-out rows: Top-1, pairwise, MAPE, Spearman, regret; sample efficiency; "
                    "unseen batch sizes, GPU and model.")
    p.add_argument("profiles", metavar="PROFILES",
                   help="profile table (schema v1), an ML.ENERGY v2 flat CSV, or 'bundled' for the bundled data")
    p.add_argument("--train-size", type=int, default=50, help="training rows per repeat (50)")
    p.add_argument("--repeats", type=int, default=20, help="seeded repeats (20)")
    p.add_argument("--group-by", default=",".join(DEFAULT_GROUP_BY),
                   help="columns whose rows are the candidates of one choice (task,model,gpu)")
    p.add_argument("--tpot-slo", type=float, default=None, metavar="SECONDS",
                   help="choose only among candidates meeting this TPOT (predicted and measured)")
    p.add_argument("--seed", type=int, default=0, help="seed of every draw (0)")
    p.add_argument("--splits", default=",".join(SPLIT_NAMES),
                   help=f"comma-separated subset of {','.join(SPLIT_NAMES)}")
    p.add_argument("--methods", default=None,
                   help="comma-separated subset of the methods (default: all available)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write report.md, PNG plots and CSV tables into DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run_evaluate)
    return p


def _split_list(s: str | None) -> list[str] | None:
    if s is None:
        return None
    return [x.strip() for x in s.split(",") if x.strip()]


def run_evaluate(args: Any) -> int:
    """Run ``energylens evaluate`` from parsed arguments; returns the exit status."""
    import json

    from energylens.datasets import load_profiles_or_bundled
    from energylens.report import format_summary, write_report

    res = run_evaluation(load_profiles_or_bundled(args.profiles), train_size=args.train_size,
                         repeats=args.repeats,
                         group_by=_split_list(args.group_by) or DEFAULT_GROUP_BY,
                         tpot_slo=args.tpot_slo, seed=args.seed,
                         splits=_split_list(args.splits) or SPLIT_NAMES,
                         method_names=_split_list(args.methods),
                         progress=not args.no_progress)
    report_path = None
    if args.report:
        cmd = "energylens evaluate " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
        report_path = write_report(res, args.report, command=cmd)
    if args.json:
        s = res.summary()
        info = {k: v for k, v in res.info.items() if k != "notes"}
        info["report"] = str(report_path) if report_path else None
        print(json.dumps({"info": info, "summary": json.loads(s.to_json(orient="records"))},
                         indent=1))
    else:
        print(format_summary(res))
        if OURS_MISSING_NOTE and "energylens" not in res.info["methods"]:
            print(OURS_MISSING_NOTE)
        print(f"run time {res.info['runtime_s']:.0f} s"
              + (f"; report: {report_path}" if report_path else ""))
    return 0


OURS_MISSING_NOTE = ("note: the closed form (energylens.model) is not available, so only the "
                     "baselines were compared")


def demo_comparison(report_dir: str | Path = "energylens-report", *, repeats: int = 5,
                    seed: int = 0, train_size: int = 50, progress: bool = True,
                    profiles: pd.DataFrame | None = None) -> str:
    """The comparison ``energylens demo`` ends with: bundled data, report written to ``report_dir``.

    Returns the text to print: a short table (one line per method) and where the report went.
    """
    from energylens.datasets import load_profiles_or_bundled
    from energylens.report import format_summary, write_report

    df = profiles if profiles is not None else load_profiles_or_bundled("bundled")
    res = run_evaluation(df, train_size=train_size, repeats=repeats, seed=seed,
                         progress=progress)
    path = write_report(res, report_dir, command=f"energylens demo (repeats={repeats})")
    text = format_summary(res)
    if "energylens" not in res.info["methods"]:
        text += "\n" + OURS_MISSING_NOTE
    return text + f"\nfull comparison ({res.info['runtime_s']:.0f} s): {path}"
