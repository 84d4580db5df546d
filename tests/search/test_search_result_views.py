"""What a result says: labels that tell workload points apart, load mode's non-binding caps as one row,
whole numbers as integers in JSON, singular counts, labelled Pareto entries, explain's ranks, the wall time
of a search with a limit confidence and its progress lines, the confidence sample's size."""

import json

import pandas as pd
import pytest

import energylens
import energylens.search.options as options_module
from energylens.cli.main import main
from energylens.search import build_space
from energylens.search.api import native_options
from energylens.search.caps import collapse_caps, engine_top_k
from energylens.search.confidence import ENUMERATE_MAX, confidence_limits

L8 = "meta-llama/Llama-3.1-8B-Instruct"
L70 = "meta-llama/Llama-3.1-70B-Instruct"
CAPS = [1, 2, 4, 8, 16, 32, 64, 128, 256]


@pytest.fixture(scope="module")
def light_load(model):
    """70B on H200 at 0.01 requests/s: no cap binds (the running batch is ~0.2), every cap one deployment."""
    return energylens.search(L70, "H200", input_tokens=512, output_tokens=256, tp=[2, 4, 8], rate_per_s=0.01,
                             top=3, energy_model=model)


# GPU variants in the label ------------------------------------------------------------------------

def test_gpu_variants_keep_their_names_in_the_label(model):
    """H100 SXM and PCIe searched together: both labels used to read "H100"; one GPU keeps the short name."""
    r = energylens.search(L8, ["H100-SXM5-80GB", "H100-PCIe-80GB", "H200"], input_tokens=512, output_tokens=256,
                          tp=[1], max_num_seqs=[8], energy_model=model, bootstrap=False, top=3)
    frame = r.to_frame()
    by_gpu = dict(zip(frame["gpu"], frame["config"], strict=True))
    assert " H100-SXM5-80GB " in by_gpu["H100-SXM5-80GB"] and " H100-PCIe-80GB " in by_gpu["H100-PCIe-80GB"]
    assert " H200 " in by_gpu["H200-SXM-141GB"]  # no other H200 searched: the short name
    for gpu, label in (("H100-SXM5-80GB", "H100"), ("H100-PCIe-80GB", "H100-PCIe-80GB"), ("H100 NVL", "H100-NVL-94GB")):
        one = energylens.search(L8, gpu, input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8],
                                energy_model=model, bootstrap=False, top=1)
        # alone, a GPU gets the short name only where that name is this GPU ("H100" is the SXM part)
        assert f" {label} bf16 " in one.to_frame()["config"].iloc[0], gpu


# 9. workload points in the label ------------------------------------------------------------------

def test_a_workload_sweep_labels_each_point(model):
    r = energylens.search(L8, "H100", input_tokens=[512, 1024], output_tokens=256, tp=[1], max_num_seqs=[8],
                          energy_model=model, bootstrap=False)
    labels = r.to_frame()["config"].tolist()
    assert len(labels) == 2 and len(set(labels)) == 2
    assert {label.split(" B8 ")[1] for label in labels} == {"in512 out256", "in1024 out256"}
    doc = json.loads(r.to_json())
    assert {row["config"] for row in doc["top"]} == set(labels)
    assert "in512 out256" in r.table() and "in" in r.explain(0).split(":")[0]
    # one point, or the points of one distribution: the label stays as it was
    one = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8],
                            energy_model=model, bootstrap=False)
    assert one.to_frame()["config"].iloc[0].endswith("TP1 PP1 DP1 B8")
    dist = energylens.search(L8, "H100", input_tokens=[512, 1024], output_tokens=256, tp=[1], max_num_seqs=[8],
                             workload_weights="equal", energy_model=model, bootstrap=False)
    assert dist.to_frame()["config"].iloc[0].endswith("B8")
    # ranking two workloads in one list is said, once; one point or one distribution says nothing
    assert "note: the 2 workload points are separate workloads ranked together" in r.summary()
    assert "workload points" not in one.summary() and "workload points" not in dist.summary()


