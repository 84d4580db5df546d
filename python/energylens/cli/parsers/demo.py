"""The parser of ``energylens demo``; the command itself is :mod:`energylens.cli.demo`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import path, positive_int, seed

__all__ = ["add_parser"]

#: Seeded repeats of the closing comparison when --repeats is not given.
DEMO_REPEATS = 5


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens demo``."""
    p = sub.add_parser("demo", help="run the main job on the bundled real data")
    p.add_argument("--seed", type=seed, default=0, help="seed of the training draw (0)")
    p.add_argument("--train-size", type=positive_int, default=50, help="training rows drawn at random (50)")
    p.add_argument("--report", default=None, type=path,
                   help="folder for the comparison's evaluation report (energylens-report; an existing folder must "
                        "be empty or an earlier energylens report, which is replaced)")
    p.add_argument("--repeats", type=positive_int, default=None,
                   help=f"seeded repeats of the closing comparison ({DEMO_REPEATS})")
    p.add_argument("--no-compare", action="store_true", help="skip the closing comparison with baselines (and its "
                   "report)")
    p.set_defaults(func=Run("demo", "_cmd_demo"))
