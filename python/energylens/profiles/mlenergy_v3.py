"""Reader for the ML.ENERGY Benchmark v3 LLM export (one row per task x model x GPU count x
max_num_seqs; Chung et al., NeurIPS 2025 D&B; github.com/ml-energy/leaderboard public/data/tasks).

The v3 data has no licence of its own and is never bundled: :func:`mlenergy_v3` reads a file the user
has. It is recognised by its header (:data:`MLENERGY_V3_SIGNATURE`), relabels the parallelism as the
benchmark launched it, and states the input lengths it has to assume (docs/profile-schema.md,
"ML.ENERGY v3").

Parallelism labels: rows with ``expert_parallel`` = N > 1 say ``tensor_parallel`` = 1, but the
benchmark ran ``vllm serve --tensor-parallel-size num_gpus --enable-expert-parallel`` (or
``--data-parallel-size num_gpus`` where ``data_parallel`` > 1): attention ran with
tp = num_gpus / data_parallel and the experts were sharded over ep = num_gpus. Such rows get
``parallelism_relabelled = True``; an ``expert_parallel`` > 1 other than ``num_gpus`` is an error.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pandas as pd

from energylens.errors import ProfileSchemaError, UnknownGpuError
from energylens.profiles import cells, tables
from energylens.profiles.export_columns import in_export_columns
from energylens.profiles.files import read_export
from energylens.profiles.number_cells import MILLISECONDS, UNITS, non_numeric_problems
from energylens.profiles.problems import HINT, refuse_empty_rows
from energylens.profiles.schema import load_profiles

__all__ = ["MLENERGY_V3_SIGNATURE", "MLENERGY_V3_HYBRID_SSM_DTYPE", "MLENERGY_V3_PROMPT_TOKENS", "MLENERGY_V3_VIDEO_FRAMES", "MLENERGY_V3_VIDEO_FPS",
           "MLENERGY_V3_TASK_MODALITY", "encoded_video_frames", "is_mlenergy_v3_table", "mlenergy_v3"]

#: Columns whose presence marks a CSV as an ML.ENERGY v3 LLM export.
MLENERGY_V3_SIGNATURE = ("model_id", "gpu_model", "num_gpus", "tensor_parallel", "expert_parallel",
                         "data_parallel", "max_num_seqs", "avg_batch_size", "avg_output_len",
                         "energy_per_request_joules")

#: ASSUMED mean TEXT prompt length (tokens per request) of each v3 task; the export has no input
#: lengths. Every converted row carries ``input_tokens_assumed = True``.
#:
#: * ``gpqa``: a GPQA (extended) question with its four options plus the chat template: ~300 tokens.
#: * ``lm-arena-chat``: an LMArena (arena-human-preference-100k) user prompt plus template: ~200.
#: * ``sourcegraph-fim``: Sourcegraph context-aware fill-in-the-middle completions (prefix, suffix
#:   and retrieved context of a code file, sent raw): ~1500.
#: * ``image-chat``: the text of a VisionArena question plus template (~60); one image adds the
#:   model's ``image_tokens_per_image`` (model table).
#: * ``video-chat``: the text of a LLaVA-Video question (~60); the video adds the frames the model's
#:   processor encodes (:func:`encoded_video_frames`) x its ``video_tokens_per_frame`` (model table).
#: Uncertainty: +-50 % or more (tokenizers, image resolutions and conversation lengths vary).
MLENERGY_V3_PROMPT_TOKENS: dict[str, float] = {
    "gpqa": 300.0,
    "lm-arena-chat": 200.0,
    "sourcegraph-fim": 1500.0,
    "image-chat": 60.0,
    "video-chat": 60.0,
}
#: Frames the v3 video-chat workload samples per clip (mlenergy/llm/datasets.py, LLaVAVideoDataset:
#: ``num_frames = 32``, "vLLM default").
MLENERGY_V3_VIDEO_FRAMES = 32.0
#: Frame rate of the clip the workload sends: the 32 sampled frames re-encoded as an mp4 at 30 fps
#: (mlenergy/llm/datasets.py, ``frames_to_video_bytes(frames, fps=30.0)``), so a 1.07 s clip.
MLENERGY_V3_VIDEO_FPS = 30.0
#: SSM-state dtype of the v3 hybrid deployments: ml-energy/benchmark configs/vllm/{gpqa,lm-arena-chat}/nvidia/
#: NVIDIA-Nemotron-Nano-*-v2/*/monolithic.config.yaml set ``mamba-ssm-cache-dtype: float32``.
MLENERGY_V3_HYBRID_SSM_DTYPE = "float32"
#: Modality of each v3 task.
MLENERGY_V3_TASK_MODALITY: dict[str, str] = {
    "gpqa": "text", "lm-arena-chat": "text", "sourcegraph-fim": "text", "image-chat": "image",
    "video-chat": "video",
}

_ARCHITECTURE = {"dense transformer": "dense", "moe": "moe", "mamba-transformer hybrid": "hybrid"}
_COLUMN_MAP = {
    "model_id": "model", "gpu_model": "gpu", "num_gpus": "n_gpus", "avg_batch_size": "batch_size",
    "avg_output_len": "output_tokens", "energy_per_request_joules": "energy_j",
    "total_params_billions": "params_b", "activated_params_billions": "active_params_b",
    "avg_power_watts": "avg_power_w", "output_throughput_tokens_per_sec": "token_throughput_tok_s",
}


#: The columns :func:`mlenergy_v3` needs.
_REQUIRED = (*MLENERGY_V3_SIGNATURE, "task", "median_itl_ms", "weight_precision", "architecture", "total_params_billions")
#: Every column of the export the reader knows, read or dropped: never offered as the misspelling of a missing one
#: (energy_per_token_joules is J per output token, not a misspelled energy_per_request_joules).
MLENERGY_V3_COLUMNS = frozenset((*_REQUIRED, *_COLUMN_MAP, "energy_per_token_joules", "nickname", "input_tokens",
                                 "modality", "video_frames"))
#: Schema column -> the export column it is copied from unchanged: row errors name that column ('avg_batch_size').
_FILE_NAMES = {**{v: k for k, v in _COLUMN_MAP.items()}, "precision": "weight_precision", "dp": "data_parallel"}
#: Schema column -> the export column(s) it is derived from, for the other errors (export_columns.py).
_EXPORT_NAMES = {**_FILE_NAMES, "tpot_s": "median_itl_ms (ms)", "tp": "num_gpus / data_parallel (relabelled)",
                 "ep": "expert_parallel"}


def _architecture_kind(label: str) -> str | None:
    """dense / moe / hybrid for an export's ``architecture`` label: the three v3 H100 labels, else by key
    word (a label naming experts is moe, one naming Mamba / SSM / hybrid a hybrid, a plain transformer
    dense; a hybrid MoE such as Qwen3-Next counts as moe: its expert weights dominate the bytes); None
    for a label with none of them."""
    if label in _ARCHITECTURE:
        return _ARCHITECTURE[label]
    if "moe" in label or "expert" in label:
        return "moe"
    if any(w in label for w in ("hybrid", "mamba", "ssm")):
        return "hybrid"
    if "dense" in label or "transformer" in label:
        return "dense"
    return None


def is_mlenergy_v3_table(header: tuple[str, ...]) -> bool:
    """Whether a CSV header is that of an ML.ENERGY v3 LLM export."""
    return bool(header) and all(c in header for c in MLENERGY_V3_SIGNATURE)


def _rows_phrase(mask: np.ndarray) -> str:
    rows = (np.flatnonzero(mask) + 1).tolist()
    shown = ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
    return f"data row{'s' if len(rows) != 1 else ''} {shown} (1-based)"


#: Export column -> the unit its cells' hints name (number_cells): '14.4 ms' in median_itl_ms is 'write 14.4'.
_HINT_UNITS = {"median_itl_ms": MILLISECONDS, **{f"p{q}_itl_ms": MILLISECONDS for q in (90, 95, 99)},
               "total_params_billions": UNITS["params_b"], "activated_params_billions": UNITS["active_params_b"],
               "max_num_seqs": "sequences (a whole number)", "output_throughput_tokens_per_sec": "output tokens per second",
               **dict.fromkeys(("num_gpus", "tensor_parallel", "expert_parallel", "data_parallel"), UNITS["n_gpus"])}
#: Export columns a row cannot do without: a placeholder ('-') there is told to give the value, elsewhere to blank it.
_NEEDED = frozenset(("total_params_billions", "num_gpus", "tensor_parallel", "expert_parallel", "data_parallel"))


def _numbers(raw: pd.DataFrame, column: str, src: str, unit: str) -> pd.Series:
    """A column as numbers: a blank cell is NaN; one that is not a number is an error naming it, not a blank
    ('14.4 ms' silently left the latency model's data; a total_params_billions of '1,000' was reported as a
    missing params_b, an activated_params_billions of 'abc' silently became params_b), quoting the cells and
    saying what each looks like (:func:`_cells_said`)."""
    values, unparsed = cells.to_numeric(raw[column])  # the schema's own rule: blank is NaN, text is flagged
    if unparsed.any():
        _fail(src, column, unparsed, f"non-numeric value ({unit}, a number)", _cells_said(raw[column], unparsed))
    return values


def _cells_said(values: pd.Series, text: np.ndarray) -> str:
    """'; value(s): ' and the cells of ``values`` that ``text`` flags as not numbers, each kind of cell with what it
    is and what to write instead in the column's unit (:data:`_HINT_UNITS`), as the schema's errors say them
    ('1,000': a thousands separator; write '1,000' as 1000), the bare value where there is no hint ('abc')."""
    column = str(values.name)
    said = []
    for mask, reason in non_numeric_problems(values, text, column, column in _NEEDED, _HINT_UNITS.get(column)):
        shown = pd.unique(values.to_numpy()[mask].astype(str)).tolist()
        hint = reason.partition(HINT)[2]
        said.append(", ".join(repr(v) for v in shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
                    + (f": {hint}" if hint else ""))
    return "; value(s): " + "; ".join(said)


def _fail(src: str, column: str, mask: np.ndarray, reason: str, cells_said: str = "") -> None:
    raise ProfileSchemaError(f"{src}: column {column!r}: {reason} ({_rows_phrase(mask)}){cells_said}", source=src,
                             column=column, rows=np.flatnonzero(mask).tolist())  # zero-based, as errors.py says


def _relabel_parallelism(raw: pd.DataFrame, src: str) -> pd.DataFrame:
    """tp, pp, dp, ep, n_gpus as vLLM ran them (module docstring)."""
    cols = {}
    for c in ("num_gpus", "tensor_parallel", "expert_parallel", "data_parallel"):
        v = _numbers(raw, c, src, "GPUs").to_numpy(dtype="float64")
        if np.isnan(v).any():  # a blank cell: nothing there to be wrong
            _fail(src, c, np.isnan(v), "missing value: every row needs it (a whole number of GPUs >= 1)")
        bad = ~np.isfinite(v) | (v < 1) | (v != np.round(v))
        if bad.any():
            _fail(src, c, bad, "must be an integer >= 1")
        cols[c] = v
    n, tp, ep, dp = cols["num_gpus"], cols["tensor_parallel"], cols["expert_parallel"], cols["data_parallel"]
    expert = ep > 1
    if (expert & (ep != n)).any():  # the relabelling below sets ep = num_gpus: any other label would be misread
        at = int(np.argmax(expert & (ep != n)))
        _fail(src, "expert_parallel", expert & (ep != n),
              f"expert_parallel > 1 must equal num_gpus (e.g. {ep[at]:g} with num_gpus {n[at]:g}"
              f"{' (it does not divide it)' if n[at] % ep[at] else ''}): the benchmark's --enable-expert-parallel "
              "shards the experts over every GPU (ep = tp x dp = num_gpus), so the reader cannot tell how this "
              "row ran")
    if (n % dp != 0).any():
        _fail(src, "data_parallel", n % dp != 0, "must divide num_gpus")
    mislabelled = expert & (tp != 1) & (tp != n / dp)  # neither the benchmark's label (1) nor how it ran
    if mislabelled.any():
        _fail(src, "tensor_parallel", mislabelled, "on rows with expert parallelism must be 1 (the benchmark's "
              "label) or num_gpus / data_parallel (how vLLM ran it); another value says a deployment the reader "
              "cannot tell apart from the relabelled one")
    bad = ~expert & (tp * dp != n)
    if bad.any():
        _fail(src, "tensor_parallel", bad, "tensor_parallel x data_parallel must equal num_gpus on rows without "
              "expert parallelism")
    return pd.DataFrame({
        "tp": np.where(expert, n / dp, tp), "pp": 1.0, "dp": dp, "ep": np.where(expert, n, 1.0), "n_gpus": n,
        "parallelism_relabelled": expert,
    }, index=raw.index)


def mlenergy_v3(path: str | os.PathLike) -> pd.DataFrame:
    """An ML.ENERGY v3 LLM export (``llm_configs_*.csv``) as a validated profile table (schema v1).

    Mapping: model_id -> model, gpu_model -> gpu (must resolve in the GPU table), parallelism
    relabelled (module docstring), avg_batch_size -> batch_size (measured mean running batch),
    avg_output_len -> output_tokens, energy_per_request_joules -> energy_j (all GPUs),
    median_itl_ms / 1000 -> tpot_s, weight_precision -> precision (bfloat16 -> bf16), architecture ->
    dense / moe / hybrid, total / activated params -> params_b / active_params_b (for a model the
    table knows, the table's counts: the export's are the nominal ones of the name and are kept as
    ``params_b_nominal`` / ``active_params_b_nominal``; ``params_from_table`` says which rows), task ->
    modality (:data:`MLENERGY_V3_TASK_MODALITY`). Kept: ``max_num_seqs``, ``avg_power_w``,
    ``token_throughput_tok_s``, the p90/p95/p99 ITL columns. Added: ``input_tokens`` (assumed,
    :data:`MLENERGY_V3_PROMPT_TOKENS` plus image / video tokens from the model table),
    ``input_tokens_assumed = True``, ``video_frames`` (video rows), ``parallelism_relabelled``,
    ``params_from_table``, ``mamba_ssm_cache_dtype`` (float32 on hybrid rows, as the benchmark ran them).
    An ``input_tokens`` column in the file (not upstream; blank = assumed) overrides the assumption row by
    row (``input_tokens_assumed = False`` there) and lets rows of a task the reader does not know through
    (their ``modality`` / ``video_frames`` from those columns, text where absent).

    Raises:
        ProfileSchemaError: not a v3 export, an unknown GPU, an unknown task without ``input_tokens``
            (the message names that remedy), a bad ``input_tokens`` cell, a blank ``weight_precision``, bad
            parallelism labels, or a row that violates the schema (the message names the file, column and rows).
        FileNotFoundError: no such file.
    """
    src = str(path)
    raw = read_export(path, "ML.ENERGY v3", "an ML.ENERGY v3 export", _REQUIRED, MLENERGY_V3_COLUMNS)
    refuse_empty_rows(raw, src, cells.is_blank(raw["model_id"]))  # a spreadsheet's trailing ',,,,' rows
    _check_gpus(raw, src)
    task = raw["task"].astype(str)
    given_tokens = _given_input_tokens(raw, src)
    unknown = ~task.isin(list(MLENERGY_V3_TASK_MODALITY)).to_numpy()
    if (unknown & np.isnan(given_tokens)).any():
        _fail(src, "task", unknown & np.isnan(given_tokens),
              f"{_tasks_said(raw['task'], unknown & np.isnan(given_tokens))} (known: "
              f"{', '.join(MLENERGY_V3_TASK_MODALITY)}): the export has no input lengths, so a task the reader "
              "does not know needs its mean prompt length: add an 'input_tokens' column (tokens per request, "
              "image / video tokens included) with a value on these rows, and a 'modality' column (text, image, "
              "video) where the prompts are not text; docs/profile-schema.md, 'ML.ENERGY v3'")
    arch = _architectures(raw, src)
    _check_weight_precision(raw, src)

    df = raw.rename(columns=_COLUMN_MAP).drop(columns=["tensor_parallel", "expert_parallel", "data_parallel"])
    df = df.drop(columns=["n_gpus"]).join(_relabel_parallelism(raw, src))
    df["architecture"] = arch.to_numpy()
    # a bare fp4 (NVIDIA's nvidia/*-FP4 NVFP4 or gpt-oss's MXFP4) is the row's checkpoint's: the schema's rule
    # (energylens.profiles.bare_fp4), which this reader had its own copy of until 2026-12-06
    df["precision"] = raw["weight_precision"].astype(str)
    df["modality"] = _modality(raw, task, unknown)
    _parse_numbers(raw, df, src)
    assumed, df["video_frames"] = _assumed_input_tokens(df, ~np.isnan(given_tokens))
    df["input_tokens"] = np.where(np.isnan(given_tokens), assumed, given_tokens)
    df["params_b_nominal"], df["active_params_b_nominal"] = df["params_b"], df["active_params_b"]
    df["params_b"], df["active_params_b"], df["params_from_table"] = _parameter_counts(df)
    df["input_tokens_assumed"] = np.isnan(given_tokens)
    # the benchmark's vLLM configs for its hybrids (Nemotron Nano v2) set mamba-ssm-cache-dtype float32
    df["mamba_ssm_cache_dtype"] = np.where(df["architecture"] == "hybrid", MLENERGY_V3_HYBRID_SSM_DTYPE, "auto")
    df = df.drop(columns=["median_itl_ms", "weight_precision", "energy_per_token_joules", "nickname",
                          "gpu_model"], errors="ignore")
    with in_export_columns(_EXPORT_NAMES):
        return load_profiles(df, source=src, column_names=_FILE_NAMES)


def _tasks_said(task: pd.Series, bad: np.ndarray) -> str:
    """"unknown v3 task ['x']", "blank cell where the task is expected", or both, for the ``bad`` rows' task cells
    (a blank one was "unknown v3 task [nan]" until 2026-12-06)."""
    blank = cells.is_blank(task) & bad
    names = sorted(set(task[bad & ~blank].astype(str)))
    n = int(blank.sum())
    blanks = f"{n} blank cell{'s' if n != 1 else ''}" if names else f"blank cell{'s' if n != 1 else ''} where the task is expected"
    return " and ".join(([f"unknown v3 task {names}"] if names else []) + ([blanks] if n else []))


def _check_gpus(raw: pd.DataFrame, src: str) -> None:
    """Every ``gpu_model`` cell names a GPU the tables know (or the row describes it with GPU spec columns); a
    blank cell is a missing value, not a GPU called 'nan'."""
    blank = cells.is_blank(raw["gpu_model"])
    if blank.any():
        _fail(src, "gpu_model", blank, "blank cell: each row must name the GPU it ran on (e.g. B200, H100)")
    inline = [c for c in tables.INLINE_COLUMNS if c in raw.columns]  # GPU spec columns describe a GPU too
    for gpu in raw["gpu_model"].astype(str).unique():
        rows = (raw["gpu_model"].astype(str) == gpu).to_numpy()
        if inline and raw.loc[rows, inline].notna().to_numpy().any():
            continue  # checked (values, needed columns) with the features, like any profile's spec columns
        try:
            tables.gpu_spec(gpu)
        except UnknownGpuError as exc:
            _fail(src, "gpu_model", rows, str(exc))


def _architectures(raw: pd.DataFrame, src: str) -> pd.Series:
    """dense / moe / hybrid per row from the export's ``architecture`` label (a blank one is unknown: an error)."""
    arch = raw["architecture"].fillna("").astype(str).str.strip().str.lower().map(_architecture_kind)
    if arch.isna().any():
        _fail(src, "architecture", arch.isna().to_numpy(),
              "unknown architecture (known: Dense Transformer, MoE, Mamba-Transformer Hybrid, or a label "
              "naming experts / MoE, Mamba / SSM / hybrid, or a dense transformer)")
    return arch


