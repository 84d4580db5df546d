"""The transformers/torch backend: one configuration on one device, prefill and decode apart.

Per configuration (a batch of ``max_num_seqs`` random-token prompts, greedy decoding that never
stops early, i.e. ``ignore_eos``):

1. ``warmup`` untimed runs of the whole generation;
2. **prefill-only runs**: the prompt forward pass alone, repeated until the window lasts at least
   ``min_window_s`` (at least once), so its energy is resolvable: prefill energy and TTFT per run;
3. **the full run**: prefill then ``max(output)`` decode steps with the KV cache, inside a ``total``
   window, with a ``prefill_in_run`` and a ``decode`` window inside it.

The batch is static: every prompt is left-padded to the longest one drawn and every sequence is decoded
for the longest output drawn (finished sequences are not dropped), so the row describes that work:
``input_tokens`` = the longest drawn prompt, ``output_tokens`` = the decode steps, ``batch_size`` =
``max_num_seqs`` all the way; the means of the drawn lengths are kept as ``drawn_input_tokens`` and
``drawn_output_tokens``. (With fixed lengths the two agree.)

Per request: ``energy_j`` = total / batch, ``prefill_energy_j`` = prefill-only energy / batch,
``decode_energy_j`` = the rest; the in-run windows are kept (``decode_window_energy_j``,
``prefill_in_run_energy_j``) so a GPU run can check prefill + decode against the total
(bench/gpu_profiling_check.py).
"""

from __future__ import annotations

import math
import time
import zlib
from typing import Any

import numpy as np

from energylens.profiling.hf_config import architecture_columns
from energylens.profiling.meter import Meter
from energylens.profiling.spec import RunConfig

__all__ = ["run_transformers", "check_one_device", "static_batch_lengths", "TORCH_DTYPES"]

TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _device(torch) -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _draw(cfg: RunConfig) -> tuple[np.random.Generator, list[int], list[int]]:
    """The unit's seeded generator after drawing its prompt and output lengths, and the lengths."""
    seed = (cfg.seed * 1_000_003 + cfg.repetition * 7919 + zlib.crc32(cfg.config_id.encode())) % 2**32
    rng = np.random.default_rng(seed)
    in_lens = cfg.input_len.draw(cfg.max_num_seqs, rng)
    return rng, in_lens, cfg.output_len.draw(cfg.max_num_seqs, rng)


def static_batch_lengths(cfg: RunConfig) -> tuple[float, float]:
    """(input_tokens, output_tokens) a run of ``cfg`` records: the longest prompt and output it draws
    (active profiling predicts candidates at them before they run)."""
    _, in_lens, out_lens = _draw(cfg)
    return float(max(in_lens)), float(max(out_lens))


def _inputs(cfg: RunConfig, vocab: int, torch, device: str) -> tuple[Any, Any, list[int], list[int]]:
    """Left-padded random prompts of the drawn lengths, their mask, and the drawn lengths."""
    rng, in_lens, out_lens = _draw(cfg)
    n = cfg.max_num_seqs
    width = max(in_lens)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    for i, L in enumerate(in_lens):
        ids[i, width - L:] = rng.integers(3, max(vocab, 4), size=L)
        mask[i, width - L:] = 1
    return (torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device), in_lens, out_lens)


def _prefill(model, ids, mask, torch):
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
    return out.past_key_values, out.logits[:, -1:].argmax(-1), mask, pos[:, -1:]


def _decode(model, past, nxt, mask, pos, steps: int, torch):
    for _ in range(steps):
        mask = torch.cat([mask, torch.ones_like(nxt)], dim=-1)
        pos = pos + 1
        out = model(input_ids=nxt, attention_mask=mask, position_ids=pos, past_key_values=past, use_cache=True)
        past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
    return nxt


