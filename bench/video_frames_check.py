#!/usr/bin/env python3
"""The data's side of docs/reference-tables.md "Video frames": does Qwen3-VL encode fewer frames of a v3 video clip
than Qwen3-Omni? Read from the ML.ENERGY v3 H100 export alone (no model of ours).

Per configuration (model, task, GPU count, max_num_seqs): the time a request spends in the system is Little's law
on the export's columns, W = avg_batch_size x avg_output_len / output_throughput_tokens_per_sec, and its
non-decode time is W - avg_output_len x median_itl_ms / 1000 (the wall time not spent in median decode steps:
prefill, the vision encoder, scheduling). Printed: Qwen3-Omni-30B-A3B's non-decode time on video-chat over
Qwen3-VL-30B-A3B's (the same language model) at each (GPU count, max_num_seqs) both ran, and every Qwen3-VL
model's video-chat over its image-chat at each such configuration. A model that encodes 32 frames where another
encodes 4 should spend several times as long outside decode on the same clip.

The v3 export is read from /work/shared/data (``$ENERGYLENS_SHARED_DATA``; never bundled); without it the
script says so and exits 0.

    python bench/video_frames_check.py
"""

from __future__ import annotations

import argparse

import pandas as pd

from data_paths import V3

KEY = ["num_gpus", "max_num_seqs"]


def non_decode_s(rows: pd.DataFrame) -> pd.Series:
    """Seconds per request outside the median decode steps, indexed by (GPU count, max_num_seqs)."""
    w = rows["avg_batch_size"] * rows["avg_output_len"] / rows["output_throughput_tokens_per_sec"]
    return (w - rows["avg_output_len"] * rows["median_itl_ms"] / 1000.0).set_axis(
        pd.MultiIndex.from_frame(rows[KEY])).rename("non_decode_s")


def ratios(v3: pd.DataFrame, model_a: str, task_a: str, model_b: str, task_b: str) -> pd.Series:
    """(model_a, task_a) over (model_b, task_b) at every configuration both ran."""
    def pick(model: str, task: str) -> pd.Series:
        return non_decode_s(v3[(v3["model_id"] == model) & (v3["task"] == task)])
    return (pick(model_a, task_a) / pick(model_b, task_b)).dropna()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    if not V3.exists():
        print(f"{V3} not found: the v3 rows are not bundled; nothing to check")
        return 0
    v3 = pd.read_csv(V3)
    omni = ratios(v3, "Qwen/Qwen3-Omni-30B-A3B-Instruct", "video-chat", "Qwen/Qwen3-VL-30B-A3B-Instruct", "video-chat")
    print(f"Qwen3-Omni-30B-A3B / Qwen3-VL-30B-A3B non-decode time on video-chat: mean {omni.mean():.1f}x, "
          f"{omni.min():.1f}-{omni.max():.1f}x over {len(omni)} configurations both ran")
    every = []
    for model in sorted(m for m in v3["model_id"].unique() if "Qwen3-VL" in m):
        r = ratios(v3, model, "video-chat", model, "image-chat")
        if len(r):
            every.append(r)
            print(f"{model} video-chat / image-chat: {r.min():.2f}-{r.max():.2f}x over {len(r)} configurations")
    every = pd.concat(every)
    print(f"every Qwen3-VL model: video-chat / image-chat {every.min():.1f}-{every.max():.1f}x over {len(every)} "
          f"configurations (median {every.median():.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
