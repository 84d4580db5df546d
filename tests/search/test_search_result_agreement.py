"""One result, several views: the table ``energylens search`` prints, ``to_frame()``, ``result.top`` and the
Pareto fronts, and ``to_json()`` say the same numbers (a price not given is no price in every view), and the
numbers agree with each other (energy = prefill + decode = static + dynamic terms, GPUs = tp x pp x dp x replicas,
rejections sum to the candidates, the interval holds the point, the deciding term is the largest)."""

import json

import pytest

import energylens
from energylens.search.api import bundled_model

L8 = "meta-llama/Llama-3.1-8B-Instruct"
QWEN = "Qwen/Qwen3-30B-A3B-Instruct-2507"


@pytest.fixture(scope="module")
def model():
    return bundled_model()


def test_frame_and_json_agree_on_a_price_not_given(model):
    """An energy search's frame read price_per_gpu_hour 0.0 (a free GPU-hour) where its JSON read null."""
    kw = dict(input_tokens=1500, output_tokens=300, energy_model=model, bootstrap=False, top=2, tp=1)
    r = energylens.search(QWEN, "H100", carbon_g_per_kwh=400, **kw)
    for frame in (r.to_frame(), r.top, r.pareto_tpot, r.pareto_ttft):
        assert len(frame) and frame["price_per_gpu_hour"].isna().all(), frame["price_per_gpu_hour"].tolist()
    doc = json.loads(r.to_json())
    assert all(row["price_per_gpu_hour"] is None for part in ("top", "pareto_tpot", "pareto_ttft") for row in doc[part])
    priced = energylens.search(QWEN, "H100", price_per_gpu_hour={"H100": 0}, **kw)  # a free GPU-hour given: 0
    assert priced.to_frame()["price_per_gpu_hour"].tolist() == [0.0, 0.0]
    assert [row["price_per_gpu_hour"] for row in json.loads(priced.to_json())["top"]] == [0.0, 0.0]
