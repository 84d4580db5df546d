"""What every backend's rows carry and when a unit fails, without vLLM: stand-ins for ``vllm`` (offline) and for
the server's streaming requests (server mode), power from a synthetic sampler. ``short_windows`` in every row,
the steady-state window refused when there is none, ``sweep.cooldown_s`` after every backend's unit."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import types

import pytest

from energylens.measure.marks import steady_now_ns
from energylens.measure.sampler import PowerSampler
from energylens.profiling import backend_vllm, loadgen, parse_spec, worker
from energylens.profiling import meter as meter_mod
from energylens.profiling.meter import Meter, make_sampler


def _slow_sampler() -> PowerSampler:
    """300 W, a new reading every 100 ms (like NVML's instant field): a 5 ms window is short."""
    return PowerSampler.synthetic([([0.0], [300.0])])


class _SamplingParams:
    def __init__(self, max_tokens, **kw):
        self.max_tokens = max_tokens


class _LLM:
    """generate(): 5 ms for a one-token (prefill-only) batch, 300 ms for the full one."""

    def __init__(self, model, **kw):
        _LLM.start_method = os.environ.get(backend_vllm.MULTIPROC_METHOD_ENV)
        cfg = types.SimpleNamespace(get_vocab_size=lambda: 256)
        self.llm_engine = types.SimpleNamespace(model_config=cfg)

    def generate(self, prompts, params, use_tqdm=False):
        ps = params if isinstance(params, list) else [params] * len(prompts)
        time.sleep(0.005 if ps[0].max_tokens == 1 else 0.3)
        return [types.SimpleNamespace(outputs=[types.SimpleNamespace(token_ids=list(range(p.max_tokens)))],
                                      prompt_token_ids=list(range(16))) for p in ps]


@pytest.fixture
def fake_vllm(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=_LLM, SamplingParams=_SamplingParams))
    monkeypatch.setattr(backend_vllm, "model_facts", lambda model: {})


def _vllm_unit(**sweep):
    return parse_spec({"sweep": {"backend": "vllm", "warmup": 0, **sweep},
                       "grid": {"models": ["m"], "max_num_seqs": [4], "input_len": [16], "output_len": [8]}},
                      source="s.toml").configs()[0]


@pytest.mark.parametrize(("user", "asks", "label", "want"), [
    (None, True, "nvml", "spawn"), ("fork", True, "nvml", "fork"), ("spawn", True, "nvml", "spawn"),
    (None, False, "nvml", None), (None, True, "synthetic:200", None)])
def test_vllm_offline_starts_its_processes_by_spawn_after_cuda_init(fake_vllm, monkeypatch, user, asks, label, want):
    """On a host of mixed GPU models the NVML sampler initialises the CUDA driver (UUID mapping) before
    vllm.LLM forks its engine core, which vLLM cannot see: a forked child would fail to initialise CUDA. Then
    the unit asks for spawn; a user's own choice stays, and elsewhere vLLM keeps its default."""
    monkeypatch.setenv(backend_vllm.MULTIPROC_METHOD_ENV, "placeholder")  # restored (removed) after the test
    if user is None:
        monkeypatch.delenv(backend_vllm.MULTIPROC_METHOD_ENV)
    else:
        monkeypatch.setenv(backend_vllm.MULTIPROC_METHOD_ENV, user)
    monkeypatch.setattr(backend_vllm, "asks_cuda_runtime", lambda: asks)
    backend_vllm._offline(_vllm_unit(), Meter(None, label))
    assert _LLM.start_method == want


def test_mixed_gpu_models_ask_the_cuda_runtime(monkeypatch):
    SimpleNamespace = types.SimpleNamespace
    gpus = [SimpleNamespace(name="NVIDIA H100"), SimpleNamespace(name="NVIDIA H100")]
    monkeypatch.setattr(meter_mod, "_all_nvml_gpus", lambda: gpus)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    assert not meter_mod.asks_cuda_runtime()
    gpus[1] = SimpleNamespace(name="NVIDIA A10")
    assert meter_mod.asks_cuda_runtime()
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    assert not meter_mod.asks_cuda_runtime()


