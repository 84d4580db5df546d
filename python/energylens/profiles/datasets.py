"""Bundled real measurements, converted to profile schema v1 (docs/profile-schema.md).

``mlenergy_v2()`` converts the ML.ENERGY Leaderboard v2.0 (Sept 2024) flat table (Apache-2.0; Chung et
al., *The ML.ENERGY Benchmark*, NeurIPS 2025 D&B; github.com/ml-energy/benchmark at 76bf85e, data/)
into a validated profile table. The copy ships in ``energylens/data/mlenergy_v2_2024/`` with its
LICENSE and NOTICE.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.errors import ProfileSchemaError, UnknownGpuError
from energylens.profiles import cells, tables
from energylens.profiles.export_columns import in_export_columns
from energylens.profiles.files import check_csv_file, read_export, suffix_kind
from energylens.profiles.header import csv_header, missing_said
from energylens.profiles.mlenergy_v3 import (
    MLENERGY_V3_COLUMNS,
    MLENERGY_V3_SIGNATURE,
    is_mlenergy_v3_table,
    mlenergy_v3,
)
from energylens.profiles.problems import column_label, refuse_empty_rows
from energylens.profiles.schema import REQUIRED_COLUMNS, DroppedRowsWarning, load_profiles

__all__ = [
    "BUNDLED_NAMES",
    "load_profiles_or_bundled",
    "MLENERGY_V2_NOMINAL_PROMPT_TOKENS",
    "MLENERGY_V2_PRECISION",
    "bundled_path",
    "mlenergy_v2",
    "is_mlenergy_v2_table",
    "splitwise",
    "is_splitwise_table",
]

#: NOMINAL mean prompt length (tokens per request, the text part) of each ML.ENERGY v2 task. The
#: upstream table does not record input lengths, so these are estimates of the task's prompt set,
#: identical for every row of a task; converted rows carry ``input_tokens_nominal = True``.
#:
#: * ``chat``: first human turn of 500 ShareGPT conversations (ShareGPT_V3_unfiltered_cleaned_split,
#:   filtered upstream to 4..800 Llama-7B tokens, benchmark/llm_text_generation/chat/sharegpt/
#:   filter_dataset.py). The sampled file ShareGPT_V3_filtered_500.json is 216,075 characters, i.e.
#:   ~360 characters of prompt per request after JSON framing, ~100 tokens at ~3.6 characters per token;
#:   plus ~40 tokens for the fixed system prompt the client sends ("You are an artificial intelligence
#:   assistant that gives helpful answers ...", ~22 tokens) and the model's chat template. -> 140.
#: * ``code``: the 164 HumanEval+ prompts of EvalPlus (function signature + docstring + doctests), sent
#:   raw to the completions endpoint (no template); ~130 tokens on Llama/StarCoder-style tokenizers.
#: * ``image-chat``: the TEXT part of a LLaVA-Instruct-150K first-turn question (~15-20 tokens) plus
#:   the same system prompt and the chat template -> ~60 tokens. The image adds the model's
#:   ``image_tokens_per_image`` (model table) on top: those are prompt tokens for the LLM too.
#: Uncertainty: roughly +-30 % (tokenizers differ by model; no per-request counts were published).
MLENERGY_V2_NOMINAL_PROMPT_TOKENS: dict[str, float] = {
    "chat": 140.0,
    "code": 130.0,
    "image-chat": 60.0,
}

#: ML.ENERGY v2 served every model with vLLM v0.5.4 at ``--dtype auto`` (no quantisation): 16-bit
#: weights and activations, bf16 for bf16 checkpoints, fp16 for fp16/fp32 checkpoints (e.g. the llava-hf
#: LLaVA-1.5 configs). fp16 and bf16 have the same bytes per parameter and the same tensor-core peak on
#: A100 and H100, so every row is recorded as "bf16".
MLENERGY_V2_PRECISION = "bf16"

_BUNDLED = ("data", "mlenergy_v2_2024", "llm_configs_flat.csv")

_COLUMN_MAP = {
    "Model": "model",
    "GPU": "gpu",
    "TP": "tp",
    "PP": "pp",
    "Avg BS (reqs)": "batch_size",
    "Avg Output Tokens": "output_tokens",
    "Energy/req (J)": "energy_j",
    "Avg TPOT (s)": "tpot_s",
    "Max BS (reqs)": "max_batch_size",
    "Token tput (tok/s)": "token_throughput_tok_s",
    "file": "source_file",
}
#: Schema column -> the flat table's own header, kept so that errors name the column the user's file has ('TP').
_FILE_NAMES = {v: k for k, v in _COLUMN_MAP.items()}


def bundled_path() -> Path:
    """Path of the bundled ML.ENERGY v2 CSV (``energylens/data/mlenergy_v2_2024/llm_configs_flat.csv``)."""
    return Path(str(resources.files("energylens").joinpath(*_BUNDLED)))


def _task(category: str, task: str) -> tuple[str, str]:
    """(task, modality) of one upstream row."""
    if category == "mllm_text_generation":
        return "image-chat", "image"
    if category == "llm_text_generation" and task in ("chat", "code"):
        return task, "text"
    raise ValueError(f"unknown ML.ENERGY category/task {category!r}/{task!r}")


def _rows_with(column: pd.Series, value: object) -> list[int]:
    """0-based positions of the rows whose ``column`` equals ``value``."""
    return [int(i) for i in np.flatnonzero((column == value).to_numpy())]


def _data_rows_phrase(rows: list[int]) -> str:
    """``"data rows 5, 10, 1-based"`` for error messages (the first 20)."""
    return f"data rows {', '.join(str(r + 1) for r in rows[:20])}, 1-based"


_SIZE_IN_NAME = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)([bm])(?![a-z])")
_MOE_IN_NAME = re.compile(r"\d+x\d+(?:\.\d+)?b|(?<![a-z])a\d+(?:\.\d+)?b(?![a-z])")


def _params_b_from_name(name: str) -> float | None:
    """Total parameters (billions) written in a dense model's name (``Foo-7B-Instruct`` -> 7.0,
    ``Bar-135M`` -> 0.135); None when there is no single size or the name marks a mixture of experts
    (``8x7B``, ``30B-A3B``), whose total and active sizes a name does not settle."""
    base = str(name).rsplit("/", 1)[-1].lower()
    if _MOE_IN_NAME.search(base):
        return None
    found = {float(v) * (1e-3 if unit == "m" else 1.0) for v, unit in _SIZE_IN_NAME.findall(base)}
    return found.pop() if len(found) == 1 else None


def _check_gpus(df: pd.DataFrame, src: str) -> None:
    """Every GPU must resolve in the GPU table; the upstream (NVML) spelling stays the value; a blank cell is a
    missing value (until 2026-12-06 "unknown GPU nan (data rows , 1-based)")."""
    blank = cells.is_blank(df["gpu"])
    if blank.any():
        rows = np.flatnonzero(blank).tolist()
        raise ProfileSchemaError(f"{src}: column {column_label('gpu', _FILE_NAMES)}: blank cell: each row must name "
                                 f"the GPU it ran on ({_data_rows_phrase(rows)})", source=src, column="gpu", rows=rows)
    for gpu in df["gpu"].unique():
        try:
            tables.gpu_spec(gpu)
        except UnknownGpuError as exc:
            bad_rows = _rows_with(df["gpu"], gpu)
            raise ProfileSchemaError(f"{src}: column {column_label('gpu', _FILE_NAMES)}: {exc} "
                                     f"({_data_rows_phrase(bad_rows)})", source=src, column="gpu", rows=bad_rows) from None


def _model_sizes(df: pd.DataFrame, raw: pd.DataFrame,
                 src: str) -> tuple[dict[str, tables.ModelSpec | None], dict[str, float]]:
    """(model -> table spec or None, model -> params_b for models the table does not know). For a model it
    does not know (only in files other than the bundled one, whose models are all in the table) the size
    comes from an optional params_b column, else from the name ("...-7B-..."), with one warning;
    load_profiles then estimates the architecture."""
    specs: dict[str, tables.ModelSpec | None] = {}
    sizes: dict[str, float] = {}
    for model in df["model"].unique():
        specs[model] = tables.find_model(model)
        if specs[model] is not None:
            continue
        rows_of = _rows_with(df["model"], model)
        given = (pd.to_numeric(raw["params_b"].iloc[rows_of], errors="coerce").dropna().unique()
                 if "params_b" in raw.columns else np.array([]))
        size = float(given[0]) if len(given) == 1 and given[0] > 0 else _params_b_from_name(model)
        if size is None:
            raise ProfileSchemaError(
                f"{src}: column 'Model': {model!r} is not in the model table and its size cannot be read from "
                f"its name ({_data_rows_phrase(rows_of)}); add a params_b column (billions) to the file or a row "
                "to energylens/data/models.csv", source=src, column="Model", rows=rows_of)
        sizes[model] = size
    if sizes:
        warnings.warn(
            f"{src}: model(s) not in the model table, sized from "
            + ("the params_b column / " if "params_b" in raw.columns else "")
            + "their names: " + ", ".join(f"{m} ({b:g}B)" for m, b in sizes.items())
            + "; their architectures are estimated (add rows to energylens/data/models.csv for exact ones)",
            tables.EstimatedArchitectureWarning, stacklevel=3)
    return specs, sizes


def mlenergy_v2(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The ML.ENERGY Leaderboard v2.0 measurements as a validated profile table (schema v1).

    Mapping: Model -> model, GPU -> gpu (must resolve in the GPU table), TP -> tp, PP -> pp,
    ``Avg BS (reqs)`` -> batch_size, ``Avg Output Tokens`` -> output_tokens, ``Energy/req (J)`` ->
    energy_j (GPU energy per request summed over all TP x PP GPUs), ``Avg TPOT (s)`` -> tpot_s;
    task ``chat``/``code`` (modality text) or ``image-chat`` (category mllm_text_generation,
    modality image). Kept: ``max_batch_size`` (vLLM max_num_seqs), ``token_throughput_tok_s``,
    ``source_file``. From the model table: params_b, active_params_b, architecture and the
    architecture columns. precision = :data:`MLENERGY_V2_PRECISION`.

    input_tokens is NOT measured upstream: it is the task's nominal prompt length
    (:data:`MLENERGY_V2_NOMINAL_PROMPT_TOKENS`), plus the model's image tokens per image for
    image-chat; ``input_tokens_nominal`` is True on every row.

    Args:
        path: the flat CSV; default :func:`bundled_path`.

    A model the model table does not know (never the case for the bundled file) is sized from an
    optional ``params_b`` column of the file, else from its name (``...-7B-...``; not for mixture-of-experts
    names such as ``8x7B`` or ``30B-A3B``), and its architecture is estimated, with one
    :class:`~energylens.profiles.tables.EstimatedArchitectureWarning` naming every such model and size.

    Raises:
        ProfileSchemaError: a GPU the GPU table does not know, a model it cannot size, an unknown task,
            or a row that violates the schema (the message names the file, rows and column).
    """
    src_path = Path(path) if path is not None else bundled_path()
    src = str(src_path)
    v2_columns = ("category", "task", *_COLUMN_MAP)
    raw = read_export(src_path, "ML.ENERGY v2", "an ML.ENERGY v2 flat table", v2_columns, v2_columns)

    refuse_empty_rows(raw, src, cells.is_blank(raw["Model"]))  # a spreadsheet's trailing ',,,,' rows
    df = raw.rename(columns=_COLUMN_MAP)
    _check_gpus(df, src)
    specs, sizes = _model_sizes(df, raw, src)
    try:
        task_mod = [_task(c, t) for c, t in zip(raw["category"], raw["task"], strict=True)]
    except ValueError as exc:
        raise ProfileSchemaError(f"{src}: column 'task': {exc}", source=src, column="task") from None
    df["task"] = [t for t, _ in task_mod]
    df["modality"] = [m for _, m in task_mod]

    spec_col = [specs[m] for m in df["model"]]
    df["params_b"] = [s.params_b if s is not None else sizes[m] for s, m in zip(spec_col, df["model"], strict=True)]
    df["active_params_b"] = [s.active_params_b if s is not None else np.nan for s in spec_col]
    df["architecture"] = [s.architecture if s is not None else "dense" for s in spec_col]
    image_tokens = np.array([s.image_tokens_per_image if s is not None else np.nan for s in spec_col],
                            dtype="float64")
    nominal = df["task"].map(MLENERGY_V2_NOMINAL_PROMPT_TOKENS).to_numpy(dtype="float64")
    is_image = (df["modality"] == "image").to_numpy()
    df["input_tokens"] = np.where(is_image, nominal + np.nan_to_num(image_tokens), nominal)
    df["input_tokens_nominal"] = True
    df["precision"] = MLENERGY_V2_PRECISION
    df["max_num_seqs"] = df["max_batch_size"]  # vLLM 0.5.4's max_num_seqs, named as the v3 reader names it
    df = df.drop(columns=["category", "bs_from_filename"], errors="ignore")

    with warnings.catch_warnings(), in_export_columns(_FILE_NAMES):  # (errors outside the row checks)
        if sizes:  # said above, with where the sizes came from
            warnings.simplefilter("ignore", tables.EstimatedArchitectureWarning)
        return load_profiles(df, source=src, column_names=_FILE_NAMES)


