"""The checkpoint's own limits in the search (docs/search.md, "Feasibility"): vLLM's weight-block rule for
block-scaled fp8 checkpoints (fp8_block_shape) and the model's context window (context_length), against
hand-worked cases, the NumPy oracle in both fill paths, and the CLI's explanation of an empty result."""

import numpy as np
import pandas as pd
import pytest
from test_search_exact import _compare, _random_params

import energylens
from energylens import _core
from energylens.cli.main import main
from energylens.profiles import tables
from energylens.profiles.alias_cells import alias_cell
from energylens.search.api import native_options
from energylens.search.serving_limits import fp8_block_misfit, row_limits, tp_sharded_width
from energylens.search.space import build_space

Q235_FP8 = "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"  # experts 1536 wide, 128 x 128 blocks (v3 ran it TP8 + EP8)


def _reasons(space, model) -> list[str]:
    """The first failing reason of every candidate ('' when feasible)."""
    ev = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, native_options(),
                               np.arange(space.size, dtype=np.uint64))
    names = _core.search_reason_names()
    return ["" if r < 0 else names[r] for r in ev.reason]


def _by_layout(space, model) -> dict[tuple, str]:
    frame = space.decode(np.arange(space.size, dtype=np.uint64))
    return {(r.precision, int(r.tp), int(r.dp), int(r.ep)): why
            for r, why in zip(frame.itertuples(), _reasons(space, model), strict=True)}


def test_fp8_moe_experts_must_split_into_whole_blocks(model):
    """1536 / TP 8 = 192 is no multiple of 128 (vLLM: "output_size of gate's and up's weight = 192 is not
    divisible by weight quantization block_n = 128"); 1536 / 4 = 384 is; with EP the experts stay whole.
    Without EP vLLM's MoE layers shard over TP x DP, so TP 4 x DP 2 fails as TP 8 does. bf16 has no blocks."""
    space = build_space([Q235_FP8], ["H200"], input_tokens=512, output_tokens=256, tp=[4, 8], dp=[1, 2],
                        ep=[1, 8], max_num_seqs=[8], precision=["fp8", "bf16"])
    got = _by_layout(space, model)
    assert got[("fp8", 8, 1, 1)] == "fp8_block_shape"
    assert got[("fp8", 4, 2, 1)] == "fp8_block_shape"
    assert got[("fp8", 4, 1, 1)] != "fp8_block_shape"
    assert got[("fp8", 8, 1, 8)] == ""                      # the deployment ML.ENERGY v3 measured
    assert got[("fp8", 4, 2, 8)] == ""                      # DP 2 + EP 8: experts whole on each GPU
    assert got[("bf16", 8, 1, 1)] not in ("fp8_block_shape",)  # the bf16 checkpoint has no blocks
    assert "fp8_block_shape" not in {why for (p, *_), why in got.items() if p == "bf16"}


def test_fp8_dense_ffn_must_split_into_whole_blocks(model):
    """Qwen3-4B's FFN is 9728 wide: 2432 per GPU at TP 4 (19 blocks), 1216 at TP 8 (9.5 blocks)."""
    assert tables.model_spec("Qwen/Qwen3-4B").intermediate_size == 9728
    space = build_space(["Qwen/Qwen3-4B-FP8"], ["H100"], input_tokens=512, output_tokens=256, tp=[1, 2, 4, 8],
                        max_num_seqs=[8])
    got = _by_layout(space, model)
    assert [got[("fp8", tp, 1, 1)] for tp in (1, 2, 4, 8)] == ["", "", "", "fp8_block_shape"]


def test_fp8_shared_expert_splits_over_tp_even_with_ep(model):
    """Qwen3-Next-FP8's shared expert is a plain 512-wide MLP split over tp: 64 per GPU at TP 8, half a block,
    with EP 8 too, where the routed experts (also 512) stay whole (SGLang refuses it,
    sgl-project/sglang#10852; vLLM builds the same MergedColumnParallelLinear with the fp8 block config).
    At TP 4 the shard is one block; with DP 2 + EP 8 (TP 4) the shared expert still splits over tp only."""
    spec = tables.model_spec("Qwen/Qwen3-Next-80B-A3B-Instruct")
    assert (spec.shared_expert_intermediate_size, spec.moe_intermediate_size) == (512, 512)
    space = build_space(["Qwen/Qwen3-Next-80B-A3B-Instruct-FP8"], ["H200"], input_tokens=512, output_tokens=256,
                        tp=[4, 8], dp=[1, 2], ep=[1, 8], max_num_seqs=[8], precision=["fp8"])
    got = _by_layout(space, model)
    assert got[("fp8", 8, 1, 8)] == "fp8_block_shape"
    assert got[("fp8", 4, 1, 1)] == "" and got[("fp8", 4, 2, 8)] == ""
    assert got[("fp8", 4, 2, 1)] == "fp8_block_shape"      # routed experts over tp x dp = 8: 64 wide