def test_vllm_offline_rows_record_short_windows(fake_vllm):
    """The 5 ms prefill-only window under a 100 ms power signal was integrated without a word in the row."""
    meter = Meter(_slow_sampler(), "synthetic")
    row = backend_vllm._offline(_vllm_unit(), meter)
    assert row["short_windows"] == meter.short_windows == 1


def test_meter_measure_counts_short_windows():
    """The server's steady window is measured afterwards (Meter.measure), which never counted."""
    meter = Meter(_slow_sampler(), "synthetic")
    with meter:
        t0 = steady_now_ns()
        time.sleep(0.005)
        span = meter.measure("steady", t0, steady_now_ns())
        time.sleep(0.25)  # readings after the window
    assert span.short_window and meter.short_windows == 1


def test_every_backends_row_carries_short_windows(monkeypatch):
    def backend(cfg, meter):
        with meter:
            with meter.span("w"):
                time.sleep(0.005)
            time.sleep(0.25)
        return {"energy_j": 1.0}

    monkeypatch.setattr(worker, "_measure", backend)
    monkeypatch.setattr(worker, "make_sampler", lambda source, n: (_slow_sampler(), "synthetic"))
    row = worker.run_in_process(_vllm_unit(mode="server"), "synthetic")
    assert row["status"] == "ok" and row["short_windows"] == 1


def _fake_server(monkeypatch):
    """A server whose requests stream their tokens 10 ms apart after a 50 ms first-token delay."""
    def request(port, model, prompt, max_tokens):
        out = []
        time.sleep(0.05)
        for _ in range(max_tokens):
            out.append(steady_now_ns())
            time.sleep(0.01)
        return out

    monkeypatch.setattr(loadgen, "_request", request)
    monkeypatch.setattr(loadgen, "_vocab", lambda model: 256)


def _server_unit(requests: int):
    cfg = parse_spec({"sweep": {"backend": "vllm", "mode": "server", "warmup": 0, "server_requests": 8},
                      "grid": {"models": ["m"], "max_num_seqs": [4], "input_len": [16], "output_len": [20]}},
                     source="s.toml").configs()[0]
    return dataclasses.replace(cfg, options={**cfg.options, "server_requests": requests})  # past the spec's check


def test_server_rows_measure_the_steady_window_and_record_short_windows(monkeypatch):
    _fake_server(monkeypatch)
    row = loadgen._measure(0, _server_unit(8), Meter(*make_sampler("synthetic:300", 1)))
    assert row["steady_tokens"] > 0 and row["steady_window_s"] > 0
    assert row["energy_per_token_j"] == pytest.approx(300.0 * row["steady_window_s"] / row["steady_tokens"], rel=0.2)
    assert isinstance(row["short_windows"], int)


def test_a_batch_that_never_fills_is_no_steady_state(monkeypatch):
    """2 requests for a batch of 4: the row used to be 'ok', steady window ~0 s, 0 tokens, and the window's
    energy divided by max(0, 1) as the energy per token."""
    _fake_server(monkeypatch)
    with pytest.raises(RuntimeError, match=r"no steady state: the batch of max_num_seqs = 4 never filled "
                                           r"\(2 of 2 requests streamed a token\)"):
        loadgen._measure(0, _server_unit(2), Meter(*make_sampler("synthetic:300", 1)))
    with pytest.raises(RuntimeError, match="no steady state: the batch of max_num_seqs = 4 never stayed full"):
        loadgen._measure(0, _server_unit(4), Meter(*make_sampler("synthetic:300", 1)))


def test_a_window_without_tokens_is_no_steady_state(monkeypatch):
    _fake_server(monkeypatch)
    monkeypatch.setattr(loadgen, "_steady_window", lambda sent, tokens, bs, n, *words: (sent[0], sent[0] + 1_000_000))
    with pytest.raises(RuntimeError, match="no steady state: no token was streamed"):
        loadgen._measure(0, _server_unit(8), Meter(*make_sampler("synthetic:300", 1)))


