"""``search(..., limit_confidence=P)``: latency limits met by the latency model's upper P-quantile.

The default (0.5) is bit-identical to the point-prediction search; the quantile the search uses is the one
``LatencyModel.predict_interval`` gives on the same rows (plain and calibrated models); every candidate the
engine admits meets the limit at P when the space is evaluated in full; a higher P never admits what a lower
one rejects (random spaces, both modes, the sampled path); bad values and models without intervals are
clear errors; the CLI end to end."""

import json

import numpy as np
import pytest

import energylens
from data_paths import SPLITWISE
from energylens import _core
from energylens.cli.main import main
from energylens.errors import IntervalsUnavailableError
from energylens.model import EnergyModel, LatencyModel
from energylens.search import build_space
from energylens.search.api import calibrate_latency, native_options, run_engine
from energylens.search.confidence import ENUMERATE_MAX, confidence_limits, upper_quantiles
from energylens.search.result import _round_up
from energylens.search.space import COMBO_FIELDS

L70 = "meta-llama/Llama-3.1-70B-Instruct"
MODELS = ["meta-llama/Llama-3.1-8B-Instruct", L70, "Qwen/Qwen3-30B-A3B"]
GPUS = ["H100", "H200", "B200", "A100-SXM4-80GB"]


def _space(**kw):
    args = dict(input_tokens=[512, 2048], output_tokens=[256, 128], tp=[1, 2, 4, 8],
                max_num_seqs=[1, 4, 16, 64, 256])
    return build_space(kw.pop("models", L70), kw.pop("gpus", "H100,H200"), **(args | kw))


def _admitted(space, model, options):
    """Candidates the engine's own evaluation admits under ``options`` (reason -1)."""
    idx = np.arange(space.size, dtype=np.uint64)
    c = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, options, idx)
    return c.reason < 0


def _random_space(rng, distribution=False):
    while True:
        kw = dict(models=list(rng.choice(MODELS, rng.integers(1, 3), replace=False)),
                  gpus=list(rng.choice(GPUS, rng.integers(1, 3), replace=False)),
                  tp=sorted(rng.choice([1, 2, 4, 8], rng.integers(1, 5), replace=False).tolist()),
                  pp=sorted(rng.choice([1, 2], rng.integers(1, 3), replace=False).tolist()),
                  max_num_seqs=sorted(rng.choice([1, 3, 8, 32, 100, 256], rng.integers(1, 5), replace=False).tolist()),
                  precision=list(rng.choice(["bf16", "fp8"], rng.integers(1, 3), replace=False)),
                  input_tokens=rng.integers(16, 4096, rng.integers(1, 3)).tolist())
        kw["output_tokens"] = rng.integers(8, 1024, len(kw["input_tokens"])).tolist()
        if distribution:  # the points are one distribution: TTFT / TPOT at each configuration's worst point
            kw["input_tokens"], kw["output_tokens"] = [256, 1024, 3000], [64, 256, 900]
            kw["workload_weights"] = "equal"
        try:
            return _space(**kw)
        except ValueError:
            continue


def test_default_half_is_the_point_prediction_search_bit_for_bit(model):
    kw = dict(input_tokens=512, output_tokens=256, tpot_limit_s=0.08, ttft_limit_s=0.6, top=20)
    plain = energylens.search(L70, "H100,H200,B200", **kw)
    half = energylens.search(L70, "H100,H200,B200", limit_confidence=0.5, **kw)
    assert plain.top.equals(half.top) and plain.rejected == half.rejected
    assert plain.pareto_tpot.equals(half.pareto_tpot) and plain.pareto_ttft.equals(half.pareto_ttft)
    assert half.settings["limit_confidence"] == 0.5
    assert half.settings["effective_tpot_limit_s"] == 0.08 and half.settings["effective_ttft_limit_s"] == 0.6
    # ... and the engine run on the options as given, nothing tightened
    space = build_space(L70, "H100,H200,B200", input_tokens=512, output_tokens=256,
                        tp=[1, 2, 4, 8], max_num_seqs=list(energylens.search.api.DEFAULT_MAX_NUM_SEQS))
    opts = native_options(top=20, tpot_limit_s=0.08, ttft_limit_s=0.6)
    out = run_engine(space, model.theta, model.latency_model.theta, opts)
    assert np.array_equal(out.top.index, half.top["index"].to_numpy()) and np.array_equal(out.top.tpot_s, half.top["tpot_s"])
    assert "confidence" not in half.summary()