def test_cli_accepts_equal_workload_weights(model, tmp_path, capsys):
    path = tmp_path / "model.json"
    model.save(path)
    assert main(["search", "--model", L8, "--gpus", "H100", "--input-tokens", "200,1000", "--output-tokens", "100,400",
                 "--workload-weights", "equal", "--tp", "1", "--max-num-seqs", "8", "--model-file", str(path),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["workload_distribution"] == [0.5, 0.5] and doc["candidates"] == 1


# 10. load mode: caps that do not bind are one row ---------------------------------------------------

def test_non_binding_caps_are_one_row(light_load):
    top = light_load.top
    assert len(top) == 3 and top["tp"].tolist() == [2, 4, 8]  # three deployments, not nine copies of one
    assert all(caps == CAPS for caps in top["max_num_seqs_equivalent"])
    assert not top["cap_binds"].any() and (top["batch"] < 1).all()
    assert top["p_best"].iloc[0] == 1.0  # no longer split by where each bisection stopped
    assert "B1..256 (9 caps)" in light_load.to_frame()["config"].iloc[0]
    assert "cap binds" in light_load.table()
    doc = json.loads(light_load.to_json())
    assert doc["top"][0]["max_num_seqs_equivalent"] == CAPS and doc["top"][0]["cap_binds"] is False


def test_binding_caps_stay_apart(model):
    r = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[1, 2, 4],
                          rate_per_s=200, energy_model=model, bootstrap=False)
    top = r.top
    assert top["cap_binds"].all() and len(top) == 3  # each cap sizes its own replicas
    assert (top["replicas"] > 1).all() and top["replicas"].nunique() == 3
    assert all(len(c) == 1 for c in top["max_num_seqs_equivalent"])


def test_many_caps_and_a_large_top_ask_the_engine_for_no_more_rows_than_the_space_holds(model):
    """top 100 000 over 10 000 caps asked the engine for 10**9 rows of a 10 000-candidate space (std::bad_alloc,
    a traceback); the request is clamped to the space, and every deployment is still there."""
    caps = list(range(1, 10_001))
    r = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=caps,
                          rate_per_s=1, top=100_000, energy_model=model, bootstrap=False)
    assert sum(len(c) for c in r.top["max_num_seqs_equivalent"]) == r.feasible == len(caps)
    assert engine_top_k(100_000, 10_000, True, 10_000) == 10_000 and engine_top_k(5, 3, True, 10**9) == 15
    assert engine_top_k(7, 3, False, 4) == 4


def test_collapse_keeps_the_first_row_of_each_deployment():
    base = {"model": "m", "gpu": "g", "precision": "bf16", "kv_cache_dtype": "auto", "tp": 1, "pp": 1, "dp": 1,
            "ep": 1, "input_tokens": 512.0, "output_tokens": 256.0}
    df = pd.DataFrame([{**base, "index": 3, "max_num_seqs": 8, "batch": 2.0, "replicas": 1, "objective": 1.0},
                       {**base, "index": 0, "max_num_seqs": 2, "batch": 2.0, "replicas": 1, "objective": 1.5},
                       {**base, "index": 5, "max_num_seqs": 32, "batch": 2.0, "replicas": 1, "objective": 1.0},
                       {**base, "index": 4, "max_num_seqs": 16, "batch": 2.0, "replicas": 1, "objective": 2.0},
                       {**base, "tp": 2, "index": 9, "max_num_seqs": 8, "batch": 1.0, "replicas": 1, "objective": 3.0},
                       {**base, "index": 7, "max_num_seqs": 4, "batch": 1.5, "replicas": 2, "objective": 4.0},
                       {**base, "index": 8, "max_num_seqs": 64, "batch": 1.5, "replicas": 2, "objective": 4.0}])
    out = collapse_caps(df)
    # the cap the batch reaches (2), another tp and other replicas stay apart; equal replicas below the cap merge
    assert out["index"].tolist() == [3, 0, 9, 7]
    assert out["max_num_seqs_equivalent"].tolist() == [[8, 16, 32], [2], [8], [4, 64]]
    assert out["cap_binds"].tolist() == [False, True, False, True]
    assert collapse_caps(df, top=1)["index"].tolist() == [3]


def test_top_is_ordered_by_objective_then_index(model):
    r = energylens.search("mistralai/Mixtral-8x7B-Instruct-v0.1", "H100", input_tokens=512, output_tokens=256,
                          tp=[2, 4], ep=[1, 2], max_num_seqs=[64], energy_model=model, bootstrap=False)
    keys = list(zip(r.top["objective"], r.top["index"], strict=True))
    assert keys == sorted(keys)


# 11. JSON types, counts, Pareto labels, explain's ranks ----------------------------------------

def test_json_whole_numbers_are_integers_and_pareto_entries_are_labelled(light_load):
    doc = json.loads(light_load.to_json())
    for row in doc["top"] + doc["pareto_tpot"] + doc["pareto_ttft"]:
        for name in ("max_num_seqs", "gpus", "replicas", "tp", "pp", "dp", "ep"):
            assert isinstance(row[name], int), (name, row[name])
        assert row["config"].startswith("Meta-Llama-3.1-70B-Instruct H200 bf16 TP")
    assert doc["pareto_tpot"] and doc["pareto_ttft"]


