"""``energylens search``: the energy-optimal deployments of a model over GPUs, parallelism and batch caps,
under memory and latency limits, optionally for a request rate (docs/search.md)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from energylens.cli.options import (
    add_gpu_table_option,
    apply_gpu_tables,
    command_inputs,
    level,
    positive_float,
    positive_int,
    seed,
)
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


def _items(text: str, what: str) -> list[str]:
    """The comma-separated items of ``text``; an empty one ("1,,2", "8,") is an error, not dropped."""
    items = [v.strip() for v in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r} (an empty item: a stray comma?)")
    padded = [v for v in items[1:] if len(v) > 1 and v[0] == "0" and v[1].isdigit()]
    if padded:  # "1,024": a thousands separator read as two items (1 and 24)
        raise argparse.ArgumentTypeError(
            f"expected comma-separated {what}, got {text!r}: the item {padded[0]!r} starts with a zero, so the comma "
            f"looks like a thousands separator; write {text.replace(',', '')!r} for one number (commas separate items)")
    return items


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in _items(text, "whole numbers")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1, got {text!r}")
    return values


def _numbers(text: str) -> list[float]:
    try:
        values = [float(v) for v in _items(text, "numbers")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if min(values) <= 0 or not all(map(math.isfinite, values)):
        raise argparse.ArgumentTypeError(f"expected numbers > 0 (and finite), got {text!r}")
    return values


def _weights(text: str) -> list[float] | str:
    """``--workload-weights``: one weight per point, or ``equal`` (as the Python API)."""
    return "equal" if text.strip().lower() == "equal" else _numbers(text)


def _fraction(text: str) -> float:
    """A fraction in (0, 1] (``--gpu-memory-utilization``, as vLLM's option)."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] (a fraction of GPU memory, e.g. 0.9), got {text}")
    return value


def _prices(text: str) -> float | dict[str, float]:
    """``2.5`` (every GPU) or ``H100=2.5,H200=3.4`` (a GPU named twice is an error)."""
    try:
        if "=" not in text:
            return positive_float(text)
        pairs = [(k.strip(), positive_float(v)) for k, v in (item.split("=", 1) for item in _items(text, "GPU=price"))]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a price or GPU=price pairs, got {text!r}") from None
    names = [k for k, _ in pairs]
    twice = sorted({k for k in names if names.count(k) > 1})
    if twice or not all(names):
        raise argparse.ArgumentTypeError(f"each GPU once in GPU=price pairs, got {text!r}"
                                         + (f" ({', '.join(twice)} more than once)" if twice else ""))
    return dict(pairs)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens search``."""
    p = sub.add_parser("search", help="find the energy-optimal deployment under memory and latency limits")
    p.add_argument("--model", help="model name(s) from the model table, comma-separated (required without --candidates)")
    p.add_argument("--gpus", help="GPU name(s) from the GPU table, comma-separated, e.g. H100,H200,B200 (required "
                   "without --candidates)")
    p.add_argument("--input-tokens", type=_numbers,
                   help="mean prompt tokens per request (or comma-separated workload points)")
    p.add_argument("--output-tokens", type=_numbers,
                   help="mean output tokens per request (or as many comma-separated points)")
    p.add_argument("--candidates", metavar="CSV",
                   help="search only the configurations of this table (one per row: model, gpu, tp, [pp, dp, ep, "
                        "precision, kv_cache_dtype], input_tokens, output_tokens, batch_size or max_num_seqs; "
                        "a measured profile table, 'bundled' or an ML.ENERGY v2 / v3 export works) instead of the axes")
    p.add_argument("--workload-weights", type=_weights, default=None,
                   help="one weight per workload point, or 'equal': the points are quantiles of one distribution, "
                        "each configuration one candidate (expected energy; limits and memory at the worst point)")
    p.add_argument("--tpot-limit", type=positive_float, help="limit on the predicted TPOT, seconds")
    p.add_argument("--ttft-limit", type=positive_float, help="limit on the predicted TTFT, seconds")
    p.add_argument("--limit-confidence", type=level, default=0.5, metavar="P",
                   help="meet the latency limits with confidence P: a configuration passes only if the upper "
                   "P-quantile of its TPOT / TTFT (the latency model's prediction interval; needs a model with "
                   "bootstrap refits) meets the limit (0.5: the predicted value decides)")
    p.add_argument("--rate", type=positive_float,
                   help="requests per second: load-driven mode (running batch from Little's law, replicas, idle power)")
    p.add_argument("--max-utilization", type=positive_float, metavar="U",
                   help="with --rate: size the replicas to run at most this share of their throughput at the "
                   "max_num_seqs cap, in (0, 1] (default 1: no headroom; queueing delay is not modelled, and it "
                   "grows without bound as a replica nears full use)")
    p.add_argument("--model-file", help="model file from `energylens fit` (default: fit on the bundled data)")
    p.add_argument("--top", type=positive_int, default=10, help="configurations to keep (10)")
    p.add_argument("--plot", help="write the Pareto plot; the extension sets the format (.png, .pdf, .svg, .jpg, .eps, .ps, "
                   ".tif, .webp, .gif; checked before the search)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    p.add_argument("--tp", type=_ints, default=None, help="tensor-parallel degrees (default 1,2,4,8 less the values that "
                   "divide no model's attention heads, said in the output; a given value no model can use is an error)")
    p.add_argument("--pp", type=_ints, default=None, help="pipeline-parallel degrees (1)")
    p.add_argument("--dp", type=_ints, default=None, help="data-parallel ranks per deployment (1)")
    p.add_argument("--ep", type=_ints, default=None, help="expert-parallel group sizes, MoE only (1)")
    p.add_argument("--max-num-seqs", type=_ints, default=None,
                   help="vLLM max_num_seqs caps (1,2,4,...,256)")
    p.add_argument("--precision", default=None,
                   help="weight precision(s), comma-separated (default: each model's published checkpoint format: "
                        "mxfp4 for openai/gpt-oss-*, fp8 for DeepSeek-V3 and names ending -FP8, int4 for -AWQ, "
                        "else bf16)")
    p.add_argument("--kv-cache-dtype", default=None, help="KV-cache dtype(s), comma-separated (auto)")
    p.add_argument("--objective", choices=("energy", "carbon", "cost"), default=None,
                   help="minimise energy (J), carbon (g, needs --carbon) or cost (needs --price); default: carbon "
                   "with --carbon alone, cost with --price alone, else energy")
    p.add_argument("--per-token", action="store_true", help="per output token instead of per request")
    p.add_argument("--carbon", type=positive_float,
                   help="grid carbon intensity, g CO2 per kWh (minimises carbon unless --objective says otherwise)")
    p.add_argument("--price", type=_prices,
                   help="price per GPU-hour: one number or GPU=price pairs, each a GPU of --gpus (minimises cost "
                   "unless --objective says otherwise)")
    p.add_argument("--gpu-memory-utilization", type=_fraction, default=0.9,
                   help="usable fraction of GPU memory, as vLLM's option (0.9)")
    p.add_argument("--node-size", type=positive_int, default=None,
                   help="GPUs per scale-up domain for every GPU, overriding the GPU table's scale_up_domain_gpus "
                   "(default: the table's, e.g. 8 on HGX H100, 72 on GB200 NVL72); TP stays inside one")
    p.add_argument("--threads", type=positive_int, help="native threads (default: all cores)")
    p.add_argument("--bootstrap-seed", type=seed, default=0,
                   help="seed of the calibration-offset draws P(best) samples when the model file has an energy "
                   "calibration (0); the result is the same for the same seed")
    add_gpu_table_option(p)
    p.set_defaults(func=_cmd_search)


def print_result(result, top: int | None = None, out=None) -> None:
    """The table the command prints: summary, configurations, explanation of the best (to ``out``, default
    stdout)."""
    out = sys.stdout if out is None else out
    print(result.summary(), file=out)
    if result.settings.get("intervals_unavailable"):  # the columns are dropped, said why (as predict says it)
        print(f"note: no energy interval or P(best): {result.settings['intervals_unavailable']}", file=out)
    if not result.empty:  # an empty result's reason is the command's error line (stderr), said once
        print(result.table(top), file=out)
        print(result.explain(0), file=out)


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
        check_csv_file(p)
        check_unique_csv_header(p, str(p), "candidate table")
    else:
        check_input_file(p, "candidate table")
    table = read_export_csv(p, "candidate table")  # CSV or Parquet by the name, as table_kind decided
    check_unique_columns(table.columns, str(p), "candidate table")
    if len(table) == 0:
        raise ValueError(f"{path}: no data rows (the file has a header only)")
    if is_mlenergy_v3_table(tuple(table.columns)):
        table = mlenergy_v3(path)
    table.attrs["source"] = str(path)
    table.index = pd.RangeIndex(1, len(table) + 1)  # each result's candidate label: its 1-based data row, as errors say
    return table


def _cmd_search(args: argparse.Namespace) -> int:
    if args.plot:  # never one of the inputs: --model-file, --candidates, every --gpu-table
        check_output_path(args.plot, inputs=command_inputs(args, "model_file", "candidates"), option="--plot",
                          replaces=("a plot image (PNG, PDF, SVG, JPEG, EPS, TIFF, WebP or GIF)", image_file))
        check_plot_path(args.plot, option="--plot")  # the format too: before the search, not after it
    apply_gpu_tables(args)
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
                        tpot_limit_s=args.tpot_limit, ttft_limit_s=args.ttft_limit,
                        limit_confidence=args.limit_confidence, rate_per_s=args.rate,
                        max_utilization=args.max_utilization, objective=args.objective,
                        per_token=args.per_token, carbon_g_per_kwh=args.carbon, price_per_gpu_hour=args.price,
                        top=args.top, energy_model=args.model_file,
                        gpu_memory_utilization=args.gpu_memory_utilization, node_size=args.node_size,
                        threads=args.threads, bootstrap_seed=args.bootstrap_seed, progress=True)
    except UnknownModelError as exc:  # the library's remedy is Python's; add the command line's
        raise UnknownModelError(
            f"{str(exc.args[0]).replace(UNKNOWN_MODEL_REMEDY, '')} With energylens search: a --candidates CSV row "
            "may describe it (params_b, and "
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
