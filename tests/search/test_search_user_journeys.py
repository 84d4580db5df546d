"""What an ML-infrastructure engineer reads from a search (docs/search.md): what it assumed, what decides a
cost objective, what to change when the weights fit nowhere, and what to give for a model the table lacks.

Before 2026-12-06: the summary named neither the rate, the tokens, the limits nor the grid intensity / prices
it answered; a cost table's "decided by" column named energy terms as if they decided the cost; a 405B model on
L4s was told "--pp 2,4" (still empty: its weights need 45 L4s); ``search("org/unknown", ...)`` said "Pass
params_b", an argument search() does not take.
"""

import dataclasses
import json
import math
import warnings

import pandas as pd
import pytest

import energylens
from energylens.errors import UnknownModelError
from energylens.model import EnergyModel
from energylens.profiles import read_profiles, tables
from energylens.search.memory import GIB

QWEN = "Qwen/Qwen3-30B-A3B-Instruct-2507"


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0, seed=0).fit(read_profiles("bundled").sample(60, random_state=0))


def _assumed(result) -> str:
    lines = [line for line in result.summary().splitlines() if line.startswith("assumed: ")]
    assert len(lines) == 1, result.summary()
    return lines[0]


def test_load_mode_summary_says_rate_tokens_limits_and_idle(model):
    r = energylens.search(QWEN, "H100,H200", input_tokens=1500, output_tokens=300, rate_per_s=20, tpot_limit_s=0.08,
                          ttft_limit_s=2, energy_model=model, bootstrap=False, top=3)
    line = _assumed(r)
    for part in ("1500 input / 300 output tokens", "20 requests/s", "at most 100% of the throughput", "Little's law",
                 "static power charged, idle or not", "TPOT <= 0.08 s", "TTFT <= 2 s", "energy (J per request)"):
        assert part in line, (part, line)
    assert json.loads(r.to_json())["summary"] == r.summary()  # the JSON carries what the table says
    best = r.top.iloc[0]  # Little's law by hand: rate per rank x time in the system
    rank_rate = 20 / (best["replicas"] * best["dp"])
    cols = ("model", "gpu", "precision", "kv_cache_dtype", "tp", "pp", "dp", "ep", "input_tokens", "output_tokens")
    at = pd.DataFrame([{**{c: best[c] for c in cols}, "batch_size": best["dp"] * max(best["batch"], 1.0)}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = model.latency_model.predict(at)["time_in_system_s_pred"].iloc[0]  # TTFT + L_out TPOT + prefill stalls
    assert best["batch"] == pytest.approx(rank_rate * w, rel=1e-6)


def test_distribution_and_fixed_batch_said(model):
    r = energylens.search(QWEN, "H200", input_tokens=[500, 1000, 1500, 3000], output_tokens=[100, 200, 300, 600],
                          workload_weights="equal", energy_model=model, bootstrap=False, top=2, tp=1)
    line = _assumed(r)
    assert "distribution of 4 points" in line and "expected 1500 input / 300 output tokens" in line, line
    assert "fixed batch" in line and "no latency limit" in line, line


def test_carbon_and_cost_inputs_said(model):
    kw = dict(input_tokens=1500, output_tokens=300, energy_model=model, bootstrap=False, top=3, tp=1)
    carbon = energylens.search(QWEN, "H100,H200", carbon_g_per_kwh=400, **kw)
    assert "carbon (g CO2 per request) at 400 g CO2/kWh" in _assumed(carbon)
    cost = energylens.search(QWEN, "H100,H200", price_per_gpu_hour={"H100": 2.5, "H200": 3.5}, **kw)
    assert "cost (currency per request) at H100 2.5, H200 3.5 per GPU-hour" in _assumed(cost)
    header = cost.table().splitlines()[0]
    assert "energy decided by" in header, header  # GPU-seconds x price decide the cost, not these terms
    assert "decode_static" in cost.table() or "prefill" in cost.table()  # the "_j" suffix still dropped
    assert "energy decided by" not in carbon.table()  # carbon is energy x intensity: its terms decide it


def test_weights_that_fit_nowhere_say_how_many_gpus(model):
    r = energylens.search("meta-llama/Llama-3.1-405B-Instruct", "L4", input_tokens=1500, output_tokens=300,
                          energy_model=model, bootstrap=False)
    assert r.empty and r.main_rejection == "memory_weights"
    room = r.settings["weights_room"]
    assert len(room) == 1 and room[0]["weights_gb"] == pytest.approx(405.85 * 2, rel=0.01)  # bf16: 2 B a parameter
    spec = tables.gpu_spec("L4")
    by_hand = (0.9 * spec.memory_gb * GIB - 1.5 * GIB - 8192 * 16384 * 24) / 1e9  # usable - reserve - activations
    assert room[0]["room_gb_per_gpu"] == pytest.approx(by_hand, rel=1e-9)
    need = math.ceil(room[0]["weights_gb"] / by_hand)
    assert room[0]["min_gpus"] == need and f"at least {need} GPUs" in r.why_empty(), r.why_empty()
    assert "--tp 8 --pp 6" in r.why_empty()  # the example follows: the weights now fit
    again = energylens.search("meta-llama/Llama-3.1-405B-Instruct", "L4", input_tokens=1500, output_tokens=300,
                              tp=8, pp=6, energy_model=model, bootstrap=False)
    assert not again.empty and again.rejected["memory_weights"] == 0
    fits = energylens.search(QWEN, "H200", input_tokens=1500, output_tokens=300, energy_model=model, bootstrap=False)
    assert fits.settings["weights_room"] is None


def test_unknown_model_names_what_search_takes(model):
    with pytest.raises(UnknownModelError) as err:
        energylens.search("my-org/Foo-20B", "H100", input_tokens=1500, output_tokens=300, energy_model=model)
    text = str(err.value)
    assert "Pass params_b" not in text and "ModelSpec" in text and "candidates=" in text, text
    spec = dataclasses.replace(tables.estimate_architecture(20.0), name="my-org/Foo-20B")  # what it suggests
    r = energylens.search(spec, "H100", input_tokens=1500, output_tokens=300, energy_model=model, bootstrap=False,
                          tp=[1, 2], dp=[1, 2])
    assert not r.empty and "dp values tie" in r.summary()


def test_cli_unknown_model_names_the_command_lines_remedy(capsys):
    from energylens.cli.main import main
    status = main(["search", "--model", "my-org/Foo-20B", "--gpus", "H100", "--input-tokens", "1500",
                   "--output-tokens", "300"])
    err = capsys.readouterr().err
    assert status == 2 and "--candidates CSV" in err and "search(model=" not in err and "Pass params_b" not in err, err


def test_distribution_range_note_counts_workload_points_not_rows(model):
    """A distribution's configurations are checked at each point: the note said 'experts_per_token: 12 row(s)'
    under '3 of the 3 listed configurations'."""
    r = energylens.search(QWEN, "H200", input_tokens=[500, 1000, 1500, 3000], output_tokens=[100, 200, 300, 600],
                          workload_weights="equal", energy_model=model, bootstrap=False, top=3, tp=1)
    note = [line for line in r.summary().splitlines() if "listed configurations lie outside" in line]
    assert note and "row(s)" not in note[0] and "workload point(s) of the listed configurations" in note[0], note


def test_plot_ticks_are_plain_numbers_and_the_title_names_the_workload(model, tmp_path, monkeypatch):
    """The objective's log axis read '2 x 10^-2', '3 x 10^-1' (mathtext) and the title only '32 feasible of 72
    candidates': a plot passed on alone did not say what rate or tokens it answered."""
    import matplotlib
    import matplotlib.figure
    matplotlib.use("Agg")
    seen = {}
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        fig.canvas.draw()
        seen["ticks"] = [t.get_text() for ax in fig.axes for t in [*ax.get_yticklabels(), *ax.get_yticklabels(minor=True)]]
        seen["title"] = fig._suptitle.get_text()
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    r = energylens.search(QWEN, "H100,H200", input_tokens=1500, output_tokens=300, rate_per_s=20, tpot_limit_s=0.08,
                          carbon_g_per_kwh=400, energy_model=model, bootstrap=False, top=3)
    r.plot(str(tmp_path / "p.png"))
    labels = [t for t in seen["ticks"] if t]
    assert labels and all("$" not in t and float(t) > 0 for t in labels), labels
    assert "20 requests/s" in seen["title"] and "1500 in / 300 out tokens" in seen["title"], seen["title"]
    assert "Qwen3-30B-A3B-Instruct-2507 on H100" in seen["title"], seen["title"]


def test_a_rate_with_a_distribution_says_what_to_do_instead():
    with pytest.raises(ValueError) as err:
        energylens.search(QWEN, "H100", input_tokens=[500, 3000], output_tokens=[100, 600], workload_weights="equal",
                          rate_per_s=20)
    text = str(err.value)
    assert "fixed-batch mode only" in text and "mean" in text and "longest quantile" in text, text


def test_json_has_no_price_where_none_was_given(model):
    """A carbon or energy search's JSON rows read "price_per_gpu_hour": 0.0, a free GPU-hour to a reader."""
    kw = dict(input_tokens=1500, output_tokens=300, energy_model=model, bootstrap=False, top=2, tp=1)
    rows = json.loads(energylens.search(QWEN, "H100", carbon_g_per_kwh=400, **kw).to_json())
    assert all(r["price_per_gpu_hour"] is None for part in ("top", "pareto_tpot") for r in rows[part])
    priced = json.loads(energylens.search(QWEN, "H100", price_per_gpu_hour=2.5, **kw).to_json())
    assert [r["price_per_gpu_hour"] for r in priced["top"]] == [2.5, 2.5]


def test_weights_example_avoids_a_tp_that_was_searched_and_rejected(model):
    """Qwen3-235B-A22B in fp8 needs 6 L40S for its weights; TP 8 was searched and fails the fp8 weight blocks,
    so '--tp 8' (what the sentence said first) finds nothing again: the example keeps TP 4 and adds PP 2."""
    kw = dict(input_tokens=1500, output_tokens=300, precision="fp8", energy_model=model, bootstrap=False)
    r = energylens.search("Qwen/Qwen3-235B-A22B", "L40S", **kw)
    assert r.empty and r.rejected["fp8_block_shape"] > 0 and "--tp 4 --pp 2," in r.why_empty(), r.why_empty()
    assert not energylens.search("Qwen/Qwen3-235B-A22B", "L40S", tp=4, pp=2, **kw).empty


def test_a_moe_spec_with_too_few_active_parameters_names_the_field(model):
    """60 B with 8 of 64 experts active activates at least 7.5 B through the experts alone; 6 B active ended in the
    engine's 'combo 0 field 'weight_shared_step_bytes' is -3428571428.57...; it must be finite and > 0'."""
    spec = tables.ModelSpec(name="lab/MyMoE-60B-A6B", aliases=(), family="mymoe", architecture="moe", params_b=60,
                            active_params_b=6, n_layers=40, d_model=4096, n_heads=32, n_kv_heads=4, head_dim=128,
                            n_experts=64, experts_per_token=8, image_tokens_per_image=math.nan,
                            vision_params_b=math.nan, source="config.json")
    with pytest.raises(ValueError, match=r"active_params_b is 6; it must be above params_b x experts_per_token / "
                                         r"n_experts \(60 x 8 / 64 = 7.5\)"):
        energylens.search(spec, "H100", input_tokens=1500, output_tokens=300, energy_model=model)
    ok = dataclasses.replace(spec, active_params_b=9.0)
    assert not energylens.search(ok, "H100,H200", input_tokens=1500, output_tokens=300, energy_model=model,
                                 bootstrap=False, rate_per_s=20).empty


def test_a_candidate_row_whose_experts_break_the_active_floor_is_named(model):
    """A row giving Qwen3-30B-A3B 16 experts (the table's 3.35 B active is then below 30.5 x 8 / 16) reached the
    engine: "combo 0 field 'weight_shared_step_bytes' is -47029670144"."""
    import pandas as pd
    rows = pd.DataFrame({"model": [QWEN], "gpu": ["H100"], "tp": [1], "input_tokens": [1500], "output_tokens": [300],
                         "max_num_seqs": [32], "n_experts": [16]})
    with pytest.raises(ValueError, match=r"active_params_b is 3.353 \(the model's, with the row's own n_experts\); it "
                                         r"must be above params_b x experts_per_token / n_experts"):
        energylens.search(candidates=rows, energy_model=model)


def test_a_price_missing_for_a_searched_gpu_says_how_to_give_it(model):
    with pytest.raises(ValueError, match=r"\(--price\) has no price for H200-SXM-141GB: give every searched GPU one"):
        energylens.search(QWEN, "H100,H200", input_tokens=1500, output_tokens=300, energy_model=model,
                          price_per_gpu_hour={"H100": 2.5})


def test_limits_at_a_confidence_are_not_called_predicted():
    from energylens.search.assumed import assumed_line
    s = {"input_tokens": [512.0], "output_tokens": [256.0], "tpot_limit_s": 0.05, "limit_confidence": 0.9}
    assert "TPOT <= 0.05 s (met at confidence 0.9" in assumed_line(s, "energy (J per request)")
    assert "TPOT <= 0.05 s (predicted)" in assumed_line({**s, "limit_confidence": 0.5}, "energy (J per request)")


def test_context_length_remedy_gives_the_window_and_the_request(model):
    r = energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=200000, output_tokens=300,
                          energy_model=model, bootstrap=False)
    assert r.main_rejection == "context_length"
    # the model as given (an alias of the table's meta-llama/Meta-Llama-3.1-8B-Instruct; test_remedy_given_names.py)
    assert ("the longest request is 200,300 tokens (input + output) and meta-llama/Llama-3.1-8B-Instruct reads "
            "at most 131,072 (its context window)") in r.why_empty(), r.why_empty()