def _check_weight_precision(raw: pd.DataFrame, src: str) -> None:
    """A blank ``weight_precision`` is an error naming the rows, never the schema's default: the export names every
    row's format, and the format sets the bytes per parameter the model prices (a guessed bf16 would misprice fp8
    or mxfp4 weights 2-4x), so a blank is a damaged file, not an assumption to flag like the input lengths."""
    blank = cells.is_blank(raw["weight_precision"])
    if blank.any():
        _fail(src, "weight_precision", blank,
              "missing value (blank): every ML.ENERGY v3 row names its weight format (bfloat16, fp8, mxfp4); it sets "
              "the bytes per parameter the model prices, so the reader does not guess it: fill the cell in")


def _parse_numbers(raw: pd.DataFrame, df: pd.DataFrame, src: str) -> None:
    """``tpot_s`` (s) from ``median_itl_ms`` and the parameter counts as numbers into ``df``: a cell that is not a
    number is an error naming the export column (:func:`_numbers`); ``activated_params_billions`` is optional
    (NaN: the table's ratio, else params_b). The numeric columns kept as they are (no schema column checks them:
    '8 seqs' in max_num_seqs, '5%' as a throughput went through as text) are checked the same way."""
    kept = {"max_num_seqs": "sequences", "output_throughput_tokens_per_sec": "output tokens per second",
            **{f"p{q}_itl_ms": "milliseconds" for q in (90, 95, 99)}}
    for column in (c for c in kept if c in raw.columns):
        _numbers(raw, column, src, kept[column])
    df["tpot_s"] = _numbers(raw, "median_itl_ms", src, "milliseconds") / 1000.0
    df["active_params_b"] = np.nan
    for column, name in (("total_params_billions", "params_b"), ("activated_params_billions", "active_params_b")):
        if column in raw.columns:
            df[name] = _numbers(raw, column, src, "billions of parameters")