def test_tp_sharded_width_is_exactly_the_two_widths_rule():
    """Folding the dense and shared widths into their gcd keeps the rule exact: tp x block divides both
    widths exactly when it divides the gcd (brute force over small integers), and a width that is not a whole
    number never fits."""
    rng = np.random.default_rng(7)
    dense, shared = rng.integers(0, 3000, 4000).astype(float), rng.integers(0, 3000, 4000).astype(float)
    block, tp = rng.choice([16.0, 64.0, 128.0], 4000), rng.choice([2.0, 3.0, 4.0, 8.0], 4000)
    folded = tp_sharded_width(dense, shared)
    want = np.zeros(4000, dtype=bool)
    for w in (dense, shared):
        want |= (w > 0) & (np.mod(w / tp, block) != 0)
    got = fp8_block_misfit(block, folded, 0.0, tp, 1.0, 1.0)
    np.testing.assert_array_equal(got, want)
    assert fp8_block_misfit(128.0, tp_sharded_width(1024.5, 1024.0), 0.0, 2.0, 1.0, 1.0)
    np.testing.assert_array_equal(tp_sharded_width([0.0, 512.0, 0.0], [8192.0, 0.0, 0.0]), [8192.0, 512.0, 0.0])


def test_predict_row_limits_check_the_shared_expert():
    """predict's per-row block rule folds the shared expert in as the search does; a row's own
    shared_expert_intermediate_size overrides the table's."""
    rows = pd.DataFrame({"model": ["Qwen/Qwen3-Next-80B-A3B-Instruct-FP8"] * 3, "precision": ["fp8"] * 3,
                         "tp": [8, 4, 8], "dp": [1, 1, 1], "ep": [8, 4, 8], "input_tokens": [512] * 3,
                         "output_tokens": [256] * 3, "shared_expert_intermediate_size": [np.nan, np.nan, 1024]})
    got = row_limits(rows)["fits_fp8_blocks"].tolist()
    assert got == [False, True, True]


def test_context_window_rejects_longer_requests_per_checkpoint(model):
    """Llama 3.1: 131072 tokens; Qwen3-235B-A22B 40960, its -Instruct-2507 alias 262144 (the cell's alias value)."""
    assert tables.model_spec("meta-llama/Llama-3.1-8B-Instruct").context_window_tokens == 131072
    assert tables.find_model("Qwen/Qwen3-235B-A22B").context_window_tokens == 40960
    assert tables.find_model("Qwen/Qwen3-235B-A22B-Instruct-2507").context_window_tokens == 262144
    # a variant of an alias (not itself in the table) takes the alias's window, not the row's
    assert tables.find_model("Qwen/Qwen3-30B-A3B-Instruct-2507-AWQ").context_window_tokens == 262144
    assert tables.find_model("Qwen/Qwen3-30B-A3B-AWQ").context_window_tokens == 40960
    # a row's own names keep the row's window, even where dropping words like Instruct / hf / Base would
    # make them look like an alias with another one; a quantised copy keeps its checkpoint's
    for name, window in (("Qwen/Qwen2.5-7B-Instruct", 32768), ("Qwen/Qwen2.5-7B-Instruct-AWQ", 32768),
                         ("Qwen/Qwen2.5-7B", 131072), ("codellama/CodeLlama-70b-hf", 16384),
                         ("codellama/CodeLlama-70b-hf-AWQ", 16384), ("codellama/CodeLlama-70b-Instruct-hf", 4096),
                         ("moonshotai/Kimi-K2-Instruct", 131072), ("moonshotai/Kimi-K2-Base", 131072),
                         ("moonshotai/Kimi-K2-Instruct-0905", 262144)):
        assert tables.find_model(name).context_window_tokens == window, name
    llama = build_space(["llama-3.1-8b"], ["H200"], input_tokens=[100_000, 200_000], output_tokens=[1000, 1000],
                        tp=[8], max_num_seqs=[1])
    assert _reasons(llama, model) == ["", "context_length"]
    for name, expected in (("Qwen/Qwen3-235B-A22B", "context_length"), ("Qwen/Qwen3-235B-A22B-Instruct-2507", "")):
        space = build_space([name], ["B200"], input_tokens=100_000, output_tokens=1000, tp=[8], ep=[8],
                            max_num_seqs=[1])
        assert _reasons(space, model) == [expected], name


