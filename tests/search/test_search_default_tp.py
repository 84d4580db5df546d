"""The default TP axis (1,2,4,8) keeps only the values some searched model can use and says which it dropped:
before, a model whose attention heads 8 does not divide (Qwen2.5-7B: 28) failed the whole search. A TP value
the user gives is still an error when no model can use it."""

import numpy as np
import pytest

import energylens
from energylens.cli.main import main
from energylens.search.api import bundled_model
from energylens.search.oracle import brute_force
from energylens.search.space import build_space

KW = dict(gpus="H100", input_tokens=512, output_tokens=256, max_num_seqs=[8], bootstrap=False)


@pytest.mark.parametrize("model, heads, kept", [
    ("Qwen/Qwen2.5-7B-Instruct", 28, [1, 2, 4]),
    ("Qwen/Qwen2.5-0.5B-Instruct", 14, [1, 2]),
    ("google/gemma-3-1b-it", 4, [1, 2, 4]),
])
def test_default_tp_drops_values_no_model_can_use_and_says_so(model, heads, kept):
    r = energylens.search(model=model, energy_model=bundled_model(), **KW)
    assert r.settings["tp"] == kept and r.feasible > 0
    dropped = ",".join(str(t) for t in (1, 2, 4, 8) if t not in kept)
    verb = "divides" if len(dropped) == 1 else "divide"  # "tp 4,8 divides" before 2026-12-06
    note = (f"note: tp (--tp) not given: searched tp {','.join(map(str, kept))} of the default 1,2,4,8; tp {dropped} "
            f"{verb} the attention heads of none of the models ({model} has {heads})")
    assert note in r.summary() and r.settings["tp_note"] == note.removeprefix("note: ")


def test_default_tp_unchanged_where_every_value_fits():
    r = energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", energy_model=bundled_model(), **KW)
    assert r.settings["tp"] == [1, 2, 4, 8] and r.settings["tp_note"] is None and "tp (--tp)" not in r.summary()
    both = energylens.search(model="Qwen/Qwen2.5-7B-Instruct,meta-llama/Llama-3.1-8B-Instruct",
                             energy_model=bundled_model(), **KW)  # TP8 suits one of them: kept, rejected per model
    assert both.settings["tp"] == [1, 2, 4, 8] and both.rejected["tp_heads"] == 1


@pytest.mark.parametrize("tp", [[8], [1, 2, 4, 8]])
def test_given_tp_no_model_can_use_is_still_an_error(tp):
    with pytest.raises(ValueError, match=r"tp=8 divides the attention heads of none of the models "
                                         r"\(Qwen/Qwen2.5-7B-Instruct has 28\)"):
        energylens.search(model="Qwen/Qwen2.5-7B-Instruct", tp=tp, energy_model=bundled_model(), **KW)


def test_cli_default_tp_searches_and_prints_the_note(tmp_path, capsys):
    path = tmp_path / "model.json"
    bundled_model().save(path)
    args = ["search", "--model", "Qwen/Qwen2.5-7B-Instruct", "--gpus", "H100", "--input-tokens", "512",
            "--output-tokens", "256", "--model-file", str(path), "--top", "1"]
    assert main(args) == 0
    assert "searched tp 1,2,4 of the default 1,2,4,8" in capsys.readouterr().out
    assert main([*args, "--tp", "1,8"]) == 2
    assert "tp=8 divides the attention heads of none of the models" in capsys.readouterr().err


def test_default_tp_reaches_the_scale_up_domain_of_nvl72():
    """GB200 NVL72 (72 GPUs in one NVLink domain): the default axis runs to 64, as the engine's tp_node check
    allows; before 2026-12-06 it stopped at 8 whatever the domain. Llama-3.1-405B's 128 heads and 8 KV heads
    take every power of two up to 64 (KV heads replicated from 16), and some TP 16-64 candidates fit."""
    kw = {**KW, "gpus": "GB200", "max_num_seqs": [64]}
    r = energylens.search(model="meta-llama/Llama-3.1-405B-Instruct", energy_model=bundled_model(), **kw)
    assert r.settings["tp"] == [1, 2, 4, 8, 16, 32, 64] and r.settings["tp_note"] is None
    eight = energylens.search(model="meta-llama/Llama-3.1-405B-Instruct", tp=[1, 2, 4, 8], energy_model=bundled_model(),
                              **kw)
    assert r.rejected["tp_node"] == 0 and r.feasible > eight.feasible > 0


def test_default_tp_follows_node_size_and_the_heads():
    """--node-size 16 on H100: 1-16. Qwen2.5-7B (28 heads, 4 KV heads) still drops what its heads refuse
    (8, 16), said against the default searched."""
    r = energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", node_size=16, energy_model=bundled_model(), **KW)
    assert r.settings["tp"] == [1, 2, 4, 8, 16]
    q = energylens.search(model="Qwen/Qwen2.5-7B-Instruct", node_size=16, energy_model=bundled_model(), **KW)
    assert q.settings["tp"] == [1, 2, 4]
    assert "searched tp 1,2,4 of the default 1,2,4,8,16; tp 8,16 divide the attention heads" in q.settings["tp_note"]


