"""A capacity planner's question, "20 requests/s of Llama-3.1-70B chat: which GPUs and how many?", answered by
``energylens search --rate 20 --json`` and checked by hand from the printed figures and the model
(docs/search.md, "Modes"): replicas = ceil(rate / one replica's throughput at its cap), the running batch by
Little's law, and every provisioned GPU's static power in the energy per request. Also the load-mode edges a
planner meets: the rows left out past 2**20 GPUs counted once, and workload weights too large to sum."""

import json
import math
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.cli.main import main
from energylens.profiles.limits import MAX_GPU_COUNT
from energylens.profiles.tables import gpu_spec
from energylens.search import build_space
from energylens.search.api import calibrate_latency, native_options

L70 = "meta-llama/Llama-3.1-70B-Instruct"
RATE, L_IN, L_OUT = 20.0, 1000, 300


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, model):
    path = tmp_path_factory.mktemp("model") / "model.json"
    model.save(path)
    return str(path)


def _cli_json(capsys, model_file, *extra) -> dict:
    status = main(["search", "--model", L70, "--gpus", "H100,H200", "--input-tokens", str(L_IN), "--output-tokens",
                   str(L_OUT), "--model-file", model_file, "--top", "3", "--json", *extra])
    out = capsys.readouterr().out
    assert status == 0, out
    return json.loads(out)


