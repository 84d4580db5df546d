"""The notes under a table on metrics averaged over fewer repeats gave one line per row, each the same: `energylens
evaluate bundled --report r` wrote 42 lines "- energylens 12: parallelism over 17 of 20 repeats (the others had
nothing to score for it: ...)" under the sample-efficiency table (7 methods x 6 sizes, every one "17 of 20"), and
the terminal 7 "note:" lines for a 20-row file. Rows whose note is the same now share one line: "every method
and training size" where that is every row of the table, else the rows named one after another."""

from __future__ import annotations

import pandas as pd

from energylens.compare.report_tables import fewer_repeats, format_summary
from energylens.compare.runner import run_evaluation
from energylens.profiles.datasets import mlenergy_v2


def _summary(counts: dict[tuple[str, int], int]) -> pd.DataFrame:
    return pd.DataFrame([{"method": m, "train_size": size, "n_repeats": 20, "parallelism_repeats": k,
                          "top1_repeats": 20} for (m, size), k in counts.items()])


def test_one_line_where_every_row_says_the_same():
    s = _summary({(m, size): 17 for m in ("energylens", "llmcarbon", "xgboost") for size in (12, 25)})
    notes = fewer_repeats(s, ("method", "train_size"))
    assert notes == ["every method and training size: parallelism over 17 of 20 repeats (the others had nothing to "
                     "score for it: no held-out group with two candidates, no measured TPOT or no parallelism "
                     "choice)"], notes


def test_rows_sharing_a_note_are_named_together_in_order():
    s = _summary({("energylens", 12): 17, ("llmcarbon", 12): 18, ("energylens", 25): 17, ("llmcarbon", 25): 20})
    notes = fewer_repeats(s, ("method", "train_size"), prefix="note: ", why="")
    assert notes == ["note: energylens 12, energylens 25: parallelism over 17 of 20 repeats",
                     "note: llmcarbon 12: parallelism over 18 of 20 repeats"], notes


def test_a_single_row_table_keeps_its_label():
    notes = fewer_repeats(_summary({("energylens", 50): 3}), ("method",), why="")
    assert notes == ["energylens: parallelism over 3 of 20 repeats"], notes


def test_the_terminal_notes_of_other_splits_name_the_training_size():
    """Without the random split the terminal table has a row per split, variant, size and method; its notes named
    split and method alone ("curve llmcarbon: ..." once per size, the sizes not told apart)."""
    res = run_evaluation(mlenergy_v2().head(20), repeats=2, splits=["curve"], method_names=["llmcarbon"],
                         progress=False)
    sizes = sorted({int(v) for v in res.table["train_size"]})
    assert len(sizes) == 2  # 12 rows and the whole pool
    notes = [line for line in format_summary(res).splitlines() if line.startswith("note: ")]
    assert notes and notes[0].startswith("note: every split, variant, size and method: "), notes
    one = run_evaluation(mlenergy_v2().head(20), repeats=2, splits=["curve"], method_names=["llmcarbon"],
                         progress=False)
    one.table = one.table[one.table["train_size"] == sizes[0]]
    notes = [line for line in format_summary(one).splitlines() if line.startswith("note: ")]
    assert notes and notes[0].startswith(f"note: curve {sizes[0]} rows llmcarbon: "), notes