def _sync(torch, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


#: The last model loaded in this process, reused by the next unit of the same model and precision
#: (isolation "none" runs many units per process; a subprocess loads it once anyway).
_LOADED: dict[tuple[str, str], Any] = {}


def load_model(cfg: RunConfig):
    """(torch, model, device) for ``cfg.model`` (a local path or a Hub id already in the local cache)."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(cfg.seed)
    device = _device(torch)
    key = (cfg.model, cfg.precision)
    if key not in _LOADED:
        _LOADED.clear()  # free the previous model first
        dtype = getattr(torch, TORCH_DTYPES[cfg.precision])
        _LOADED[key] = AutoModelForCausalLM.from_pretrained(cfg.model_path, dtype=dtype).to(device).eval()
    return torch, _LOADED[key], device


def model_facts(model) -> dict[str, float]:
    """params_b and the architecture columns, from the loaded model and its config."""
    return architecture_columns(model.config, sum(p.numel() for p in model.parameters()) / 1e9)


def check_one_device(cfg: RunConfig) -> None:
    """ValueError naming the spec key when ``cfg`` asks for more than one device (the spec refuses such a
    grid; a configuration built by hand, or read back from a store, is refused here rather than run on one
    device and recorded as dp ranks it never had)."""
    for key in ("tp", "pp", "dp", "ep"):
        if getattr(cfg, key) > 1:
            raise ValueError(f"grid.{key} = {getattr(cfg, key)}: the transformers backend runs on one device "
                             f"(tp = pp = dp = ep = 1); {key} > 1 needs backend 'vllm'"
                             + (" in mode 'server'" if key == "dp" else ""))


def run_transformers(cfg: RunConfig, meter: Meter) -> dict[str, Any]:
    """Measure ``cfg``; returns the measured columns (per request) and the model/device facts."""
    check_one_device(cfg)
    torch, model, device = load_model(cfg)
    ids, mask, in_lens, out_lens = _inputs(cfg, int(model.config.vocab_size), torch, device)
    steps = max(out_lens)
    min_window_s = float(cfg.options.get("min_window_s", 0.0))
    n = cfg.max_num_seqs
    with torch.inference_mode(), meter:
        for _ in range(int(cfg.options.get("warmup", 1))):
            past, nxt, m, p = _prefill(model, ids, mask, torch)
            _decode(model, past, nxt, m, p, steps - 1, torch)
        _sync(torch, device)
        k = 0
        with meter.span("prefill_only") as pf:
            t0 = time.perf_counter()
            while k == 0 or time.perf_counter() - t0 < min_window_s:
                _prefill(model, ids, mask, torch)
                _sync(torch, device)
                k += 1
        total = meter.begin("total")
        in_run = meter.begin("prefill_in_run")
        past, nxt, m, p = _prefill(model, ids, mask, torch)
        _sync(torch, device)  # a window ends when the GPU has done its work, not when the launches are queued
        pf_run = in_run.end()
        dec = meter.begin("decode")
        _decode(model, past, nxt, m, p, steps - 1, torch)
        _sync(torch, device)
        dec_s = dec.end()
        tot = total.end()
    prefill_j = pf.energy_j / k
    e_req = tot.energy_j / n
    pf_req = prefill_j / n
    dec_req = e_req - pf_req
    return {
        **model_facts(model),
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        # a static batch: n sequences every step, each prompt padded to the longest, each decoded `steps` times
        "batch_size": float(n),
        "input_tokens": float(ids.shape[1]),
        "output_tokens": float(steps),
        "drawn_input_tokens": float(np.mean(in_lens)),
        "drawn_output_tokens": float(np.mean(out_lens)),
        "energy_j": e_req,
        "prefill_energy_j": pf_req,
        "decode_energy_j": dec_req if dec_req > 0 else math.nan,
        "ttft_s": pf.duration_s / k,
        "tpot_s": dec_s.duration_s / (steps - 1) if steps > 1 else math.nan,
        "latency_s": tot.duration_s,
        "avg_power_w": tot.energy_j / tot.duration_s,
        "prefill_runs": k,
        "prefill_in_run_energy_j": pf_run.energy_j / n,
        "prefill_in_run_s": pf_run.duration_s,
        "decode_window_energy_j": dec_s.energy_j / n,
        "decode_window_s": dec_s.duration_s,
        "short_windows": meter.short_windows,
        "torch_version": torch.__version__,
        "backend_version": _version("transformers"),
    }


def _version(dist: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""
