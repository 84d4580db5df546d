"""`energylens predict`'s CSV is built column by column (energylens.cli.predict_csv: each distinct value formatted
once, rows joined in C) instead of DataFrame.to_csv, whose float formatting and per-row writer were most of a large
predict's time (42,000 rows: 2.7 -> 0.85 s, bench/bench_predict_cli.py). The bytes must stay to_csv's: checked here
on awkward values and on the command's own output against a run that writes with to_csv."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from energylens.cli import predict as predict_cli
from energylens.cli.main import main
from energylens.cli.predict_csv import csv_header, csv_rows
from energylens.profiles.datasets import mlenergy_v2


def _awkward() -> pd.DataFrame:
    floats = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e16, 9999999999999998.0, 1e-5, 1e-4, 0.1 + 0.2, 5e-324,
              1.7976931348623157e308, 123.456, -2.5e-300, 1.0]
    n = len(floats)
    text = ["plain", "with,comma", 'with "quote"', "two\nlines", " leading space", "", None, "cr\rhere", "é ü",
            "trailing ", "'single'", "a;b", "tab\there", "x", "x"]
    return pd.DataFrame({
        "f": floats,
        "i": np.arange(n, dtype=np.int64) * -7 + 3,
        "u": np.arange(n, dtype=np.uint32),
        "b": np.arange(n) % 2 == 0,
        "nb": pd.array([True, False, None] * (n // 3), dtype="boolean"),
        "ni": pd.array([1, None, -3] * (n // 3), dtype="Int64"),
        "s": pd.array(text, dtype="str"),
        "o": pd.Series([t if t is not None else np.nan for t in text], dtype=object),
        "name, quoted \"x\"": np.linspace(-1, 1, n),
    })


def test_awkward_values_are_written_as_to_csv_writes_them():
    frame = _awkward()
    assert csv_header(frame) + csv_rows(frame) == frame.to_csv(index=False)
    part = frame.iloc[5:11]  # a block in the middle: the same text as the rows of the whole
    assert csv_rows(part) == part.to_csv(index=False, header=False)
    assert csv_rows(frame.iloc[:0]) == "" and frame.iloc[:0].to_csv(index=False) == csv_header(frame)


def test_random_floats_of_every_magnitude_match_numpy_formatting():
    rng = np.random.default_rng(7)
    values = rng.standard_normal(20_000) * 10.0 ** rng.integers(-40, 40, 20_000)
    frame = pd.DataFrame({"a": values, "b": rng.integers(-10**12, 10**12, 20_000)})
    assert csv_rows(frame) == frame.to_csv(index=False, header=False)


@pytest.mark.parametrize("column", [pd.Series(pd.date_range("2026-01-01", periods=3)),
                                    pd.Series([1.5, 2.25, np.nan], dtype=np.float32),
                                    pd.Series(["a", "b", "a"], dtype="category"),
                                    pd.Series(["a", 1.5, None], dtype=object),
                                    pd.Series([1.5, None, 2.0], dtype="Float64")])
def test_a_column_it_does_not_handle_leaves_the_write_to_to_csv(column):
    assert csv_rows(pd.DataFrame({"x": [1, 2, 3], "y": column})) is None


def test_predict_csv_is_byte_for_byte_the_to_csv_write(tmp_path, monkeypatch):
    data = tmp_path / "p.csv"
    mlenergy_v2().to_csv(data, index=False)
    assert main(["fit", str(data), "-o", str(tmp_path / "m.json"), "--bootstrap", "5"]) == 0
    assert main(["predict", str(tmp_path / "m.json"), str(data), "-o", str(tmp_path / "fast.csv")]) == 0
    monkeypatch.setattr(predict_cli, "csv_header", lambda frame: None)
    monkeypatch.setattr(predict_cli, "csv_rows", lambda frame: None)  # every block through to_csv
    assert main(["predict", str(tmp_path / "m.json"), str(data), "-o", str(tmp_path / "slow.csv")]) == 0
    fast, slow = (tmp_path / "fast.csv").read_bytes(), (tmp_path / "slow.csv").read_bytes()
    assert fast == slow
    assert slow.count(os.linesep.encode()) == 357 and b"energy_j_pred" in slow.split(b"\n", 1)[0]