def test_one_candidate_is_singular(model):
    r = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8],
                          energy_model=model, bootstrap=False)
    assert r.summary().startswith("searched 1 candidate in ")
    assert r.why_empty() == "1 of 1 candidate feasible"
    empty = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8],
                              tpot_limit_s=1e-6, energy_model=model, bootstrap=False)
    assert "among 1 candidate;" in empty.why_empty() and "1 candidate pass" in empty.why_empty()


def test_explain_refuses_ranks_outside_the_result(light_load, model):
    assert light_load.explain(2).startswith("Meta-Llama")
    with pytest.raises(IndexError, match=r"rank 3: the result keeps 3 configurations \(ranks 0 to 2\)"):
        light_load.explain(3)
    with pytest.raises(IndexError, match="rank -1"):
        light_load.explain(-1)
    empty = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8],
                              tpot_limit_s=1e-6, energy_model=model, bootstrap=False)
    assert empty.explain(0) == empty.why_empty()
    with pytest.raises(IndexError, match="the result is empty"):
        empty.explain(1)
    # table(-5) returned all but the last 5 rows (pandas' head); None is every row, 0 none
    with pytest.raises(ValueError, match="n must be >= 0, got -5"):
        light_load.table(-5)
    assert light_load.table(None) == light_load.table(3) != light_load.table(1)


# 8. the limit-confidence pre-pass: wall time, progress, sample size ------------------------------

def test_seconds_include_the_confidence_pre_pass(model):
    r = energylens.search(L70, "H100,H200", input_tokens=512, output_tokens=256, tp=[2, 4, 8],
                          tpot_limit_s=0.1, limit_confidence=0.9, energy_model=model, bootstrap=False)
    pre = r.settings["limit_confidence_seconds"]
    assert 0 < pre <= r.seconds
    assert f"in {r.seconds:.3g} s ({pre:.3g} s of it the latency quantiles for the confidence)" in r.summary()
    plain = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[2], tpot_limit_s=0.1,
                              energy_model=model, bootstrap=False)
    assert plain.settings["limit_confidence_seconds"] is None and "of it the latency" not in plain.summary()


def test_refit_progress_lines_start_after_a_second(monkeypatch, capsys):
    clock = iter([0.0, 0.5, 1.2, 1.5, 2.4, 2.5])
    monkeypatch.setattr(options_module.time, "perf_counter", lambda: next(clock))
    report = options_module.refit_printer()  # start at 0.0
    for done in range(1, 6):  # at 0.5 (quiet), 1.2 (a line), 1.5 (quiet), 2.4 (a line), 2.5 (the last)
        report(done, 5)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"search: latency quantiles for --limit-confidence: {d} of 5 bootstrap refits ({t} s)"
                     for d, t in ((2, "1.2"), (4, "2.4"), (5, "2.5"))]


def test_search_progress_lines_depend_on_time_not_on_the_space_size(monkeypatch, capsys):
    clock = iter([0.0, 0.5, 1.1, 1.6, 2.3, 2.4])
    monkeypatch.setattr(options_module.time, "perf_counter", lambda: next(clock))
    report = options_module.progress_printer(1_000)  # a small (load-mode) space that still takes seconds
    for done in (100, 300, 500, 800, 1_000):  # at 0.5 (quiet), 1.1 (a line), 1.6 (quiet), 2.3 (a line), 2.4 (last)
        report(done, 1_000)
    assert capsys.readouterr().err.splitlines() == [
        "search: 30% (300 of 1,000 candidates, 1.1 s; about 3 s left)",
        "search: 80% (800 of 1,000 candidates, 2.3 s; about 1 s left)", "search: 100% (1,000 of 1,000 candidates, 2.4 s)"]
    clock = iter([0.0, 0.3, 0.6])
    quick = options_module.progress_printer(10**9)  # a search under a second prints nothing, however large
    quick(5 * 10**8, 10**9)
    quick(10**9, 10**9)
    assert capsys.readouterr().err == ""


