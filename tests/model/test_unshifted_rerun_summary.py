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

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel, LatencyModel
from energylens.profiles.datasets import mlenergy_v2

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


BATCHES = [8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 384, 512]
AB_EXPR = "a*b*input_tokens/batch_size + c"


@pytest.fixture(scope="module")
def one_series() -> pd.DataFrame:
    """13 rows of one model, GPU and TP differing only in batch size (tests/model/test_unidentified_start_value.py):
    the rows see a few combinations of the parameters, the rest move along directions they do not see."""
    rows = mlenergy_v2()
    base = rows[rows.model.str.contains("Llama-3.1-8B") & rows.gpu.str.contains("H100") & (rows.tp == 1)].head(1)
    one = base.loc[base.index.repeat(len(BATCHES))].reset_index(drop=True)
    one["batch_size"] = one["max_batch_size"] = np.array(BATCHES, dtype=float)
    full = EnergyModel(bootstrap=0).fit(rows)
    rng = np.random.default_rng(0)
    one["energy_j"] = full.predict(one, check_range=False) * np.exp(rng.normal(0, 0.05, len(one)))
    tpot = np.asarray(full.latency_model.predict(one, check_range=False)["tpot_s_pred"])
    one["tpot_s"] = tpot * np.exp(rng.normal(0, 0.05, len(one)))
    return one


def _counting(monkeypatch, name: str) -> list[tuple[int, int]]:
    """(starts, winning start) of each native fit ``_core.<name>`` runs from now on in this test."""
    calls: list[tuple[int, int]] = []
    native = getattr(_core, name)

    def fit(*args, **kwargs):
        result = native(*args, **kwargs)
        calls.append((result.starts, result.best_start))
        return result

    monkeypatch.setattr(_core, name, fit)
    return calls


def _same_fit(model, single) -> None:
    """``model`` (a multi-start fit) returned ``single``'s (the unshifted start's alone) fit and says so."""
    assert model.theta.tolist() == single.theta.tolist()
    for field in ("cost", "iterations", "converged", "status", "unidentified", "undetermined"):
        assert getattr(model.summary, field) == getattr(single.summary, field), field


@pytest.mark.parametrize("kind", ["energy", "latency"])
def test_template_rerun_only_where_a_shifted_start_won(one_series, monkeypatch, kind):
    # The rerun repeats the unshifted start's fit; where that start won the multi-start already (energy seed 4,
    # latency seed 3) it ran that fit a second time for the same bits. The result is the unshifted start's in
    # every seed, either way, and the summary describes it.
    def fit(seed: int, **options):
        if kind == "energy":
            return EnergyModel(bootstrap=0, seed=seed, **options).fit(one_series, latency=False)
        return LatencyModel(bootstrap=0, seed=seed, **options).fit(one_series)

    winners = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (DegenerateFitWarning naming the undetermined parameters)
        for seed in range(6):
            calls = _counting(monkeypatch, "fit")
            model = fit(seed)
            (starts, won), *rerun = calls
            assert starts == 3 and len(rerun) == (0 if won == 0 else 1), (seed, calls)
            winners.append(won)
            monkeypatch.undo()
            assert model.summary.undetermined and model.summary.starts == 3
            _same_fit(model, fit(seed, n_starts=1))
    assert 0 in winners and any(winners), winners  # both paths taken


def test_expression_rerun_only_where_a_shifted_start_won(monkeypatch):
    rows = pd.DataFrame([
        {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1, "pp": 1,
         "batch_size": b, "input_tokens": 512.0, "output_tokens": 256.0, "energy_j": 3.0 * 512 / b + 0.1 * k}
        for k, b in enumerate((8.0, 16.0, 32.0, 64.0, 128.0, 256.0))])

    def fit(seed: int, n_starts: int):
        return EnergyModel.from_expression(AB_EXPR, params={"a": 1.5, "b": 2.0, "c": 1.0}, bootstrap=0, seed=seed,
                                           n_starts=n_starts).fit(rows)

    winners = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (DegenerateFitWarning naming a and b)
        for seed in range(4):  # the unshifted start wins in seeds 1 and 2 of 10 starts, not in 0 and 3
            calls = _counting(monkeypatch, "fit_expression")
            model = fit(seed, 10)
            (starts, won), *rerun = calls
            assert starts == 10 and len(rerun) == (0 if won == 0 else 1), (seed, calls)
            winners.append(won)
            monkeypatch.undo()
            assert {"a", "b"} <= set(model.summary.undetermined) and model.summary.starts == 10
            _same_fit(model, fit(seed, 1))
    assert 0 in winners and any(winners), winners


def test_rows_the_template_reproduces_exactly_give_one_fit_for_every_seed(one_series):
    # Energies and TPOTs the bundled fit predicts, without noise: the fits reach costs of rounding (the unshifted
    # start's 7.9e-24, the seeds' winners 1e-31 to 4e-27), so "the same cost to ftol x cost" never held, the rerun
    # was dropped and the seed set the undetermined parameters (another model's rows 14 % apart over seeds 0-5).
    rows = mlenergy_v2()
    exact = one_series.copy()
    full = EnergyModel(bootstrap=0).fit(rows)
    exact["energy_j"] = full.predict(exact, check_range=False)
    exact["tpot_s"] = np.asarray(full.latency_model.predict(exact, check_range=False)["tpot_s_pred"])
    other = rows[rows.model.str.contains("Llama-3.1-70B") & rows.gpu.str.contains("H100")].head(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (DegenerateFitWarning naming the undetermined parameters)
        fits = [EnergyModel(bootstrap=0, seed=s).fit(exact, latency=False) for s in range(6)]
    assert fits[0].summary.undetermined and fits[0].summary.cost < 1e-20
    for model in fits[1:]:
        assert model.theta.tolist() == fits[0].theta.tolist()
        assert np.array_equal(model.predict(other, check_range=False), fits[0].predict(other, check_range=False))


def test_an_expression_fitting_its_rows_exactly_gives_one_fit_for_every_seed():
    # (a, b) ran from (1.02, 2.94) to (2.69, 1.11) by seed: the starts' costs 0 to 2.5e-30, the unshifted one's 5.2e-27
    rows = pd.DataFrame([
        {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1, "pp": 1,
         "batch_size": b, "input_tokens": i, "output_tokens": 256.0, "energy_j": 3.0 * i / b + 1.0}
        for b in (8.0, 16.0, 32.0, 64.0) for i in (256.0, 1024.0, 512.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (DegenerateFitWarning naming a and b)
        fits = [EnergyModel.from_expression(AB_EXPR, params={"a": 1.0, "b": 1.0, "c": 2.0}, bootstrap=0, seed=s,
                                            n_starts=10).fit(rows) for s in range(8)]
    assert {"a", "b"} <= set(fits[0].summary.undetermined)
    for model in fits[1:]:
        assert model.theta.tolist() == fits[0].theta.tolist()
