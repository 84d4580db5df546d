"""The native search against the NumPy brute force (energylens.search.oracle): identical top-k, Pareto
fronts and rejection counts on random spaces, for 1 and 2 threads, in both modes and every objective."""

import subprocess

import numpy as np
import pytest

from cpp_binaries import cpp_test_binary
from energylens import _core
from energylens.search.api import REASONS, native_options, run_engine
from energylens.search.oracle import REASONS as ORACLE_REASONS
from energylens.search.oracle import brute_force
from energylens.search.space import build_space

MODELS = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B", "openai/gpt-oss-20b",
          "meta-llama/Llama-3.2-1B-Instruct"]
GPUS = ["H100", "A100-SXM4-80GB", "H200", "B200", "L40S", "A100-SXM4-40GB"]


def _random_params(model, rng):
    """The fitted parameters, each scaled by a random factor and clamped to the template's bounds."""
    def jitter(m):
        p = m.params
        lo = np.array([v.lower for v in p.values()])
        hi = np.array([v.upper for v in p.values()])
        return np.clip(m.theta * np.exp(rng.normal(0, 0.3, len(lo))), lo, hi)
    return jitter(model), jitter(model.latency_model)


#: Models whose layers pp 3, 5, 6 or 7 leaves uneven (vLLM's stages differ by a layer, the first holding the
#: embedding): 80, 32 and 16 layers, a hybrid (56 layers, 4 attention), a vision model (48, encoder on every
#: stage) and a 48-layer MoE.
UNEVEN_MODELS = ["llama-3.1-70b", "llama-3.1-8b", "meta-llama/Llama-3.2-1B-Instruct",
                 "nvidia/NVIDIA-Nemotron-Nano-9B-v2", "google/gemma-3-12b-it", "Qwen/Qwen3-30B-A3B"]


def _random_space(rng, max_size, names=MODELS, pp=(1, 2, 4)):
    while True:
        models = list(rng.choice(names, rng.integers(1, 4), replace=False))
        kw = dict(
            gpus=list(rng.choice(GPUS, rng.integers(1, 4), replace=False)),
            tp=sorted(rng.choice([1, 2, 4, 8, 16], rng.integers(1, 5), replace=False).tolist()),
            pp=sorted(rng.choice(pp, rng.integers(1, 3), replace=False).tolist()),
            dp=sorted(rng.choice([1, 2, 3], rng.integers(1, 3), replace=False).tolist()),
            ep=[1] + ([int(rng.choice([2, 4, 8]))] if rng.random() < 0.5 else []),
            max_num_seqs=sorted(rng.choice([1, 3, 8, 32, 100, 256, 512], rng.integers(1, 5), replace=False).tolist()),
            precision=list(rng.choice(["bf16", "fp8", "int4"], rng.integers(1, 3), replace=False)),
            kv_cache_dtype=list(rng.choice(["auto", "fp8"], rng.integers(1, 3), replace=False)),
            input_tokens=rng.integers(16, 4096, rng.integers(1, 4)).tolist(),
        )
        kw["output_tokens"] = rng.integers(8, 1024, len(kw["input_tokens"])).tolist()
        try:
            space = build_space(models, **kw)
        except ValueError:
            continue  # an ep that divides none of the drawn models' experts: an error by design
        if space.size <= max_size:
            return space


def _assert_same_up_to_ties(space, theta, phi, options, got, want, x_name=None, err_msg=""):
    """Identical candidate lists, except where a candidate is tied within rounding with its counterpart:
    DP replicas of one configuration that the template prices identically (dp changes nothing for a
    dense model or a MoE without EP) are exact ties in arithmetic that NumPy and C++ round differently,
    so either may be kept. Each side's candidates (valued by the engine) must then match a candidate of
    the other side within 1e-12 in the objective (and in ``x_name`` for a front)."""
    got = np.asarray(got, dtype=np.int64)
    want = np.asarray(want, dtype=np.int64)
    if got.shape == want.shape and np.array_equal(got, want):
        return
    ev = _core.search_evaluate(*space.native_args(), theta, phi, options, np.concatenate([got, want]).astype(np.uint64))
    vals = [ev.objective] + ([getattr(ev, x_name)] if x_name else [])
    points = np.column_stack(vals)
    a, b = points[: got.size], points[got.size:]

    def matched(p, q):
        same = [np.all(np.isclose(q, row, rtol=1e-12, atol=0), axis=1) for row in p]
        if x_name:  # a front point whose x ties (within rounding) with a cheaper point of the other side is
            # dominated in exact arithmetic: PP stages leave TTFT unchanged (pp x t_pf / pp), say
            same = [s | (np.isclose(q[:, 1], row[1], rtol=1e-12, atol=0) & (q[:, 0] <= row[0]))
                    for s, row in zip(same, p, strict=True)]
        return np.array([np.any(s) for s in same], dtype=bool)

    assert matched(a, b).all() and matched(b, a).all(), f"{err_msg}: {got} vs {want} (not ties)"
    if not x_name:
        assert got.shape == want.shape, f"{err_msg}: {got} vs {want}"


