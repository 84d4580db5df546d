"""The runner: fit every method on the same seeded training rows, score it on the same held-out rows.

:func:`run_evaluation` draws each split once (:mod:`energylens.compare.splits`) and hands every method its
own copy of the same training and held-out rows; it reads only the members of the
:class:`~energylens.compare.methods.Method` protocol. :func:`evaluate` returns its tidy table, one row
per (repeat, split, variant, detail, train_size, method, group);
:func:`~energylens.compare.result.summarize` turns it into one row per method (or any break-down such as
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

With ``tpot_slo_s`` (a TPOT limit in s) the Top-1 and regret of a group are taken among the candidates whose predicted
(for the method) and measured TPOT both meet the limit; a method without a latency model
(``has_tpot()`` false) is given the measured TPOT (``tpot_source = "measured"`` in the table).

Splits (:func:`make_splits`), each seeded with a ``numpy.random.Generator``:

* ``random`` -- ``train_size`` rows drawn per repeat, every other row held out.
* ``curve`` -- sample efficiency: per repeat a fixed held-out quarter; nested training sets of
  12, 25, 50, 100, 200, 400 rows (where the data allows) and all the remaining rows.
* ``unseen_batch`` -- per group, train on the smaller half of its batch sizes, test on the larger.
* ``unseen_gpu`` -- train on one GPU plus ``k`` rows of the other (k = 0, 5, 10), test on the rest
  of the other; both directions.
* ``unseen_model`` -- leave one model out.

Summaries are in :mod:`energylens.compare.result`. Imports :mod:`energylens.profiles` (reading a path),
the compare modules below it and :mod:`energylens.extras` (tqdm, when installed).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.coverage import check_level, interval_coverage, interval_reason
from energylens.compare.inputs import shared_template_inputs, template_inputs
from energylens.compare.methods import Method, check_method
from energylens.compare.metrics import SLO_METRICS, _Groups, choice_counts, score_groups
from energylens.compare.names import canonical_names
from energylens.compare.registry import default_methods
from energylens.compare.result import EvaluationResult
from energylens.compare.splits import (
    CURVE_SIZES,
    DEFAULT_GROUP_BY,
    GPU_SHOTS,
    SPLIT_NAMES,
    DuplicateRowsWarning,
    Split,
    duplicate_message,
    duplicate_units,
    make_splits,
)
from energylens.errors import EnergyLensError, ProfileSchemaError, renamed_argument
from energylens.extras import optional
from energylens.profiles import cells, read_profiles
from energylens.profiles.problems import frame_source, problem_text
from energylens.profiles.row_names import as_read

__all__ = ["evaluate", "run_evaluation", "check_seed", "CAUGHT"]


MethodFactory = Callable[[int], Sequence[Method]]

#: What a method may raise and still leave the run going (NaN metrics and the message in ``error``).
CAUGHT = (ValueError, ArithmeticError, np.linalg.LinAlgError, EnergyLensError)

_SCORE_COLUMNS = ("top1", "regret_pct", "pairs_concordant", "pairs_total", "spearman", "ape_sum", "top1_tpot",
                  "par_hits")


def _validate(df: pd.DataFrame, group_by: Sequence[str], tpot_slo: float | None) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"profiles must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in group_by if c not in df.columns]
    if missing:
        raise ValueError(f"unknown group column(s) {missing}; the profiles have columns "
                         f"{sorted(map(str, df.columns))}")
    twice = sorted({c for c in group_by if list(group_by).count(c) > 1})
    if twice:  # (pandas' "Grouper for 'task' not 1-dimensional" came out of the first split's scoring)
        raise ValueError(f"group column(s) {twice} named more than once (--group-by); name each once")
    need = ["energy_j", "batch_size", "model", "gpu"]
    if tpot_slo is not None:
        need.append("tpot_s")
        if not tpot_slo > 0:
            raise ValueError(f"tpot_slo_s must be a positive number of seconds, got {tpot_slo}")
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise ValueError(f"profiles lack column(s) {absent} needed by the evaluation")
    e = df["energy_j"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(e) & (e > 0))
    if bad.any():  # a frame edited after validation: named as the schema names such a frame (positions, labels)
        rows = np.flatnonzero(bad)
        src = frame_source(df.attrs.get("source"), edited=as_read(df) is not True)  # read so, or typed in
        raise ProfileSchemaError(f"{src}: " + problem_text(rows, "energy_j", "must be finite and > 0 (joules per request)",
                                                          list(e[rows[:5]]), df.index), source=src, column="energy_j",
                                 rows=rows.tolist())
    _check_batch_settings(df)


#: The serving settings the splits (unseen_batch) and the parallelism metric read: a count of requests, or blank.
BATCH_SETTINGS = ("max_num_seqs", "max_batch_size")


def _check_batch_settings(df: pd.DataFrame) -> None:
    """ValueError naming the file, column and 1-based data rows for a :data:`BATCH_SETTINGS` cell that is not a
    number >= 1 (blank is fine: not known). The schema keeps these columns as given; a '64x' failed the
    unseen_batch split with "could not convert string to float" and left the parallelism metric NaN."""
    src = str(df.attrs.get("source", "profiles"))
    for col in BATCH_SETTINGS:
        if col not in df.columns:
            continue
        values, text = cells.to_numeric(df[col])
        v = values.to_numpy()
        with np.errstate(invalid="ignore"):
            bad = text | (~np.isnan(v) & ~(np.isfinite(v) & (v >= 1)))
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ProfileSchemaError(
                f"{src}: " + problem_text(rows, col, "not a number of requests >= 1 (blank: not known)",
                                          list(df[col].iloc[rows[:5]])), source=src, column=col,
                rows=rows.tolist())


#: Method seeds (``seed * METHOD_SEED_STRIDE + repeat``) stay below this: the fits take a seed in [0, 2**63).
METHOD_SEED_LIMIT = 2**63
METHOD_SEED_STRIDE = 1000
#: Most repeats of one run: with more, repeat ``METHOD_SEED_STRIDE`` of seed S would get the method seed of seed
#: S+1's first repeat. No seeding of the repeats past it can avoid every run's (seed * 1000 + repeat covers every
#: integer once repeats below 1000 keep the seeds the documented figures depend on), so more are refused.
MAX_REPEATS = METHOD_SEED_STRIDE


def check_seed(seed: int, repeats: int) -> None:
    """ValueError when a method's seed would pass :data:`METHOD_SEED_LIMIT` (every fit of ours failed with "seed
    must be an integer in [0, 2**63)"), naming the largest usable seed, or repeat a seed another run gives its
    methods (more than :data:`MAX_REPEATS` repeats). Seeds are kept as they were (documented figures depend on
    them), so the seed and the repeats are bounded instead. :func:`run_evaluation` calls it; a command line
    calls it too, right after parsing (the bound depends on the repeats, which a seed's argument type cannot
    see), so a bad seed is refused before any data is read."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(repeats, (int, np.integer)) and repeats > MAX_REPEATS:
        raise ValueError(
            f"repeats {repeats} is more than {MAX_REPEATS}: each method is seeded seed * {METHOD_SEED_STRIDE} + repeat, "
            f"so repeat {METHOD_SEED_STRIDE} of seed {seed} would reuse the method seed of the first repeat of seed "
            f"{seed + 1} (the two runs' fits would not be independent); run at most {MAX_REPEATS} repeats, and for "
            f"more run again with seed {seed + 1}, {seed + 2}, ... (their method seeds never overlap) and pool the results")
    top = (METHOD_SEED_LIMIT - max(int(repeats), 1)) // METHOD_SEED_STRIDE
    if seed > top:
        raise ValueError(f"seed {seed} is too large: each method is seeded seed * {METHOD_SEED_STRIDE} + repeat, which "
                         f"must stay below 2**63, so with {repeats} repeats the seed must be at most {top}")


