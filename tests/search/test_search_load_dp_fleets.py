"""Load mode: a dense model's "DP1 x 4 replicas" and "DP2 x 2 replicas" are the same GPUs running the same ranks
(dp x replicas of them, the same batch each): one fleet. They were two rows, tied, splitting P(best) by rounding
and taking a top-k place each; they are one row now, at its smallest dp, ``dp_equivalent`` listing the dp values
it stands for and the label ``DP1/2`` (as ``B64/128`` lists caps). Different fleets (more ranks where a larger dp
rounds the replicas up; a MoE, whose dp ranks share one expert copy) stay apart."""

import json

import pandas as pd
import pytest

import energylens
from energylens.search.api import bundled_model
from energylens.search.caps import collapse_dp
from energylens.search.labels import config_labels

L8 = "meta-llama/Llama-3.1-8B-Instruct"
FLEET = ["model", "gpu", "precision", "kv_cache_dtype", "tp", "pp", "ep", "input_tokens", "output_tokens", "gpus"]


@pytest.fixture(scope="module")
def result():
    return energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1, 2], dp=[1, 2],
                             rate_per_s=20, energy_model=bundled_model(), top=10, bootstrap=True)


def test_one_fleet_is_one_row(result):
    top = result.top
    tied = top.assign(o=top["objective"].round(9)).duplicated(FLEET + ["o"])
    assert not tied.any(), top[FLEET + ["dp", "replicas", "objective"]]
    merged = top[[len(d) > 1 for d in top["dp_equivalent"]]]
    assert len(merged) and (merged["dp"] == 1).all() and all(d == [1, 2] for d in merged["dp_equivalent"])
    assert all("DP1/2" in c for c in result.to_frame().loc[merged.index, "config"])
    assert len(top) == 10  # the engine was asked for enough rows that k fleets remain


def test_p_best_is_not_split_between_copies(result):
    assert result.top["p_best"].sum() == pytest.approx(1.0)
    assert "DP1/2" in result.table() and "same fleet" in result.legend()


def test_json_and_fronts_carry_it(result, tmp_path):
    result.to_json(tmp_path / "r.json")
    top = json.loads((tmp_path / "r.json").read_text())["top"]
    assert any(row["dp_equivalent"] == [1, 2] and "DP1/2" in row["config"] for row in top), top[:2]
    for front in (result.pareto_tpot, result.pareto_ttft):
        assert not front.assign(o=front["objective"].round(9)).duplicated(FLEET + ["o"]).any()


def test_only_equal_fleets_at_equal_objective_merge():
    base = {"model": "m", "gpu": "g", "precision": "bf16", "kv_cache_dtype": "auto", "tp": 1, "pp": 1, "ep": 1,
            "input_tokens": 512.0, "output_tokens": 256.0}
    df = pd.DataFrame([{**base, "index": 7, "dp": 2, "replicas": 2, "gpus": 4, "objective": 1.0},
                       {**base, "index": 3, "dp": 1, "replicas": 4, "gpus": 4, "objective": 1.0 + 1e-15},
                       {**base, "index": 8, "dp": 2, "replicas": 2, "gpus": 4, "objective": 1.0 + 1e-6},  # a MoE's
                       {**base, "index": 4, "dp": 1, "replicas": 3, "gpus": 3, "objective": 1.1},  # fewer ranks
                       {**base, "index": 9, "dp": 4, "replicas": 1, "gpus": 4, "objective": 1.0}])
    out = collapse_dp(df)
    assert out["index"].tolist() == [3, 8, 4]  # the group's smallest dp, at the group's first place
    assert out["dp_equivalent"].tolist() == [[1, 2, 4], [2], [1]]


def test_fixed_batch_mode_unchanged():
    r = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], dp=[1, 2], max_num_seqs=[8],
                          energy_model=bundled_model(), bootstrap=False)
    assert sorted(r.top["dp"]) == [1, 2] and "dp_equivalent" not in r.top  # different sizes: the note says they tie


def test_label_of_a_row_without_a_list_is_its_dp():
    """A table concatenated with one that lacks the column (NaN there) labels that row by its dp (int(nan) raised)."""
    base = {"model": "m/x", "gpu": "H100", "precision": "bf16", "tp": 1, "pp": 1, "dp": 2, "ep": 1, "max_num_seqs": 8}
    df = pd.concat([pd.DataFrame([{**base, "dp_equivalent": [1, 2]}]), pd.DataFrame([base])], ignore_index=True)
    assert config_labels(df) == ["x H100 bf16 TP1 PP1 DP1/2 B8", "x H100 bf16 TP1 PP1 DP2 B8"]