@pytest.mark.parametrize("calibrated", [False, True])
@pytest.mark.parametrize("p", [0.2, 0.8, 0.95])
def test_quantile_is_the_latency_models_interval_bound_on_the_same_rows(p, calibrated, model):
    em = model
    space = _space()
    if calibrated:  # per-model TTFT / TPOT factors, written into the engine's values as search does
        em = EnergyModel(bootstrap=30, latency_calibration="model").fit("bundled")
        calibrate_latency(space, em.latency_model)
        assert (space.combo_values[:, COMBO_FIELDS.index("tpot_factor")] != 1).any()
    idx = np.arange(space.size)
    q = upper_quantiles(space, em.theta, em.latency_model, native_options(), idx, p)
    frame = space.point_profiles(space.points(idx))  # fixed batch: the running batch is max_num_seqs
    level = 2 * p - 1 if p > 0.5 else 1 - 2 * p
    interval = em.latency_model.predict_interval(frame, level=level, check_range=False)
    side = "hi" if p > 0.5 else "lo"
    np.testing.assert_allclose(q["tpot_q"], interval[f"tpot_s_{side}"], rtol=1e-9)
    pred = em.latency_model.predict(frame, check_range=False)
    # the bundled rows measure no TTFT: no TTFT interval (NaN bounds), and the search applies its TTFT limit
    # to the predicted value
    assert em.latency_model.ttft_fitted is False and interval[f"ttft_s_{side}"].isna().all()
    np.testing.assert_allclose(q["ttft_q"], pred["ttft_s_pred"], rtol=1e-9)
    np.testing.assert_allclose(q["tpot"], pred["tpot_s_pred"], rtol=1e-9)


@pytest.mark.parametrize("p", [0.2, 0.9])
def test_ttft_quantile_is_the_interval_bound_of_a_model_that_measured_ttft(p, model):
    """Splitwise measured TTFT: the search's TTFT quantile is the latency model's TTFT interval bound."""
    if not SPLITWISE.is_file():
        pytest.skip("the shared Splitwise rows are not on this machine")
    lat = LatencyModel(bootstrap=30).fit(str(SPLITWISE))
    assert lat.ttft_fitted is True
    space = _space()
    idx = np.arange(space.size)
    q = upper_quantiles(space, model.theta, lat, native_options(), idx, p)
    frame = space.point_profiles(space.points(idx))
    interval = lat.predict_interval(frame, level=2 * p - 1 if p > 0.5 else 1 - 2 * p, check_range=False)
    np.testing.assert_allclose(q["ttft_q"], interval[f"ttft_s_{'hi' if p > 0.5 else 'lo'}"], rtol=1e-9)


@pytest.mark.parametrize("p", [0.7, 0.9, 0.99])
def test_every_admitted_candidate_meets_the_limit_at_p_and_the_point_search_does_not(p, model):
    space = _space()
    idx = np.arange(space.size)
    frame = space.point_profiles(space.points(idx))
    hi = model.latency_model.predict_interval(frame, level=2 * p - 1, check_range=False)
    pred = model.latency_model.predict(frame, check_range=False)["tpot_s_pred"].to_numpy()
    base = _admitted(space, model, native_options())
    limit = float(np.quantile(pred[base], 0.9))
    opts, record = confidence_limits(space, model.theta, model.latency_model, native_options(tpot_limit_s=limit), p)
    assert record["limit_confidence_method"] == "every candidate's own quantile"
    ok = _admitted(space, model, opts)
    assert ok.any() and (hi["tpot_s_hi"].to_numpy()[ok] <= limit).all()
    point_ok = _admitted(space, model, native_options(tpot_limit_s=limit))
    assert (hi["tpot_s_hi"].to_numpy()[point_ok] > limit).any()  # the point prediction admits violators
    assert record["effective_tpot_limit_s"] < limit and record["effective_ttft_limit_s"] is None


@pytest.mark.parametrize("seed", range(9))
def test_a_higher_confidence_never_admits_what_a_lower_one_rejects(seed, model):
    rng = np.random.default_rng(seed)
    space = _random_space(rng, distribution=seed % 3 == 2)
    rate = float(rng.uniform(1, 30)) if seed % 3 == 1 else None  # load mode
    base = native_options(rate_per_s=rate)
    q = upper_quantiles(space, model.theta, model.latency_model, base, np.arange(space.size), 0.5)
    live = q["relevant"]
    assert live.any(), "no candidate passes the memory checks (each seeded space has some: a skip hid this)"
    limits = {"tpot_limit_s": float(np.quantile(q["tpot"][live], rng.uniform(0.2, 0.9))),
              "ttft_limit_s": float(np.quantile(q["ttft"][live], rng.uniform(0.5, 1.0)))}
    previous, last_t = None, {}
    for p in (0.1, 0.3, 0.5, 0.6, 0.75, 0.9, 0.97):
        opts, record = confidence_limits(space, model.theta, model.latency_model, native_options(rate_per_s=rate, **limits), p)
        for key, given in limits.items():
            t = record[f"effective_{key}"]
            assert (t <= given) if p > 0.5 else (t >= given)
            assert t <= last_t.get(key, np.inf)
            last_t[key] = t
        ok = _admitted(space, model, opts)
        if p > 0.5:  # the whole space is evaluated: each admitted candidate's own quantile meets the limits
            own = upper_quantiles(space, model.theta, model.latency_model, base, np.arange(space.size), p)
            assert (own["tpot_q"][ok] <= limits["tpot_limit_s"]).all()
            assert (own["ttft_q"][ok] <= limits["ttft_limit_s"]).all()
        if previous is not None:
            assert not (ok & ~previous).any(), f"P={p} admits candidates a lower P rejects"
        previous = ok


