"""A parameter no training row depends on comes out at its start value, whatever the seed.

Fitted on 50 random ML.ENERGY v3 rows (all pp = 1; 20 seeds, as `energylens evaluate --splits random`), pp_bubble
was listed as not identified yet came out anywhere from 0.13 to 1.06: the multi-start shifts every parameter of
its later starts at random, and the winning start's shifted pp_bubble was kept (the rows never move it). A fit
then used to price pipeline-parallel configurations did so with a bubble drawn by the seed. Now a parameter the
rows do not depend on ends at its start value (the template's default, 0.5 for pp_bubble; an expression constant's
written value), in the fit and in every bootstrap refit; nothing else the fit finds changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel, LatencyModel
from energylens.profiles.datasets import mlenergy_v2

SEEDS = range(6)
LOG_PP_EXPR = "0.01*input_tokens*tp/batch_size + 2.0*log(pp) + 1.0"


def _defaults(model) -> dict[str, float]:
    desc = model._desc
    return dict(zip(desc.param_names, np.asarray(desc.init).tolist(), strict=True))


@pytest.fixture(scope="module")
def pp1_rows():
    rows = mlenergy_v2()
    return rows[rows["pp"] == 1].sample(50, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def fits(pp1_rows):
    return [EnergyModel(bootstrap=20, seed=s).fit(pp1_rows) for s in SEEDS]


def _check_at_start(model, start: dict[str, float], expected: set[str]) -> None:
    assert expected <= set(model.unidentified_params)
    for name in model.unidentified_params:
        j = model.param_names.index(name)
        assert model.theta[j] == start[name], (name, model.theta[j], start[name])
        boot = model.bootstrap_params[:, j]
        assert len(boot) and np.all(boot == start[name]), (name, np.unique(boot))


def test_pp_bubble_keeps_its_default_in_every_seed(fits):
    for model in fits:
        _check_at_start(model, _defaults(model), {"pp_bubble"})


def test_latency_prefill_terms_keep_their_defaults_without_ttft(fits):
    for model in fits:  # v2 rows measure no TTFT: the latency model's prefill terms are not identified either
        lat = model.latency_model
        _check_at_start(lat, _defaults(lat), {"pp_bubble", "eta_prefill", "prefill_batch_factor"})


def test_a_latency_model_fitted_alone_too(pp1_rows):
    for s in SEEDS:  # (seeds 4 and 5 ended eta_prefill at 0.56 and 0.21)
        lat = LatencyModel(bootstrap=10, seed=s).fit(pp1_rows)
        _check_at_start(lat, _defaults(lat), {"pp_bubble", "eta_prefill", "prefill_batch_factor"})


def test_a_prediction_at_pp2_does_not_depend_on_the_seed(fits, pp1_rows):
    rows = pp1_rows.head(8).copy()
    at_pp2 = rows.assign(pp=2, n_gpus=rows["n_gpus"] * 2)
    on_rows = np.array([m.predict(rows) for m in fits])
    off_rows = np.array([m.predict(at_pp2) for m in fits])
    scatter = lambda p: float(np.max(np.abs(p / p[0] - 1.0)))  # noqa: E731
    # the seeds reach the same optimum of what the rows determine, to the fit's tolerance (5.8e-6 on these rows,
    # 1.3e-5 at pp = 2); pp = 2 rows differed by 9.9 % with a seed-drawn pp_bubble
    assert scatter(on_rows) < 1e-4
    assert scatter(off_rows) < 1e-4


def test_expression_constant_no_row_depends_on_keeps_its_written_value():
    rows = pd.DataFrame([
        {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": tp, "pp": 1,
         "batch_size": b, "input_tokens": i, "output_tokens": 256.0, "energy_j": 40.0 * tp * 64 / b + i / 50}
        for tp in (1, 2, 4) for b in (8.0, 32.0, 128.0) for i in (256.0, 1024.0)])
    for s in SEEDS:
        model = EnergyModel.from_expression(LOG_PP_EXPR, bootstrap=10, seed=s).fit(rows)
        assert model.unidentified_params == ("c1",)
        _check_at_start(model, {"c1": 2.0}, {"c1"})


BATCHES = [8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 384, 512]


def test_parameters_along_an_unseen_direction_do_not_depend_on_the_seed():
    """13 rows of one model, GPU and TP differing only in batch size see a few combinations of the parameters
    (tests/model/test_undetermined_params.py): the rest move along directions the rows do not see, and the winning
    start's place along them was the seed's (eta_compute 0.08-0.73 over 8 seeds, other models' rows 18 % apart).
    Such a fit is now repeated from the unshifted start alone and kept where it reaches the same cost (to the
    fitter's tolerance): the same for every seed."""
    rows = mlenergy_v2()
    base = rows[rows.model.str.contains("Llama-3.1-8B") & rows.gpu.str.contains("H100") & (rows.tp == 1)].head(1)
    one = base.loc[base.index.repeat(len(BATCHES))].reset_index(drop=True)
    one["batch_size"] = one["max_batch_size"] = np.array(BATCHES, dtype=float)
    full = EnergyModel(bootstrap=0).fit(rows)  # energies and TPOTs as the bundled fit predicts them, 5 % noise
    rng = np.random.default_rng(0)
    one["energy_j"] = full.predict(one, check_range=False) * np.exp(rng.normal(0, 0.05, len(one)))
    tpot = np.asarray(full.latency_model.predict(one, check_range=False)["tpot_s_pred"])
    one["tpot_s"] = tpot * np.exp(rng.normal(0, 0.05, len(one)))
    other = rows[rows.model.str.contains("Llama-3.1-70B") & rows.gpu.str.contains("H100")].head(6)
    with pytest.warns(Warning):  # (DegenerateFitWarning naming them)
        fits = [EnergyModel(bootstrap=0, seed=s).fit(one, latency=False) for s in SEEDS]
    assert len(fits[0].summary.undetermined) >= 4
    for model in fits[1:]:
        assert model.theta.tolist() == fits[0].theta.tolist()
        assert np.array_equal(model.predict(other, check_range=False), fits[0].predict(other, check_range=False))


def test_expression_constants_seen_only_as_a_product_do_not_depend_on_the_seed():
    # (a, b) ended at (1.38, 2.16), (1.50, 1.99), (1.04, 2.87), ... by seed, all at the same cost to 1e-14
    rows = pd.DataFrame([
        {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1, "pp": 1,
         "batch_size": b, "input_tokens": 512.0, "output_tokens": 256.0, "energy_j": 3.0 * 512 / b + 0.1 * k}
        for k, b in enumerate((8.0, 16.0, 32.0, 64.0, 128.0, 256.0))])
    with pytest.warns(Warning):  # (DegenerateFitWarning naming them)
        fits = [EnergyModel.from_expression("a*b*input_tokens/batch_size + c", params={"a": 1.5, "b": 2.0, "c": 1.0},
                                            bootstrap=0, seed=s, n_starts=10).fit(rows) for s in SEEDS]
    assert {"a", "b"} <= set(fits[0].summary.undetermined)
    # the unshifted rerun's result is kept, but the summary counts the multi-start's starts (it read 1 of 1 after
    # 10 starts, which the template's summary never did)
    assert all(model.summary.starts == 10 for model in fits), [model.summary.starts for model in fits]
    for model in fits[1:]:
        assert model.theta.tolist() == fits[0].theta.tolist()
