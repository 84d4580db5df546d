"""`energylens evaluate FILE --splits random,random` ran the random split once and said nothing; an unknown
name (`--splits random,bogus`) was refused only after the profile table was read (its notes printed first).
Both are now argument errors when the command line is read (exit 2, nothing on stdout, the table unread), and
:func:`energylens.compare.splits.make_splits` refuses a repeated name too (the Python API)."""

from __future__ import annotations

import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.compare.splits import make_splits


@pytest.mark.parametrize("splits, words", [
    ("random,random", "'random' more than once"),
    ("random,curve,random", "'random' more than once"),
    ("random,bogus", "unknown split 'bogus'"),
    ("random,", "empty item"),
])
def test_bad_split_lists_are_argument_errors(splits, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "bundled", "--no-progress", "--splits", splits])
    assert exit_.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "argument --splits: " in out.err and words in out.err, out.err
    assert "note:" not in out.err  # the profiles were not read
    assert list(tmp_path.iterdir()) == []


def test_the_known_names_are_listed(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "bundled", "--splits", "ranom"])
    assert "random, curve, unseen_batch, unseen_gpu, unseen_model" in capsys.readouterr().err


def test_make_splits_refuses_a_repeated_name():
    df = pd.DataFrame({"task": ["a"] * 6, "model": ["m"] * 6, "gpu": ["g"] * 6, "max_batch": range(6)})
    with pytest.raises(ValueError, match="'random' named more than once"):
        make_splits(df, train_size=3, repeats=1, splits=["random", "random"])
    assert len(make_splits(df, train_size=3, repeats=1, splits=["random"])) == 1
