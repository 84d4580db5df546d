"""A spec whose [sweep] or [grid] is there but not as a table ([[grid]], sweep = "x"), or that has a sub-table of
its own: the error says what was written and on which line, not "missing table" without a line."""

from __future__ import annotations

import pytest

from energylens.profiling import SweepSpecError, load_spec

GRID = 'models = ["org/m"]\nmax_num_seqs = [2]\ninput_len = [16]\noutput_len = [8]\n'


@pytest.mark.parametrize(("text", "key", "line", "says"), [
    ('[sweep]\nbackend = "vllm"\n[[grid]]\n' + GRID, "grid", 3, "[[grid]] (an array of tables); write [grid]"),
    ('sweep = "x"\n[grid]\n' + GRID, "sweep", 1, "is a string ('x'), not a table"),
    ('[sweep]\nbackend = "vllm"\n[grid]\n' + GRID + "[grid.extra]\nx = 1\n", "grid.extra", 8, "unknown key"),
])
def test_a_table_written_otherwise_is_named_with_its_line(tmp_path, text, key, line, says):
    p = tmp_path / "s.toml"
    p.write_text(text)
    with pytest.raises(SweepSpecError) as info:
        load_spec(p)
    assert info.value.key == key and info.value.line == line and says in str(info.value), str(info.value)
    assert "missing table" not in str(info.value)