def test_the_confidence_sample_holds_exactly_enumerate_max_candidates(model):
    space = build_space([L8, L70], "H100,H200,B200", input_tokens=[128, 512, 2048], output_tokens=[64, 256, 512],
                        tp=[1, 2, 4, 8], pp=[1, 2], dp=[1, 2, 3], max_num_seqs=CAPS, precision=["bf16", "fp8"],
                        kv_cache_dtype=["auto", "fp8"])
    assert space.size > ENUMERATE_MAX
    seen = []
    record = confidence_limits(space, model.theta, model.latency_model, native_options(tpot_limit_s=0.05), 0.9,
                               progress=lambda done, total: seen.append((done, total)))[1]
    assert f"a sample of {ENUMERATE_MAX} of {space.size:,} candidates" in record["limit_confidence_method"]
    n = len(model.latency_model.bootstrap_params)
    assert seen == [(b, n) for b in range(1, n + 1)]


# load mode below one running request: the time between requests is idle headroom -------------------

def test_a_light_load_reports_the_time_between_requests_as_idle(model):
    """At 0.05 requests/s one 8B rank holds a request about a third of the time; the template's static
    energy for the rest used to be reported as "decode static" (docs/search.md calls it idle headroom)."""
    r = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], rate_per_s=0.05, top=1,
                          energy_model=model, bootstrap=False)
    row = r.top.iloc[0]
    assert row["batch"] < 1
    total = row["prefill_j"] + row["decode_j"] + row["idle_j"]
    assert total == pytest.approx(row["energy_j"], rel=1e-12)  # the total is unchanged
    working = row["prefill_static_j"] + row["decode_static_j"]
    # the static energy while working : idle = B : (1 - B) of the template's static, up to the engine's idle_j
    assert working / (working + row["idle_j"]) == pytest.approx(row["batch"], rel=0.05)
    assert row["decided_by"] == "idle_j" and "idle headroom" in r.explain(0)
    busy = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], rate_per_s=20, top=1,
                             energy_model=model, bootstrap=False).top.iloc[0]
    assert busy["batch"] > 1 and busy["decided_by"] != "idle_j"  # a loaded rank: nothing moved


def test_dp_values_tying_in_fixed_mode_are_explained(model):
    kw = dict(input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[64], energy_model=model, bootstrap=False)
    fixed = energylens.search(L8, "H100", dp=[1, 2], **kw)
    assert fixed.top["energy_j"].nunique() == 1  # the tie the note explains
    assert "data parallelism does not change energy" in fixed.summary()
    assert "data parallelism" not in energylens.search(L8, "H100", dp=[1], **kw).summary()
    assert "data parallelism" not in energylens.search(L8, "H100", dp=[1, 2], rate_per_s=5, **kw).summary()


def test_configurations_outside_the_fitted_range_are_flagged_as_predict_flags_them(model):
    """The bundled model saw batches of 16 and up: a TPOT limit that leaves batches of 4 and 8 gets the same
    range check as EnergyModel.predict (a column and a note), and rows inside the range are not flagged."""
    r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4, 8], max_num_seqs=[4, 8, 16, 256],
                          tpot_limit_s=0.095, energy_model=model, bootstrap=False, top=5)
    from energylens.profiles.tables import model_spec
    rows = r.top.assign(batch_size=r.top["dp"] * r.top["batch"], params_b=model_spec(L70).params_b)
    with pytest.warns(Warning, match="outside the fitted data"):
        expected = model.extrapolated(rows)
    assert r.top["extrapolated"].tolist() == expected.tolist() and expected.any() and not expected.all()
    assert f"note: {int(expected.sum())} of the {len(r.top)} listed configurations lie outside" in r.summary()
    assert "batch_size" in r.settings["extrapolation"]
    doc = json.loads(r.to_json())
    assert [row["extrapolated"] for row in doc["top"]] == expected.tolist()
    inside = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4], max_num_seqs=[64, 256],
                               energy_model=model, bootstrap=False)
    assert not inside.top["extrapolated"].any() and inside.settings["extrapolation"] is None
    assert "listed configurations lie" not in inside.summary()  # lie or lies


def test_the_margin_is_explained_in_the_objectives_units(model):
    """Per output token, the runner-up's excess was computed per request (J), so the term named could be the
    wrong one and printed '+0 J'; the terms are compared as shares of the objective now."""
    r = energylens.search(L8, "H100", input_tokens=512, output_tokens=[64, 1024], tp=[1], max_num_seqs=[64],
                          per_token=True, energy_model=model, bootstrap=False)
    best, second = r.top.iloc[0], r.top.iloc[1]
    assert second["energy_j"] < best["energy_j"]  # per request the runner-up is cheaper: only per token it loses
    terms = ("prefill_static_j", "prefill_dynamic_j", "decode_static_j", "decode_dynamic_j", "idle_j")
    diff = {t: second[t] / second["output_tokens"] - best[t] / best["output_tokens"] for t in terms}
    top = max(diff, key=diff.get)
    text = r.explain(0)
    assert f"({diff[top]:+.3g} J per output token)." in text