def _prepare(profiles: pd.DataFrame | str, group_by: tuple[str, ...], tpot_slo: float | None) -> pd.DataFrame:
    """The profiles read (a path), checked and indexed by position; copies of a row warned of (the splits keep
    them on its side, :func:`energylens.compare.splits.make_splits`, and the figures count them as rows)."""
    if not isinstance(profiles, pd.DataFrame):
        profiles = read_profiles(str(profiles))
    _validate(profiles, group_by, tpot_slo)
    df = profiles.reset_index(drop=True)
    units = duplicate_units(df)
    if units is not None:
        warnings.warn(duplicate_message(df, units, str(profiles.attrs.get("source", "profiles"))),
                      DuplicateRowsWarning, stacklevel=3)
    return df


def _default_factory(gpu_spec: Any, include: tuple[str, ...] | None) -> MethodFactory:
    def factory(seed: int) -> Sequence[Method]:
        return default_methods(seed=seed, gpu_spec=gpu_spec, include=include)
    return factory


class _Progress:
    """A tqdm bar on stderr when tqdm is installed and stderr is a terminal, else plain lines once the run
    has taken a second: one each tenth of the work, and one whenever 10 s passed without (a log file or CI
    output gets about 10 lines, not hundreds of carriage-return redraws; a fast run none), with the time left."""

    def __init__(self, total: int, enabled: bool, what: str = "fits") -> None:
        self.total, self.done, self.enabled, self.what = total, 0, enabled, what
        self.t0 = time.perf_counter()
        tty = getattr(sys.stderr, "isatty", lambda: False)()
        tqdm = optional("tqdm.auto") if enabled and tty else None
        self.bar = (tqdm.tqdm(total=total, desc=f"evaluate ({what})", unit="fit", file=sys.stderr, leave=False)
                    if tqdm is not None else None)
        self.every = max(1, total // 10)
        self.last = self.t0

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        now = time.perf_counter()
        run = now - self.t0
        if not self.enabled or run < 1.0:
            return
        if self.done % self.every == 0 or self.done == self.total or now - self.last >= 10.0:
            self.last = now
            left = self.total - self.done
            eta = f"; about {_rough(run * left / self.done)} left" if 0 < left else ""
            print(f"evaluate: {self.done}/{self.total} {self.what}, {run:.0f} s{eta}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _rough(seconds: float) -> str:
    """A rough time for a progress line: 40 s, 12 min."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


@dataclass
class _Outcome:
    """One method on one split: its predictions, or the error that stopped it."""

    pred: np.ndarray
    pred_tpot: np.ndarray | None
    tpot_source: str
    error: str


def _fit_predict(method: Method, train_df: pd.DataFrame, test_df: pd.DataFrame,
                 tpot_slo: float | None) -> _Outcome:
    """Fit on ``train_df``, predict ``test_df``; a :data:`CAUGHT` error becomes NaN predictions and a message."""
    tpot_source = "" if tpot_slo is None else "measured"
    try:
        method.fit(train_df)
        pred = np.asarray(method.predict_energy(test_df), dtype=float)
        if pred.shape != (len(test_df),):
            raise ValueError(f"{method.name} returned {pred.shape} predictions for {len(test_df)} rows")
        if not np.all(np.isfinite(pred)):
            raise ValueError(f"{method.name} predicted non-finite energy")
        pred_tpot = None
        if tpot_slo is not None and method.has_tpot():
            pred_tpot = np.asarray(method.predict_tpot(test_df), dtype=float)
            if pred_tpot.shape != (len(test_df),):  # a custom method's: a raw traceback in the scoring otherwise
                raise ValueError(f"{method.name} returned {pred_tpot.shape} TPOT predictions for {len(test_df)} rows")
            if not np.all(np.isfinite(pred_tpot)):  # a NaN row silently stopped being a candidate
                raise ValueError(f"{method.name} predicted non-finite TPOT for {int((~np.isfinite(pred_tpot)).sum())} "
                                 "rows")
            tpot_source = "predicted"
        return _Outcome(pred, pred_tpot, tpot_source, "")
    except CAUGHT as exc:
        return _Outcome(np.full(len(test_df), np.nan), None, tpot_source, f"{type(exc).__name__}: {exc}")


def _score(test_df: pd.DataFrame, out: _Outcome, method: Method, sp: Split, groups: _Groups,
           group_by: Sequence[str], tpot_slo: float | None) -> pd.DataFrame:
    """The per-group rows of one method on one split, keyed by split and method."""
    if out.error:
        g = score_groups(test_df, np.ones(len(test_df)), group_by, _groups=groups)
        for c in (*_SCORE_COLUMNS, *(SLO_METRICS if tpot_slo is not None else ())):
            g[c] = np.nan
    else:
        g = score_groups(test_df, out.pred, group_by, out.pred_tpot, tpot_slo,
                         bool(method.predicts_energy_scale), _groups=groups)
    for col, value in (("method", method.name), ("train_size", sp.train_size), ("detail", sp.detail),
                       ("variant", sp.variant), ("split", sp.split), ("repeat", sp.repeat)):
        g.insert(0, col, value)
    g["tpot_source"] = out.tpot_source
    g["error"] = out.error
    return g


def _prediction_rows(test_df: pd.DataFrame, labels: pd.DataFrame, out: _Outcome, method: Method, sp: Split,
                     group_by: Sequence[str]) -> pd.DataFrame:
    """Per held-out row: measured and predicted energy (kept for the ``random`` split's plots); ``labels``: the
    rows with the names their group is labelled by."""
    return pd.DataFrame({
        "repeat": sp.repeat, "method": method.name, "row": sp.test_idx,
        "group": [" | ".join(map(str, k)) for k in labels[list(group_by)].itertuples(index=False)],
        "modality": test_df["modality"].to_numpy() if "modality" in test_df else "n/a",
        "energy_j": test_df["energy_j"].to_numpy(dtype=float),
        "predicted_energy_j": out.pred,
        "energy_scale": bool(method.predicts_energy_scale),
    })


class _Notes:
    """Each method's ``run_notes()``, collected per split family and averaged at the end."""

    def __init__(self) -> None:
        self._by: dict[str, dict[str, dict[str, list[float]]]] = {}

    def add(self, name: str, split: str, notes: Mapping[str, float]) -> None:
        for key, value in notes.items():
            self._by.setdefault(name, {}).setdefault(key, {}).setdefault(split, []).append(float(value))

    def means(self) -> dict[str, dict[str, dict[str, float]]]:
        return {name: {key: {split: float(np.mean(v)) for split, v in per.items()} for key, per in keys.items()}
                for name, keys in self._by.items()}


def _train_sizes(splits: Sequence[Split], asked: int) -> dict[str, Any]:
    """``train_size``: the rows each random draw trained on. Copies of a row are drawn with it
    (:func:`energylens.compare.splits.take_with_copies`), so a draw may hold fewer than asked (every row doubled:
    --train-size 51 draws 50), and the report and terminal said 51 where summary.csv said 50. Where the draws
    differ from ``asked``: ``train_size_asked`` and ``train_sizes_drawn`` too, and ``train_size`` is the drawn one
    (all draws alike) or the asked one (draws of several sizes)."""
    drawn = sorted({sp.train_size for sp in splits if sp.split == "random"})
    if not drawn or drawn == [asked]:
        return {"train_size": asked}
    return {"train_size": drawn[0] if len(drawn) == 1 else asked, "train_size_asked": asked,
            "train_sizes_drawn": drawn}


def _check_methods(methods: Any, method_names: Sequence[str] | None) -> None:
    """TypeError for a ``methods=`` that is not a factory (a list of names reached the runner as "'list' object is
    not callable"), naming ``method_names=``; ValueError for both given (the names were ignored without a word)."""
    if methods is not None and not callable(methods):
        hint = (f"; to run methods by name pass method_names={list(methods)!r}"
                if isinstance(methods, (list, tuple)) and all(isinstance(m, str) for m in methods) else "")
        raise TypeError(f"methods= takes a callable seed -> list of fresh Method objects (methods=lambda seed: [...]), "
                        f"got {type(methods).__name__}{hint}")
    if methods is not None and method_names is not None:
        raise ValueError("pass methods= (a factory of Method objects) or method_names= (built-in or registered "
                         "methods by name), not both: the factory makes the methods, so the names would be ignored")


def _check_template_inputs(df: pd.DataFrame, gpu_spec: Any) -> None:
    """The baselines' inputs of every row, computed once before the run: a bad row fails now, by its row in the
    frame, not once per split after the whole run, by its row in a split (what warns, warns again where a method
    computes it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template_inputs(df, gpu_spec)


def _coverage(df: pd.DataFrame, all_splits: Sequence[Split], factory: MethodFactory, seed: int,
              level: float | None, bootstrap: int | None, progress: bool) -> dict[str, Any]:
    """``{"coverage": interval_coverage on the random splits}`` (timed, with its own progress); {} when ``level`` is
    None. The methods that give intervals are refitted with ``bootstrap`` refits (None: the model's default)."""
    if level is None:
        return {}
    t0 = time.perf_counter()
    random = [sp for sp in all_splits if sp.split == "random"]
    n = sum(not interval_reason(m) for m in factory(seed)) * len(random)
    bar = _Progress(n, progress, "interval fits")
    out = interval_coverage(df, random, factory, lambda r: seed * METHOD_SEED_STRIDE + r, level,
                            bootstrap=bootstrap, tick=bar.update)
    bar.close()
    return {"coverage": {**out, "runtime_s": time.perf_counter() - t0}}


def run_evaluation(profiles: pd.DataFrame | str, *, train_size: int = 50, repeats: int = 20,
                   group_by: Sequence[str] = DEFAULT_GROUP_BY, tpot_slo_s: float | None = None,
                   seed: int = 0, splits: Iterable[str] = SPLIT_NAMES,
                   methods: MethodFactory | None = None, method_names: Sequence[str] | None = None,
                   curve_sizes: Iterable[int] = CURVE_SIZES,
                   gpu_shots: Iterable[int] = GPU_SHOTS,
                   gpu_spec: Any = None, progress: bool = True, tpot_slo: float | None = None,
                   coverage: float | None = None, coverage_bootstrap: int | None = None) -> EvaluationResult:
    """Fit every method on exactly the same training rows and score it on the same held-out rows.

    ``profiles``: a schema-v1 frame, a profile file, an ML.ENERGY v2 flat CSV, or ``"bundled"`` (read with
    ``energylens.profiles.read_profiles``, as the command line does).
    ``methods``: a callable ``seed -> list of fresh methods`` (default: every method of
    ``energylens.compare.registry.default_methods``, or those named in ``method_names``); each must have
    every member of :class:`~energylens.compare.methods.Method` (``TypeError`` naming what is missing).
    Methods are made fresh for every split with the seed ``seed * 1000 + repeat``, so at most
    :data:`MAX_REPEATS` repeats (more are a ValueError: the run with ``seed + 1`` would reuse their seeds). A method whose fit or
    prediction raises one of :data:`CAUGHT` gets NaN metrics and the message in the ``error`` column (and
    one warning), never a silent zero. The template's inputs the baselines read are computed once for
    ``profiles`` and sliced per split (:func:`energylens.compare.inputs.shared_template_inputs`), the same
    bits as computed per call. ``tpot_slo_s``: score Top-1 and regret among the candidates meeting this TPOT (s);
    ``tpot_slo`` is its deprecated name (0.1.0; a DeprecationWarning). ``coverage``: a level in (0, 1), adds
    ``info["coverage"]`` (:mod:`energylens.compare.coverage`). Returns an :class:`EvaluationResult` (``info
    ["tpot_slo"]`` keeps its name: bench JSON files hold it). Raises ProfileSchemaError for an invalid
    profile row, ValueError for a bad argument, TypeError for a method missing a member.
    """
    tpot_slo = renamed_argument("run_evaluation", "tpot_slo", "tpot_slo_s", tpot_slo, tpot_slo_s)
    t0, group_by = time.perf_counter(), tuple(group_by)
    check_seed(seed, repeats)
    _check_methods(methods, method_names)
    coverage = None if coverage is None else check_level(coverage, "coverage")
    df = _prepare(profiles, group_by, tpot_slo)
    named = canonical_names(df)  # the spellings of one GPU or model are one, in splits and groups
    all_splits = make_splits(df, train_size=train_size, repeats=repeats, seed=seed, group_by=group_by,
                             splits=splits, curve_sizes=curve_sizes, gpu_shots=gpu_shots)
    factory = methods or _default_factory(gpu_spec, None if method_names is None else tuple(method_names))
    n_methods = len(factory(seed))
    if n_methods == 0:
        raise ValueError("no methods to evaluate")
    tables: list[pd.DataFrame] = []
    preds: list[pd.DataFrame] = []
    notes = _Notes()
    warned: set[str] = set()
    fit_seconds: dict[str, float] = {}
    bar = _Progress(len(all_splits) * n_methods, progress)
    with shared_template_inputs(df, gpu_spec):  # the baselines' inputs: computed once, sliced per split
        if methods is None:  # the built-in methods read them: a bad row fails now, by its row in the frame
            _check_template_inputs(df, gpu_spec)
        for sp in all_splits:
            test_ref = df.iloc[sp.test_idx]  # what is scored; methods only ever see copies
            labels = named.iloc[sp.test_idx]  # groups by the names of the whole frame: one label per GPU, model
            groups = _Groups(labels, group_by)
            for method in factory(seed * METHOD_SEED_STRIDE + sp.repeat):
                check_method(method)
                tf = time.perf_counter()
                # fresh copies per method, so a method that writes into its input can neither leak
                # into the next method's rows nor into the measurements it is scored against
                out = _fit_predict(method, df.iloc[sp.train_idx].copy(), test_ref.copy(), tpot_slo)
                fit_seconds[method.name] = fit_seconds.get(method.name, 0.0) + time.perf_counter() - tf
                if out.error and method.name not in warned:
                    warned.add(method.name)
                    warnings.warn(f"{method.name} failed on split {sp.key()}: {out.error}", RuntimeWarning,
                                  stacklevel=2)
                tables.append(_score(test_ref, out, method, sp, groups, group_by, tpot_slo))
                if sp.split == "random":
                    preds.append(_prediction_rows(test_ref, labels, out, method, sp, group_by))
                if not out.error:
                    notes.add(method.name, sp.split, method.run_notes())
                bar.update()
    bar.close()
    info = {
        "seed": seed, "repeats": repeats, **_train_sizes(all_splits, train_size), "group_by": list(group_by),
        "tpot_slo": tpot_slo, "n_rows": len(df), "n_splits": len(all_splits),
        "choices": choice_counts(named, group_by),  # why a metric is n/a for every method (report_tables)
        "methods": list(dict.fromkeys(t["method"].iloc[0] for t in tables)) if tables else [],
        "notes": notes.means(), "fit_seconds": fit_seconds,
        **_coverage(df, all_splits, factory, seed, coverage, coverage_bootstrap, progress),
        "runtime_s": time.perf_counter() - t0}  # the whole run: the interval fits (coverage.runtime_s) too
    return EvaluationResult(pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
                            pd.concat(preds, ignore_index=True) if preds else pd.DataFrame(), info)


def evaluate(profiles: pd.DataFrame | str, *, train_size: int = 50, repeats: int = 20,
             group_by: Sequence[str] = DEFAULT_GROUP_BY, tpot_slo_s: float | None = None,
             seed: int = 0, splits: Iterable[str] = SPLIT_NAMES,
             methods: MethodFactory | None = None, method_names: Sequence[str] | None = None,
             progress: bool = True, **kwargs: Any) -> pd.DataFrame:
    """The tidy result table of :func:`run_evaluation`.

    One row per (``repeat``, ``split``, ``variant``, ``detail``, ``train_size``, ``method``,
    ``group``) with the ``group_by`` columns, ``modality``, ``task``, ``n_rows``, ``n_candidates``,
    ``top1``, ``regret_pct``, ``pairs_concordant``, ``pairs_total``, ``spearman``, ``ape_sum``,
    ``tpot_source`` and ``error``. Aggregate it with :func:`~energylens.compare.result.summarize`. Arguments
    (``tpot_slo`` the deprecated name of ``tpot_slo_s``, s) and errors as :func:`run_evaluation`.
    """
    return run_evaluation(profiles, train_size=train_size, repeats=repeats, group_by=group_by,
                          tpot_slo_s=tpot_slo_s, seed=seed, splits=splits, methods=methods,
                          method_names=method_names, progress=progress, **kwargs).table
