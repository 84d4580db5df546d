"""The check every empty-path test of the command line makes (`-o "$OUT"` with OUT unset): the command stops at
its arguments (exit 2), naming the option and the empty value, and prints nothing on stdout (no work done)."""

from __future__ import annotations

import pytest

from energylens.cli.main import main


def refused_as_empty(argv: list[str], option: str, capsys) -> str:
    """Run ``energylens argv``: it must exit 2 saying ``argument <option>: ...`` and "empty" on stderr, with nothing
    on stdout; returns stderr."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    out = capsys.readouterr()
    assert f"argument {option}: " in out.err and "empty" in out.err, out
    assert out.out == ""  # refused before any work
    return out.err