@pytest.mark.parametrize("n_work", [5, 9])  # the per-candidate and the vectorised fill path
@pytest.mark.parametrize("threads", [1, 2])
def test_engine_matches_the_oracle_with_both_new_reasons(model, n_work, threads):
    """Runs of one batch value whose points fall on both sides of Mixtral's 32768-token window, and an fp8
    MoE whose TP / DP / EP layouts hit the block rule, against the NumPy brute force."""
    rng = np.random.default_rng(100 + n_work)
    space = build_space(["mixtral-8x7b", "Qwen/Qwen3-30B-A3B"], ["H200", "B200"],
                        input_tokens=rng.integers(1000, 45_000, n_work).tolist(),
                        output_tokens=rng.integers(16, 2048, n_work).tolist(),
                        tp=[1, 2, 4, 8], dp=[1, 2], ep=[1, 2, 4], max_num_seqs=[1, 7, 40], precision=["fp8", "bf16"])
    theta, phi = _random_params(model, rng)
    _, ref = _compare(space, theta, phi, {"top": 12, "tpot_limit_s": 0.2}, threads)
    assert ref["rejected"]["context_length"] > 0 and ref["rejected"]["fp8_block_shape"] > 0, ref["rejected"]


def test_cli_names_the_block_rule_when_it_empties_the_space(capsys):
    rc = main(["search", "--model", Q235_FP8, "--gpus", "H200", "--tp", "8", "--input-tokens", "512",
               "--output-tokens", "256"])
    err = capsys.readouterr()
    text = err.out + err.err
    assert rc != 0
    assert "fp8_block_shape" in text and "--ep" in text, text


def test_model_table_cells_are_consistent():
    """Every block-scaled fp8 row has the FFN width its rule needs, and an alias value in a
    context_window_tokens cell names an alias of that row (a typo would silently never apply)."""
    frame = tables.models()
    for row in frame.itertuples(index=False):
        if np.isfinite(row.fp8_weight_block):
            width = row.moe_intermediate_size if row.architecture == "moe" else row.intermediate_size
            assert np.isfinite(width) and width % row.fp8_weight_block == 0, row.name
            shared = row.shared_expert_intermediate_size
            assert not np.isfinite(shared) or shared % row.fp8_weight_block == 0, row.name
        base, overrides = alias_cell(row.context_window_tokens)
        names = {tables.normalize_name(a) for a in [row.name, *str(row.aliases).split(";")] if a}
        assert base is not None and float(base) >= 2048, row.name
        for alias, value in overrides.items():
            assert tables.normalize_name(alias) in names, (row.name, alias)
            assert float(value) >= 2048 and float(value) != float(base), (row.name, alias)


def test_results_name_the_checkpoint_asked_for_and_round_trip(model):
    """The 2507 refresh (262144 tokens) at 101k tokens: feasible, shown under its own name, and its result
    row fed back as a candidate is the same checkpoint (the original's 40960-token window would reject it)."""
    name = "Qwen/Qwen3-235B-A22B-Instruct-2507"
    r = energylens.search(name, "B200", input_tokens=100_000, output_tokens=1000, tp=[8], ep=[8], max_num_seqs=[1],
                          energy_model=model, bootstrap=False)
    assert r.feasible == 1 and list(r.top["model"]) == [name]
    again = energylens.search(candidates=r.top[["model", "gpu", "tp", "pp", "dp", "ep", "max_num_seqs",
                                                "input_tokens", "output_tokens", "precision"]],
                              energy_model=model, bootstrap=False)
    assert again.feasible == 1, again.rejected


@pytest.mark.parametrize("order", [1, -1])
def test_candidates_of_two_checkpoints_of_one_row_keep_their_windows(model, order):
    rows = pd.DataFrame({"model": ["Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-Instruct-2507"][::order],
                         "gpu": "B200", "tp": 8, "ep": 8, "max_num_seqs": 1, "input_tokens": 100_000,
                         "output_tokens": 1000})
    r = energylens.search(candidates=rows, energy_model=model, bootstrap=False)
    assert r.feasible == 1 and r.rejected["context_length"] == 1
    assert list(r.top["model"]) == ["Qwen/Qwen3-235B-A22B-Instruct-2507"]


def test_an_axis_search_takes_two_checkpoints_of_one_row(model):
    """The original and its 2507 refresh in one axis search were refused as "the same model"; they differ in
    their context window, so at 100k tokens one is rejected and the other kept. Two names of one checkpoint
    (a table alias, a quantised copy) are still refused."""
    r = energylens.search(["Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-Instruct-2507"], "B200",
                          input_tokens=100_000, output_tokens=1000, tp=[8], ep=[8], max_num_seqs=[1],
                          energy_model=model, bootstrap=False)
    assert r.feasible == 1 and r.rejected["context_length"] == 1
    assert list(r.top["model"]) == ["Qwen/Qwen3-235B-A22B-Instruct-2507"]
    with pytest.raises(ValueError, match=r"are the same model \(Qwen/Qwen3-235B-A22B\).*precision="):
        energylens.search(["Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-FP8"], "B200", input_tokens=1000,
                          output_tokens=100, energy_model=model, bootstrap=False)
