"""Load mode below one running request (docs/search.md, "Modes"): a rank whose Little's-law batch B is below one
serves each request alone, so its TTFT, TPOT and working energy are the model's at one sequence, and the
time between requests is idle headroom. Before 2026-12-06 the templates were evaluated at the fractional B:
the TTFT's prompt-batching factor 1 + k (B - 1) fell below one (a lone 4096-token prompt at 0.01 requests/s
read 0.106 s against the model's 0.193 s at one sequence, so a TTFT limit of 0.15 s admitted it), and a
model's busy power was charged 1/B times per decode step (1/B steps of one sequence each)."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles.tables import gpu_spec
from energylens.search.api import calibrate_latency
from energylens.search.oracle import brute_force
from energylens.search.space import build_space

L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _with(model, **params):
    """A copy of ``model`` with some energy parameters set (the bundled fit has no busy power)."""
    out = copy.deepcopy(model)
    theta = out.theta.copy()
    for name, value in params.items():
        theta[list(out.param_names).index(name)] = value
    out._theta = theta
    return out


def _row(top: pd.Series, rank_batch: float) -> pd.DataFrame:
    cols = ("model", "gpu", "precision", "kv_cache_dtype", "tp", "pp", "dp", "ep", "input_tokens", "output_tokens")
    return pd.DataFrame([{**{c: top[c] for c in cols}, "batch_size": top["dp"] * rank_batch}])


def _predict(model, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # batch 1 is outside the bundled model's range: irrelevant here
        return model.predict(frame), model.latency_model.predict(frame), model.predict_phases(frame)


def test_a_lone_request_gets_the_latency_of_one_sequence(model):
    kw = dict(input_tokens=4096, output_tokens=256, tp=[1], max_num_seqs=[1, 8], rate_per_s=0.01,
              energy_model=model, bootstrap=False, top=1)
    row = energylens.search(L8, "H100", **kw).top.iloc[0]
    assert row["batch"] < 0.1
    _, lat, _ = _predict(model, _row(row, 1.0))
    assert row["ttft_s"] == pytest.approx(lat["ttft_s_pred"].iloc[0], rel=1e-12)
    assert row["tpot_s"] == pytest.approx(lat["tpot_s_pred"].iloc[0], rel=1e-12)
    # Little's law at the time in the system of one request (TTFT + L_out TPOT + the prefill stalls)
    assert row["batch"] == pytest.approx(0.01 * lat["time_in_system_s_pred"].iloc[0], rel=1e-9)
    # a TTFT limit under a lone prompt's prefill rejects the deployment (it admitted it at 0.55x that TTFT)
    limit = 0.9 * lat["ttft_s_pred"].iloc[0]
    r = energylens.search(L8, "H100", ttft_limit_s=limit, **kw)
    assert r.feasible == 0 and r.rejected["ttft_limit"] == 2


def test_busy_power_is_charged_once_per_step_of_a_lone_request(model):
    busy = _with(model, busy_power_frac=0.4)
    rate = 0.02
    row = energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[4],
                            rate_per_s=rate, energy_model=busy, bootstrap=False, top=1).top.iloc[0]
    assert row["batch"] < 0.2
    energy, _, phases = _predict(busy, _row(row, 1.0))
    static, _, _ = _predict(_with(busy, busy_power_frac=0.0, flop_energy_coef=0.0), _row(row, 1.0))
    provisioned = gpu_spec("H100").tdp_w * busy.theta[list(busy.param_names).index("static_power_frac")] / rate
    # working: the model at one sequence; idle: what the GPU draws beyond that between requests
    assert row["energy_j"] - row["idle_j"] == pytest.approx(energy[0], rel=1e-12)
    assert row["idle_j"] == pytest.approx(provisioned - static[0], rel=1e-12)
    assert row["energy_j"] == pytest.approx(provisioned + energy[0] - static[0], rel=1e-12)
    assert row["prefill_j"] == pytest.approx(phases["prefill_energy_j_pred"].iloc[0], rel=1e-12)
    assert row["prefill_j"] + row["decode_j"] + row["idle_j"] == pytest.approx(row["energy_j"], rel=1e-12)


def test_the_oracle_serves_a_lone_request_at_one_sequence_too(model):
    busy = _with(model, busy_power_frac=0.4)
    space = build_space([L8, "Qwen/Qwen3-30B-A3B"], "H100", input_tokens=[512, 4096], output_tokens=[256],
                        tp=[1, 2], dp=[1, 2], ep=[1, 2, 4], max_num_seqs=[1, 8, 64])
    calibrate_latency(space, busy.latency_model)  # its prefill_stall, as the search writes it
    for rate in (0.02, 0.3, 3.0):
        got = energylens.search([L8, "Qwen/Qwen3-30B-A3B"], "H100", input_tokens=[512, 4096], output_tokens=[256],
                                tp=[1, 2], dp=[1, 2], ep=[1, 2, 4], max_num_seqs=[1, 8, 64], rate_per_s=rate,
                                energy_model=busy, bootstrap=False, top=100).to_frame()
        assert (got["batch"] < 1).all() or rate > 0.1
        want = brute_force(space, busy.theta, busy.latency_model.theta, indices=got["index"].to_numpy(),
                           rate_per_s=rate, top_k=len(got))["top"].set_index("index").loc[got["index"]]
        for col in ("energy_j", "ttft_s", "tpot_s", "batch"):
            np.testing.assert_allclose(got[col], want[col], rtol=1e-9)
        np.testing.assert_allclose(got["memory_gib_per_gpu"] * 2**30, want["memory_bytes"], rtol=1e-12)


# the full-throughput note on a deployment that stands for several caps ---------------------------------------

def _rate_at(model, share):
    """``share`` of the throughput of one 8B rank on an H100 at max_num_seqs 8 (512 in, 256 out)."""
    row = pd.Series(dict(model=L8, gpu="H100", precision="bf16", kv_cache_dtype="auto", tp=1, pp=1, dp=1, ep=1,
                         input_tokens=512.0, output_tokens=256.0))
    _, lat, _ = _predict(model, _row(row, 8.0))
    return share * 8.0 / lat["time_in_system_s_pred"].iloc[0]


@pytest.mark.parametrize("share", [0.97, 0.99])
def test_the_full_throughput_note_follows_the_largest_equivalent_cap(model, share):
    """At 97 % or 99 % of a cap-8 rank's throughput the running batch (7.7, 7.9) sits within 5 % of cap 8 but far
    below 256; ``B8/256`` is one deployment, which run at cap 256 has room to spare. The note used to follow the
    row kept from the group, cap 8 or cap 256 by the last bits of their objectives: 0.99 noted, 0.97 did not."""
    kw = dict(input_tokens=512, output_tokens=256, tp=[1], rate_per_s=_rate_at(model, share), energy_model=model,
              bootstrap=False, top=1)
    both = energylens.search(L8, "H100", max_num_seqs=[8, 256], **kw)
    row = both.top.iloc[0]
    assert list(row["max_num_seqs_equivalent"]) == [8, 256] and row["batch"] >= 0.95 * 8
    assert "at its max_num_seqs cap" not in both.summary()
    only = energylens.search(L8, "H100", max_num_seqs=[8], **kw)  # cap 8 alone: its replicas are near full use
    assert "at its max_num_seqs cap" in only.summary()
