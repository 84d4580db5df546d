"""The Pareto fronts of a search result are built at their first read (energylens.search.frames, .deferred): a
scheduler reading only ``top`` does not pay for them (two of the three result frames, ~0.8 ms of a
one-candidate search), and a front read later is the one built at once: from the call's own engine outcome
and the models' parameters as they were, also when the model is refitted in between; a pickle or copy holds
the tables."""

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.model import EnergyModel
from energylens.profiles import read_profiles
from energylens.search import frames
from energylens.search.deferred import Deferred

SEVENTY = dict(model="meta-llama/Llama-3.1-70B-Instruct", gpus=["H100"], input_tokens=512, output_tokens=256,
               bootstrap=False)


def _model(seed: int = 0) -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0, seed=0).fit(read_profiles("bundled").sample(50, random_state=seed))


@pytest.fixture(scope="module")
def model():
    return _model()


def test_fronts_are_not_built_until_read(model, monkeypatch):
    built = []
    real = frames.candidate_frame
    monkeypatch.setattr(frames, "candidate_frame", lambda *a, **k: built.append(1) or real(*a, **k))
    result = energylens.search(**SEVENTY, energy_model=model)
    assert len(built) == 1 and isinstance(result.__dict__["pareto_tpot"], Deferred)
    front = result.pareto_tpot
    assert len(built) == 2 and result.pareto_tpot is front  # built once, then kept
    assert isinstance(result.pareto_ttft, pd.DataFrame) and len(built) == 3


@pytest.mark.parametrize("kw", [{}, {"rate_per_s": 3.0}])
def test_a_front_read_after_a_refit_is_the_one_of_the_call(kw):
    model = _model()
    early = energylens.search(**SEVENTY, energy_model=model, **kw)
    fronts = (early.pareto_tpot, early.pareto_ttft)  # read at once
    late = energylens.search(**SEVENTY, energy_model=model, **kw)
    model.fit(read_profiles("bundled").sample(50, random_state=1))  # the same object, other parameters
    pd.testing.assert_frame_equal(late.pareto_tpot, fronts[0])
    pd.testing.assert_frame_equal(late.pareto_ttft, fronts[1])
    moved = energylens.search(**SEVENTY, energy_model=model, **kw).pareto_tpot
    assert not np.array_equal(moved["energy_j"].to_numpy(), fronts[0]["energy_j"].to_numpy())


def test_pickle_and_copy_hold_the_tables(model):
    result = energylens.search(**SEVENTY, energy_model=model)
    back = pickle.loads(pickle.dumps(result))
    assert not isinstance(back.__dict__["pareto_ttft"], Deferred)
    pd.testing.assert_frame_equal(back.pareto_ttft, result.pareto_ttft)
    pd.testing.assert_frame_equal(copy.deepcopy(result).pareto_tpot, result.pareto_tpot)
    result.pareto_tpot = result.pareto_tpot.head(1)  # set as any attribute
    assert len(result.pareto_tpot) == 1
