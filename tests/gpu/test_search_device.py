"""The search's CUDA pass against the CPU engine (needs a GPU; skipped without one)."""

import numpy as np
import pytest

import energylens
from energylens import _core
from energylens.search.api import bundled_model, native_options, run_engine
from energylens.search.space import COMBO_FIELDS, build_space

pytestmark = pytest.mark.gpu

if energylens.capabilities().cuda_devices == 0:
    pytest.skip(f"no CUDA device: {energylens.capabilities().cuda_devices_note().split('<- ', 1)[-1]}", allow_module_level=True)


@pytest.mark.parametrize("min_blocks", [None, "2"])  # the kernel compiled for 1 or 2 resident blocks per SM
@pytest.mark.parametrize("calibrated", [False, True])
@pytest.mark.parametrize("tpot_limit", [None, 0.08])
def test_device_search_matches_the_cpu_engine(tpot_limit, calibrated, min_blocks, monkeypatch):
    if min_blocks is not None:
        monkeypatch.setenv("ENERGYLENS_SEARCH_MIN_BLOCKS", min_blocks)
    model = bundled_model()
    space = build_space(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b"], "H100,H200,B200",
                        input_tokens=[128, 512, 2048, 4096], output_tokens=[64, 256, 512, 1024], tp=[1, 2, 4, 8],
                        pp=[1, 2], dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 257, 3)),
                        precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])
    if calibrated:  # an energy calibration's per-combo factors (energy_factor), as search() writes them
        space.combo_values[:, COMBO_FIELDS.index("energy_factor")] = np.linspace(0.7, 1.3, len(space.combos))
    opts = native_options(top=20, tpot_limit_s=tpot_limit)
    cpu = run_engine(space, model.theta, model.latency_model.theta, opts)
    gpu = run_engine(space, model.theta, model.latency_model.theta, opts, device="cuda")
    np.testing.assert_array_equal(gpu.rejected, cpu.rejected)
    assert gpu.feasible == cpu.feasible
    np.testing.assert_array_equal(gpu.top.index, cpu.top.index)
    np.testing.assert_allclose(gpu.top.objective, cpu.top.objective, rtol=1e-12)
    for name in ("front_tpot", "front_ttft"):
        np.testing.assert_array_equal(getattr(gpu, name).index, getattr(cpu, name).index, err_msg=name)


#: The bundled models whose combos give a layer pattern (model table layer_pattern): a hybrid with state layers
#: (Nemotron-Nano, Qwen3-Next: attention and state masks) and sliding-window ones (Gemma 3, gpt-oss: S layers),
#: beside a dense model without one.
PATTERN_MODELS = ["nvidia/NVIDIA-Nemotron-Nano-9B-v2", "Qwen/Qwen3-Next-80B-A3B-Instruct", "google/gemma-3-27b-it",
                  "openai/gpt-oss-120b", "llama-3.1-8b"]


@pytest.mark.parametrize("min_blocks", [None, "2"])
@pytest.mark.parametrize("tpot_limit", [None, 0.08])
def test_device_per_stage_memory_of_layer_patterns_matches_the_cpu_engine(tpot_limit, min_blocks, monkeypatch):
    """The per-stage KV / state / sliding-window memory (kernel::pattern_slots, shared with the CPU engine) at pp 1
    to 12 (one slot per stage up to 8, the bound above): rejections, top-k with its objectives and both fronts are
    the CPU engine's, on a space that holds feasible candidates and KV-cache rejections (L40S, 32k prompts)."""
    if min_blocks is not None:
        monkeypatch.setenv("ENERGYLENS_SEARCH_MIN_BLOCKS", min_blocks)
    model = bundled_model()
    space = build_space(PATTERN_MODELS, "L40S,H100", input_tokens=[512, 2048, 8192, 8192, 32768],
                        output_tokens=[256, 1024, 256, 1024, 1024], tp=[1, 2, 4], pp=[1, 2, 3, 4, 5, 6, 9, 12],
                        dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 513, 8)), precision=["bf16", "fp8"],
                        kv_cache_dtype=["auto", "fp8"])
    opts = native_options(top=20, tpot_limit_s=tpot_limit)
    cpu = run_engine(space, model.theta, model.latency_model.theta, opts)
    gpu = run_engine(space, model.theta, model.latency_model.theta, opts, device="cuda")
    kv = list(_core.search_reason_names()).index("memory_kv_cache")
    assert cpu.feasible > 0 and cpu.rejected[kv] > 0  # the space exercises the per-stage check both ways
    np.testing.assert_array_equal(gpu.rejected, cpu.rejected)
    assert gpu.feasible == cpu.feasible
    np.testing.assert_array_equal(gpu.top.index, cpu.top.index)
    np.testing.assert_allclose(gpu.top.objective, cpu.top.objective, rtol=1e-12)
    for name in ("front_tpot", "front_ttft"):
        np.testing.assert_array_equal(getattr(gpu, name).index, getattr(cpu, name).index, err_msg=name)


def test_device_refuses_load_mode():
    model = bundled_model()
    space = build_space("llama-3.1-8b", "H100", input_tokens=512, output_tokens=256)
    with pytest.raises(ValueError, match="load mode"):
        run_engine(space, model.theta, model.latency_model.theta, native_options(rate_per_s=5.0), device="cuda")


def test_device_fronts_stay_exact_on_a_large_space_without_limits():
    """~1.3e9 candidates (indices past 2^30, ~4.7e3 per thread of the grid-stride loop), no latency limit: the
    merged fronts, top-k and rejection counts are still the CPU engine's."""
    model = bundled_model()
    work = np.linspace(64, 8192, 40)
    space = build_space(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B"], "H100,H200,B200",
                        input_tokens=list(np.repeat(work, 40)), output_tokens=list(np.tile(np.linspace(16, 4096, 40), 40)),
                        tp=[1, 2, 4, 8], pp=[1, 2], dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 1025, 2)),
                        precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])
    assert space.size > 1e9
    opts = native_options(top=32)
    cpu = run_engine(space, model.theta, model.latency_model.theta, opts)
    gpu = run_engine(space, model.theta, model.latency_model.theta, opts, device="cuda")
    np.testing.assert_array_equal(gpu.rejected, cpu.rejected)
    np.testing.assert_array_equal(gpu.top.index, cpu.top.index)
    for name in ("front_tpot", "front_ttft"):
        np.testing.assert_array_equal(getattr(gpu, name).index, getattr(cpu, name).index, err_msg=name)


@pytest.mark.parametrize("front_points", [1, 2, 5])
def test_device_fronts_stay_exact_when_threads_flush_them(front_points):
    """Threads keeping at most 1-5 front points flush them to the global buffer many times
    (search_thread_lists.hpp); the host's merge must still give the CPU engine's fronts exactly."""
    model = bundled_model()
    space = build_space(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b"], "H100,H200,B200",
                        input_tokens=[128, 512, 2048, 4096], output_tokens=[64, 256, 512, 1024], tp=[1, 2, 4, 8],
                        pp=[1, 2], dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 1025)),
                        precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])
    opts = native_options(top=10)
    cpu = run_engine(space, model.theta, model.latency_model.theta, opts)
    gpu = run_engine(space, model.theta, model.latency_model.theta, dict(opts, device_front_points=front_points),
                     device="cuda")
    np.testing.assert_array_equal(gpu.top.index, cpu.top.index)
    for name in ("front_tpot", "front_ttft"):
        np.testing.assert_array_equal(getattr(gpu, name).index, getattr(cpu, name).index, err_msg=name)