@pytest.fixture
def sleeps(monkeypatch):
    got = []
    monkeypatch.setattr(time, "sleep", got.append)
    return got


@pytest.mark.parametrize("mode", ["offline", "server"])
def test_cooldown_follows_every_vllm_unit(monkeypatch, sleeps, mode):
    """Only the transformers backend slept cooldown_s, although vllm specs set it and it is in config_id."""
    monkeypatch.setattr(worker, "run_in_subprocess", lambda cfg, source: {"status": "ok", "mode": cfg.mode})
    row = worker.execute(_vllm_unit(mode=mode, cooldown_s=2.5), "none")
    assert row == {"status": "ok", "mode": mode} and sleeps == [2.5]
    sleeps.clear()
    worker.execute(_vllm_unit(mode=mode), "none")
    assert sleeps == []  # cooldown_s 0: no pause


def test_cooldown_follows_a_failed_unit_and_an_in_process_one(monkeypatch, sleeps):
    monkeypatch.setattr(worker, "run_in_process", lambda cfg, source: {"status": "failed"})
    cfg = parse_spec({"sweep": {"backend": "transformers", "cooldown_s": 1.5},
                      "grid": {"models": ["m"], "max_num_seqs": [1], "input_len": [4], "output_len": [2]}}).configs()[0]
    assert worker.execute(cfg, "none")["status"] == "failed" and sleeps == [1.5]


@pytest.mark.torch
def test_cooldown_of_a_real_transformers_unit_is_slept_once(tiny_model, monkeypatch):
    """The backend's own sleep is gone: the pause comes from execute, once per unit."""
    cfg = parse_spec({"sweep": {"backend": "transformers", "cooldown_s": 0.75, "warmup": 0},
                      "grid": {"models": [tiny_model], "max_num_seqs": [1], "input_len": [4],
                               "output_len": [2]}}).configs()[0]
    real_sleep, slept = time.sleep, []

    def sleep(s):
        slept.append(s)
        real_sleep(min(s, 0.01))

    monkeypatch.setattr(time, "sleep", sleep)
    row = worker.execute(cfg, "none")
    assert row["status"] == "ok", row["error"]
    assert slept.count(0.75) == 1 and "short_windows" in row


@pytest.mark.torch
def test_transformers_windows_end_after_the_device_finished(monkeypatch, tiny_model):
    """CUDA runs kernels after their launch returns: every window of the transformers backend must end after a
    synchronisation that follows its last model call (the in-run prefill, decode and total windows ended at the
    last launch, before the GPU had finished: latency, TPOT and energy cut short)."""
    from energylens.profiling import backend_transformers as bt

    events: list[object] = []
    prefill, decode, end = bt._prefill, bt._decode, meter_mod._Open.end
    monkeypatch.setattr(bt, "_sync", lambda torch, device: events.append("sync"))
    monkeypatch.setattr(bt, "_prefill", lambda *a: (events.append("work"), prefill(*a))[1])
    monkeypatch.setattr(bt, "_decode", lambda *a: (events.append("work"), decode(*a))[1])
    monkeypatch.setattr(meter_mod._Open, "end", lambda self: (events.append(("end", self.key)), end(self))[1])
    cfg = parse_spec({"sweep": {"backend": "transformers", "warmup": 0},
                      "grid": {"models": [tiny_model], "precision": ["fp32"], "max_num_seqs": [2], "input_len": [8],
                               "output_len": [4]}}).configs()[0]
    bt.run_transformers(cfg, Meter(None))
    ends = [i for i, e in enumerate(events) if isinstance(e, tuple)]
    assert {events[i][1] for i in ends} == {"prefill_only", "prefill_in_run", "decode", "total"}
    for i in ends:
        last = [e for e in events[:i] if not isinstance(e, tuple)][-1]
        assert last == "sync", f"window {events[i][1]!r} ends before the device is synchronised: {events}"
