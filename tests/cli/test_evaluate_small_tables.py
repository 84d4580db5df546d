"""``energylens evaluate`` advice a user audit found circular (2026-12-06); the test failed before its fix."""
from __future__ import annotations

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


def test_a_table_too_small_for_our_fit_is_not_sent_round_in_a_circle(tmp_path, capsys):
    """One (task, model, GPU) group of 7 rows: --train-size 5 advised "Use --train-size 12 or more", and
    --train-size 12 was then refused with "choose a train size below 7"."""
    v2 = mlenergy_v2()
    path = tmp_path / "one_group.csv"
    v2[(v2["task"] == "chat") & (v2["model"] == v2["model"].iloc[0]) & (v2["gpu"] == v2["gpu"].iloc[0])].to_csv(
        path, index=False)
    assert main(["evaluate", str(path), "--train-size", "5", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--train-size 12 or more" not in err
    assert "The profiles have 7 rows, too few to train on 12 and hold any out: leave energylens out" in err
    assert main(["evaluate", "bundled", "--train-size", "5", "--no-progress"]) == 2  # enough rows: as before
    assert "Use --train-size 12 or more, or leave energylens out" in capsys.readouterr().err
