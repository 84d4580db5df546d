"""A new user's own CSV through fit -> predict -> evaluate (2026-12-07 pass), the defects found:

* evaluate on a table whose TPOT column is ``tpot_ms`` said "no row ... has a measured TPOT (column tpot_s)" and
  nothing of the column it did not read, where fit names it; it names it now, with the fix (seconds, / 1000).
"""

from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j", "tpot_s",
           "task"]


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """30 rows of Llama 3.1 8B / 70B on A100 and H100 as a user would write them (the schema's columns only)."""
    rows = mlenergy_v2()
    rows = rows[rows["model"].str.contains("Llama-3.1-(?:8|70)B")][COLUMNS].reset_index(drop=True)
    return tmp_path_factory.mktemp("own"), rows


def test_evaluate_names_a_tpot_column_in_milliseconds_it_does_not_read(own, capsys):
    folder, rows = own
    path = folder / "tpot_ms.csv"
    rows.assign(tpot_s=rows["tpot_s"] * 1000).rename(columns={"tpot_s": "tpot_ms"}).to_csv(path, index=False)
    assert main(["evaluate", str(path), "--no-progress", "--train-size", "20", "--repeats", "1", "--splits",
                 "random"]) == 0
    err = capsys.readouterr().err
    assert "no row of" in err and "column 'tpot_ms' is not read: ttft_s (time to first token) and tpot_s" in err, err
