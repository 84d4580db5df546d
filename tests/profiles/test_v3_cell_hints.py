"""The ML.ENERGY v3 reader's numeric cells (energylens.profiles.mlenergy_v3): a cell written for people ('14.4 ms',
'1,000', '14B', '2 s') was a bare 'non-numeric value (milliseconds, a number)' naming the column and rows but not the
cell, while the columns the schema checks (energy_per_request_joules, ...) quote it and say what to write
(profiles/number_cells.py, f979c83); the parallelism columns said 'must be an integer >= 1' of '1,0' or 'one', and
the numeric columns kept as they are (max_num_seqs, throughput, p90-p99 ITL) took '8 seqs' or '5%' as text.

Hand-written rows in the v3 layout (test_mlenergy_v3's); the real export, where present, is copied to a tmp file
at test time (header and three rows, never committed) to corrupt one of its cells."""
from __future__ import annotations

import subprocess
import sys
import warnings

import pandas as pd
import pytest
from test_mlenergy_v3 import excerpt, row

from data_paths import V3 as V3_CSV
from energylens.errors import ProfileSchemaError
from energylens.profiles.mlenergy_v3 import mlenergy_v3


def _error(tmp_path, column: str, cell: str, at: int = 2) -> ProfileSchemaError:
    rows = [row(), row(), row()]
    rows[at][column] = cell
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ProfileSchemaError) as ei:
            mlenergy_v3(excerpt(tmp_path, rows))
    return ei.value


@pytest.mark.parametrize(("column", "cell", "says"), [
    ("median_itl_ms", "14.4 ms", "value(s): '14.4 ms': a unit after the number; column 'median_itl_ms' is in "
     "milliseconds (ms): write '14.4 ms' as 14.4, the number alone"),
    ("median_itl_ms", "0.02 s", "write '0.02 s' as 20, converted to that unit"),
    ("median_itl_ms", "14,4", "value(s): '14,4': a decimal comma; write '14,4' as 14.4"),
    ("total_params_billions", "1,000", "value(s): '1,000': a thousands separator (','); write '1,000' as 1000"),
    ("total_params_billions", "-", "a placeholder ('-'), not a number; a required column: give the value"),
    ("activated_params_billions", "14B", "column 'activated_params_billions' is in billions of parameters: "
     "write '14B' as 14, the number alone"),
    ("activated_params_billions", "n/m", "leave the cell empty where there is no value"),
    ("num_gpus", "2 GPUs", "value(s): '2 GPUs': a unit after the number; column 'num_gpus' is in a whole number "
     "of GPUs: write '2 GPUs' as 2"),
    ("tensor_parallel", "#VALUE!", "a spreadsheet's error value ('#VALUE!'"),
    ("max_num_seqs", "16 seqs", "value(s): '16 seqs': text after the number ('seqs')"),
    ("output_throughput_tokens_per_sec", "5%", "a percentage; column 'output_throughput_tokens_per_sec' is in "
     "output tokens per second, not a percentage"),
    ("p99_itl_ms", "25ms", "write '25ms' as 25, the number alone"),
])
def test_a_bad_number_cell_is_quoted_with_what_to_write(tmp_path, column, cell, says):
    err = _error(tmp_path, column, cell)
    text = str(err)
    assert text.startswith(f"{tmp_path / 'llm_configs_h100.csv'}: column {column!r}: non-numeric value"), text
    assert "(data row 3 (1-based))" in text and says in text, text
    assert err.column == column and err.rows == [2]


def test_a_cell_with_no_hint_is_still_quoted_and_each_kind_gets_its_own(tmp_path):
    rows = [row(median_itl_ms="abc"), row(median_itl_ms="1,5"), row(median_itl_ms="2 s"), row(median_itl_ms="xyz")]
    with pytest.raises(ProfileSchemaError) as ei:
        mlenergy_v3(excerpt(tmp_path, rows))
    text = str(ei.value)
    assert "(data rows 1, 2, 3, 4 (1-based)); value(s): 'abc', 'xyz'; '1,5': a decimal comma" in text, text
    assert "'2 s': a unit after the number" in text and ei.value.rows == [0, 1, 2, 3], text


def test_numbers_in_the_kept_columns_stay_as_they_were(tmp_path):
    df = mlenergy_v3(excerpt(tmp_path, [row(), row(max_num_seqs=32, p99_itl_ms="")]))
    assert df["max_num_seqs"].tolist() == [16, 32] and df["p99_itl_ms"].isna().tolist() == [False, True]


@pytest.mark.skipif(not V3_CSV.is_file(), reason=f"{V3_CSV} (shared, never bundled) is absent")
def test_a_corrupted_cell_of_the_real_export_through_evaluate(tmp_path):
    lines = V3_CSV.read_text().splitlines()[:4]
    path = tmp_path / "llm_configs_h100.csv"
    path.write_text("\n".join(lines) + "\n")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.loc[1, "median_itl_ms"] = f"{float(raw.loc[1, 'median_itl_ms']):.1f} ms"
    raw.to_csv(path, index=False)
    res = subprocess.run([sys.executable, "-m", "energylens.cli.main", "evaluate", str(path)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    cell = raw.loc[1, "median_itl_ms"]
    assert f"{path}: column 'median_itl_ms': non-numeric value" in res.stderr, res.stderr
    assert f"(data row 2 (1-based)); value(s): {cell!r}: a unit after the number" in res.stderr, res.stderr
    assert f"write {cell!r} as {cell.split()[0]}, the number alone" in res.stderr, res.stderr


@pytest.mark.parametrize("column", ["num_gpus", "tensor_parallel", "expert_parallel", "data_parallel"])
def test_a_blank_parallelism_cell_is_named_missing(tmp_path, column):
    """A blank parallelism cell said 'must be an integer >= 1', as if a value were there and wrong."""
    text = str(_error(tmp_path, column, ""))
    assert f"column {column!r}: missing value" in text and "(data row 3 (1-based))" in text, text
    assert "must be an integer" not in text, text
