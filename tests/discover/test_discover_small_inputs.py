"""``energylens discover`` on a new user's small or degenerate profile tables: a target column with one value in
every row ran a search whose template scored R^2 '-inf' next to the front's 'n/a' under two NumPy
RuntimeWarnings; a file of 5 rows was told to change --train-size, which no value could help (the template needs
12 training rows)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

from energylens.cli.main import main
from energylens.discover import FrontEntry, search
from energylens.discover.backends import BackendChoice
from energylens.discover.merge import merge_duplicates
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j"]


def _table(tmp_path, rows: int, name: str, constant: float | None = None):
    df = mlenergy_v2()[COLUMNS].sample(rows, random_state=1).reset_index(drop=True)
    if constant is not None:
        df["energy_j"] = constant
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_a_constant_target_column_is_refused_before_any_search(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(search, "select_backend", lambda backend: BackendChoice("operon", "test"))  # none is run
    path = _table(tmp_path, 60, "const.csv", constant=100.0)
    with pytest.raises(ValueError) as err:
        search.discover(str(path), generations=1, population=10)
    assert str(err.value) == (
        f"{path}: target 'energy' needs a measured 'energy_j' that varies between rows; it is 100 in all 60 rows, "
        "so there is nothing to discover (and no R^2 to score): check that the column holds each run's measurement")
    out = tmp_path / "out.json"
    assert main(["discover", str(path), "--quiet", "--generations", "1", "-o", str(out)]) == 2
    assert "it is 100 in all 60 rows" in capsys.readouterr().err
    assert not out.exists()


def test_heldout_rows_of_one_value_score_no_r2_and_warn_nothing():
    df = mlenergy_v2().reset_index(drop=True).iloc[:8]
    meas = np.full(8, 50.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (NumPy's 'divide by zero' and 'invalid value' RuntimeWarnings)
        s = search._scores(df, meas, meas * 1.1, ["model", "gpu"])
    assert np.isnan(s["r2"]) and s["mape"] == pytest.approx(10.0)


@pytest.mark.parametrize("rows, size", [(5, None), (3, None), (5, 3), (1, None)])
def test_too_few_rows_names_the_rows_the_template_needs(tmp_path, monkeypatch, rows, size):
    """5 rows (default split 4 / 1) said only that --train-size must leave 2 held-out rows; --train-size 3 then
    failed in the template fit. Both now say the file is too small for any split."""
    monkeypatch.setattr(search, "select_backend", lambda backend: BackendChoice("operon", "test"))
    path = _table(tmp_path, rows, "few.csv")
    with pytest.raises(ValueError) as err:
        search.discover(str(path), train_size=size)
    assert str(err.value) == (
        f"{path}: {rows} data {'row is' if rows == 1 else 'rows are'} too few to discover on: the template the front is scored against has 12 "
        "parameters, so it needs at least 12 training rows, and the scores need 2 held-out rows: at least 14 rows "
        "(about 50 are recommended)")


def test_trees_of_one_expression_whose_refits_differ_in_the_last_digits_take_one_place():
    """A residual run on the bundled data (generations 30, population 100, seed 0) had two of operon's trees (11
    and 12 nodes) that SymPy reads as one constant; refitted from their own starts they came out -3.56887e-9 and
    -3.56895e-9, so the table listed both as if they were two points of the front."""
    c0 = sp.Symbol("c0", real=True)
    rows = np.ones(4)
    items = [(FrontEntry(complexity=k, expression=f"{v:g}", formula="", latex="", cv_error=0.1), c0, {"c0": v},
              base * np.exp(v * rows)) for k, v, base in ((11, -3.56887e-9, 7.0), (12, -3.56895e-9, 7.0))]
    kept, merged = merge_duplicates(items)
    assert [e.complexity for e in kept] == [11] and [(m["complexity"], m["into"]) for m in merged] == [(12, 0)]


def test_the_output_help_says_what_an_existing_file_meets(tmp_path, capsys):
    """-o's help said 'an existing file is replaced'; a file that is not a discovery result is refused (rightly:
    no silent clobber), so the help sent a user to a refusal it did not mention."""
    with pytest.raises(SystemExit):
        main(["discover", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "an existing file is replaced" not in text
    assert ("an earlier discovery result there is replaced, and the command says so on stderr; any other existing "
            "file is refused") in text
    path = _table(tmp_path, 20, "p.csv")
    notes = tmp_path / "notes.json"
    notes.write_text("{}")
    assert main(["discover", str(path), "--quiet", "--generations", "1", "-o", str(notes)]) == 2
    assert "refusing to replace it" in capsys.readouterr().err and notes.read_text() == "{}"


def test_an_interrupt_before_the_search_found_anything_says_nothing_was_written(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the profiles were read or the template fitted (the first 1-2 s) ended 'interrupted (Ctrl-C);
    finished outputs were kept, unfinished ones removed', as if something had been written."""
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(search, "discover", interrupted)
    out = tmp_path / "d.json"
    assert main(["discover", str(_table(tmp_path, 20, "p.csv")), "--quiet", "-o", str(out)]) == 130
    err = capsys.readouterr().err
    assert "nothing was written: the run was stopped before the search's first round ended" in err, err
    assert not out.exists()
