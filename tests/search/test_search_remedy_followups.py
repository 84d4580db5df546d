"""Empty results a user meets, whose printed remedy is followed: the new search must find configurations.
tp_node told a MoE searched at --tp 16 --ep 16 to use --tp 8 --pp 2, which leaves the EP group (tp x dp = 8)
short of 16 (rejected by ep_group), and named the GPU as the GPU table does (H100-SXM5-80GB) where the table
printed H100."""

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model

KW = dict(input_tokens=1500, output_tokens=300, bootstrap=False)
MOE = "Qwen/Qwen3-30B-A3B"


@pytest.fixture(scope="module")
def model():
    return bundled_model()


def _search(model, models, gpus, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(models, gpus, energy_model=model, **{**KW, **kw})


def test_tp_beyond_the_node_with_ep_keeps_the_ep_group(model):
    r = _search(model, MOE, "H100", tp=16, ep=16)
    assert r.main_rejection == "tp_node"
    text = r.why_empty()
    assert ("on H100 TP stays within 8 GPUs, so tp 16 cannot be used: --tp 8 --pp 2 spans the same 16 GPUs, and for "
            "MoE models --tp 8 --dp 2 keeps --ep 16 (expert parallelism spans tp x dp)") in text, text
    assert _search(model, MOE, "H100", tp=8, dp=2, ep=16).feasible
    assert _search(model, MOE, "H100", tp=8, pp=2).feasible  # without --ep, tp x pp


def test_tp_beyond_the_node_of_a_dense_model_says_nothing_of_ep(model):
    r = _search(model, "meta-llama/Llama-3.1-70B-Instruct", "H100", tp=8, node_size=4)
    text = r.why_empty()
    assert "on H100 TP stays within 4 GPUs, so tp 8 cannot be used: --tp 4 --pp 2 spans the same 8 GPUs" in text, text
    assert "--ep" not in text
    assert _search(model, "meta-llama/Llama-3.1-70B-Instruct", "H100", tp=4, pp=2, node_size=4).feasible
