"""After the unshifted-start rerun (a fit with directions the rows do not see is repeated from the unshifted start
and kept at the multi-start's cost: tests/model/test_unidentified_start_value.py), the fit summary describes the
parameters returned, not the multi-start's winner; and the rerun is not run where the unshifted start won anyway.

The summary's ``unidentified`` / ``undetermined`` were taken at the winner's point. Where the valley the rows do
not see crosses a kink, the two points differ in which constants any row depends on: ``c*Max(a - 1, 0)*x`` reads
``c`` only where a > 1. Seed 5's winner sat at a > 1 (c exercised, at its bound 0, so "identified"), the kept
rerun at a = 0.51 (c at its written value 1.0, no row depending on it): the summary said c was identified and
gave it a zero-width bootstrap interval, about a value no row had fitted.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel

KINK = "a*b*input_tokens/batch_size + c*Max(a - 1, 0)*input_tokens + d"
SEEDS = range(10)


def _kink_rows() -> pd.DataFrame:
    rows = [(b, i) for b in (8.0, 16.0, 32.0, 64.0) for i in (256.0, 1024.0, 512.0)]
    # the best input_tokens coefficient is negative, so c (bounded at 0) adds nothing past the kink either: the
    # two sides of a = 1 reach the same cost
    return pd.DataFrame([
        {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1, "pp": 1,
         "batch_size": b, "input_tokens": i, "output_tokens": 256.0,
         "energy_j": (3.0 * i / b + 1.0 - 0.001 * i) * math.exp(0.02 * ((k * 7) % 5 - 2))}
        for k, (b, i) in enumerate(rows)])


def _kink_model(seed: int, **options) -> EnergyModel:
    return EnergyModel.from_expression(KINK, params={"a": 0.5, "b": 2.0, "c": 1.0, "d": 1.0},
                                       bounds={"c": (0.0, math.inf)}, seed=seed, n_starts=10,
                                       **{"bootstrap": 10, **options})


def _kink_fit(seed: int, rows: pd.DataFrame, **options) -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (DegenerateFitWarning naming a and b)
        return _kink_model(seed, **options).fit(rows)


def test_expression_summary_describes_the_returned_constants():
    rows = _kink_rows()
    fits = [_kink_fit(s, rows) for s in SEEDS]
    for seed, model in zip(SEEDS, fits, strict=True):
        c = model.params["c"]
        assert model.theta[model.param_names.index("a")] < 1.0  # the unshifted start's side of the kink
        assert c.value == 1.0  # no row depends on c there: its written value ...
        assert model.summary.unidentified == ("a", "b", "c"), seed  # ... not identified (seed 5 said it was)
        assert model.summary.undetermined == ("a", "b"), seed
        assert not c.identified and math.isnan(c.ci_low) and math.isnan(c.ci_high), (seed, c)
        assert model.theta.tolist() == fits[0].theta.tolist()


def test_expression_warning_names_the_returned_point():
    # one warning, naming what the summary names (a and b)
    with pytest.warns(DegenerateFitWarning) as caught:
        _kink_model(5, bootstrap=0).fit(_kink_rows())
    texts = [str(w.message) for w in caught if issubclass(w.category, DegenerateFitWarning)]
    assert len(texts) == 1 and "do not determine 2 of the 4 parameters: a, b move" in texts[0], texts
