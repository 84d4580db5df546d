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
    for s in SEEDS[:3]:
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