def _given_input_tokens(raw: pd.DataFrame, src: str) -> np.ndarray:
    """The export's own ``input_tokens`` column (mean prompt tokens per request; not an upstream field, a
    user may add it), NaN where absent or blank; a cell that is not a number is an error quoting it with what to write
    (:func:`_cells_said`; until 2026-12-06 '-', '1,234' and '300 tokens' were all 'must be a number of tokens >= 0'),
    a number out of range the schema's ('must be > 0', with the plausible range)."""
    if "input_tokens" not in raw.columns:
        return np.full(len(raw), np.nan)
    values, unparsed = cells.to_numeric(raw["input_tokens"])  # blank is NaN, text is flagged
    if unparsed.any():
        _fail(src, "input_tokens", unparsed, "non-numeric value (tokens per request, a number; a blank cell takes "
              "the task's assumed length)", _cells_said(raw["input_tokens"], unparsed))
    return values.to_numpy(dtype="float64")


def _modality(raw: pd.DataFrame, task: pd.Series, unknown: np.ndarray) -> np.ndarray:
    """The task's modality; for a task the reader does not know, the row's ``modality`` column (text
    where absent or blank)."""
    out = task.map(MLENERGY_V3_TASK_MODALITY).to_numpy(dtype=object)
    if unknown.any():
        given = (raw["modality"].astype(str).str.strip().str.lower().to_numpy(dtype=object)
                 if "modality" in raw.columns else np.full(len(raw), "", dtype=object))
        given = np.where(np.isin(given, ("", "nan", "none")), "text", given)
        out = np.where(unknown, given, out)
    return out


