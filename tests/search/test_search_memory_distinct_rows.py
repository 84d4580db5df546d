"""The memory check's weight-format lookups run once per distinct (precision, model, layout) row, not per row: a
42k-row ``energylens predict`` normalised the precision name 672k times (tables.bytes_per_param and
normalize_precision row by row in search/memory.py). The values are those of each row computed alone."""

import numpy as np
import pandas as pd

from energylens.profiles import tables
from energylens.profiles.datasets import mlenergy_v2
from energylens.search import memory

SPELLINGS = ["bf16", "BF16", "bfloat16", "fp8", "FP8", "int4", "AWQ", "mxfp4", "fp16"]


def _rows(n: int) -> pd.DataFrame:
    base = mlenergy_v2()
    moe = base[base["n_experts"] > 1].head(3)
    frame = pd.concat([base.head(40), moe] * (n // 43 + 1), ignore_index=True).head(n).copy()
    frame["precision"] = [SPELLINGS[i % len(SPELLINGS)] for i in range(len(frame))]
    return frame


def test_precision_lookups_run_once_per_distinct_row(monkeypatch):
    frame = _rows(4000)
    calls = {"n": 0}
    for name in ("bytes_per_param", "normalize_precision"):
        real = getattr(tables, name)

        def counted(*a, _real=real, **k):
            calls["n"] += 1
            return _real(*a, **k)
        monkeypatch.setattr(tables, name, counted)
    memory.weight_parts(frame)
    distinct = len(frame[["model", "precision"]].drop_duplicates())
    assert calls["n"] <= 10 * distinct < len(frame), (calls, distinct)  # before: ~16 per row


def test_the_values_are_each_rows_own():
    frame = _rows(129)
    together = memory.weight_parts(frame)
    alone = [memory.weight_parts(frame.iloc[[i]]) for i in range(len(frame))]
    for k, part in enumerate(together):
        np.testing.assert_array_equal(np.asarray(part, dtype=float),
                                      np.array([float(np.asarray(a[k])[0]) for a in alone]))
    assert len({float(x) for x in together[0]}) > 10  # the formats and models do differ
