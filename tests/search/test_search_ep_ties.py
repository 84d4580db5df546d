"""A MoE with and without expert parallelism on the same GPUs is one row when the model prices them alike.

vLLM's ``--enable-expert-parallel`` makes every GPU of a stage one EP group (EP = TP x DP: its
``FusedMoEParallelConfig.make`` sets ep_size to the flattened TP x DP size); without it the MoE layers shard each
expert over the same TP x DP GPUs. Either way each GPU holds 1 / (tp x dp) of the expert weights, and at dp 1 the
experts' output is summed in the TP all-reduce, at dp > 1 the ranks exchange their tokens: the template prices the
two alike to the last bits (the kernels' shapes and EP's load imbalance, which differ, it does not model). The
search listed "TP2 PP1 DP1 B256" and "TP2 PP1 DP1 EP2 B256" as two results with the same energy, latency and
memory, splitting P(best) between them, and explain(0) said the best "ties with" its EP twin. They are one row now,
at ep 1 (no --enable-expert-parallel: the fewer settings), ``ep_equivalent`` listing the ep values it stands for,
labelled ``EP1/2``, and explain says why they tie; twins that differ anywhere stay apart."""

import json

import pandas as pd
import pytest

import energylens
from energylens.search.caps import ep_groups
from energylens.search.frames import engine_rows
from energylens.search.space import build_space

Q30 = "Qwen/Qwen3-30B-A3B"
KW = dict(input_tokens=1000, output_tokens=500, tp=[1, 2], dp=[1, 2], max_num_seqs=[64, 256], top=6)
#: A deployment apart from its expert parallelism.
SAME = ["model", "gpu", "precision", "kv_cache_dtype", "tp", "pp", "dp", "max_num_seqs", "input_tokens", "output_tokens"]


@pytest.fixture(scope="module")
def both(model):
    """(the search with ep 1 and ep = tp x dp, the same search without EP)."""
    with_ep = energylens.search(Q30, "H100,H200", ep=[1, 2, 4], energy_model=model, **KW)
    without = energylens.search(Q30, "H100,H200", ep=[1], energy_model=model, **KW)
    return with_ep, without


def _twins(df: pd.DataFrame) -> pd.Series:
    return df.assign(o=df["objective"].round(9)).duplicated(SAME + ["o"])


def test_a_deployment_with_and_without_ep_is_one_row(both):
    r, plain = both
    assert not _twins(r.top).any(), r.top[SAME + ["ep", "objective"]]
    merged = r.top[[len(e) > 1 for e in r.top["ep_equivalent"]]]
    assert len(merged) and (merged["ep"] == 1).all()
    assert all(e == [1, int(t * d)] for e, t, d in zip(merged["ep_equivalent"], merged["tp"], merged["dp"], strict=True))
    assert all("EP1/" in c for c in r.to_frame().loc[merged.index, "config"])
    # the rows, prices and P(best) of the search that never tried EP: nothing split, nothing lost
    cols = ["gpu", "tp", "dp", "max_num_seqs", "objective", "p_best", "memory_gib_per_gpu"]
    pd.testing.assert_frame_equal(r.top[cols], plain.top[cols])


def test_explain_and_legend_say_why(both):
    r, _ = both
    rank = next(i for i, e in enumerate(r.top["ep_equivalent"]) if len(e) > 1)
    text = r.explain(rank)
    assert "expert parallelism" in text and "alike" in text, text
    assert "ties with" not in r.explain(0) or "EP" not in r.explain(0).split("ties with")[1], r.explain(0)
    assert "EP1/" in r.table() and "expert parallelism" in r.legend()


def test_json_and_fronts_carry_it(both, tmp_path):
    r, _ = both
    r.to_json(tmp_path / "r.json")
    top = json.loads((tmp_path / "r.json").read_text())["top"]
    assert any(len(row["ep_equivalent"]) > 1 and "EP1/" in row["config"] for row in top)
    for front in (r.pareto_tpot, r.pareto_ttft):
        assert not _twins(front).any()


def test_load_mode_too(model):
    r = energylens.search(Q30, "H100", ep=[1, 2, 4], rate_per_s=5, energy_model=model, **KW)
    assert not _twins(r.top).any() and len(r.top) == KW["top"]
    assert any(len(e) > 1 for e in r.top["ep_equivalent"])


def test_ep_axis_of_one_value_adds_nothing(model):
    r = energylens.search(Q30, "H100", ep=[1], energy_model=model, bootstrap=False, **KW)
    assert "ep_equivalent" not in r.top


def test_only_twins_priced_alike_merge():
    # rows in engine order: (deployment apart from ep, ep, (objective, energy, TTFT, TPOT, memory))
    rows = [("a", 2, (1.0, 1.0, 0.1, 0.02, 40.0)),
            ("a", 1, (1.0 + 1e-15, 1.0, 0.1, 0.02, 40.0)),   # its twin, tied within rounding
            ("b", 2, (1.0, 1.0, 0.1, 0.02, 40.0)),           # another deployment (another cap, say)
            ("b", 1, (1.0, 1.0, 0.1, 0.02, 41.0)),           # memory differs: shown apart, so the user sees why
            ("c", 1, (1.2, 1.2, 0.1, 0.02, 40.0)),
            ("a", 4, (1.0, 1.0, 0.1, 0.02 * (1 + 1e-9), 40.0))]  # TPOT differs past rounding
    key, ep, priced = zip(*rows, strict=True)
    keep, eps = ep_groups(key, ep, priced)
    assert keep == [1, 2, 3, 4, 5]  # the group's ep 1, at the group's first place
    assert eps == [[1, 2], [2], [1], [1], [4]]
    assert ep_groups(key, ep, priced, top=2) == ([1, 2], [[1, 2], [2]])


def test_the_engine_is_asked_for_both_twins_within_the_device_pass_limit():
    """Twice the rows so that ``top`` remain after the merge; the device pass keeps at most 32 (a ``top`` above
    that is its own error, as before)."""
    space = build_space(Q30, "H100", input_tokens=1000, output_tokens=500, tp=[1, 2, 4, 8], pp=[1], dp=[1, 2],
                        ep=[1, 2], max_num_seqs=[8, 64, 256], precision=None, kv_cache_dtype="auto")
    plain = build_space(Q30, "H100", input_tokens=1000, output_tokens=500, tp=[1, 2, 4, 8], pp=[1], dp=[1, 2],
                        ep=[1], max_num_seqs=[8, 64, 256], precision=None, kv_cache_dtype="auto")
    assert engine_rows(space, 10, False, None, "cpu") == 20 and engine_rows(plain, 10, False, None, "cpu") == 10
    assert engine_rows(space, 10, False, {0: "row"}, "cpu") == 10  # a candidate table: nothing merged
    assert engine_rows(space, 20, False, None, "cuda") == 32 and engine_rows(space, 40, False, None, "cuda") == 40


def test_the_legend_explains_ep1_n_only_where_a_row_shows_it(model):
    # Qwen3-235B-A22B-FP8 at TP 8: its fp8 blocks split only with EP, so only the EP 8 row is feasible
    r = energylens.search("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "H100", input_tokens=1000, output_tokens=500,
                          tp=[8], ep=[1, 8], max_num_seqs=[64, 256], energy_model=model, bootstrap=False)
    assert len(r.top) and (r.top["ep"] == 8).all() and all(e == [8] for e in r.top["ep_equivalent"])
    assert "EP1/" not in r.table() and "EP1/" not in r.legend()
