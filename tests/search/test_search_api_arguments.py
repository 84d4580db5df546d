"""Python-API arguments a user can get wrong: each is an error naming the argument, never a silent change of
meaning (a NaN reserve switching the memory check off, "no" read as per-token, aliases searched twice, an
overflowing replica count), and the result keeps what a caller reads (full float precision in JSON, the
settings that reproduce the search, the interval columns with bootstrap off)."""

import json
import math
import uuid
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.model import EnergyModel, LatencyModel

L8 = "meta-llama/Llama-3.1-8B-Instruct"
L70 = "meta-llama/Llama-3.1-70B-Instruct"


def _search(em, **kw):
    args = {"input_tokens": 512, "output_tokens": 256, "tp": [1], "max_num_seqs": [8, 64], "energy_model": em,
            "bootstrap": False, **kw}
    return energylens.search(args.pop("model", L8), args.pop("gpus", "H100"), **args)


@pytest.mark.parametrize("name", ["runtime_reserve_gib", "activation_tokens"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, "2"])
def test_memory_reserves_must_be_finite_and_not_negative(model, name, value):
    with pytest.raises(ValueError, match=name):
        _search(model, **{name: value})


def test_a_zero_reserve_is_allowed_and_the_memory_check_stays_on(model):
    r = _search(model, model=L70, runtime_reserve_gib=0, activation_tokens=0)
    assert r.feasible == 0 and r.rejected["memory_weights"] == 2  # 70B bf16 on one 80 GB GPU


@pytest.mark.parametrize("kw", [{"per_token": "no"}, {"per_token": 1}, {"bootstrap": "yes"}, {"bootstrap": 0}])
def test_flags_must_be_booleans(model, kw):
    (name,) = kw
    with pytest.raises(ValueError, match=f"{name} must be True or False"):
        _search(model, **kw)


@pytest.mark.parametrize("kw, match", [
    ({"bootstrap_seed": "x"}, "bootstrap_seed must be a whole number"),
    ({"bootstrap_seed": 1.5}, "bootstrap_seed must be a whole number"),
    ({"bootstrap_seed": None}, "bootstrap_seed must be a whole number"),
    ({"progress": "x"}, "progress must be True, False, None or a callable"),
    ({"top": 10**9}, r"top \(--top\) must be at most 100,000"),
    ({"top": None}, "top must be a whole number >= 1, got None"),  # int(None)'s TypeError before
])
def test_call_options_name_themselves(model, kw, match):
    with pytest.raises(ValueError, match=match):
        _search(model, **kw)


def test_bootstrap_seed_zero_and_a_progress_callable_are_accepted(model):
    calls = []
    r = _search(model, bootstrap_seed=0, progress=lambda done, total: calls.append(done))
    assert r.feasible > 0


@pytest.mark.parametrize("gpus, models", [(["H100", "H100-SXM5-80GB"], L8),
                                          ("H100", [L8, "llama-3.1-8b"])])
def test_two_names_of_one_table_entry_are_refused(model, gpus, models):
    with pytest.raises(ValueError, match="are the same (GPU|model)"):
        _search(model, gpus=gpus, model=models)


def test_gpu_counts_past_the_bound_are_refused_with_the_axes_named(model):
    with pytest.raises(ValueError, match=r"dp: 2097152 is not a whole number in \[1, 1048576\]"):
        _search(model, dp=2**21)
    with pytest.raises(ValueError, match=r"tp x pp x dp reaches 8,000,000 GPUs per deployment \(tp 8, pp 1, dp "
                                         r"1000000\)"):
        _search(model, tp=[1, 8], dp=10**6)


def test_a_rate_no_deployment_can_serve_is_an_error_not_an_overflow(model):
    with pytest.raises(ValueError, match=r"rate_per_s \(--rate\) needs .* GPUs .* lower the rate"):
        _search(model, rate_per_s=1e20, max_num_seqs=[256])
    r = _search(model, rate_per_s=20.0, max_num_seqs=[256])
    assert (r.top["gpus"] >= 1).all() and (r.top["replicas"] >= 1).all()


def test_a_high_rate_leaves_out_front_rows_past_the_bound_not_the_search(model):
    """At 1e4 req/s the best 70B deployment needs ~8e3 H100s, but the TPOT front's batch-1 end needs ~1e6:
    those rows are left out and said, the search is not an error."""
    r = energylens.search("llama-3.1-70b", "H100", input_tokens=512, output_tokens=256, rate_per_s=1e4,
                          energy_model=model, bootstrap=False)
    assert r.top["gpus"].iloc[0] < 2**20 and (r.pareto_tpot["gpus"] <= 2**20).all()
    assert r.settings["over_gpu_count"] > 0
    assert f"{r.settings['over_gpu_count']} configuration" in r.summary() and "more than 2**20 GPUs" in r.summary()
    assert json.loads(r.to_json())["settings"]["over_gpu_count"] == r.settings["over_gpu_count"]