def _compare(space, theta, phi, opts, threads, indices=None):
    options = {**native_options(**opts), "threads": threads}
    out = run_engine(space, theta, phi, options, indices=indices)
    ref = brute_force(space, theta, phi, indices,
                      **{("top_k" if k == "top" else k): v for k, v in opts.items()})
    assert out.candidates == (space.size if indices is None else len(indices))
    assert dict(zip(REASONS, map(int, out.rejected), strict=True)) == ref["rejected"]
    assert out.feasible == ref["feasible"]
    _assert_same_up_to_ties(space, theta, phi, options, out.top.index, ref["top"]["index"], err_msg="top")
    np.testing.assert_allclose(out.top.objective, ref["top"]["objective"], rtol=1e-10)
    np.testing.assert_allclose(out.top.batch, ref["top"]["batch"], rtol=1e-9)
    for name, front in (("front_tpot", out.front_tpot), ("front_ttft", out.front_ttft)):
        _assert_same_up_to_ties(space, theta, phi, options, front.index, ref[name]["index"],
                                name.replace("front_", "") + "_s", err_msg=name)
    _assert_same_memory(out, ref)
    return out, ref


def _assert_same_memory(out, ref):
    """The memory per GPU (of the fullest pipeline stage) of the candidates both top-k lists hold."""
    _, at_out, at_ref = np.intersect1d(out.top.index, ref["top"]["index"], return_indices=True)
    np.testing.assert_allclose(np.asarray(out.top.memory_bytes)[at_out], ref["top"]["memory_bytes"].to_numpy()[at_ref],
                               rtol=1e-12, err_msg="memory")


def test_reason_names_agree():
    assert REASONS == ORACLE_REASONS == tuple(_core.search_reason_names())


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("threads", [1, 2])
def test_fixed_batch_mode_matches_brute_force(model, seed, threads):
    """Draws until a space has a feasible candidate (3 of the 8 seeds' first draws reject every one: their
    top-k and fronts are empty, and only the rejection counts were compared), comparing every draw."""
    rng = np.random.default_rng(seed)
    for _ in range(20):
        space = _random_space(rng, 20_000)
        theta, phi = _random_params(model, rng)
        opts = {"top": int(rng.integers(1, 30))}
        if rng.random() < 0.7:
            opts["tpot_limit_s"] = float(rng.uniform(0.02, 0.2))
        if rng.random() < 0.5:
            opts["ttft_limit_s"] = float(rng.uniform(0.1, 3.0))
        opts["objective"] = str(rng.choice(["energy", "carbon"]))
        if opts["objective"] == "carbon":
            opts["carbon_g_per_kwh"] = 400.0
        opts["per_token"] = bool(rng.random() < 0.3)
        out, _ = _compare(space, theta, phi, opts, threads)
        if out.feasible > 0:
            break
    assert out.feasible > 0 and len(out.top.index) == min(opts["top"], out.feasible)


@pytest.mark.parametrize("seed", range(4))
def test_uneven_pipeline_stages_match_brute_force(model, seed):
    """pp values that leave a model's stages uneven (the first and a fuller middle stage can each bind the KV
    check, docs/search.md "Feasibility"): the engine and the oracle (memory.py's stage arithmetic) agree, and
    the draws reach the memory checks."""
    rng = np.random.default_rng(200 + seed)
    memory = 0
    for _ in range(40):
        space = _random_space(rng, 20_000, UNEVEN_MODELS, (3, 5, 6, 7))
        theta, phi = _random_params(model, rng)
        out, ref = _compare(space, theta, phi, {"top": 10, "tpot_limit_s": 0.5}, 2)
        memory += ref["rejected"]["memory_kv_cache"]
        if out.feasible > 0 and memory > 0:
            break
    assert out.feasible > 0 and memory > 0


@pytest.mark.parametrize("seed", range(3))
def test_load_mode_matches_brute_force(model, seed):
    rng = np.random.default_rng(100 + seed)
    opts = {"top": 10, "tpot_limit_s": 0.2}
    if seed > 0:  # replicas sized for headroom (seed 1: 0.8, seed 2: 0.5)
        opts["max_utilization"] = (1.0, 0.8, 0.5)[seed]
    for _ in range(20):  # (seed 1's first space rejects every candidate: tp beyond a node)
        space = _random_space(rng, 1500)
        theta, phi = _random_params(model, rng)
        opts["rate_per_s"] = float(rng.uniform(0.5, 50))
        out, _ = _compare(space, theta, phi, opts, 2)
        if out.feasible > 0:
            break
    assert out.feasible > 0
    assert np.all(out.top.batch <= space.max_num_seqs.max() + 1e-12)
    assert np.all(out.top.replicas >= 1)


