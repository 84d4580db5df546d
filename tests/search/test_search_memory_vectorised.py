"""gpu_memory on a large table looks each GPU, format and model up once per distinct value, not once per row (a
420k-row ``energylens predict`` spent ~5 s of ~8 s in it: gpu_sides mapped three lambdas over every row, the
weight-format lookups walked every row), and its every output is what each row gives alone."""

import numpy as np
import pandas as pd

from energylens.profiles import load_profiles, tables
from energylens.profiles.features import build_features
from energylens.profiles.gpu_spec import GpuSpec
from energylens.search import memory

MODELS = [("meta-llama/Llama-3.1-8B-Instruct", "bf16"), ("openai/gpt-oss-120b", "mxfp4"),
          ("openai/gpt-oss-20b", "mxfp4"), ("Qwen/Qwen3-30B-A3B", "fp8"), ("Qwen/Qwen3-30B-A3B", "FP8"),
          ("Qwen/Qwen3-VL-30B-A3B-Instruct", "bf16"), ("moonshotai/Kimi-K2-Thinking", "int4"),
          ("moonshotai/Kimi-K2-Instruct", "int4"), ("meta-llama/Llama-3.1-8B-Instruct", "fp8"),
          ("deepseek-ai/DeepSeek-V3", "fp8"), ("mistralai/Mixtral-8x7B-Instruct-v0.1", "bfloat16"),
          ("nvidia/NVIDIA-Nemotron-Nano-12B-v2", "bf16")]
GPUS = ["H100", "H200", "A100-SXM4-40GB", "B200", "MI300X", "ToyAccel"]
LAYOUTS = [(1, 1, 1, 1), (8, 1, 1, 1), (4, 2, 1, 1), (2, 3, 1, 1), (2, 1, 4, 8), (8, 4, 2, 16)]
TOY = {"gpu_memory_gb": 96.0, "gpu_hbm_bw_gbs": 4000.0, "gpu_peak_bf16_tflops": 900.0, "gpu_tdp_w": 700.0,
       "gpu_interconnect_bw_gbs": 900.0, "gpu_scale_up_domain_gpus": 8.0}


def _frame() -> pd.DataFrame:
    """Every model on every GPU, each pair in three of the six layouts (shifted per pair, so every model and every
    GPU meets every layout): 216 rows, each pair of values the full 432-row product holds, at half the rows."""
    rows = []
    for i, ((model, precision), gpu, (tp, pp, dp, ep)) in enumerate(
            (m, g, LAYOUTS[(a + b + k) % len(LAYOUTS)]) for a, m in enumerate(MODELS) for b, g in enumerate(GPUS)
            for k in (0, 2, 4)):
        ep = ep if tables.find_model(model).n_experts > 1 else 1
        rows.append({"model": model, "gpu": gpu, "precision": precision, "tp": tp, "pp": pp, "dp": dp, "ep": ep,
                     "n_gpus": tp * pp * dp, "batch_size": 1 + 37 * (i % 9), "input_tokens": 128 + 300 * (i % 5),
                     "output_tokens": 64 + 200 * (i % 4), "energy_j": 1.0,
                     **(TOY if gpu == "ToyAccel" else {})})
    return load_profiles(pd.DataFrame(rows))


def _row(feats: dict, i: int) -> dict:
    return {k: (np.asarray(v)[[i]] if np.ndim(v) else v) for k, v in feats.items()}


def _memory(frame, feats, batch):
    return memory.gpu_memory(frame, feats, batch, frame["input_tokens"].to_numpy(dtype=float),
                             frame["output_tokens"].to_numpy(dtype=float))


def test_every_output_is_each_rows_own():
    frame = _frame()
    feats = build_features(frame)
    assert len(frame) > 200 and frame["gpu"].nunique() == len(GPUS)
    for batch in (frame["batch_size"].to_numpy(dtype=float) / frame["dp"].to_numpy(dtype=float), np.ones(len(frame))):
        together = _memory(frame, feats, batch)
        alone = [_memory(frame.iloc[[i]], _row(feats, i), batch[[i]]) for i in range(len(frame))]
        for field in ("fixed", "kv", "usable", "weights_fit", "fits"):
            got = getattr(together, field)
            want = np.concatenate([getattr(a, field) for a in alone])
            assert got.dtype == want.dtype and got.shape == (len(frame),), field
            np.testing.assert_array_equal(got, want, err_msg=field)  # bit for bit (NaN where NaN)
        assert len(np.unique(together.fixed)) > 50  # the rows do differ
    sides = memory.gpu_sides(frame)
    for k, part in enumerate(sides):
        want = np.concatenate([memory.gpu_sides(frame.iloc[[i]])[k] for i in range(len(frame))])
        assert part.dtype == want.dtype
        np.testing.assert_array_equal(part, want)
    parts = memory.weight_parts(frame)
    for k, part in enumerate(parts):
        want = np.concatenate([np.asarray(memory.weight_parts(frame.iloc[[i]])[k]) for i in range(len(frame))])
        np.testing.assert_array_equal(np.asarray(part), want, err_msg=memory.WEIGHT_PARTS[k])


def test_gpu_lookups_run_once_per_distinct_gpu(monkeypatch):
    frame = pd.concat([_frame()] * 4, ignore_index=True)
    calls = {"nvls": 0, "domain": 0}
    real_nvls, real_domain = memory.nvls_capable, GpuSpec.domain_gpus

    def nvls(spec):
        calls["nvls"] += 1
        return real_nvls(spec)

    def domain(self):
        calls["domain"] += 1
        return real_domain(self)
    monkeypatch.setattr(memory, "nvls_capable", nvls)
    monkeypatch.setattr(GpuSpec, "domain_gpus", domain)
    memory.gpu_sides(frame)
    assert calls["nvls"] <= len(GPUS) and calls["domain"] <= 2 * len(GPUS) < len(frame), calls  # before: per row