def test_energy_model_of_the_wrong_kind_says_what_it_is():
    with pytest.raises(TypeError, match=r"energy_model must be an EnergyModel, a model file's path or None \(the bundled model\), got int"):
        _search(42)
    with pytest.raises(ValueError, match="the given EnergyModel is not fitted"):
        _search(EnergyModel())
    with pytest.raises(ValueError, match="holds only a latency model"):
        _search(LatencyModel())


def test_rank_and_n_must_be_ints(model):
    r = _search(model)
    for call in (lambda: r.explain(1.0), lambda: r.explain("0"), lambda: r.table("2")):
        with pytest.raises(TypeError, match="(rank|n) must be an int"):
            call()
    assert r.explain(np.int64(0)) == r.explain(0)
    assert r.table(np.int64(1)) == r.table(1)


def test_json_keeps_full_float_precision(model):
    r = _search(model, model="Qwen/Qwen3-0.6B", gpus="B200", carbon_g_per_kwh=20.0, per_token=True)
    frame = r.to_frame()
    back = json.loads(r.to_json())
    for col in ("objective", "energy_j", "tpot_s"):
        assert [row[col] for row in back["top"]] == frame[col].tolist()  # bit for bit, not 10 digits


def test_settings_record_what_was_searched(model):
    r = _search(model, model=[L8], gpus="H100,H200", carbon_g_per_kwh=400.0, runtime_reserve_gib=2.0,
                activation_tokens=4096, input_tokens=[256, 1024], output_tokens=[128, 512])
    s = json.loads(r.to_json())["settings"]
    assert len(s["models"]) == 1 and s["models"][0].endswith("Llama-3.1-8B-Instruct")
    assert len(s["gpus"]) == 2 and "H100" in s["gpus"][0] and "H200" in s["gpus"][1]
    assert s["tp"] == [1] and s["max_num_seqs"] == [8, 64] and s["pp"] == [1]
    assert s["input_tokens"] == [256.0, 1024.0] and s["output_tokens"] == [128.0, 512.0]
    assert s["carbon_g_per_kwh"] == 400.0 and s["runtime_reserve_gib"] == 2.0 and s["activation_tokens"] == 4096
    assert s["precisions"] == ["bf16"] and s["bootstrap"] is False


def test_bootstrap_off_keeps_the_interval_columns_empty_and_the_table_hides_them(model):
    r = _search(model)
    assert {"p_best", "energy_j_lo", "energy_j_hi"} <= set(r.to_frame().columns)
    assert r.top[["p_best", "energy_j_lo", "energy_j_hi"]].isna().all().all()
    assert "P(best)" not in r.table() and " lo " not in r.table()
    with_boot = _search(model, bootstrap=True)
    assert "P(best)" in with_boot.table() and with_boot.top["p_best"].notna().all()


def test_fewer_than_one_output_token_is_refused():
    with pytest.raises(ValueError, match=r"output_tokens must be >= 1 \(every request generates at least one token\)"):
        energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=512, output_tokens=0.5)


def test_labels_and_numbers_json_does_not_know_are_written(model):
    """A candidate table indexed by month (a PeriodIndex) or by deployment id (UUIDs), and a limit given as a
    Decimal, are accepted by the search; to_json then failed at the end ("not JSON serialisable: Period"). Now the
    labels are written as their text and the number as a float."""
    table = pd.DataFrame([dict(model=L8, gpu="H100", tp=1, input_tokens=512, output_tokens=256, batch_size=b)
                          for b in (8, 16)])
    for index, text in ((pd.period_range("2024-01", periods=2, freq="M"), ["2024-01", "2024-02"]),
                        ([uuid.UUID(int=1), uuid.UUID(int=2)], [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))])):
        r = energylens.search(candidates=table.set_axis(index), energy_model=model, bootstrap=False)
        assert sorted(row["candidate"] for row in json.loads(r.to_json())["top"]) == text
    r = _search(model, tpot_limit_s=Decimal("0.05"))
    assert json.loads(r.to_json())["settings"]["tpot_limit_s"] == 0.05


def test_a_numpy_boolean_progress_is_a_boolean(model):
    """progress=np.True_ (``progress=n > 1e6`` on a NumPy count) passed the check, was not ``True`` to the search
    and went to the engine as the callable: "'numpy.bool' object is not callable". Now it reads as True."""
    r = _search(model, progress=np.True_)
    assert r.feasible == _search(model, progress=True).feasible > 0
    assert _search(model, progress=np.False_).feasible == r.feasible