def test_cost_objective_matches_brute_force(model):
    space = build_space(["llama-3.1-8b", "llama-3.1-70b"], ["H100", "H200"], input_tokens=[512, 2000],
                        output_tokens=[256, 100], tp=[1, 2, 4, 8], max_num_seqs=[1, 16, 64, 256],
                        price_per_gpu_hour={"H100": 2.5, "H200": 3.5})
    _compare(space, model.theta, model.latency_model.theta, {"objective": "cost", "top": 8}, 2)


@pytest.mark.slow
def test_million_candidate_space_matches_brute_force(model):
    space = build_space(MODELS[:3], GPUS[:5], input_tokens=list(np.linspace(128, 4096, 30).round()),
                        output_tokens=list(np.linspace(1024, 64, 30).round()), tp=[1, 2, 4, 8], pp=[1, 2, 4], dp=[1, 2],
                        ep=[1, 2], max_num_seqs=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
                        precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])
    assert 500_000 <= space.size <= 1_000_000
    for threads in (1, 2):
        _compare(space, model.theta, model.latency_model.theta, {"top": 20, "tpot_limit_s": 0.1}, threads)


def test_result_does_not_depend_on_thread_count(model):
    space = build_space(MODELS, GPUS, input_tokens=[256, 1024, 4096], output_tokens=[128, 512, 64],
                        tp=[1, 2, 4, 8], pp=[1, 2], dp=[1, 2], ep=[1, 2, 4], max_num_seqs=list(range(1, 257, 5)),
                        precision=["bf16", "fp8"])
    runs = [run_engine(space, model.theta, model.latency_model.theta,
                       {**native_options(top=25, tpot_limit_s=0.1), "threads": t}) for t in (1, 2, 3, 5)]
    first = runs[0]
    assert first.feasible > 25
    for other in runs[1:]:
        for name in ("top", "front_tpot", "front_ttft"):
            a, b = getattr(first, name), getattr(other, name)
            np.testing.assert_array_equal(a.index, b.index)
            np.testing.assert_array_equal(a.objective, b.objective)
        np.testing.assert_array_equal(first.rejected, other.rejected)


def test_reported_values_match_the_scalar_evaluation(model):
    space = build_space(["llama-3.1-70b", "mixtral-8x7b"], ["H100", "B200"], input_tokens=700, output_tokens=300,
                        tp=[1, 2, 4, 8], max_num_seqs=[4, 32, 128])
    opts = native_options(top=10)
    out = run_engine(space, model.theta, model.latency_model.theta, opts)
    again = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, opts, out.top.index)
    for name in ("objective", "energy_j", "prefill_j", "decode_j", "ttft_s", "tpot_s", "memory_bytes", "static_j"):
        np.testing.assert_allclose(getattr(out.top, name), getattr(again, name), rtol=1e-12, err_msg=name)
    assert np.all(again.reason == -1)


def test_cpp_unit_test_of_the_merges_passes():
    """cpp/tests/test_search.cpp (TopK / ParetoFront merges) when a build tree with ENERGYLENS_BUILD_TESTS=ON has it."""
    exe = cpp_test_binary("test_search")  # (skips where no build tree has it, or it is older than the C++ sources)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_progress_is_reported(model):
    space = build_space(MODELS, GPUS, input_tokens=list(range(100, 2100, 100)), output_tokens=list(range(50, 1050, 50)),
                        tp=[1, 2, 4, 8], max_num_seqs=list(range(1, 129)))
    seen = []
    run_engine(space, model.theta, model.latency_model.theta, native_options(), lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (space.size, space.size)
    assert all(0 < d <= t == space.size for d, t in seen)


def test_a_candidate_list_reports_progress_once_when_done(model):
    """The engine calls back only while it walks a space; a list of candidates (and the GPU pass) reports once, at
    the end, so a caller's progress bar ends (it was never called)."""
    space = build_space(MODELS, GPUS, input_tokens=[512], output_tokens=[256], tp=[1, 2], max_num_seqs=[8, 64])
    seen = []
    run_engine(space, model.theta, model.latency_model.theta, native_options(), lambda d, t: seen.append((d, t)),
               indices=[0, 3, 5])
    assert seen == [(3, 3)]
