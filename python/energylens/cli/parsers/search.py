"""The parser of ``energylens search``; the command itself is :mod:`energylens.cli.search`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse
import math

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import (
    add_gpu_table_option,
    add_model_table_option,
    level,
    nonnegative_float,
    path,
    positive_float,
    positive_int,
    seed,
)

__all__ = ["add_parser"]


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


def _values(text: str, convert, what: str, ok, bound: str, alternatives: str = "") -> list:
    """The comma-separated ``what`` of ``text``, each read by ``convert`` and each passing ``ok`` (``bound`` says
    how, in the error); ``alternatives`` names the other accepted spellings in both errors."""
    try:
        values = [convert(v) for v in _items(text, what)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated {what}{alternatives}, got {text!r}") from None
    if not all(map(ok, values)):
        raise argparse.ArgumentTypeError(f"expected {what} {bound}{alternatives}, got {text!r}")
    return values


def _ints(text: str) -> list[int]:
    return _values(text, int, "whole numbers", lambda v: v >= 1, ">= 1")


def _numbers(text: str) -> list[float]:
    return _values(text, float, "numbers", lambda v: v > 0 and math.isfinite(v), "> 0 (and finite)")


def _weights(text: str) -> list[float] | str:
    """``--workload-weights``: one weight per point, or ``equal`` (as the Python API). Numbers >= 0 here: a
    weight of 0 is refused by the search, as in Python, naming the point (:func:`..search.axes.point_weights`)."""
    if text.strip().lower() == "equal":
        return "equal"
    return _values(text, float, "numbers", lambda v: v >= 0 and math.isfinite(v), ">= 0 (and finite)",
                   " or 'equal'")


def _fraction(text: str, what: str = "a fraction of GPU memory, e.g. 0.9") -> float:
    """A fraction in (0, 1] (``--gpu-memory-utilization``, as vLLM's option; ``--max-utilization``)."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] ({what}), got {text}")
    return value


def _utilization(text: str) -> float:
    """``--max-utilization``: a share of a replica's throughput in (0, 1] (over 1 named the Python argument before
    2026-12-07, where 0 named the option)."""
    return _fraction(text, "a share of each replica's throughput at its cap, e.g. 0.8")


def _prices(text: str) -> float | dict[str, float]:
    """``2.5`` (every GPU) or ``H100=2.5,H200=3.4`` (a GPU named twice is an error)."""
    try:
        if "=" not in text:
            return positive_float(text)
        pairs = [(k.strip(), positive_float(v)) for k, v in (item.split("=", 1) for item in _items(text, "GPU=price"))]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a price or GPU=price pairs, got {text!r}") from None
    names = [k for k, _ in pairs]
    if not all(names):  # '=3': a price for no GPU, not a GPU named twice
        bare = next(item.strip() for item in text.split(",") if not item.split("=", 1)[0].strip())
        raise argparse.ArgumentTypeError(f"GPU=price pairs need a GPU name before each '=' (got {bare!r} with none), "
                                         f"e.g. H100=2.5,H200=3.4, or one number for every GPU; got {text!r}")
    twice = sorted({k for k in names if names.count(k) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"each GPU once in GPU=price pairs, got {text!r}"
                                         + (f" ({', '.join(twice)} more than once)" if twice else ""))
    return dict(pairs)


def _add_objective_options(p: argparse.ArgumentParser) -> None:
    """--objective, --per-token, --carbon, --price: what the search minimises."""
    p.add_argument("--objective", choices=("energy", "carbon", "cost"), default=None,
                   help="minimise energy (J), carbon (g, needs --carbon) or cost (needs --price); default: carbon "
                   "with --carbon alone, cost with --price alone, else energy")
    p.add_argument("--per-token", action="store_true", help="per output token instead of per request")
    p.add_argument("--carbon", type=positive_float,
                   help="grid carbon intensity, g CO2 per kWh: minimises carbon (not with --price, nor with "
                   "--objective energy or cost, which would leave it unused)")
    p.add_argument("--price", type=_prices,
                   help="price per GPU-hour: one number or GPU=price pairs, each a GPU of --gpus: minimises cost "
                   "(not with --carbon, nor with --objective energy or carbon, which would leave it unused)")


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
    p.add_argument("--candidates", metavar="CSV", type=path,
                   help="search only the configurations of this table (one per row: model, gpu, tp, [pp, dp, ep, "
                        "precision, kv_cache_dtype], input_tokens, output_tokens, batch_size or max_num_seqs; "
                        "a measured profile table, 'bundled' or an ML.ENERGY v2 / v3 export works) instead of the axes")
    p.add_argument("--measured-latency", action="store_true",
                   help="with --candidates: where a row gives a measured ttft_s / tpot_s (seconds, not vllm bench "
                        "serve's ms; an ML.ENERGY v3 export gives tpot_s), the latency limits, TTFT / TPOT and fronts "
                        "use it instead of the prediction (a blank cell: predicted); energy stays predicted; a value "
                        "over 20x its prediction is noted (ms: divide by 1000); not with --rate")
    p.add_argument("--workload-weights", type=_weights, default=None,
                   help="one weight per workload point, or 'equal': the points are quantiles of one distribution, "
                        "each configuration one candidate (expected energy; limits and memory at the worst point)")
    p.add_argument("--tpot-limit", type=positive_float, help="limit on the predicted TPOT (measured, where given, with --measured-latency), seconds")
    p.add_argument("--ttft-limit", type=positive_float, help="limit on the predicted TTFT (measured, where given, with --measured-latency), seconds")
    p.add_argument("--limit-confidence", type=level, default=0.5, metavar="P",
                   help="meet the latency limits with confidence P: a configuration passes only if the upper "
                   "P-quantile of its TPOT / TTFT (the latency model's prediction interval; needs a model with "
                   "bootstrap refits) meets the limit (0.5: the predicted value decides)")
    p.add_argument("--rate", type=positive_float,
                   help="requests per second: load-driven mode (running batch from Little's law, replicas, idle power)")
    p.add_argument("--max-utilization", type=_utilization, metavar="U",
                   help="with --rate: size the replicas to run at most this share of their throughput at the "
                   "max_num_seqs cap, in (0, 1] (default 1: no headroom; queueing delay is not modelled, and it "
                   "grows without bound as a replica nears full use)")
    p.add_argument("--model-file", type=path, help="model file from `energylens fit` (default: fit on the bundled data)")
    p.add_argument("--top", type=positive_int, default=10,
                   help="configurations to keep and print, best first (10; at most 100,000); P(best) is the "
                   "chance of being the cheapest of these that pass every check, so it changes with --top")
    p.add_argument("--plot", type=path, help="write the Pareto plot; the extension sets the format (.png, .pdf, .svg, .jpg, .eps, .ps, "
                   ".tif, .webp, .gif; checked before the search)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    p.add_argument("--tp", type=_ints, default=None, help="tensor-parallel degrees (default 1,2,4,8 and the powers of "
                   "two beyond up to the GPUs' largest scale-up domain or --node-size: to 64 on GB200 NVL72; less "
                   "the values no model's attention and KV heads take and those above --node-size, said in the "
                   "output; a given value no model can use is an error naming those that do within the node)")
    p.add_argument("--pp", type=_ints, default=None, help="pipeline-parallel degrees (1)")
    p.add_argument("--dp", type=_ints, default=None, help="data-parallel ranks per deployment (1)")
    p.add_argument("--ep", type=_ints, default=None,
                   help="expert-parallel group sizes, MoE only (1: no EP); vLLM's EP group is every GPU of a stage, "
                   "so an ep above 1 pairs with tp x dp = ep (--tp 8 --ep 1,8: TP 8 with and without EP; other "
                   "pairs are rejected as ep_group), and a deployment priced alike both ways is one row (EP1/8)")
    p.add_argument("--max-num-seqs", type=_ints, default=None,
                   help="vLLM max_num_seqs caps (1,2,4,...,256)")
    p.add_argument("--precision", default=None,
                   help="weight precision(s), comma-separated (default: each model's published checkpoint format: "
                        "mxfp4 for openai/gpt-oss-*, fp8 for DeepSeek-V3 and names ending -FP8, int4 for -AWQ, "
                        "else bf16)")
    p.add_argument("--kv-cache-dtype", default=None, help="KV-cache dtype(s), comma-separated (auto)")
    _add_objective_options(p)
    p.add_argument("--gpu-memory-utilization", type=_fraction, default=0.9,
                   help="usable fraction of GPU memory, as vLLM's option (0.9)")
    p.add_argument("--runtime-reserve-gib", type=nonnegative_float, default=None,
                   help="memory each GPU keeps besides weights, activations and KV cache (CUDA graphs, non-torch "
                   "memory, NCCL buffers), GiB, the same for every configuration; default: 1.5 GiB, plus NCCL's NVLS "
                   "buffers in a TP / MoE group of more than 2 on GPUs whose NVSwitch runs them (H100 SXM and "
                   "later, not A100: 2.25 GiB at TP 8 on H100 SXM; docs/search.md, Feasibility)")
    p.add_argument("--node-size", type=positive_int, default=None,
                   help="GPUs per scale-up domain for every GPU, overriding the GPU table's scale_up_domain_gpus "
                   "(default: the table's, e.g. 8 on HGX H100, 72 on GB200 NVL72); TP stays inside one")
    p.add_argument("--threads", type=positive_int, help="native threads (default: all cores)")
    p.add_argument("--bootstrap-seed", type=seed, default=0,
                   help="seed of the draws P(best) samples beyond the refits: an energy calibration's offsets, "
                   "and a GPU transfer factor per GPU the model was not fitted on (0); the result is the same for "
                   "the same seed")
    add_gpu_table_option(p)
    add_model_table_option(p)
    p.set_defaults(func=Run("search", "_cmd_search"))
