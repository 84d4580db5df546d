"""With --tpot-slo the table's Top-1 is the one among the candidates meeting the SLO (the headline says so); the
worst-groups lists labelled it plain 'Top-1', beside '@TPOT' (the group's median TPOT), as if it were neither."""
from __future__ import annotations

from energylens.cli.main import main


def test_the_worst_lists_name_the_slo_top1(capsys):
    args = ["evaluate", "bundled", "--splits", "random", "--methods", "energylens", "--repeats", "1"]
    assert main([*args, "--tpot-slo", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "Top-1 (SLO): among the candidates meeting the 0.1 s TPOT SLO" in out
    assert out.count("  Top-1 (SLO) ") >= 2 and "  Top-1 0" not in out and "  Top-1   n/a" not in out
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert "(SLO)" not in plain and "  Top-1 " in plain
