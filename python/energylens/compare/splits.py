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
from energylens.compare.names import name_labels

__all__ = ["DEFAULT_GROUP_BY", "CURVE_SIZES", "GPU_SHOTS", "SPLIT_NAMES", "Split", "make_splits",
           "random_splits", "curve_splits", "unseen_batch_split", "unseen_gpu_splits", "unseen_model_splits"]

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
                      seed: int = 0) -> list[Split]:
    """Train on every row of one GPU plus ``k`` random rows of another; test on that GPU's rest.

    Every ordered pair of GPUs (the spellings of one GPU are one, :func:`energylens.compare.names.name_labels`);
    ``k = 0`` is deterministic (one repeat). Empty with one GPU.
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
                    pick = rngs[r].permutation(dst_idx)
                    train = np.sort(np.concatenate([src_idx, pick[:k]]))
                    out.append(Split("unseen_gpu", f"k={k}", detail, r, train, np.sort(pick[k:])))
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