def _parameter_counts(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total and active parameters (billions) per row: the model table's where it knows the model, else
    the export's. The export's ``total_params_billions`` / ``activated_params_billions`` are the nominal
    counts of the model's name (Qwen3-30B-A3B: 30 / 3; its config.json gives 30.53 / 3.35, 12 % more
    active FLOPs and bytes), and for Qwen3-Omni the whole checkpoint where vLLM serves the thinker."""
    total = pd.to_numeric(df["params_b"], errors="coerce").to_numpy(dtype="float64").copy()
    active = pd.to_numeric(df["active_params_b"], errors="coerce").to_numpy(dtype="float64").copy()
    from_table = np.zeros(len(df), dtype=bool)
    for model in df["model"].astype(str).unique():
        spec = tables.find_model(model)
        if spec is None or not (spec.params_b > 0 and spec.active_params_b > 0):
            continue
        rows = (df["model"].astype(str) == model).to_numpy()
        total[rows], active[rows], from_table[rows] = spec.params_b, spec.active_params_b, True
    return total, active, from_table


def encoded_video_frames(spec: tables.ModelSpec | None, frames: float, clip_fps: float) -> float:
    """Frames of a clip of ``frames`` frames at ``clip_fps`` the model's processor encodes: re-sampled
    to the table's ``video_sample_fps`` (at least ``video_min_frames``, at most ``frames``) where the
    model has one, as transformers' Qwen3VLVideoProcessor.sample_frames does
    (``int(frames / clip_fps * fps)`` clamped), else every frame."""
    fps = math.nan if spec is None else spec.video_sample_fps
    if not (math.isfinite(fps) and fps > 0 and clip_fps > 0):
        return float(frames)
    lo = spec.video_min_frames if math.isfinite(spec.video_min_frames) else 1.0
    return float(min(max(math.floor(frames / clip_fps * fps), lo), frames))


def _assumed_input_tokens(df: pd.DataFrame, given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Text tokens of the task plus one image's or one clip's tokens from the model table (rows whose
    length is ``given`` are skipped: NaN, and their ``video_frames`` column's value where the file has one)."""
    text = df["task"].map(MLENERGY_V3_PROMPT_TOKENS).to_numpy(dtype="float64")
    modality = np.where(given, "given", df["modality"].to_numpy(dtype=object))
    image = np.zeros(len(df))
    frames = np.full(len(df), np.nan)
    unknown = []
    for model in df["model"].astype(str).unique():
        spec = tables.find_model(model)
        rows = (df["model"].astype(str) == model).to_numpy()
        img = spec.image_tokens_per_image if spec is not None else float("nan")
        vid = spec.video_tokens_per_frame if spec is not None else float("nan")
        n_frames = encoded_video_frames(spec, MLENERGY_V3_VIDEO_FRAMES, MLENERGY_V3_VIDEO_FPS)
        frames[rows & (modality == "video")] = n_frames
        for kind, per, scale in (("image", img, 1.0), ("video", vid, n_frames)):
            mask = rows & (modality == kind)
            if not mask.any():
                continue
            if np.isfinite(per):
                image[mask] = scale * per
            else:
                unknown.append(f"{model} ({kind})")
    if unknown:
        warnings.warn("ML.ENERGY v3: no image/video token count in the model table for "
                      + ", ".join(unknown) + "; their input_tokens hold the text part only "
                      "(add image_tokens_per_image / video_tokens_per_frame to energylens/data/models.csv)",
                      tables.EstimatedArchitectureWarning, stacklevel=3)
    if given.any():
        own = (pd.to_numeric(df["video_frames"], errors="coerce").to_numpy(dtype="float64")
               if "video_frames" in df.columns else np.full(len(df), np.nan))
        frames = np.where(given, own, frames)
    return text + image, frames
