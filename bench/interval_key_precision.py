"""How many rows change their interval draw key when their numeric columns are read as float32 instead of float64
(a Parquet or NumPy float32 source), at the key's precision (``intervals.KEY_SIGNIFICANT_BITS``) and at others:
the bundled model's feature columns of the 356 bundled ML.ENERGY v2 rows, the 405 v3 H100 rows (when the shared
export is there, bench/data_paths.py) and 1e5 bundled rows resampled with batch, input and output lengths scaled by
U(0.5, 2) (non-integer in every row). "batch" casts ``batch_size`` alone, "all" every numeric column (derived
features are computed after the cast, so they differ by up to ~8e-8 relative, not in the last bits alone).
Distinct keys of the float64 rows against the exact bits' (24 bits: float32 precision, the rounding's first step)
say whether distinct configurations stay apart. Prints a table; no file written (~20 s).

    python bench/interval_key_precision.py [--bits 10 12 14 16 20 24] [--rows 100000]
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.model import intervals as iv
from energylens.profiles.datasets import mlenergy_v2
from energylens.search.api import bundled_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_paths import read_v3_rows  # noqa: E402


def features(model, rows: pd.DataFrame) -> list[np.ndarray]:
    _, chunks = model._chunks(rows, len(rows), None)
    ((_, _, cols),) = list(chunks)
    return [np.broadcast_to(np.atleast_1d(np.asarray(c, dtype=np.float64)), (len(rows),)) for c in cols]


def as_float32(rows: pd.DataFrame, columns=None) -> pd.DataFrame:
    out = rows.copy()
    for c in columns or [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])
                         and not pd.api.types.is_bool_dtype(out[c])]:
        out[c] = out[c].astype(np.float32)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bits", type=int, nargs="+", default=[10, 12, 14, 16, 20, 24])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    model = bundled_model()
    v2 = mlenergy_v2().reset_index(drop=True)
    sets = {"bundled": v2}
    v3 = read_v3_rows("no v3 rows")
    if v3 is not None:
        sets["v3"] = v3
    rng = np.random.default_rng(0)
    syn = v2.sample(args.rows, replace=True, random_state=0).reset_index(drop=True)
    for c in ("batch_size", "input_tokens", "output_tokens"):
        syn[c] = syn[c] * rng.uniform(0.5, 2.0, len(syn))
    sets["resampled"] = syn
    cols = {name: (features(model, df), features(model, as_float32(df, ["batch_size"])),
                   features(model, as_float32(df))) for name, df in sets.items()}
    native = iv.row_keys(cols["bundled"][0])
    assert (native == iv._row_keys_numpy(cols["bundled"][0])).all()  # the definition swept below is the native one
    print("bits  " + "  ".join(f"{n} ({len(df)} rows): batch / all / distinct" for n, df in sets.items()))
    for bits in args.bits:
        line = [f"{bits:>4}" + (" *" if bits == iv.KEY_SIGNIFICANT_BITS else "  ")]
        for f64, batch, every in cols.values():
            k = iv._row_keys_numpy(f64, bits)
            exact = len(np.unique(iv._row_keys_numpy(f64, 24)))
            line.append(f"{int((k != iv._row_keys_numpy(batch, bits)).sum())} / "
                        f"{int((k != iv._row_keys_numpy(every, bits)).sum())} / {len(np.unique(k))} of {exact}")
        print("  ".join(line))


if __name__ == "__main__":
    main()
