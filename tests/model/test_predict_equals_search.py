"""A configuration the search returns, priced again by ``predict``, gets the same numbers bit for bit.

A user who takes a search row and predicts it (to add it to a table, to price it with intervals, to check the
search) compared ``search(...).energy_j`` with ``model.predict(rows)`` and found about 40 % of the rows one or two
ulps apart (energy, prefill / decode energy, TTFT, TPOT): predict's evaluator (closed_form.cpp) was compiled with
FMA contraction in its AVX2 / AVX-512 builds, the search's block and scalar paths without. The predictions then
also differed by the machine's vector ISA. Now both round every operation as written.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens import parallel
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0).fit(mlenergy_v2().sample(80, random_state=0))


def _search_rows(model: EnergyModel, name: str, gpus: list[str]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(name, gpus, input_tokens=512, output_tokens=256, top=200, energy_model=model,
                                 bootstrap=False).to_frame()


def _as_configs(found: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(dict(model=found.model, gpu=found.gpu, tp=found.tp, pp=found.pp, dp=found.dp, ep=found.ep,
                             precision=found.precision, kv_cache_dtype=found.kv_cache_dtype, batch_size=found.batch,
                             input_tokens=found.input_tokens, output_tokens=found.output_tokens))


@pytest.mark.parametrize("name, gpus", [("meta-llama/Llama-3.1-8B-Instruct", ["H100", "A100-SXM4-80GB", "L40S"]),
                                        ("mistralai/Mixtral-8x7B-Instruct-v0.1", ["H100", "A100-SXM4-80GB"])])
def test_predict_of_a_search_row_is_the_search_figure(model, name, gpus):
    found = _search_rows(model, name, gpus)
    assert len(found) > 40 and (found.replicas == 1).all() and (found.idle_j == 0).all()
    configs = _as_configs(found)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phases = model.predict_phases(configs)
        latency = model.latency_model.predict(configs)
        energy = model.predict(configs)
    pairs = {"energy_j": (energy, found.energy_j), "energy_j (phases)": (phases.energy_j_pred, found.energy_j),
             "prefill_j": (phases.prefill_energy_j_pred, found.prefill_j),
             "decode_j": (phases.decode_energy_j_pred, found.decode_j),
             "ttft_s": (latency.ttft_s_pred, found.ttft_s), "tpot_s": (latency.tpot_s_pred, found.tpot_s)}
    differ = {k: int(np.count_nonzero(np.asarray(a) != np.asarray(b))) for k, (a, b) in pairs.items()}
    assert differ == dict.fromkeys(pairs, 0), f"rows of {len(found)} where predict and search differ: {differ}"


def test_every_isa_level_gives_the_same_bits(model):
    data = mlenergy_v2()
    with parallel.use_isa("baseline"):
        base = model.predict_phases(data)
        base_lat = model.latency_model.predict(data)
    for level in parallel.supported_isas():
        with parallel.use_isa(level):
            pd.testing.assert_frame_equal(model.predict_phases(data), base, check_exact=True, obj=level)
            pd.testing.assert_frame_equal(model.latency_model.predict(data), base_lat, check_exact=True, obj=level)
