"""The tp values the search offers or keeps pass the engine's own tp checks: the attention heads, vLLM's KV-head
rule (tp_heads) and the node (tp_node, --node-size). Before, '--tp 3' on Qwen2.5-7B (28 heads, 4 KV heads) was
told '--tp 1,2,4,7,14,28': 7 and 14 the 4 KV heads refuse, 14 and 28 exceed a node of 8; and the default axis
kept tp 4 and 8 for phi-4 (40 heads, 10 KV heads), which the engine then rejected for every candidate."""

import pytest

import energylens
from energylens.cli.main import main
from energylens.search import layout
from energylens.search.api import bundled_model

KW = dict(gpus="H100", input_tokens=512, output_tokens=256, max_num_seqs=[8], bootstrap=False)


def _engine_takes(heads, kv, tp, node):
    return int(layout.layout_reason(heads, kv, 1, tp, 1, 1, node)) < 0


def test_given_tp_suggests_only_values_the_engine_takes():
    with pytest.raises(ValueError) as info:
        energylens.search(model="Qwen/Qwen2.5-7B-Instruct", tp=3, energy_model=bundled_model(), **KW)
    text = str(info.value)
    assert text.startswith("tp=3 divides the attention heads of none of the models (Qwen/Qwen2.5-7B-Instruct has 28)")
    assert text.endswith("tp values that do, within a node of 8 GPUs (--node-size): Qwen/Qwen2.5-7B-Instruct: --tp 1,2,4")
    offered = [int(t) for t in text.rsplit("--tp ", 1)[1].split(",")]
    assert offered == [t for t in range(1, 29) if _engine_takes(28, 4, t, 8)]


@pytest.mark.parametrize("node, offered", [(None, "1,2,4,8"), (4, "1,2,4"), (2, "1,2")])
def test_suggestion_stays_within_the_node_size_given(node, offered):
    with pytest.raises(ValueError, match=rf"within a node of {node or 8} GPUs \(--node-size\): "
                                         rf"meta-llama/Llama-3.1-8B-Instruct: --tp {offered}$"):
        energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", tp=3, node_size=node,
                          energy_model=bundled_model(), **KW)


def test_suggestion_takes_a_larger_scale_up_domain():
    """GB200 NVL72: the engine's tp_node allows tp up to 72, so 16, 32 and 64 are offered for 128 heads."""
    with pytest.raises(ValueError, match=r"within a node of 72 GPUs \(--node-size\): deepseek-ai/DeepSeek-V3: "
                                         r"--tp 1,2,4,8,16,32,64$"):
        energylens.search(model="deepseek-ai/DeepSeek-V3", tp=3, energy_model=bundled_model(),
                          **{**KW, "gpus": "GB200"})


def test_a_tp_only_the_kv_heads_refuse_is_an_error_naming_them():
    with pytest.raises(ValueError) as info:
        energylens.search(model="microsoft/phi-4", tp=4, energy_model=bundled_model(), **KW)
    assert str(info.value) == (
        "tp=4 suits none of the models (microsoft/phi-4 has 40 attention heads and 10 KV heads; tp must divide the attention "
        "heads, and the KV heads divide tp or tp divide them); tp values that do, within a node of 8 GPUs "
        "(--node-size): microsoft/phi-4: --tp 1,2,5")
    assert energylens.search(model="microsoft/phi-4", tp=5, energy_model=bundled_model(), **KW).feasible


def test_default_tp_drops_what_the_kv_heads_refuse():
    r = energylens.search(model="microsoft/phi-4", energy_model=bundled_model(), **KW)
    assert r.settings["tp"] == [1, 2] and r.rejected["tp_heads"] == 0 and r.feasible
    assert r.settings["tp_note"] == (
        "tp (--tp) not given: searched tp 1,2 of the default 1,2,4,8; tp 4,8 suit none of the models (microsoft/phi-4 has "
        "40 attention heads and 10 KV heads; tp must divide the attention heads, and the KV heads divide tp or tp "
        "divide them)")


