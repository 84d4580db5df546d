"""A search run from Python with a fitted model object printed and recorded "model: the given EnergyModel",
whatever it held; it now says what the object was fitted on (the bundled data where its data hash is the bundled
model's, else its rows and data hash) and with how many bootstrap refits (what the intervals come from)."""

import warnings

from tests.search.quiet_search import quiet_search

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.search.api import bundled_model

L8 = "meta-llama/Llama-3.1-8B-Instruct"


def test_a_model_fitted_on_the_bundled_data_is_named_so():
    r = quiet_search(bundled_model(), L8, "H100")
    assert r.model_source.startswith("the given EnergyModel, fitted on the bundled ML.ENERGY v2 data (356 rows, "
                                     "vLLM 0.5.4, 2024"), r.model_source
    assert "with 200 bootstrap refits" in r.model_source, r.model_source
    assert f"model: {r.model_source}" in r.summary()


def test_a_model_fitted_on_other_rows_gives_its_rows_hash_and_refits():
    rows = mlenergy_v2().sample(120, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=20).fit(rows)
    r = quiet_search(model, L8, "H100")
    assert r.model_source.startswith(f"the given EnergyModel, fitted on 120 rows (data "
                                     f"{model.summary.data_hash[:19]}, its summary.data_hash) with 20 bootstrap "
                                     "refits"), r.model_source
    assert "bundled" not in r.model_source


def test_the_bundled_data_is_read_once_not_per_search(monkeypatch):
    """03af37f1 read the bundled CSV in every search given a model object (to compare row counts): 70B on H100,H200,B200
    took 12 ms per call instead of 3.6 ms (docs/performance.md). A scheduler's repeated searches read it at most once per process."""
    import energylens.search.api as api

    model = bundled_model()
    quiet_search(model, L8, "H100")  # the first may read it
    reads = []
    monkeypatch.setattr(api, "mlenergy_v2", lambda *a, **k: reads.append(1) or mlenergy_v2(*a, **k))
    for _ in range(3):
        r = quiet_search(model, L8, "H100")
    assert not reads, f"the bundled data was read {len(reads)} times in 3 searches"
    assert "fitted on the bundled ML.ENERGY v2 data" in r.model_source
