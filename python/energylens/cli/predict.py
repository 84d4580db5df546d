"""``energylens predict``: energy (phases, interval) and latency for configurations from a model file.

The output has every input column (in the input's order), the values the reader filled in (precision, n_layers,
...; not a column it added empty, such as the energy_j of configurations without energies), the predictions, the interval columns (NaN, with the reason on
stderr, when the model cannot give intervals: no bootstrap replicates, or parameters its data could not
identify) and ``extrapolated`` (True where a feature lies outside the fitted data's range by more than
:data:`energylens.model.domain.EXTRAPOLATION_FACTOR`; one warning with the counts), ``unseen_gpu`` (True where the
row's GPU is not one the model was fitted on, however close its specification; NA for a model file that records no
GPUs; a note names each GPU's specifications outside the fitted GPUs'), and what the search
checks before it prices a deployment: ``gpu_memory_gib`` / ``fits_memory``, ``fits_context`` (prompt + output
within the context window), ``fits_fp8_blocks`` (vLLM's block rule for a block-scaled fp8 checkpoint) and
``fits_layout`` (tp divides the heads and stays in a scale-up domain, ep on a MoE over tp x dp GPUs),
NA where a rule does not apply or its inputs are unknown, with one stderr line per rule some rows break.
Tables of :data:`STAGE_ROWS` rows or more announce each stage on stderr.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.cli.options import (
    apply_gpu_tables,
    apply_model_tables,
    command_inputs,
    read_profiles_with_rows,
    refuse_folder_name,
)
from energylens.cli.parsers.predict import add_parser
from energylens.cli.predict_csv import csv_header, csv_rows
from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel, LatencyModel, load_model
from energylens.model.closed_form import NO_TTFT_BOUNDS
from energylens.model.gpu_domain import GpuCheck
from energylens.model.persistence import EXPRESSION_MODEL_ID
from energylens.outputs import (
    announce_written,
    atomic_file,
    check_output_path,
    csv_compression,
    csv_writer,
    energylens_json,
    existing_file,
    table_with_column,
)
from energylens.profiles.datasets import BUNDLED_NAMES, is_splitwise_table
from energylens.profiles.features import build_features
from energylens.profiles.files import read_csv_file, suffix_kind
from energylens.profiles.gpu_table import gpu_specs_for_profiles
from energylens.profiles.model_checks import LAYER_COUNTS, WHOLE_FIELDS
from energylens.profiles.problems import data_rows
from energylens.profiles.reading import INTEGER_COLUMNS
from energylens.profiles.topology import domains
from energylens.search.layout import LAYOUT_REASONS, LAYOUT_RULES, layout_reason, tp_limit
from energylens.search.memory import MEMORY_DEFAULTS, gpu_memory
from energylens.search.serving_limits import row_limits
from energylens.search.space import GIB

__all__ = ["add_parser", "PREDICT_FORMATS"]

#: What ``predict -o`` writes and the name endings that fit it (:func:`_write_table` compresses a .csv.gz and the like).
#: Tables from this many rows take seconds (500,000: ~20 s on 2 cores): the CSV is written in blocks, with progress.
PROGRESS_ROWS = 50_000
#: A plain CSV of at least PROGRESS_ROWS rows is written in blocks of this many, a line every 5 s at most.
WRITE_BLOCK_ROWS = 100_000
#: ... and a compressed one in blocks of this many (xz: ~130 us a row on one core, 2.6 s a block).
COMPRESSED_BLOCK_ROWS = 20_000


#: Tables from this many rows announce each stage on stderr: 10,000 rows take about a second (0.8-1.9 s for 10,000-
#: 20,000 rows of a MoE on one or two GPUs, 2-core box, 2026-12-06), and 42,000 took 4.4 s without a word at the
#: PROGRESS_ROWS threshold the stages shared with the block write.
STAGE_ROWS = 10_000


def _stage(n_rows: int, what: str) -> None:
    if n_rows >= STAGE_ROWS:
        print(f"energylens predict: {what} ({n_rows} rows) ...", file=sys.stderr, flush=True)


PREDICT_FORMATS = ("CSV (Parquet for a .parquet name)",
                   (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".parquet"))


def _expression_intervals(model, configs, level: float) -> pd.DataFrame:
    """An expression model's energy interval columns; NaN, said on stderr, when it was fitted without the
    bootstrap its intervals need."""
    try:
        return model.predict_interval(configs, level=level, check_range=False).reset_index(drop=True)
    except ValueError as exc:  # fitted without bootstrap replicates
        print(f"energylens predict: energy interval columns are NaN: {exc}", file=sys.stderr)
        return pd.DataFrame({c: np.full(len(configs), np.nan) for c in ("energy_j_lo", "energy_j_hi")})


def _interval_columns(model, configs, level: float, what: str) -> pd.DataFrame:
    why = model.intervals_unavailable()
    if why is None:
        with warnings.catch_warnings():  # _note_unfitted says it (ttft_s_lo / ttft_s_hi are empty)
            warnings.filterwarnings("ignore", re.escape(NO_TTFT_BOUNDS[:60]), DegenerateFitWarning)
            return model.predict_interval(configs, level=level, check_range=False)
    print(f"energylens predict: {what} interval columns are NaN: {why}", file=sys.stderr)
    return pd.DataFrame({c: np.full(len(configs), np.nan) for c in model.interval_columns})


def _note_unfitted(model, configs: pd.DataFrame) -> None:
    """Say which predicted columns rest on start values: TTFT from a latency model that saw no measured TTFT,
    and parameters no training row depended on (``summary.unidentified``; pp_bubble only where a row has
    pp > 1)."""
    latency = model.latency_model if isinstance(model, EnergyModel) else model
    if latency is not None and getattr(latency, "ttft_fitted", None) is False:
        empty = ("" if isinstance(model, EnergyModel) else
                 " (ttft_s_lo / ttft_s_hi are empty: no measured TTFT sizes an interval)")  # latency-only file
        print("energylens predict: note: ttft_s_pred is a roofline estimate: the latency model saw no measured TTFT, "
              f"so its prefill efficiency and batching factor sit at their start values{empty}", file=sys.stderr)
    cal = getattr(latency, "calibration", None)
    if cal is not None:  # opt-in latency offsets: which rows had one (unseen keys: factor 1)
        seen = cal.seen(configs)
        print(f"energylens predict: latency calibrated by {cal.by}; {int((~seen).sum())} of {len(seen)} rows have a "
              "key not seen in training and keep the shared latency model's prediction (factor 1)", file=sys.stderr)
    pipelined = "pp" in configs and bool((configs["pp"] > 1).any())
    named = []
    for kind, m in (("energy", model if isinstance(model, EnergyModel) else None), ("latency", latency)):
        unset = [n for n in getattr(getattr(m, "summary", None), "unidentified", ())
                 if n not in LatencyModel.TTFT_PARAMS and (n != "pp_bubble" or pipelined)]
        named += [f"{kind} model: {', '.join(unset)}"] if unset else []
    if named:
        print(f"energylens predict: note: not identified by the model's training data ({'; '.join(named)}): no "
              "training row depended on them, so the rows that do rest on their start values", file=sys.stderr)


def _unseen_gpu_column(model, configs: pd.DataFrame) -> pd.DataFrame:
    """``unseen_gpu``: the rows on a GPU the model was not fitted on (``model.unseen_gpu``, ``summary.gpus``; NA for
    a model that records none: a file written before they were recorded, template or expression model), named in a note on
    stderr with each GPU's specifications against the fitted GPUs' (the model's UnseenGpuWarning, said once here):
    the fitted parameters are carried to a GPU the data never showed through its specification."""
    fitted = getattr(getattr(model, "summary", None), "gpus", ())
    if not fitted:
        return pd.DataFrame({"unseen_gpu": pd.array([pd.NA] * len(configs), dtype="boolean")})
    check = GpuCheck(fitted)
    unseen = check.flags(configs["gpu"])
    if check.rows:
        rows = np.flatnonzero(unseen)
        where = (f"data row {rows[0] + 1} (1-based) is on a GPU" if rows.size == 1 else
                 f"{_data_rows(rows)} (1-based) are on {'GPUs' if len(check.rows) > 1 else 'a GPU'}")
        print(f"energylens predict: note: {where} the "
              f"model was not fitted on (column unseen_gpu; it was fitted on {', '.join(fitted)}): {check.listing()}. "
              f"{'Its prediction carries' if rows.size == 1 else 'Their predictions carry'} the fitted parameters to "
              "another GPU through its specification (peak FLOP/s, memory bandwidth, TDP), untested on that GPU; fit on "
              "some of its rows to check them", file=sys.stderr)
    return pd.DataFrame({"unseen_gpu": unseen})


def _cmd_predict(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    _check_order(args.model, args.configs)
    refuse_folder_name(args.output)
    check_output_path(args.output, inputs=command_inputs(args, "model", "configs"), formats=PREDICT_FORMATS,
                      replaces=("a table energylens predict wrote (one with energy_j_pred, or tpot_s_pred from a "
                                "latency model file)", table_with_column("energy_j_pred", "tpot_s_pred")))  # and every --gpu-table
    apply_gpu_tables(args)
    apply_model_tables(args)  # before any model name is looked up
    model = load_model(args.model)
    configs = read_profiles_with_rows(args.configs, require_energy=False, command="predict",
                                      fits_energy=False).reset_index(drop=True)  # parts align by row
    _stage(len(configs), "predicting")
    if isinstance(model, EnergyModel):
        parts = [model.predict_phases(configs, check_range=False), _interval_columns(model, configs, args.level,
                                                                                     "energy")]
        if model.latency_model is not None:
            parts.append(model.latency_model.predict(configs, check_range=False))
        if model.calibration is not None:  # opt-in offsets: which rows had one (unseen keys: factor 1)
            seen = model.calibration.seen(configs)
            parts.append(pd.DataFrame({"calibration_factor": model.calibration.factors(configs),
                                       "calibration_key_seen": seen}))
            print(f"energylens predict: calibrated by {model.calibration.by}; {int((~seen).sum())} of {len(seen)} "
                  "rows have a key not seen in training and keep the shared model's prediction (factor 1)",
                  file=sys.stderr)  # with the other notes (the latency calibration's): stdout says what was written
    elif model.template_id == EXPRESSION_MODEL_ID:  # EnergyModel.from_expression (a discovered formula)
        parts = [pd.DataFrame({"energy_j_pred": model.predict(configs, check_range=False)}),
                 _expression_intervals(model, configs, args.level)]
        if model.train_ranges is None:  # a file written before expression models kept their training ranges
            print("energylens predict: this expression model's file stores no training ranges (written before "
                  "they were kept; refit to get them): the extrapolated column is False throughout",
                  file=sys.stderr)
    else:  # a model file fitted from latency-only profiles
        parts = [model.predict(configs, check_range=False), _interval_columns(model, configs, args.level, "latency")]
    if model.template_id != EXPRESSION_MODEL_ID:
        _note_unfitted(model, configs)
    parts.append(pd.DataFrame({"extrapolated": model.extrapolated(configs)}))  # warns once, with counts
    parts.append(_unseen_gpu_column(model, configs))
    _stage(len(configs), "checking memory, context window, fp8 weight blocks and layout")
    rows_of = _rows_of(args.configs)
    parts.append(_memory_columns(configs, rows_of))
    parts.append(_limit_columns(configs, rows_of))
    parts.append(_layout_column(configs, rows_of, args.configs))
    new = [c for part in parts for c in part.columns]
    stale = [c for c in configs.columns if c in set(new)]
    if stale:  # a table predict wrote before, scored again: its old predictions give way to this model's
        print(f"energylens predict: {args.configs} already has {', '.join(stale)}: replaced by this model's "
              "predictions", file=sys.stderr)
    out = pd.concat([_as_integers(_input_columns(configs.drop(columns=stale), args.configs),
                                  _integer_columns(configs, args.configs)), *parts], axis=1)
    replaced = existing_file(args.output)
    _stage(len(out), f"writing {args.output}")
    with atomic_file(args.output) as tmp:
        _write_table(out, args.output, tmp)
    took = f" (run time {time.perf_counter() - t0:.1f} s)" if len(out) >= STAGE_ROWS else ""  # (its stages said)
    announce_written(args.output, replaced, command="predict",
                     what=f"{len(out)} {'row' if len(out) == 1 else 'rows'} to {args.output}{took}")
    return 0


#: Whether a file is an energylens model file, by its content (fit writes one under a name without a suffix too).
_MODEL_FILE = energylens_json("energylens.model")

#: Name endings of a profile table (what CONFIGS is, never MODEL).
_TABLE_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".parquet")


def _input_columns(configs: pd.DataFrame, path: str) -> pd.DataFrame:
    """The columns of ``configs`` predict writes: the input file's own, in its order, then those the reader filled
    in that the predictions rest on (precision, n_layers, ...); a column the reader added that holds nothing (an
    ``energy_j`` of configurations without energies, ttft_s, task, ...) is left out: until 2026-12-07 the output had
    an empty energy_j beside energy_j_pred that the input never had."""
    given = _header(path)
    first = [c for c in given if c in configs.columns]
    known = set(first)
    added = [c for c in configs.columns if c not in known and not _holds_nothing(configs[c])]
    columns = first + added
    return configs if columns == list(configs.columns) else configs.loc[:, columns]


#: Columns the reader fills in from the model table that are counts by their meaning (layers, heads, experts, widths):
#: written as integers where each value is a whole number (until 2026-12-07: n_layers 32.0). Never an energy or a time.
_FILLED_COUNTS = WHOLE_FIELDS + LAYER_COUNTS
#: Rows a note on stderr lists before " ...".
_NOTE_ROWS = 10


def _integer_columns(configs: pd.DataFrame, path: str) -> tuple[str, ...]:
    """The columns predict writes as integers (where every value is a whole number, :func:`_as_integers`): those
    the input file held as integers, and the counts the reader filled in (:data:`_FILLED_COUNTS`) that the file did
    not give (a column the user wrote, 32.0 or 32, is written as it was)."""
    given = set(_header(path))
    return (*configs.attrs.get(INTEGER_COLUMNS, ()), *(c for c in _FILLED_COUNTS if c not in given))


def _as_integers(frame: pd.DataFrame, integers: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with the columns the input file held as integers (``integers``: the reader's
    ``attrs["integer_columns"]``) integers again where the reader made them float64 (batch_size, input_tokens,
    params_b, ...) and every value is still a whole number: until 2026-12-07 predict wrote 64 back as 64.0."""
    cast = {}
    for c in integers:
        if c in frame.columns and frame[c].dtype == np.float64:
            values = frame[c].to_numpy()
            if np.isfinite(values).all() and (np.abs(values) < 2.0**53).all() and (values == np.trunc(values)).all():
                cast[c] = np.int64
    return frame.astype(cast) if cast else frame


def _header(path: str) -> list[str]:
    """The column names of a CSV or Parquet file (none for a folder, a bundled name or another file)."""
    p = Path(path)
    kind = suffix_kind(p) if p.is_file() else None
    if kind == "csv":
        return [str(c) for c in read_csv_file(p, nrows=0).columns]
    if kind == "parquet":
        import pyarrow.parquet as pq  # pandas' Parquet engine, loaded for a Parquet input only

        return list(pq.read_schema(p).names)
    return []


def _holds_nothing(column: pd.Series) -> bool:
    """Whether every cell of ``column`` is missing or an empty text."""
    missing = column.isna()
    if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
        missing |= column.eq("").fillna(False).astype(bool)
    return bool(missing.all())


def _check_order(model: str, configs: str) -> None:
    """ValueError for MODEL and CONFIGS given the other way round (a table first, a .json file second): it was
    "configs.csv: not a JSON model file (Expecting value: line 1 column 1 (char 0))", the JSON parser's words."""
    if not model.lower().endswith(_TABLE_SUFFIXES):
        return
    if configs.lower().endswith(".json") or (Path(configs).is_file() and _MODEL_FILE(Path(configs))):
        what = "a .json file" if configs.lower().endswith(".json") else "a model file"  # (fit -o NAME: no suffix)
        raise ValueError(f"MODEL {model} is a table and CONFIGS {configs} {what}: the order is MODEL first, "
                         f"then CONFIGS: energylens predict {configs} {model} -o OUTPUT")


def _rows_of(path: str) -> str:
    """How the stderr lines name the table whose data rows they list: the file itself where its reader keeps
    the file's rows in order, else the table as read, whose rows are the output's. A Splitwise table's repeats
    are averaged and its derived hardware dropped (1260 lines, 152 rows) and a store folder's rows are gathered
    from its part files: "data rows 53, 110 of perf_model.csv" named lines of the file that were other rows."""
    if path in BUNDLED_NAMES or not (Path(path).is_dir() or is_splitwise_table(path)):
        return path
    how = "a sweep store's rows" if Path(path).is_dir() else "a Splitwise table, its repeats averaged"
    return f"{path} as read ({how}: the data rows are the output's)"


def _write_table(out: pd.DataFrame, target: str, tmp) -> None:
    """``out`` to ``tmp`` in the format of the ``target`` name, whatever its case (Parquet for ``.parquet``,
    else CSV compressed as the name says): given explicitly, as the temporary name hides the suffix."""
    if target.lower().endswith(".parquet"):
        out.to_parquet(tmp, index=False)  # (500,000 rows: 0.5 s)
        return
    method = csv_compression(target)
    if method is None or len(out) >= PROGRESS_ROWS:  # (a small compressed one: compression is most of its time)
        _write_csv_blocks(out, tmp, method, Path(target).name[:-4],
                          WRITE_BLOCK_ROWS if method is None else COMPRESSED_BLOCK_ROWS)
        return
    out.to_csv(tmp, index=False, compression={"method": "zip", "archive_name": Path(target).name[:-4]}
               if method == "zip" else method)


def _write_csv_blocks(out: pd.DataFrame, tmp, method: str | None, archive_name: str, block: int) -> None:
    """A CSV (compressed by ``method``) in blocks of ``block`` rows, the bytes of one to_csv (built by
    :mod:`energylens.cli.predict_csv`, to_csv's own for a column it does not handle), saying on stderr how far it
    has got every 5 s at most: the write was most of a large predict's time (42,000 rows: 1.1 of 1.8 s; 1e6 rows:
    ~50 s plain on 2 cores; 500,000 rows: 25 s gzip, 65 s xz, before 2026-12-06)."""
    t0 = last = time.perf_counter()
    with csv_writer(tmp, method, archive_name) as fh:
        header = csv_header(out)
        fh.write(header if header is not None else out.iloc[:0].to_csv(index=False))
        for start in range(0, len(out), block):
            part = out.iloc[start:start + block]
            text = csv_rows(part)
            fh.write(text if text is not None else part.to_csv(index=False, header=False))
            done, now = min(start + block, len(out)), time.perf_counter()
            if now - last >= 5.0 and done < len(out):
                last = now
                print(f"energylens predict: wrote {done} of {len(out)} rows ({now - t0:.0f} s; about "
                      f"{(now - t0) * (len(out) - done) / done:.0f} s left)", file=sys.stderr, flush=True)


def _memory_columns(configs: pd.DataFrame, source: str) -> pd.DataFrame:
    """``gpu_memory_gib`` (per GPU: weights, reserve, activations and the running batch's KV cache, as the
    search's feasibility check counts them) and ``fits_memory`` (within 0.9 of the GPU's memory; NA where the
    GPU's memory is unknown), with a line on stderr for each kind of row that does not fit: not even one whole
    sequence beside the weights and reserve (vLLM would not start it), or not the running batch's KV cache
    (vLLM starts it but holds fewer sequences at once than the row's batch_size; it was predicted without a
    word)."""
    feats = build_features(configs)
    mem = gpu_memory(configs, feats, configs["batch_size"].to_numpy(dtype=float)
                     / configs["dp"].to_numpy(dtype=float), configs["input_tokens"], configs["output_tokens"])
    one = gpu_memory(configs, feats, np.ones(len(configs)), configs["input_tokens"], configs["output_tokens"])
    need = mem.fixed + mem.kv
    known = np.isfinite(mem.usable)
    fits = pd.array(np.where(known, need <= mem.usable, False), dtype="boolean")
    fits[~known] = pd.NA
    starts = one.fixed + one.kv <= one.usable  # weights, reserve and one whole sequence
    weights = np.flatnonzero(known & ~starts)
    batch = np.flatnonzero(known & starts & (need > mem.usable))
    if weights.size:
        print(f"energylens predict: {weights.size} of {len(configs)} rows of {source} need more memory per GPU for "
              f"their weights, runtime reserve and one whole sequence than "
              f"{MEMORY_DEFAULTS['gpu_memory_utilization']:g} of the GPU's ("
              f"{_data_rows(weights)}; column fits_memory): vLLM would not start them; their predictions are for a "
              "deployment that cannot run (more GPUs, pipeline stages or a smaller weight format would)",
              file=sys.stderr)
    if batch.size:
        excess = need[batch] / mem.usable[batch]
        print(f"energylens predict: {batch.size} of {len(configs)} rows of {source} hold a running batch whose KV "
              f"cache does not fit beside the weights ({excess.min():.2f}-{excess.max():.2f}x the usable memory; "
              f"{_data_rows(batch)}; column fits_memory): vLLM would start them but run fewer sequences "
              "at once than batch_size (more GPUs or a smaller KV-cache dtype would hold them; for measured rows a "
              "small excess means the estimate is conservative for that deployment, docs/search.md)",
              file=sys.stderr)
    return pd.DataFrame({"gpu_memory_gib": need / GIB, "fits_memory": fits})


def _limit_columns(configs: pd.DataFrame, source: str) -> pd.DataFrame:
    """``fits_context`` and ``fits_fp8_blocks`` (:func:`energylens.search.serving_limits.row_limits`: what the
    search rejects as ``context_length`` and ``fp8_block_shape``), with a line on stderr for each rule some
    rows break: vLLM would refuse them (a prompt beyond max_model_len; a weight shard of partial blocks)."""
    limits = row_limits(configs)
    for column, what in (("fits_context", "are longer (input + output tokens) than the model's context window, "
                                          "which vLLM refuses"),
                         ("fits_fp8_blocks", "split a block-scaled fp8 checkpoint's FFN into partial weight blocks "
                                             "(vLLM refuses to load it: a smaller tp, or EP for a MoE, would not)")):
        bad = np.flatnonzero(~limits[column].fillna(True).to_numpy(dtype=bool))  # NA (unknown, n/a): not counted
        if bad.size:
            shown = _data_rows(bad)
            print(f"energylens predict: {bad.size} of {len(configs)} rows of {source} {what} ({shown}; "
                  f"column {column})", file=sys.stderr)
    return limits


def _layout_column(configs: pd.DataFrame, source: str, path: str) -> pd.DataFrame:
    """``fits_layout``: the search's layout rules (:func:`energylens.search.layout.layout_reason`: tp divides the
    attention heads and splits or replicates the KV heads, stays within a server or the GPU's scale-up domain;
    ep > 1 only on a MoE whose experts it divides, over tp x dp GPUs), NA where the heads are unknown; a line on
    stderr for each rule some rows break, as vLLM refuses such a layout (70B at TP3, Qwen2.5-7B at TP8)."""
    specs = gpu_specs_for_profiles(configs, path)
    codes, gpus = pd.factorize(configs["gpu"].astype(str).str.strip(), use_na_sentinel=False)  # once per GPU
    # (a map over the rows: 0.3 s of 420,000 rows)
    table = np.array([specs[g].domain_gpus() for g in gpus], dtype=float)[codes]
    heads = configs["n_heads"].to_numpy(dtype=float)
    reason = layout_reason(heads, *(configs[c].to_numpy(dtype=float) for c in ("n_kv_heads", "n_experts", "tp", "dp",
                                                                               "ep")), tp_limit(domains(configs, table)))
    known = np.isfinite(heads)
    fits = pd.array(reason < 0, dtype="boolean")
    fits[~known] = pd.NA
    for k, name in enumerate(LAYOUT_REASONS):
        bad = np.flatnonzero(known & (reason == k))
        if bad.size:
            print(f"energylens predict: {bad.size} of {len(configs)} rows of {source} have a layout vLLM refuses "
                  f"({name}: {LAYOUT_RULES[name]}; {_data_rows(bad)}; column fits_layout): their predictions "
                  "are for a deployment that cannot run", file=sys.stderr)
    return pd.DataFrame({"fits_layout": fits})


def _data_rows(index: np.ndarray) -> str:
    """0-based row positions as a note's "data row 3" or "data rows 1, 2, ..." (the first ten, 1-based; the
    schema's messages list 20 and count the rest: :func:`energylens.profiles.problems.rows_text`)."""
    return data_rows(index, _NOTE_ROWS, counted=False)
