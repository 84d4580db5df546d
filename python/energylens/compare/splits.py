"""Seeded train/test splits of a profile table: random draws, sample-efficiency curves, unseen batch
sizes, unseen GPU (few-shot), unseen model.

Owns: :class:`Split` and the split builders. Imports numpy, pandas, :mod:`energylens.compare.metrics`
(group codes) and :mod:`energylens.compare.names` (the spellings of one GPU or model are one: an "unseen"
GPU or model is unseen under every name).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energylens.compare.metrics import _group_codes
from energylens.compare.names import canonical_names, name_labels
from energylens.outputs import plural

__all__ = ["DEFAULT_GROUP_BY", "CURVE_SIZES", "GPU_SHOTS", "SPLIT_NAMES", "Split", "make_splits",
           "random_splits", "curve_splits", "unseen_batch_split", "unseen_gpu_splits", "unseen_model_splits",
           "PROVENANCE_COLUMNS", "DuplicateRowsWarning", "duplicate_units", "duplicate_message", "take_with_copies"]

DEFAULT_GROUP_BY = ("task", "model", "gpu")
CURVE_SIZES = (12, 25, 50, 100, 200, 400)
GPU_SHOTS = (0, 5, 10)
SPLIT_NAMES = ("random", "curve", "unseen_batch", "unseen_gpu", "unseen_model")
CURVE_TEST_FRACTION = 0.25


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


#: Columns that say where a row came from, not what was measured: a row copied from another file is still a copy.
PROVENANCE_COLUMNS = ("source_file",)


def duplicate_units(df: pd.DataFrame) -> np.ndarray | None:
    """Per row, a number it shares exactly with the rows it copies: equal in every column but
    :data:`PROVENANCE_COLUMNS` (the same configuration and the same measurement; a GPU or model under any
    spelling, :mod:`energylens.compare.names`; NaN equal to NaN). None when no row copies another."""
    cols = [c for c in df.columns if c not in PROVENANCE_COLUMNS]
    if not cols or len(df) < 2:
        return None
    key = canonical_names(df[cols]).reset_index(drop=True)
    units = key.groupby(cols, sort=False, dropna=False).ngroup().to_numpy()
    return units if np.unique(units).size < len(df) else None


class DuplicateRowsWarning(UserWarning):
    """Rows of the evaluated profiles copy other rows exactly; each copy is kept on its row's side of every split."""


def duplicate_message(df: pd.DataFrame, units: np.ndarray, source: str, shown: int = 10) -> str:
    """What :class:`DuplicateRowsWarning` says: the copies as 1-based data rows, each with the row it copies."""
    first: dict[int, int] = {}
    pairs = []
    for i, u in enumerate(units.tolist()):
        if u in first:
            pairs.append((i, first[u]))
        else:
            first[u] = i
    listed = ", ".join(f"{i + 1} (= {j + 1})" for i, j in pairs[:shown])
    more = f" and {len(pairs) - shown} more" if len(pairs) > shown else ""
    return (f"{source}: {len(pairs)} data row(s) copy an earlier row exactly (the same configuration and measurement "
            f"in every column but {', '.join(PROVENANCE_COLUMNS)}): data rows {listed}{more} (1-based, header not "
            "counted; '= N': the row copied). Each copy is kept on its row's side of every split, so no row is scored "
            "while a copy of it is trained on; the figures count the copies as rows. Remove them if they are not "
            "repeated measurements")


