"""``energylens monitor -o "$OUT"`` with OUT unset sampled, printed its totals, saved nothing and exited 0 without a
word (an empty -o read as no -o): the recording was lost. It is now an argument error before any sampling, as for
the other commands' paths (tests/cli/test_empty_path_arguments.py)."""

from __future__ import annotations

from tests.cli.empty_path import refused_as_empty


def test_an_empty_output_path_is_an_argument_error_before_sampling(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    err = refused_as_empty(["monitor", "--source", "synthetic", "--duration", "0.2", "-o", ""], "-o/--output", capsys)
    assert "sampling" not in err, err
    assert list(tmp_path.iterdir()) == []
