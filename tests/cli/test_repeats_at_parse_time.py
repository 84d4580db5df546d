"""`energylens evaluate --repeats 1001` read the profile table (and printed its notes) before it was told that
at most 1000 repeats are run; `energylens demo --repeats 1001` fitted and printed its tables first. Both are
now argument errors when the command line is read (exit 2), with the reason and what to do instead."""

from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.cli.parsers.common import MAX_REPEATS
from energylens.compare import runner


def test_the_bound_is_the_runners():
    assert MAX_REPEATS == runner.MAX_REPEATS


@pytest.mark.parametrize("argv", [
    ["evaluate", "bundled", "--no-progress", "--repeats", "1001"],
    ["demo", "--repeats", "1001"],
])
def test_too_many_repeats_is_an_argument_error(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "argument --repeats: " in out.err and "at most 1000" in out.err, out.err
    assert "--seed S+1" in out.err  # what to do for more: the next seeds, pooled
    assert "note:" not in out.err  # the profiles were not read
    assert list(tmp_path.iterdir()) == []


def test_the_bound_itself_is_accepted():
    from energylens.cli.parsers.common import repeats

    assert repeats(str(MAX_REPEATS)) == MAX_REPEATS
