"""Load mode with the cost objective: a MoE's "TP2 DP1 x 4 replicas" and "TP2 DP2 x 2 replicas" run 8 GPUs each, so
they cost the same per request (at 30 requests/s with the v3 model; 4 with the bundled one: 4 GPUs), but their dp ranks share one expert copy and they differ in energy (139.5 against
138.4 J with the v3 model), TPOT, TTFT and memory. The dp merge tied rows on the objective alone and listed them as one
row, "Qwen3-30B-A3B H100 bf16 TP2 PP1 DP1/2 EP1/2 B256", whose EP1/2 is no EP group of DP2 (tp x dp = 4). Rows now
merge only where energy, latency and memory tie as well (a dense model's dp fleets still do)."""

import warnings

import numpy as np
import pytest

import energylens
from energylens.search.api import bundled_model

KW = {"input_tokens": 2000, "output_tokens": 500, "rate_per_s": 4, "tp": [2], "dp": [1, 2], "max_num_seqs": [64, 256],
      "top": 10, "bootstrap": False, "price_per_gpu_hour": 2.5}


def _search(model: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(model, "H100", energy_model=bundled_model(), **{**KW, **kw})


@pytest.mark.parametrize("ep", [[1], [1, 2, 4]])
def test_a_moes_dp_fleets_of_one_cost_stay_apart(ep):
    r = _search("Qwen/Qwen3-30B-A3B", ep=ep)
    f = r.to_frame()
    merged = f[f["dp_equivalent"].map(len) > 1]
    assert merged.empty, merged[["config", "energy_j", "tpot_s"]]
    same_cost = f.groupby(["max_num_seqs", "gpus"])["dp"].nunique()
    assert (same_cost > 1).any(), f[["config", "gpus", "objective"]]  # the case: two dp values at one cost
    for _, row in f.iterrows():
        if row["dp"] == 2 and len(row.get("ep_equivalent", [1])) > 1:
            assert row["ep_equivalent"] == [1, 4] and "DP2 EP1/4" in row["config"], row["config"]


def test_a_dense_models_dp_fleets_still_merge_under_cost():
    f = _search("meta-llama/Llama-3.1-8B-Instruct", tp=[1]).to_frame()
    assert (f["dp_equivalent"].map(len) > 1).any(), f[["config", "objective", "energy_j"]]
    assert np.isfinite(f["energy_j"]).all()
