"""The parser of ``energylens evaluate``; the command itself is :mod:`energylens.cli.evaluate`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse
import shlex

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import (
    PROFILES_HELP,
    add_gpu_table_option,
    add_model_table_option,
    add_prior_options,
    path,
    positive_float,
    positive_int,
    repeats,
    seed,
)

__all__ = ["add_parser", "command_line"]

#: energylens.compare.splits.DEFAULT_GROUP_BY and SPLIT_NAMES (copied: the compare package loads pandas).
DEFAULT_GROUP_BY = ("task", "model", "gpu")
SPLIT_NAMES = ("random", "curve", "unseen_batch", "unseen_gpu", "unseen_model")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``energylens evaluate``; the parser's ``func`` runs :func:`energylens.cli.evaluate.run_evaluate`."""
    p = subparsers.add_parser(
        "evaluate", help="compare configuration choice: ours against the baselines, same splits",
        description="Fit every method on the same seeded training rows and score it on the same "
                    "held-out rows: Top-1, pairwise, MAPE, Spearman, regret; sample efficiency; "
                    "unseen batch sizes, GPU and model. Exit status 2 for bad input, and also when a method failed "
                    "in some of its fits or scored nothing: the table and report are still written, the failure "
                    "named on stderr.")
    p.add_argument("profiles", metavar="PROFILES", type=path,
                   help=PROFILES_HELP)
    p.add_argument("--train-size", type=positive_int, default=50, help="training rows per repeat (50)")
    p.add_argument("--repeats", type=repeats, default=20, help="seeded repeats (20; at most 1000)")
    p.add_argument("--group-by", default=",".join(DEFAULT_GROUP_BY),
                   help="columns whose rows are the candidates of one choice (task,model,gpu)")
    p.add_argument("--tpot-slo", type=positive_float, default=None, metavar="SECONDS",
                   help="choose only among candidates meeting this TPOT (predicted and measured)")
    p.add_argument("--seed", type=seed, default=0,
                   help="seed of every draw (0); each method is seeded seed*1000+repeat, so at most "
                        "(2**63 - repeats) // 1000")
    p.add_argument("--splits", default=",".join(SPLIT_NAMES), type=_split_names,
                   help=f"comma-separated subset of {','.join(SPLIT_NAMES)}, each named once")
    p.add_argument("--methods", default=None,
                   help="comma-separated subset of the methods (default: all of them; the learned baselines need "
                   "the [compare] extra, and a missing one stops the run naming the pip install)")
    p.add_argument("--coverage", nargs="?", const="0.9", default=None, metavar="LEVEL", type=_level_text,
                   help="opt-in: also report how often the LEVEL prediction intervals (a fraction, 0.9 when LEVEL is "
                        "left out) of energylens and its variants hold the measured energy of the random split's "
                        "held-out rows: coverage (mean, min-max over repeats), shares below / above, median relative "
                        "width, the tasks farthest from LEVEL. Slower: each interval fit runs the model's 200 bootstrap "
                        "refits (v3 H100, 405 rows, --splits random with 4 variants of ours x 20 repeats: 1.9 s -> "
                        "3.6 s on 2 cores; progress reads 'interval fits'); baselines give none (n/a)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--report", default=None, metavar="DIR", type=path,
                   help="write report.md, PNG plots and CSV tables into DIR (built aside, moved in when complete); "
                        "an existing DIR must be empty or an earlier evaluate (or demo) report, which is replaced")
    p.add_argument("--no-progress", action="store_true", help="no progress bar nor reading lines (a large table) on stderr")
    p.add_argument("--calibrate", choices=("family", "model"), default=None, metavar="KEY",
                   help="opt-in: also score 'energylens+KEY', the model with one shrunk offset per model family "
                        "or model (family | model), reported as a separate method; the default row is unchanged")
    p.add_argument("--expression", default=None, metavar="DISCOVERY.json", type=path,
                   help="also score a discovered expression (a result of `energylens discover -o`; target energy, or "
                        "residual: template x exp(g)) as a method row 'discovered<INDEX>-c<COMPLEXITY>' beside "
                        "energylens, its constants refitted on each split's training rows (bootstrap 0), as "
                        "energylens.discover.DiscoveredExpression does in Python; a legend under the table (and "
                        "'expressions' in --json) gives each row's expression; docs/evaluation.md")
    p.add_argument("--pick", default=None, metavar="chosen|INDEX[,INDEX...]|all",
                   help="which front expressions of --expression: 'chosen' (default: the one the discovery chose), "
                        "indices in the front (the first column of discover's table), 'chosen' among them, separated "
                        "by commas, or 'all'")
    add_prior_options(p, "also score 'energylens+prior' (with --calibrate KEY also 'energylens+KEY+prior'), "
                         "reported as separate methods")
    add_gpu_table_option(p)
    add_model_table_option(p)
    p.set_defaults(func=Run("evaluate", "run_evaluate"))
    return p


def _split_names(text: str) -> str:
    """--splits as given, once every name is a known split named once: a repeated name ran once and an unknown one
    was refused only after the profiles were read (make_splits), so both are argument errors here."""
    items = [x.strip() for x in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"{text!r}: an empty item (a stray comma); give names separated by single "
                                         "commas")
    known = ", ".join(SPLIT_NAMES)
    for i, name in enumerate(items):
        if name not in SPLIT_NAMES:
            raise argparse.ArgumentTypeError(f"unknown split {name!r} in {text!r}; known: {known}")
        if name in items[:i]:
            raise argparse.ArgumentTypeError(f"{text!r} names {name!r} more than once (each split runs once); "
                                             "name each once")
    return text


def _level_text(text: str) -> str:
    """--coverage's LEVEL as given when it reads as a number (its range is checked by the command, before any work,
    in the words of energylens.compare.coverage.check_level); else an error that also covers the profiles' path
    taken as LEVEL (``--coverage data.csv``: the option's value is optional, so it took the next word)."""
    try:
        float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"LEVEL {text!r} is not a number; give the interval's level as a fraction (--coverage 0.9), or put "
            "--coverage after PROFILES (a bare --coverage takes the next word as its LEVEL)") from None
    return text


def command_line(args: argparse.Namespace) -> str:
    """``energylens evaluate`` with ``args``' PROFILES and each option that differs from its default, quoted for a
    POSIX shell: the command report.md names. (It joined ``sys.argv``, which is the caller's when ``main()`` is
    called with arguments of its own, and left a path with a space unquoted.)"""
    words = ["energylens", "evaluate"]
    for a in add_parser(argparse.ArgumentParser().add_subparsers())._actions:
        value = getattr(args, a.dest, a.default)
        if not a.option_strings:
            words.append(str(value))
        elif a.dest != "help" and value not in (None, [], False) and value != a.default:
            values = value if isinstance(value, list) else [value]  # --gpu-table, repeatable
            words += [a.option_strings[0]] if value is True else [w for v in values for w in (a.option_strings[0], str(v))]
    return shlex.join(words)