def test_default_tp_on_8_gpu_servers_and_mixed_domains():
    """8-GPU servers keep 1,2,4,8 exactly; searching H100 beside GB200 takes the larger domain, and the engine
    rejects TP above 8 on H100 (tp_node) while GB200 keeps it."""
    assert energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", energy_model=bundled_model(),
                             **{**KW, "gpus": "B200"}).settings["tp"] == [1, 2, 4, 8]
    r = energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", energy_model=bundled_model(),
                          **{**KW, "gpus": "H100,GB200"})
    assert r.settings["tp"] == [1, 2, 4, 8, 16, 32]  # 32 heads, 8 KV heads: 64 is no divisor of 32 heads
    # H100 at tp 16 and 32: default values beyond its domain, skipped and said, not rejections (tp_node 2 before)
    assert r.rejected["tp_node"] == 0 and r.settings["tp_default_skipped"] == 2 and r.candidates == 10
    explicit = energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", energy_model=bundled_model(), tp=[8, 16],
                                 **{**KW, "gpus": "H100,GB200"})
    assert explicit.rejected["tp_node"] == 1 and explicit.settings["tp_default_skipped"] == 0  # --tp 16 on H100


MIXED = dict(model="meta-llama/Llama-3.1-405B-Instruct", gpus="H100,H200,B200,GB200", input_tokens=4000,
             output_tokens=1000, max_num_seqs=[64, 1024], precision="fp8", tpot_limit_s=0.01, bootstrap=False)


def test_an_empty_mixed_domain_search_does_not_blame_default_tp_values_nobody_asked_for(tmp_path, capsys):
    """Searched beside GB200 (72 GPUs per domain), the default axis runs to tp 64; on H100, H200 and B200 (8)
    tp 16-64 are beyond the domain. Before, those 18 candidates counted as tp_node rejections, and the empty
    result said 'most were rejected by tp_node', TP values the user never asked for. They are now skipped
    and said in a note; the reasons left are the space's own."""
    r = energylens.search(energy_model=bundled_model(), **MIXED)
    assert r.empty and r.rejected["tp_node"] == 0 and r.candidates == 56 - 18
    assert r.settings["tp_default_skipped"] == 18 and sum(r.rejected.values()) == r.candidates
    assert r.main_rejection == "memory_weights" and "tp_node" not in r.why_empty()
    note = ("default TP values beyond a GPU's NVLink domain, skipped (not counted as candidates): tp 16,32,64 on "
            "B200, H100-SXM5-80GB, H200-SXM-141GB (18 candidates)")
    assert note in r.settings["tp_note"] and f"note: {note}" in r.summary()
    path = tmp_path / "model.json"
    bundled_model().save(path)
    capsys.readouterr()
    main(["search", "--model", MIXED["model"], "--gpus", MIXED["gpus"], "--input-tokens", "4000", "--output-tokens",
          "1000", "--max-num-seqs", "64,1024", "--precision", "fp8", "--tpot-limit", "0.01", "--model-file", str(path)])
    said = capsys.readouterr()
    out = " ".join((said.out + said.err).split())  # the summary on stdout, why it is empty on stderr
    assert "most were rejected by memory_weights" in out and "tp_node" not in out and note in out


def test_skipped_default_values_are_exactly_the_oracles_tp_node_rejections():
    """The engine and the oracle still evaluate the whole space alike; the result moves to the note exactly the
    candidates both reject as tp_node at a default value beyond the GPU's domain (here all of them), and
    leaves every other count as both give it."""
    model = bundled_model()
    space = build_space(MIXED["model"], MIXED["gpus"].split(","), input_tokens=4000, output_tokens=1000,
                        max_num_seqs=[64, 1024], precision=["fp8"])
    ref = brute_force(space, model.theta, model.latency_model.theta, tpot_limit_s=0.01)
    r = energylens.search(energy_model=model, **MIXED)
    assert ref["rejected"]["tp_node"] == r.settings["tp_default_skipped"] == 18
    assert {**ref["rejected"], "tp_node": 0} == r.rejected and r.candidates + 18 == space.size
    dec = space.decode(np.arange(space.size))
    beyond = np.flatnonzero((dec["gpu"] != "GB200").to_numpy() & (dec["tp"] > 8).to_numpy())
    sub = brute_force(space, model.theta, model.latency_model.theta, indices=beyond, tpot_limit_s=0.01)
    assert sub["rejected"]["tp_node"] == len(beyond) == 18


@pytest.mark.parametrize("seed", range(4))
def test_random_mixed_domain_spaces_shift_only_the_skipped_tp_node_counts(seed):
    """Random default-axis spaces beside GB200 (models whose heads refuse some tp, dp 2, a workload
    distribution on even seeds): the result's counts are the oracle's with tp_node less the skipped candidates,
    which are exactly the oracle's tp_node rejections (no explicit tp here), and the candidates add up."""
    model = bundled_model()
    rng = np.random.default_rng(seed)
    models = list(rng.choice(["llama-3.1-8b", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen3-30B-A3B",
                              "meta-llama/Llama-3.1-405B-Instruct", "google/gemma-3-27b-it"], 2, replace=False))
    gpus = ["GB200", str(rng.choice(["H100", "A100-SXM4-80GB", "L40S", "B200"]))]
    kw = dict(input_tokens=rng.integers(100, 4000, 2).tolist(), output_tokens=rng.integers(50, 1000, 2).tolist(),
              dp=[1, 2], max_num_seqs=[8, 256], **({"workload_weights": "equal"} if seed % 2 == 0 else {}))
    space = build_space(models, gpus, **kw)
    ref = brute_force(space, model.theta, model.latency_model.theta, tpot_limit_s=0.05)
    r = energylens.search(model=models, gpus=gpus, energy_model=model, bootstrap=False, tpot_limit_s=0.05, **kw)
    skipped = r.settings["tp_default_skipped"]
    assert skipped == ref["rejected"]["tp_node"] > 0 and r.rejected == {**ref["rejected"], "tp_node": 0}
    assert r.candidates + skipped == space.size and r.feasible == ref["feasible"]
