"""One row listing for every message that names a table's rows: the schema's (``rows_text``: the first 20, then
"and N more", what the numbers count) and ``energylens predict``'s notes on stderr (the first 10, then " ...").
energylens predict had a copy of its own (cli/predict.py ``_data_rows``); both now come from
``profiles.problems.data_rows``, their texts unchanged (the notes' are pinned in tests/cli/test_output_safety.py,
test_predict_layout.py, test_predict_unseen_gpu.py and test_new_user_walk.py)."""

from __future__ import annotations

import numpy as np
import pytest

from energylens.cli.predict import _data_rows
from energylens.profiles.problems import Requests, data_rows, row_numbers, rows_text


@pytest.mark.parametrize("n, schema, note", [
    (1, "data row 1", "data row 1"),
    (2, "data rows 1, 2", "data rows 1, 2"),
    (10, "data rows " + ", ".join(map(str, range(1, 11))), "data rows " + ", ".join(map(str, range(1, 11)))),
    (11, "data rows " + ", ".join(map(str, range(1, 12))), "data rows " + ", ".join(map(str, range(1, 11))) + " ..."),
    (23, "data rows " + ", ".join(map(str, range(1, 21))) + " and 3 more",
     "data rows " + ", ".join(map(str, range(1, 11))) + " ..."),
])
def test_the_schema_and_predicts_notes_list_rows_alike(n, schema, note):
    rows = np.arange(n)
    assert data_rows(rows) == schema
    assert rows_text(rows) == f"{schema} (1-based, header not counted)"
    assert _data_rows(rows) == note


def test_requests_are_numbered_as_data_rows_are():
    rows = np.array([0, 4, *range(10, 40)])
    assert Requests(50).text(rows) == f"requests {row_numbers(rows)} of 50 (1-based, in the list's order)"
    assert row_numbers(rows).endswith(", 28 and 12 more") and row_numbers(rows, 3, counted=False) == "1, 5, 11 ..."