def test_default_tp_keeps_what_one_model_takes():
    r = energylens.search(model="microsoft/phi-4,meta-llama/Llama-3.1-8B-Instruct", energy_model=bundled_model(), **KW)
    assert r.settings["tp"] == [1, 2, 4, 8] and r.settings["tp_note"] is None and r.rejected["tp_heads"] == 2


def test_cli_names_the_values_to_pass(tmp_path, capsys):
    path = tmp_path / "model.json"
    bundled_model().save(path)
    args = ["search", "--model", "Qwen/Qwen2.5-7B-Instruct", "--gpus", "H100", "--input-tokens", "512",
            "--output-tokens", "256", "--model-file", str(path), "--tp", "3", "--node-size", "2"]
    assert main(args) == 2
    assert "within a node of 2 GPUs (--node-size): Qwen/Qwen2.5-7B-Instruct: --tp 1,2" in capsys.readouterr().err


def test_ep_on_a_dense_model_says_to_drop_it():
    with pytest.raises(ValueError) as info:
        energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", tp=1, ep=2, energy_model=bundled_model(), **KW)
    assert str(info.value) == (
        "ep=2 divides the experts of none of the models (meta-llama/Llama-3.1-8B-Instruct has 1): expert parallelism "
        "(ep > 1) needs a mixture-of-experts model; for dense models drop --ep (ep 1; spread them with --tp, --pp, --dp)")


def test_ep_that_divides_no_moes_experts_names_the_values_that_do():
    """Mixtral's 8 experts: it was told 'ep > 1 needs a mixture-of-experts model', which it is."""
    mixtral = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    with pytest.raises(ValueError) as info:
        energylens.search(model=mixtral, tp=1, ep=3, energy_model=bundled_model(), **KW)
    text = str(info.value)
    assert text.startswith(f"ep=3 divides the experts of none of the models ({mixtral} has 8); ep "
                           f"values that do: {mixtral}: --ep 2,4,8 (the EP group"), text
    assert "needs a mixture-of-experts model" not in text
    r = energylens.search(model=mixtral, tp=2, dp=2, ep=4, energy_model=bundled_model(), **{**KW, "gpus": "H200"})
    assert r.feasible


def test_default_tp_stays_within_the_node_size_given():
    """--node-size 2 without --tp: tp 4 and 8 were searched and every one of them rejected (tp_node)."""
    r = energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", node_size=2, energy_model=bundled_model(), **KW)
    assert r.settings["tp"] == [1, 2] and r.rejected["tp_node"] == 0 and r.feasible
    assert r.settings["tp_note"] == ("tp (--tp) not given: searched tp 1,2 of the default 1,2,4,8; tp 4,8 exceed a "
                                     "node of 2 GPUs (--node-size)")
    both = energylens.search(model="Qwen/Qwen2.5-7B-Instruct", node_size=2, energy_model=bundled_model(), **KW)
    assert both.settings["tp_note"].endswith("; tp 8 divides the attention heads of none of the models "
                                             "(Qwen/Qwen2.5-7B-Instruct has 28); tp 4 exceeds a node of 2 GPUs (--node-size)")
    given = energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", tp=[1, 4], node_size=2,
                              energy_model=bundled_model(), **KW)  # a given value is the engine's to reject
    assert given.settings["tp"] == [1, 4] and given.rejected["tp_node"] == 1


def test_ep_without_a_tp_x_dp_group_names_the_dp_that_makes_one():
    """'--tp 1 --ep 2' on a MoE: every candidate fails ep_group and the advice was the canned 'pick --ep values
    equal to tp x dp (or 1)'; it now names the --dp that makes the group, and following it finds configurations."""
    moe = "Qwen/Qwen3-30B-A3B"
    r = energylens.search(model=moe, tp=1, ep=2, energy_model=bundled_model(), **KW)
    assert r.empty and r.main_rejection == "ep_group"
    text = r.why_empty()
    assert ("expert parallelism spans a deployment's tp x dp GPUs, which the searched tp 1 and dp 1 make 1: --ep 2 "
            "needs tp x dp = 2, e.g. --tp 1 --dp 2, which passes every check") in text, text  # the engine's ep_room
    assert "pick --ep values" not in text, text
    assert energylens.search(model=moe, tp=1, dp=2, ep=2, energy_model=bundled_model(), **KW).feasible
