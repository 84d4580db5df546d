"""Stand-in methods for the evaluation tests: fast methods whose predictions are known, so a test of the
harness's counting and wording does not wait for real fits."""
from __future__ import annotations

import pandas as pd

from energylens.compare.baselines import LLMCarbonRoofline
from energylens.compare.methods import MethodBase
from energylens.compare.result import EvaluationResult
from energylens.compare.runner import run_evaluation
from energylens.profiles.datasets import mlenergy_v2


class MeasuredEnergy(MethodBase):
    """Predicts the measured energy (fast; stands in for ours)."""

    name = "energylens"

    def fit(self, train_df):
        return self

    def predict_energy(self, df):
        return df["energy_j"].to_numpy(dtype=float)


class FailsOnOddSeeds(MethodBase):
    """Predicts the measured energy times ``factor``; its fit fails (``ValueError: diverged``) on odd repeat
    seeds, so a test sees the harness average a method over the repeats that ran and say which did not."""

    name = "flaky_oracle"
    factor = 1.0

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, train_df):
        if self.seed % 2:
            raise ValueError("diverged")
        return self

    def predict_energy(self, df):
        return df["energy_j"].to_numpy(dtype=float) * self.factor


def bundled_v2() -> pd.DataFrame:
    """The bundled ML.ENERGY v2 rows with a fresh 0..n-1 index."""
    return mlenergy_v2().reset_index(drop=True)


def sparse_evaluation() -> EvaluationResult:
    """Six repeats of 5 held-out bundled rows, the stand-in and llmcarbon: only repeat 0's rows hold a group with
    two candidates (code), image rows are held out in 2 repeats."""
    v2 = bundled_v2()
    return run_evaluation(v2, repeats=6, train_size=len(v2) - 5, splits=["random"], progress=False,
                          methods=lambda s: [MeasuredEnergy(), LLMCarbonRoofline()])
