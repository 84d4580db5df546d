"""The parser of ``energylens demo``; the command itself is :mod:`energylens.cli.demo`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import MAX_REPEATS, path, positive_int, repeats, seed

__all__ = ["add_parser"]

#: Seeded repeats of the closing comparison when --repeats is not given.
DEMO_REPEATS = 5

#: The fewest training rows the demo's fit takes: the energy model's parameter count (copied: importing the
#: model loads pandas; a test compares them). The demo has no prior that would stand in for missing rows.
DEMO_MIN_TRAIN_SIZE = 12


def train_size(text: str) -> int:
    """``--train-size``: at least :data:`DEMO_MIN_TRAIN_SIZE` rows."""
    value = positive_int(text)
    if value < DEMO_MIN_TRAIN_SIZE:
        raise argparse.ArgumentTypeError(
            f"must be at least {DEMO_MIN_TRAIN_SIZE}, got {value}: the demo fits the energy model's "
            f"{DEMO_MIN_TRAIN_SIZE} parameters on these rows (more than {DEMO_MIN_TRAIN_SIZE} give parameter "
            "intervals; default 50)")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens demo``."""
    p = sub.add_parser("demo", help="run the main job on the bundled real data")
    p.add_argument("--seed", type=seed, default=0,
                   help="seed of the random training rows, of the fit's starts and bootstrap refits (so its "
                        "intervals), and of the closing comparison's splits and methods (seed * 1000 + repeat); "
                        "the closing search draws nothing of its own (0)")
    p.add_argument("--train-size", type=train_size, default=50,
                   help=f"training rows drawn at random (50; at least {DEMO_MIN_TRAIN_SIZE})")
    p.add_argument("--report", default=None, type=path,
                   help="folder for the comparison's evaluation report (energylens-report; an existing folder must "
                        "be empty or an earlier demo (or evaluate) report, which is replaced)")
    p.add_argument("--repeats", type=repeats, default=None,
                   help=f"seeded repeats of the closing comparison ({DEMO_REPEATS}; at most {MAX_REPEATS})")
    p.add_argument("--no-compare", action="store_true", help="skip the closing comparison with baselines (and its "
                   "report)")
    p.set_defaults(func=Run("demo", "_cmd_demo"))
