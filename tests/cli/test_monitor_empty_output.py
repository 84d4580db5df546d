"""``energylens monitor -o "$OUT"`` with OUT unset sampled, printed its totals, saved nothing and exited 0 without a
word (an empty -o read as no -o): the recording was lost. It is now an argument error before any sampling, as for
the other commands' paths (tests/cli/test_empty_path_arguments.py)."""

from __future__ import annotations

import pytest

from energylens.cli.main import main


def test_an_empty_output_path_is_an_argument_error_before_sampling(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["monitor", "--source", "synthetic", "--duration", "0.2", "-o", ""])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument -o/--output: " in err and "empty" in err and "sampling" not in err, err
    assert list(tmp_path.iterdir()) == []
