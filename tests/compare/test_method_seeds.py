"""Method seeds never repeat across runs: each method is seeded ``seed * 1000 + repeat``, so a 1001st repeat of
seed S reused the method seed of seed S+1's first repeat. The seeds of repeats below 1000 are kept (the published
figures depend on them) and more repeats are refused, naming the limit and what to do instead."""

from __future__ import annotations

import pytest

from energylens.cli.main import main as cli_main
from energylens.compare import run_evaluation
from energylens.compare import runner as compare_runner
from energylens.compare.methods import MethodBase
from energylens.profiles.datasets import mlenergy_v2


class _Oracle(MethodBase):
    name = "energylens"

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, train):
        return self

    def predict_energy(self, df):
        return df["energy_j"].to_numpy() * 1.0


def _method_seeds(seed: int, repeats: int) -> list[int]:
    made: list[int] = []

    def factory(s: int):
        made.append(s)
        return [_Oracle(s)]

    run_evaluation(mlenergy_v2().head(60), train_size=20, repeats=repeats, seed=seed, splits=["random"],
                   progress=False, methods=factory)
    return made[1:]  # the first call only counts the methods


def test_method_seeds_of_repeats_below_1000_are_unchanged():
    assert _method_seeds(0, 3) == [0, 1, 2]
    assert _method_seeds(7, 2) == [7000, 7001]


def test_1000_repeats_are_allowed_and_end_where_the_next_seeds_run_starts():
    assert compare_runner.MAX_REPEATS == 1000
    compare_runner.check_seed(0, 1000)  # allowed: seeds 0 .. 999
    assert _method_seeds(1, 2) == [1000, 1001]  # seed 1's run starts right after them


def test_more_than_1000_repeats_are_refused_naming_the_limit_and_the_remedy(capsys):
    with pytest.raises(ValueError, match=r"repeats 1001 is more than 1000: .*repeat 1000 of seed 3 would reuse the "
                                         r"method seed of the first repeat of seed 4.*run again with seed 4, 5"):
        run_evaluation(mlenergy_v2(), repeats=1001, seed=3, splits=["random"], progress=False,
                       methods=lambda s: [_Oracle(s)])
    with pytest.raises(SystemExit) as exit_:  # the command line refuses it when read (before the profiles)
        cli_main(["evaluate", "bundled", "--repeats", "1001", "--splits", "random", "--methods", "llmcarbon",
                  "--no-progress"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --repeats: must be at most 1000, got 1001" in err
    assert "--seed S+1" in err and "failed" not in err