def take_with_copies(order: np.ndarray, n: int, units: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` rows of ``order`` and the rest (both in the order's order). With ``units``
    (:func:`duplicate_units`) a row comes with its copies: walking ``order``, each row's copies are taken
    together while they fit in ``n`` and left together otherwise, so no copy is on both sides (the taken
    side may then hold fewer than ``n``). Without copies: ``order[:n]``, ``order[n:]``."""
    if units is None:
        return order[:n], order[n:]
    members: dict[int, list[int]] = {}
    for i in order.tolist():
        members.setdefault(int(units[i]), []).append(i)
    taken: list[int] = []
    seen: set[int] = set()
    for i in order.tolist():
        u = int(units[i])
        if len(taken) >= n:
            break
        if u in seen:
            continue
        seen.add(u)
        if len(taken) + len(members[u]) <= n:
            taken += members[u]
    took = np.asarray(taken, dtype=order.dtype)
    return took, order[~np.isin(order, took)]


def _rngs(seed: int, repeats: int, salt: int) -> list[np.random.Generator]:
    ss = np.random.SeedSequence([int(seed), salt])
    return [np.random.default_rng(s) for s in ss.spawn(repeats)]


def _check_train_size(n_rows: int, train_size: int) -> None:
    if train_size < 1:
        raise ValueError(f"train size must be at least 1, got {train_size}")
    if n_rows < 2:  # (it advised "choose a train size below 1", which no train size is)
        raise ValueError(f"the profiles have {plural(n_rows, 'row')}: a split needs at least 2, one to train on and "
                         "one to hold out")
    if train_size >= n_rows:
        raise ValueError(f"train size {train_size} leaves no held-out rows: the profiles have "
                         f"{plural(n_rows, 'row')}; choose a train size below {n_rows}")


def random_splits(n_rows: int, train_size: int, repeats: int, seed: int = 0,
                  units: np.ndarray | None = None) -> list[Split]:
    """``train_size`` rows drawn without replacement per repeat; every other row is held out. ``units``
    (:func:`duplicate_units`): copies of a row are drawn with it or held out with it."""
    _check_train_size(n_rows, train_size)
    out = []
    for r, rng in enumerate(_rngs(seed, repeats, 1)):
        train, test = take_with_copies(rng.permutation(n_rows), train_size, units)
        out.append(Split("random", "", "", r, np.sort(train), np.sort(test)))
    return out


def curve_splits(n_rows: int, sizes: Iterable[int] = CURVE_SIZES, repeats: int = 20,
                 seed: int = 0, test_fraction: float = CURVE_TEST_FRACTION,
                 units: np.ndarray | None = None) -> list[Split]:
    """Sample efficiency: per repeat a fixed held-out set, nested training sets of each size.

    Sizes larger than the pool (the rows not held out) are dropped; the whole pool ("all the
    others") is always one of the sizes, so small-sample and full-data methods meet on the same
    held-out rows. ``units`` (:func:`duplicate_units`): copies of a row are on its side.
    """
    n_test = max(1, int(round(n_rows * test_fraction)))
    pool = n_rows - n_test
    if pool < 2:
        raise ValueError(f"too few rows for a sample-efficiency curve: the profiles have {plural(n_rows, 'row')}, of "
                         "which it holds out a quarter and needs 2 or more of the rest to train on")
    sizes = list(sizes)
    out = []
    for r, rng in enumerate(_rngs(seed, repeats, 2)):
        perm = rng.permutation(n_rows)
        held, rest = take_with_copies(perm[::-1], n_test, units)  # the last n_test rows of the draw (copies together)
        rest = rest[::-1]
        test = np.sort(held)
        for s in sorted({s for s in sizes if 1 <= s < rest.size} | {rest.size}):
            out.append(Split("curve", "", "", r, np.sort(take_with_copies(rest, s, units)[0]), test))
    return out


def unseen_batch_split(df: pd.DataFrame, group_by: Sequence[str]) -> list[Split]:
    """Per group, train on the smaller half of its distinct batch sizes, test on the larger.

    Batch sizes are, per group, the configured ``max_batch_size`` or ``max_num_seqs`` where that column is
    filled on every row of the group (the knob an operator sets; the ML.ENERGY v3 reader fills
    ``max_num_seqs``), else ``batch_size`` (the measured running batch, which differs between rows of one
    setting). (One row without the setting used to switch every group of the table to ``batch_size``.) With
    ``n`` distinct batch sizes the smallest ``n // 2`` go to training; a group with a single batch size goes
    entirely to training (it has no larger half).
    """
    codes = _group_codes(df, group_by)
    settings = [df[c].to_numpy(dtype=float) for c in ("max_batch_size", "max_num_seqs") if c in df.columns]
    measured = df["batch_size"].to_numpy(dtype=float)
    is_train = np.zeros(len(df), dtype=bool)
    for code in np.unique(codes):
        idx = np.flatnonzero(codes == code)
        b = next((v[idx] for v in settings if np.isfinite(v[idx]).all()), measured[idx])  # aligned with idx
        sizes = np.unique(b)
        if sizes.size < 2:
            is_train[idx] = True
            continue
        is_train[idx] = b <= sizes[sizes.size // 2 - 1]
    if not is_train.any() or is_train.all():
        return []
    return [Split("unseen_batch", "", "", 0, np.flatnonzero(is_train), np.flatnonzero(~is_train))]


def unseen_gpu_splits(df: pd.DataFrame, shots: Iterable[int] = GPU_SHOTS, repeats: int = 20,
                      seed: int = 0, units: np.ndarray | None = None) -> list[Split]:
    """Train on every row of one GPU plus ``k`` random rows of another; test on that GPU's rest.

    Every ordered pair of GPUs (the spellings of one GPU are one, :func:`energylens.compare.names.name_labels`);
    ``k = 0`` is deterministic (one repeat). Empty with one GPU. ``units`` (:func:`duplicate_units`): a
    row's copies are among the ``k`` with it or held out with it.
    """
    gpus = name_labels(df["gpu"], "gpu")  # one GPU spelled two ways is one GPU, not a pair to hold out
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
                    shots_k, rest = take_with_copies(rngs[r].permutation(dst_idx), k, units)  # a shot's copies with it
                    train = np.sort(np.concatenate([src_idx, shots_k]))
                    out.append(Split("unseen_gpu", f"k={k}", detail, r, train, np.sort(rest)))
    return out


def unseen_model_splits(df: pd.DataFrame) -> list[Split]:
    """Leave one model out: train on every other model's rows, test on the model's rows (every spelling of it,
    :func:`energylens.compare.names.name_labels`)."""
    models = name_labels(df["model"], "model")  # a model's aliases are held out with it
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
    """Every split of the requested families, in a fixed order (a fixed seed gives equal splits). Rows that
    copy one another (:func:`duplicate_units`) are on one side of every split: none is trained on while a
    copy of it is scored."""
    splits = list(splits)
    unknown = [s for s in splits if s not in SPLIT_NAMES]
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; known: {list(SPLIT_NAMES)}")
    twice = list(dict.fromkeys(s for i, s in enumerate(splits) if s in splits[:i]))
    if twice:  # (a repeat ran once, silently)
        raise ValueError(f"split(s) {', '.join(map(repr, twice))} named more than once (each split runs once); "
                         "name each once")
    out: list[Split] = []
    n = len(df)
    units = duplicate_units(df)
    if "random" in splits:
        out += random_splits(n, train_size, repeats, seed, units)
    if "curve" in splits:
        out += curve_splits(n, curve_sizes, repeats, seed, units=units)
    if "unseen_batch" in splits:
        out += unseen_batch_split(df, group_by)
    if "unseen_gpu" in splits:
        out += unseen_gpu_splits(df, gpu_shots, repeats, seed, units)
    if "unseen_model" in splits:
        out += unseen_model_splits(df)
    for s in out:
        if np.intersect1d(s.train_idx, s.test_idx).size:
            raise AssertionError(f"split {s.key()} trains on held-out rows")
        if units is not None and np.intersect1d(units[s.train_idx], units[s.test_idx]).size:
            raise AssertionError(f"split {s.key()} trains on a copy of a held-out row")
    return out


