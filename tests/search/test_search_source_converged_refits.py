"""A search's "model:" line counted the refits asked for, not those its intervals and P(best) come from: the demo
with --seed 9223372036854775807 fitted "199/200 bootstrap refits" and its search said "with 200 bootstrap
refits" (--train-size 12: 164 of 200). Where some refits did not converge it now says how many did."""

from __future__ import annotations

import dataclasses

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.search.api import given_source


def test_the_source_counts_the_converged_refits():
    model = EnergyModel(bootstrap=20, seed=0).fit(mlenergy_v2().sample(40, random_state=0))
    s = model.summary
    model.summary = dataclasses.replace(s, bootstrap_converged=s.bootstrap_replicates - 3)
    text = given_source(model)
    assert f"with {s.bootstrap_replicates - 3} converged of {s.bootstrap_replicates} bootstrap refits" in text, text
    model.summary = dataclasses.replace(s, bootstrap_converged=s.bootstrap_replicates)
    assert f"with {s.bootstrap_replicates} bootstrap refits" in given_source(model)