def _latency(model, row: dict, batch: float) -> tuple[float, float, float]:
    """(TTFT, TPOT, time in the system) the latency model gives ``row``'s deployment at a running ``batch`` per rank."""
    cols = ("model", "gpu", "precision", "kv_cache_dtype", "tp", "pp", "dp", "ep", "input_tokens", "output_tokens")
    frame = pd.DataFrame([{**{c: row[c] for c in cols}, "batch_size": row["dp"] * batch}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows outside the fitted range: irrelevant to the arithmetic
        lat = model.latency_model.predict(frame)
    return tuple(float(lat[c].iloc[0]) for c in ("ttft_s_pred", "tpot_s_pred", "time_in_system_s_pred"))


def test_a_load_mode_answer_recomputed_by_hand(capsys, model, model_file):
    doc = _cli_json(capsys, model_file, "--rate", str(RATE))
    assert doc["settings"]["rate_per_s"] == RATE
    pi_s = float(model.theta[list(model.param_names).index("static_power_frac")])
    for row in doc["top"]:
        n, cap = row["tp"] * row["pp"], row["max_num_seqs"]
        # one replica's throughput at its cap: cap requests in the system for W seconds each, W = TTFT + L_out TPOT
        # + sigma B_r t_p (the prefills the replica admits meanwhile stall each request's decode)
        ttft_cap, tpot_cap, w_cap = _latency(model, row, cap)
        assert w_cap > (ttft_cap + L_OUT * tpot_cap) * 1.01  # the stall term counts here (sigma > 0)
        capacity = row["dp"] * cap / w_cap
        assert row["replicas"] == max(1, math.ceil(RATE / capacity)), row["config"]
        assert row["gpus"] == row["replicas"] * row["dp"] * n
        # Little's law: the running batch per rank = its share of the rate x the time a request spends in it,
        # at the TTFT and TPOT the model gives at that batch
        rank_rate = RATE / (row["replicas"] * row["dp"])
        ttft, tpot, w = _latency(model, row, max(row["batch"], 1.0))
        assert (row["ttft_s"], row["tpot_s"]) == pytest.approx((ttft, tpot), rel=1e-9)
        assert row["batch"] == pytest.approx(rank_rate * w, rel=1e-9)
        assert row["batch"] <= cap
        # every provisioned GPU draws static power all the time: per request, the static energy is at least
        # gpus x TDP x static_power_frac / rate, topped up to it by the idle headroom where the template charges less
        drawn = row["gpus"] * gpu_spec(row["gpu"]).tdp_w * pi_s / RATE
        assert row["static_j"] + row["idle_j"] >= drawn * (1 - 1e-12)
        assert row["idle_j"] == pytest.approx(max(0.0, drawn - row["static_j"]), rel=1e-9, abs=1e-9)
        assert row["energy_j"] == pytest.approx(row["prefill_j"] + row["decode_j"] + row["idle_j"], rel=1e-12)
        assert row["gpu_s_per_request"] == pytest.approx(row["gpus"] / RATE, rel=1e-12)


def test_a_lightly_loaded_replica_is_charged_every_second_of_its_static_power(capsys, model, model_file):
    """At 0.001 requests/s one replica idles ~97 % of the time: the energy per request is the template's dynamic
    part plus every provisioned GPU's static draw for the 1000 s between requests, exactly."""
    doc = _cli_json(capsys, model_file, "--rate", "0.001")
    pi_s = float(model.theta[list(model.param_names).index("static_power_frac")])
    for row in doc["top"]:
        assert row["replicas"] == 1 and row["batch"] < 0.05 and row["idle_j"] > 0
        dynamic = row["prefill_dynamic_j"] + row["decode_dynamic_j"]
        drawn = row["gpus"] * gpu_spec(row["gpu"]).tdp_w * pi_s / 0.001
        assert row["energy_j"] == pytest.approx(dynamic + drawn, rel=1e-12)
        assert row["decided_by"] == "idle_j"


def test_rows_past_the_gpu_bound_are_counted_once_each(model):
    """At 1e6 requests/s most 70B deployments need more than 2**20 GPUs. The note counted the rows left out of the
    top-k and of each Pareto front separately, so one configuration in all three counted three times: '71
    configurations ... are left out' of a search with 50 feasible. It counts distinct configurations now: here
    the engine's top-k holds every feasible one, so exactly the feasible ones past the bound."""
    import energylens

    kw = dict(input_tokens=L_IN, output_tokens=L_OUT, rate_per_s=1e6, energy_model=model, bootstrap=False)
    r = energylens.search(L70, "H100,H200", top=10, **kw)
    space = build_space(L70, "H100,H200", input_tokens=L_IN, output_tokens=L_OUT)
    calibrate_latency(space, model.latency_model)  # the model's prefill_stall, as the search writes it
    every = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta,
                                  native_options(rate_per_s=1e6), np.arange(space.size, dtype=np.uint64))
    feasible = every.reason < 0
    assert r.feasible == int(feasible.sum()) < 10 * len(space.max_num_seqs)  # the engine kept every feasible one
    past = int((feasible & (np.asarray(every.gpus) > MAX_GPU_COUNT)).sum())
    assert 0 < past < r.feasible
    assert r.settings["over_gpu_count"] == past
    assert f"note: {past} configurations of the top-k and Pareto fronts would need more than 2**20 GPUs" in r.summary()


def test_one_row_past_the_gpu_bound_is_said_in_the_singular(model):
    import energylens

    r = energylens.search(L70, "H200", input_tokens=L_IN, output_tokens=L_OUT, rate_per_s=30000, tp=[2],
                          max_num_seqs=[1, 256], energy_model=model, bootstrap=False, top=2)
    assert r.settings["over_gpu_count"] == 1, r.summary()
    assert "note: 1 configuration of the top-k and Pareto fronts would need more than 2**20 GPUs at this rate and " \
           "is left out" in r.summary(), r.summary()


@pytest.mark.parametrize("weights", [[1e308, 1e308, 1e308], [1e-320, 2e-320, 1e-320]])
def test_workload_weights_are_normalised_whatever_their_scale(weights):
    """Weights of 1e308 each overflowed their sum (a RuntimeWarning) and the engine refused them as 'the workload
    weights sum to 0'; the weights are relative, so any finite positive scale gives the same distribution."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        space = build_space(L70, "H100", input_tokens=[500, 1000, 4000], output_tokens=[100, 300, 1000],
                            workload_weights=weights)
    expected = np.asarray(weights, dtype=float) / max(weights)
    np.testing.assert_allclose(space.workload_weights, expected / expected.sum(), rtol=1e-12)
    assert space.workload_weights.sum() == pytest.approx(1.0, rel=1e-15)


def test_counts_of_one_are_said_in_the_singular(model):
    """'a workload distribution of 1 points' and '1 of the 3 listed configurations lie outside' read as sentences
    not computed for the count they print."""
    import energylens

    r = energylens.search(L70, "H200", input_tokens=[1000], output_tokens=[300], workload_weights=[1], tp=[2],
                          max_num_seqs=[8], energy_model=model, bootstrap=False)
    assert "a workload distribution of 1 point (" in r.summary(), r.summary()
    r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4], max_num_seqs=[4, 64, 256],
                          energy_model=model, bootstrap=False, top=3)
    assert int(r.top["extrapolated"].sum()) == 1, r.top[["max_num_seqs", "extrapolated"]]
    assert "note: 1 of the 3 listed configurations lies outside" in r.summary(), r.summary()


def test_an_unmet_tpot_limit_at_a_rate_names_the_cheapest_fleet_that_meets_it(model):
    """70B at 20 requests/s, TP2 at max_num_seqs 256 only, TPOT <= 0.12 s: every replica runs ~175 sequences, too
    slow. The advice was 'add --tp 1,4,8 and --max-num-seqs 1: ... TP4 ... B1 is predicted at 0.083 s': followed,
    the best deployment runs one sequence per replica on ~1,000 GPUs at ~12 kJ a request. It names the cheapest
    configuration of the widened axes within the limit, its replicas and GPUs, and following it finds exactly that."""
    import energylens

    kw = dict(input_tokens=L_IN, output_tokens=L_OUT, rate_per_s=RATE, tpot_limit_s=0.12, energy_model=model,
              bootstrap=False, top=3)
    r = energylens.search(L70, "H100,H200", tp=[2], max_num_seqs=[256], **kw)
    assert r.empty
    c = r.settings["latency_reach"]["cheapest"]
    text = r.why_empty()
    assert f"the cheapest configuration then within the limits is {c['config']}, {c['objective']:.4g} J per request " \
           f"(TPOT {c['tpot_s']:.4g} s; {c['replicas']:,} replicas, {c['gpus']:,} GPUs)" in text, text
    assert c["max_num_seqs_added"] and 1 not in c["max_num_seqs_added"] and c["tpot_s"] <= 0.12
    followed = energylens.search(L70, "H100,H200", tp=[2, *c["tp_added"]],
                                 max_num_seqs=[256, *c["max_num_seqs_added"]], **kw)
    best = followed.top.iloc[0]
    assert followed.label(best).startswith(c["config"]) and best["gpus"] == c["gpus"]
    assert best["objective"] == pytest.approx(c["objective"], rel=1e-12)
    lowest = r.settings["latency_reach"]["tpot"]  # the lowest-TPOT deployment still said where it is reached
    assert lowest["meets"] and lowest["config"].endswith(" B1") and best["gpus"] < 100
    assert "; 1 candidate passes every other check (memory, layout) but none meets" in text, text


def test_a_fleet_past_the_gpu_bound_for_its_headroom_names_max_utilization(model):
    """20 requests/s at --max-utilization 1e-9 needs ~1e10 GPUs: the error said 'lower the rate', though the rate is
    modest and the headroom asked for is what multiplies the fleet; it names the utilisation too now."""
    import energylens

    kw = dict(input_tokens=L_IN, output_tokens=L_OUT, rate_per_s=RATE, energy_model=model, bootstrap=False)
    with pytest.raises(ValueError, match=r"lower the rate or raise max_utilization \(--max-utilization; now 1e-09"):
        energylens.search(L70, "H200", tp=[2], max_num_seqs=[256], max_utilization=1e-9, **kw)
    with pytest.raises(ValueError, match=r"2\*\*20\): lower the rate$"):  # at full use the rate alone decides
        energylens.search(L70, "H200", tp=[2], max_num_seqs=[256], **{**kw, "rate_per_s": 1e8})


@pytest.mark.parametrize("rate", [3e4, 1e5])
def test_the_limit_advice_at_a_high_rate_stays_within_the_gpu_bound(model, rate):
    """At 1e5 requests/s only one-to-few-sequence replicas meet a TPOT limit of 0.0845 s, and every such fleet needs
    more than 2**20 GPUs, which a result leaves out: the advice named 'TP4 ... B1 ... within the limit' all the same.
    It names the cheapest within the bound (at 3e4: TP4 B4 on 763,620 GPUs), or says that none is."""
    import energylens

    kw = dict(input_tokens=L_IN, output_tokens=L_OUT, energy_model=model, bootstrap=False, top=3)
    r = energylens.search(L70, "H200", tp=[2], max_num_seqs=[256], rate_per_s=rate, tpot_limit_s=0.08445, **kw)
    c, text = r.settings["latency_reach"]["cheapest"], r.why_empty()
    if c["config"] is not None:
        assert c["gpus"] <= MAX_GPU_COUNT and f"{c['gpus']:,} GPUs" in text, text
        followed = energylens.search(L70, "H200", tp=[2, *c["tp_added"]], max_num_seqs=[256, *c["max_num_seqs_added"]],
                                     rate_per_s=rate, tpot_limit_s=0.08445, **kw)
        assert followed.top["objective"].iloc[0] == pytest.approx(c["objective"], rel=1e-12)
    else:
        assert rate == 1e5 and c["past_gpu_bound"] > 0
        assert "meets the limits only with more than 2**20 GPUs at this rate" in text, text
        assert "within the limit" not in text.split("to find a configuration")[1], text


@pytest.mark.parametrize("rate", [Fraction(20), np.array(20.0), Decimal("20"), np.float32(20)])
def test_a_rate_of_any_numeric_type_is_recorded_as_the_number_it_is(model, rate):
    """The rate was validated as float(rate) but recorded as given: a Fraction failed the summary's format ('unsupported
    format string passed to Fraction.__format__'), a 0-d array the JSON ('not JSON serialisable: ndarray')."""
    import energylens

    r = energylens.search(L70, "H200", input_tokens=L_IN, output_tokens=L_OUT, rate_per_s=rate, tpot_limit_s=Fraction(3, 20),
                          tp=[2], max_num_seqs=[64], energy_model=model, bootstrap=False)
    assert type(r.settings["rate_per_s"]) is float and r.settings["rate_per_s"] == 20.0
    assert type(r.settings["tpot_limit_s"]) is float and r.settings["tpot_limit_s"] == 0.15
    assert "20 requests/s" in r.summary() and "TPOT <= 0.15 s" in r.summary()
    assert json.loads(r.to_json())["settings"]["rate_per_s"] == 20.0