#: Columns whose presence marks a CSV as a Splitwise performance-model table (perf_model.csv).
SPLITWISE_SIGNATURE = ("model", "hardware", "prompt_size", "batch_size", "token_size", "prompt_time",
                       "token_time", "tensor_parallel")

#: Splitwise hardware labels that are derived upstream rather than measured (decode time copied from
#: h100-80gb, prefill exactly 1.3x): dropped by :func:`splitwise`.
SPLITWISE_DERIVED_HARDWARE = ("h100-80gb-pcap",)


def _check_splitwise_numbers(raw: pd.DataFrame, src: str) -> None:
    """Sizes, TP and times must be finite and > 0, checked on the file's own rows (before repeats are
    averaged, so the rows named are the file's: ``raw``'s index, the derived rows' positions kept)."""
    for col in ("prompt_size", "batch_size", "token_size", "tensor_parallel", "prompt_time", "token_time"):
        v = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype="float64")
        bad = ~(np.isfinite(v) & (v > 0))
        if bad.any():
            rows = [int(i) for i in raw.index[bad]]
            raise ProfileSchemaError(f"{src}: column {col!r} must be a number > 0 ({_data_rows_phrase(rows)})",
                                     source=src, column=col, rows=rows)


def splitwise(path: str | os.PathLike) -> pd.DataFrame:
    """A Splitwise performance-model table (Patel et al., ISCA 2024; ``perf_model.csv``) as latency-only
    profiles (schema v1, no ``energy_j``).

    Mapping: model -> model (table aliases ``llama2-70b``, ``bloom-176b``), hardware -> gpu (aliases
    ``a100-80gb``, ``h100-80gb``), tensor_parallel -> tp, pp = 1, batch_size, prompt_size ->
    input_tokens, token_size -> output_tokens, prompt_time (ms) / 1000 -> ttft_s (the batched prefill's
    time), token_time (ms) / 1000 -> tpot_s; precision fp16. Repeated measurements of one configuration
    are averaged (``n_repeats`` says how many); rows of :data:`SPLITWISE_DERIVED_HARDWARE` are dropped
    with a :class:`~energylens.profiles.DroppedRowsWarning`, since they are not measurements.

    Raises:
        ProfileSchemaError: not a Splitwise table, or a model / GPU the reference tables do not know
            (the message names the rows).
    """

    src = str(path)
    raw = read_export(path, "Splitwise", "a Splitwise perf_model table", SPLITWISE_SIGNATURE, SPLITWISE_SIGNATURE)
    derived = raw["hardware"].astype(str).isin(SPLITWISE_DERIVED_HARDWARE)
    if derived.any():
        warnings.warn(f"{src}: dropped {int(derived.sum())} row(s) of derived (not measured) hardware "
                      f"{', '.join(SPLITWISE_DERIVED_HARDWARE)}", DroppedRowsWarning, stacklevel=2)
    refuse_empty_rows(raw, src, cells.is_blank(raw["model"]))  # a spreadsheet's trailing ',,,,' rows
    raw = raw[~derived]
    _check_splitwise_numbers(raw, src)

    def gpu_or_none(name: str) -> tables.GpuSpec | None:
        try:
            return tables.gpu_spec(name)
        except UnknownGpuError:
            return None

    # Table rows of every model and GPU named, each looked up once.
    found: dict[str, dict[str, object]] = {}
    for col, lookup in (("model", tables.find_model), ("hardware", gpu_or_none)):
        column = raw[col].astype(str)
        found[col] = {value: lookup(value) for value in column.unique()}
        for value, spec in found[col].items():
            if spec is None:
                rows = _rows_with(column, value)
                remedy = ("; describe it in a --gpu-table FILE row (docs/reference-tables.md)" if col == "hardware"
                          else "")
                raise ProfileSchemaError(f"{src}: column {col!r}: {value!r} is not in the reference tables "
                                         f"({_data_rows_phrase(rows)}){remedy}", source=src, column=col, rows=rows)
    keys = ["model", "hardware", "tensor_parallel", "prompt_size", "batch_size", "token_size"]
    agg = raw.groupby(keys, as_index=False).agg(
        prompt_time=("prompt_time", "mean"), token_time=("token_time", "mean"), n_repeats=("prompt_time", "size"))
    model_of = [found["model"][str(m)] for m in agg["model"]]
    df = pd.DataFrame({
        "model": [m.name for m in model_of],
        "params_b": [m.params_b for m in model_of],
        "gpu": [found["hardware"][str(h)].name for h in agg["hardware"]],
        "tp": agg["tensor_parallel"].astype("int64"), "pp": 1,
        "batch_size": agg["batch_size"].astype(float), "input_tokens": agg["prompt_size"].astype(float),
        "output_tokens": agg["token_size"].astype(float), "precision": "fp16",
        "ttft_s": agg["prompt_time"] / 1e3, "tpot_s": agg["token_time"] / 1e3,
        "n_repeats": agg["n_repeats"],
    })
    return load_profiles(df, source=src, require_energy=False)


