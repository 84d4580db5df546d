"""``energylens search``: the energy-optimal deployments of a model over GPUs, parallelism and batch caps,
under memory and latency limits, optionally for a request rate (docs/search.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from energylens.cli.options import (
    apply_gpu_tables,
    apply_model_tables,
    command_inputs,
)
from energylens.cli.parsers.search import add_parser
from energylens.errors import UnknownModelError
from energylens.outputs import check_output_path, existing_file, image_file
from energylens.profiles.datasets import BUNDLED_NAMES, is_mlenergy_v2_table, load_profiles_or_bundled
from energylens.profiles.files import check_csv_file, check_input_file, read_export_csv, table_kind
from energylens.profiles.header import check_unique_columns, check_unique_csv_header
from energylens.profiles.mlenergy_v3 import is_mlenergy_v3_table, mlenergy_v3
from energylens.profiles.store_dir import STORE_MARKER
from energylens.search import search
from energylens.search.plot import check_plot_path
from energylens.search.specs import UNKNOWN_MODEL_REMEDY

__all__ = ["add_parser", "print_result"]


def print_result(result, top: int | None = None, out=None) -> None:
    """The table the command prints: summary, configurations, explanation of the best and what the columns
    mean (to ``out``, default stdout)."""
    out = sys.stdout if out is None else out
    print(result.summary(), file=out)
    if result.settings.get("intervals_unavailable"):  # the columns are dropped, said why (as predict says it)
        print(f"note: no energy interval or P(best): {result.settings['intervals_unavailable']}", file=out)
    if not result.empty:  # an empty result's reason is the command's error line (stderr), said once
        print(result.table(top), file=out)
        print(result.explain(0), file=out)
        print(result.legend(top), file=out)  # what the columns mean (lo / hi: predict's interval)


def _read_candidates(path: str) -> pd.DataFrame:
    """A CSV (or Parquet) table of configurations, checked as a profile file is (empty, binary, another
    separator: named errors); an ML.ENERGY v3 export is read (relabelled) by its own reader. The frame's
    ``attrs["source"]`` makes the search's messages name the file and 1-based data rows, and its index (the
    results' ``candidate`` labels) is those data rows."""
    if path in BUNDLED_NAMES or is_mlenergy_v2_table(path):  # as every command that reads profiles (README)
        table = load_profiles_or_bundled(path)
        table.attrs["source"] = str(path)
        table.index = pd.RangeIndex(1, len(table) + 1)
        return table
    p = Path(path)
    kind = table_kind(p, path, STORE_MARKER)
    if kind == "csv":  # a repeated header (pandas reads the first copy) or a ragged row: errors naming the file
        check_csv_file(p, _WHAT)  # (a missing file was "profile table not found")
        check_unique_csv_header(p, str(p), _WHAT)
    else:
        check_input_file(p, _WHAT)
    table = read_export_csv(p, _WHAT)  # CSV or Parquet by the name, as table_kind decided
    check_unique_columns(table.columns, str(p), _WHAT)
    if len(table) == 0:
        raise ValueError(f"{path}: no data rows (the file has a header only); a {_WHAT} holds one configuration a row")
    if is_mlenergy_v3_table(tuple(table.columns)):
        table = mlenergy_v3(path)
    table.attrs["source"] = str(path)
    table.index = pd.RangeIndex(1, len(table) + 1)  # each result's candidate label: its 1-based data row, as errors say
    return table


#: How the candidate table's errors name it: the option, as the user gave it.
_WHAT = "candidate table (--candidates)"


def _cmd_search(args: argparse.Namespace) -> int:
    if args.plot:  # never one of the inputs: --model-file, --candidates, every --gpu-table
        check_output_path(args.plot, inputs=command_inputs(args, "model_file", "candidates"), option="--plot",
                          replaces=("a plot image (PNG, PDF, SVG, JPEG, EPS, TIFF, WebP or GIF)", image_file))
        check_plot_path(args.plot, option="--plot")  # the format too: before the search, not after it
    apply_gpu_tables(args)
    apply_model_tables(args)  # before any model name is looked up
    candidates = None
    if args.candidates is not None:
        candidates = _read_candidates(args.candidates)
    elif None in (args.model, args.gpus, args.input_tokens, args.output_tokens):
        raise ValueError("energylens search needs --model, --gpus, --input-tokens and --output-tokens "
                         "(or --candidates CSV)")
    try:  # the bundled model, when no --model-file is given, is fitted (and announced) after the names resolve
        result = search(args.model, args.gpus, input_tokens=args.input_tokens, output_tokens=args.output_tokens,
                        tp=args.tp, pp=args.pp, dp=args.dp, ep=args.ep, max_num_seqs=args.max_num_seqs,
                        precision=args.precision, kv_cache_dtype=args.kv_cache_dtype,
                        workload_weights=args.workload_weights, candidates=candidates,
                        measured_latency=args.measured_latency,
                        tpot_limit_s=args.tpot_limit, ttft_limit_s=args.ttft_limit,
                        limit_confidence=args.limit_confidence, rate_per_s=args.rate,
                        max_utilization=args.max_utilization, objective=args.objective,
                        per_token=args.per_token, carbon_g_per_kwh=args.carbon, price_per_gpu_hour=args.price,
                        top=args.top, energy_model=args.model_file,
                        gpu_memory_utilization=args.gpu_memory_utilization, node_size=args.node_size,
                        runtime_reserve_gib=args.runtime_reserve_gib,
                        threads=args.threads, bootstrap_seed=args.bootstrap_seed, progress=True)
    except UnknownModelError as exc:  # the library's remedy is Python's; add the command line's
        raise UnknownModelError(
            f"{str(exc.args[0]).replace(UNKNOWN_MODEL_REMEDY, '')} With energylens search: describe it in a "
            "--model-table FILE (a CSV with the columns of energylens/data/models.csv: docs/reference-tables.md), "
            "or a --candidates CSV row may describe it (params_b, and "
            "architecture columns such as n_layers, d_model, n_kv_heads to override the estimate; "
            "docs/search.md).") from None
    if args.json:
        print(result.to_json())
    else:
        print_result(result)
    if args.plot:
        replaced = existing_file(args.plot)
        result.plot(args.plot)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
        if replaced:
            print(f"energylens search: replaced existing {args.plot}", file=sys.stderr)
    if result.empty:
        print(f"energylens search: {result.why_empty()}", file=sys.stderr)
        return 1
    return 0