def test_the_dp_tie_note_is_for_dense_models_only(model):
    """A dense model's dp ranks at a fixed batch per rank tie (said once); a MoE's share one expert copy and
    exchange tokens per MoE layer (vLLM), so its dp values do not tie and the note would be wrong."""
    def search(name):
        return energylens.search(name, "H100", input_tokens=512, output_tokens=256, tp=[1], dp=[1, 2],
                                 max_num_seqs=[64], energy_model=model, bootstrap=False)

    dense, moe = search(L8), search("Qwen/Qwen3-30B-A3B")
    assert dense.top["energy_j"].nunique() == 1 and "dp values tie" in dense.summary()
    assert moe.top["energy_j"].nunique() == 2 and "dp values tie" not in moe.summary()
    both = search([L8, "Qwen/Qwen3-30B-A3B"])
    assert "data parallelism of a dense model (meta-llama/Meta-Llama-3.1-8B-Instruct)" in both.summary()


# ties to rounding and caps below the engine's cut -------------------------------------------------------

@pytest.mark.parametrize("batch", [7, 64, 100])
def test_dense_dp_replicas_share_p_best_and_keep_index_order(model, batch):
    """A dense model's dp replicas at one batch per rank cost the same per request in exact arithmetic, but
    float64 rounds dp = 3 and 5 differently (n = tp pp dp GPUs over dp B sequences): P(best) went to whichever
    rounded lower in each replicate (0.13 / 0.13 / 0.57 / 0.17 at B 64, whose point energies are bit-identical),
    and DP5 ranked above DP3 by 1 ulp. Now such ties share the win and keep the candidate order."""
    r = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], dp=[1, 2, 3, 5],
                          max_num_seqs=[batch], top=4, energy_model=model)
    top = r.top
    assert top["dp"].tolist() == [1, 2, 3, 5] and top["index"].is_monotonic_increasing
    assert top["p_best"].tolist() == pytest.approx([0.25] * 4, abs=1e-12)
    assert "ties with" in r.explain(0)


def test_load_mode_caps_do_not_depend_on_top(model):
    """A kept row listed only the caps of its deployment that the engine ranked among its top x n_caps rows:
    Qwen3-30B-A3B's B4 was missing at top 3 (label B8..1024) and present at top 50 (B4..1024)."""
    kw = dict(gpus=["A100-SXM4-40GB"], tp=[1, 16], pp=[1, 4], dp=[2], ep=[1, 2],
              max_num_seqs=[1, 4, 8, 64, 256, 1024], precision=["fp8"], input_tokens=[512, 2000, 9000, 16],
              output_tokens=[256, 64, 256, 4000], rate_per_s=0.1143901472283177, energy_model=model, bootstrap=False)
    models = ["Qwen/Qwen3-8B", "meta-llama/Llama-3.2-1B-Instruct", "Qwen/Qwen3-30B-A3B"]
    small, large = (energylens.search(models, top=top, **kw).top for top in (3, 50))
    got = {i: c for i, c in zip(large["index"], large["max_num_seqs_equivalent"], strict=True)}
    for i, caps in zip(small["index"], small["max_num_seqs_equivalent"], strict=True):
        assert caps == got[i], i
    assert [4, 8, 64, 256, 1024] in list(small["max_num_seqs_equivalent"])


def test_a_long_search_prints_tens_of_lines_not_one_a_second(monkeypatch, capsys):
    """Before 2026-12-06 a 30-minute search (a load-mode space of 7e8 candidates on 2 cores) printed a line every
    second, 1,800 lines in a log; the gap now grows with the time run (a tenth of it, 1 s to 30 s), and each
    line says about how long is left."""
    now = [0.0]
    monkeypatch.setattr(options_module.time, "perf_counter", lambda: now[0])
    total = 1_800 * 2
    report = options_module.progress_printer(total)
    for k in range(1, total + 1):  # the engine calls back twice a second for 30 minutes
        now[0] = k / 2
        report(k, total)
    lines = capsys.readouterr().err.splitlines()
    assert 40 < len(lines) < 120, len(lines)
    assert lines[0] == "search: 0% (2 of 3,600 candidates, 1.0 s; about 30 min left)"
    assert lines[-1] == "search: 100% (3,600 of 3,600 candidates, 1800.0 s)"
    assert any("about 15 min left" in line for line in lines)