def is_splitwise_table(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a CSV whose header is that of a Splitwise perf_model table."""
    return _has_columns(_csv_header(path), SPLITWISE_SIGNATURE)


#: Names the command line accepts in place of a profile file for the bundled ML.ENERGY v2 data.
BUNDLED_NAMES = ("bundled", "mlenergy-v2")


#: Columns whose presence marks a CSV as an ML.ENERGY Leaderboard v2 flat table (llm_configs_flat.csv).
MLENERGY_V2_SIGNATURE = ("category", "Model", "GPU", "Avg BS (reqs)", "Energy/req (J)")


def is_mlenergy_v2_table(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a CSV whose header is that of an ML.ENERGY v2 flat table."""
    return _has_columns(_csv_header(path), MLENERGY_V2_SIGNATURE)


def _csv_header(path: str | os.PathLike) -> tuple[str, ...]:
    """Column names of a CSV file, compressed ones included (an export saved as .csv.gz is still
    recognised by its header), or of a Parquet file (a Parquet copy of an export); empty for anything else
    (another suffix, no such file)."""
    p = Path(path)
    if p.is_file() and suffix_kind(p) == "parquet":
        try:
            return tuple(csv_header(p))
        except Exception:  # noqa: BLE001 - not readable Parquet: the schema path reports the file
            return ()
    if not p.is_file() or suffix_kind(p) != "csv":
        return ()
    check_csv_file(p)  # a folder, empty, binary, UTF-16 or ';'-separated file: a named error
    try:  # what pandas cannot decompress or parse (an unterminated quote) is named where the table is read
        return tuple(pd.read_csv(p, nrows=0).columns)
    except Exception:  # noqa: BLE001 - not a recognisable export: the schema path reports the file
        return ()


def _has_columns(header: tuple[str, ...], signature: tuple[str, ...]) -> bool:
    return bool(header) and all(c in header for c in signature)


def load_profiles_or_bundled(name_or_path: str, *, require_energy: bool = True) -> pd.DataFrame:
    """The bundled data set for ``"bundled"`` / ``"mlenergy-v2"``; an ML.ENERGY v2 flat CSV (any rows
    in the leaderboard's own format, recognised by its header) converted like the bundled one; an
    ML.ENERGY v3 LLM export (recognised by its header, :func:`energylens.profiles.mlenergy_v3.mlenergy_v3`); else the
    validated schema-v1 profile file (``require_energy=False``: ``energy_j`` may be absent, e.g. in
    latency-only profiles, and a Splitwise perf_model CSV is read with :func:`splitwise`)."""
    found = dataset_reader(name_or_path)
    if found is not None:
        return found[1](require_energy)
    return load_profiles(name_or_path, require_energy=require_energy)


def dataset_reader(name_or_path: str | os.PathLike) -> tuple[str, Callable[[bool], pd.DataFrame]] | None:
    """For a bundled name or a data set recognised by its header (ML.ENERGY v2 or v3, Splitwise): (the reader, as
    messages name it; a function of ``require_energy`` that reads it). None for anything else, which
    :func:`~energylens.profiles.schema.load_profiles` reads as a schema-v1 table or store. A path that names nothing
    is a FileNotFoundError (``Bundled`` offered ``bundled``: no longer "unsupported file type '(no suffix)'"); a
    header that is most of an export's is a ProfileSchemaError naming the columns it lacks."""
    path = os.fspath(name_or_path)
    if path in BUNDLED_NAMES and (isinstance(name_or_path, str) or not os.path.lexists(path)):  # Path("bundled") too
        return "energylens.profiles.datasets.mlenergy_v2()", lambda require_energy: mlenergy_v2()
    if not os.path.lexists(path):
        if path == "-":  # a command line's usual name for standard input (a profile reader needs a file)
            raise FileNotFoundError("profile table not found: '-' (standard input is not read: give the file's path)")
        near = next((name for name in BUNDLED_NAMES if str(path).strip().lower() == name), None)
        raise FileNotFoundError(f"profile table not found: {path}" + (
            f" (did you mean {near!r}, the bundled ML.ENERGY v2 rows? names are exact)" if near else ""))
    header = _csv_header(path)
    if _has_columns(header, MLENERGY_V2_SIGNATURE):
        return "energylens.profiles.datasets.mlenergy_v2(path)", lambda require_energy: mlenergy_v2(path)
    if is_mlenergy_v3_table(header):
        return "energylens.profiles.mlenergy_v3.mlenergy_v3(path)", lambda require_energy: mlenergy_v3(path)
    if _has_columns(header, SPLITWISE_SIGNATURE):
        return "energylens.profiles.datasets.splitwise(path)", lambda require_energy: _splitwise(path, require_energy)
    _near_miss(path, header)
    return None


def _splitwise(path: str, require_energy: bool) -> pd.DataFrame:
    if require_energy:
        raise ProfileSchemaError(f"{path}: a Splitwise table holds latency only (no energy_j); it fits the latency "
                                 "model: energylens fit, or in Python load_profiles(path, require_energy=False) and "
                                 "LatencyModel().fit(...)", source=str(path), column="energy_j")
    return splitwise(path)


def _near_miss(path: str, header: tuple[str, ...]) -> None:
    """A header that holds most, not all, of an export's signature is that export with a column missing
    or misspelled: say so, rather than list the schema's required columns it was never meant to have."""
    if "energy_j" in header or sum(c in header for c in REQUIRED_COLUMNS) * 2 >= len(REQUIRED_COLUMNS):
        return  # a schema file (or close to one): its own checks speak
    for name, signature, known in (
            ("ML.ENERGY v2 flat table", MLENERGY_V2_SIGNATURE, (*_COLUMN_MAP, "category", "task")),
            ("ML.ENERGY v3 LLM export", MLENERGY_V3_SIGNATURE, MLENERGY_V3_COLUMNS),
            ("Splitwise perf_model table", SPLITWISE_SIGNATURE, SPLITWISE_SIGNATURE)):
        missing = [c for c in signature if c not in header]
        if missing and len(missing) <= len(signature) // 3:
            said = missing_said(missing, header, known)  # never a column the export has, under its own meaning
            raise ProfileSchemaError(f"{path}: looks like an {name} but lacks column(s) {said}; exports are "
                                     "recognised by their full header (docs/profile-schema.md)", source=path,
                                     column=missing[0])