def test_large_space_uses_the_largest_ratio_over_a_seeded_sample(model):
    space = _space(models=MODELS[:2], gpus="H100,H200,B200", tp=[1, 2, 4, 8], pp=[1, 2], dp=[1, 2],
                   max_num_seqs=[1, 2, 4, 8, 16, 32, 64, 128, 256], input_tokens=[128, 512, 2048, 4096],
                   output_tokens=[64, 256, 512, 1024], precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])
    assert space.size > ENUMERATE_MAX
    opts = native_options(tpot_limit_s=0.05)
    results = [confidence_limits(space, model.theta, model.latency_model, opts, p) for p in (0.8, 0.9)]
    (o8, r8), (o9, r9) = results
    assert "sample of" in r8["limit_confidence_method"]
    assert r8["effective_tpot_limit_s"] == pytest.approx(0.05 / r8["tpot_quantile_ratio_max"])
    assert 1.0 < r8["tpot_quantile_ratio_max"] <= r9["tpot_quantile_ratio_max"]
    assert o9["tpot_limit_s"] <= o8["tpot_limit_s"] < 0.05
    again = confidence_limits(space, model.theta, model.latency_model, opts, 0.8)[1]
    assert again == r8  # the sample is seeded


@pytest.mark.parametrize("bad", [0, 1, -0.2, 1.5, float("nan"), "high", True])
def test_bad_confidence_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="limit_confidence"):
        energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tpot_limit_s=0.1, limit_confidence=bad)


def test_confidence_without_a_limit_is_an_error():
    with pytest.raises(ValueError, match="neither tpot_limit_s nor ttft_limit_s"):
        energylens.search(L70, "H100", input_tokens=512, output_tokens=256, limit_confidence=0.9)


def test_model_without_intervals_names_the_option_and_the_fix(tmp_path):
    bare = EnergyModel(bootstrap=0).fit("bundled")
    kw = dict(input_tokens=512, output_tokens=256, tpot_limit_s=0.1, limit_confidence=0.9)
    with pytest.raises(IntervalsUnavailableError, match=r"limit_confidence=0.9 \(--limit-confidence\).*bootstrap"):
        energylens.search(L70, "H100", energy_model=bare, **kw)
    path = tmp_path / "bare.json"
    bare.save(path)  # a file without replicates
    with pytest.raises(IntervalsUnavailableError, match="limit_confidence=0.5"):
        energylens.search(L70, "H100", energy_model=str(path), **kw)
    assert energylens.search(L70, "H100", energy_model=str(path), **(kw | {"limit_confidence": 0.5})).settings[
        "limit_confidence"] == 0.5


def test_empty_result_suggests_lowering_the_confidence():
    r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tpot_limit_s=0.012, limit_confidence=0.99)
    assert r.empty and r.main_rejection == "tpot_limit"
    assert "lower --limit-confidence (now 0.99" in r.why_empty()
    # the limit to ask for is the least whose applied (effective) value admits the fastest candidate (not the fastest
    # prediction times given / applied: that is enough, but every candidate's quantile moves the applied value)
    low, s = r.settings["without_latency_limits"]["min_tpot_s"], r.settings
    need = s["least_tpot_limit_s"]
    assert low < need <= low * s["tpot_limit_s"] / s["effective_tpot_limit_s"]
    assert f"raise --tpot-limit to at least {_round_up(need)} s" in r.why_empty()  # printed rounded up
    low = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tpot_limit_s=1e-4, limit_confidence=0.3)
    assert low.empty and "--limit-confidence" not in low.why_empty()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, model):
    path = tmp_path_factory.mktemp("model") / "model.json"
    model.save(path)
    return str(path)


ARGS = ["search", "--model", L70, "--gpus", "H100,H200,B200", "--input-tokens", "512", "--output-tokens", "256",
        "--tpot-limit", "0.1"]


def test_cli_limit_confidence_end_to_end(model_file, capsys, tmp_path):
    assert main([*ARGS, "--model-file", model_file, "--json", "--limit-confidence", "0.9"]) == 0
    doc = json.loads(capsys.readouterr().out)
    s = doc["settings"]
    assert s["limit_confidence"] == 0.9 and s["tpot_limit_s"] == 0.1 and s["effective_tpot_limit_s"] < 0.1
    assert doc["top"] and all(row["tpot_s"] <= s["effective_tpot_limit_s"] for row in doc["top"])
    assert "Latency limits met with confidence 0.9" in doc["explanation"]
    plot = tmp_path / "pareto.png"
    assert main([*ARGS, "--model-file", model_file, "--limit-confidence", "0.9", "--top", "3", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert "latency limits met with confidence 0.9" in out and f"TPOT 0.1 s -> {s['effective_tpot_limit_s']:.4g} s" in out


def test_cli_bad_confidence_and_missing_intervals_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*ARGS, "--limit-confidence", "1"])
    assert exc.value.code == 2 and "--limit-confidence" in capsys.readouterr().err
    bare = tmp_path / "bare.json"
    EnergyModel(bootstrap=0).fit("bundled").save(bare)
    assert main([*ARGS, "--model-file", str(bare), "--limit-confidence", "0.8"]) == 2
    assert "--limit-confidence" in capsys.readouterr().err
