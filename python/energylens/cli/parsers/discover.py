"""The parser of ``energylens discover``; the command itself is :mod:`energylens.cli.discover`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import (
    PROFILES_HELP,
    add_gpu_table_option,
    add_model_table_option,
    path,
    positive_float,
    positive_int,
    seed,
)

__all__ = ["add_parser"]

#: The smallest --max-complexity: operon's linear scaling c + s x is 5 nodes (energylens.discover.backends checks
#: the same bound for the Python API; this module stays light and does not import it).
MIN_COMPLEXITY = 5


def _max_complexity(text: str) -> int:
    """An integer >= MIN_COMPLEXITY (-1 was told 'must be >= 1', and 1 then 'must be an integer >= 5')."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < MIN_COMPLEXITY:
        raise argparse.ArgumentTypeError(f"must be an integer >= {MIN_COMPLEXITY} (the smallest expression, c + s x, "
                                         f"has that many nodes), got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens discover``."""
    p = sub.add_parser("discover", help="symbolic regression of energy (or the template's residuals) to a front",
                       description="Exit status: 0 done; 2 bad input, or a backend that is not installed; 130 / 143 "
                                   "on Ctrl-C / SIGTERM, after the front found so far is scored and written (-o, "
                                   "--report) with the --generations and --seed that reproduce it (docs/discover.md)")
    p.add_argument("profiles", metavar="PROFILES", type=path, help=PROFILES_HELP)
    p.add_argument("--target", choices=("energy", "prefill", "decode", "residual"), default="energy",
                   help="what the expressions predict: energy per request (J; default), a phase's measured energy "
                        "(prefill_energy_j / decode_energy_j), or residual, log(energy_j / template) with the "
                        "template fitted on the training rows: a term the template lacks (docs/discover.md)")
    p.add_argument("--backend", choices=("auto", "operon", "pysr"), default="auto",
                   help="operon (pyoperon, the [sr] extra), pysr (needs PySR and a Julia executable), or auto "
                        "(default: operon where installed, else pysr; the run says which and why)")
    p.add_argument("--max-complexity", type=_max_complexity, default=25, help="largest expression (nodes, at least 5; 25)")
    p.add_argument("--time-budget", type=positive_float, default=60.0, help="seconds for the search (60; it also stops at --generations)")
    p.add_argument("--generations", type=positive_int, default=200, help="generation cap (200; operon: reproducible "
                   "per seed when it binds before the time budget, and the run says which bound stopped it)")
    p.add_argument("--population", type=positive_int, default=500, help="population size (500)")
    p.add_argument("--train-size", type=positive_int, default=None,
                   help="training rows (default 70 %%; the rest is held out)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the split and the search (0)")
    p.add_argument("-o", "--output", default="discovered.json", type=path,
                   help="result file (JSON; default discovered.json in the current folder; an earlier discovery "
                        "result there is replaced, and the command says so on stderr; any other existing file is "
                        "refused). In Python, expression_model(load_discovery(FILE)) (both in energylens.discover) "
                        "makes a model of its chosen expression; .fit(profiles).save(...) writes a model file for "
                        "energylens predict")
    p.add_argument("--report", default=None, metavar="DIR", type=path,
                   help="write the front plot and LaTeX page here (an existing DIR must be empty or an earlier "
                        "discover report, which is replaced)")
    p.add_argument("--quiet", "--no-progress", action="store_true", dest="quiet",
                   help="no progress lines on stderr; the scores table and closing lines, the result, still "
                        "print on stdout (redirect stdout to drop them); --no-progress is evaluate's name for it")
    add_gpu_table_option(p)
    add_model_table_option(p)
    p.set_defaults(func=Run("discover", "_cmd_discover"))
