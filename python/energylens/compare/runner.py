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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.methods import default_methods
from energylens.compare.metrics import METRICS, SLO_METRICS, _Groups, score_groups
from energylens.compare.splits import CURVE_SIZES, DEFAULT_GROUP_BY, GPU_SHOTS, SPLIT_NAMES, make_splits
from energylens.errors import EnergyLensError
from energylens.profiles import read_profiles

__all__ = ["EvaluationResult", "evaluate", "run_evaluation", "summarize", "overview"]


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
    ``energylens.profiles.datasets.load_profiles_or_bundled``, as the command line does).
    ``methods``: a callable ``seed -> list of fresh methods`` (default: every method of
    ``energylens.compare.methods.default_methods``, or those named in ``method_names``). Methods are made
    fresh for every split with the seed ``seed * 1000 + repeat``. A method whose fit or prediction
    raises ``ValueError``/``ArithmeticError``/``LinAlgError``/``EnergyLensError`` gets NaN metrics
    and the message in the ``error`` column (and one warning), never a silent zero.
    """
    t0 = time.perf_counter()
    if not isinstance(profiles, pd.DataFrame):
        profiles = read_profiles(str(profiles))
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


