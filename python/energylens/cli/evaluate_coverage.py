"""``energylens evaluate --coverage [LEVEL]``: the option's check and the terminal table
(the computation is :mod:`energylens.compare.coverage`)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from energylens.compare.coverage import check_level, format_coverage

__all__ = ["coverage_level", "print_coverage"]


def coverage_level(args: argparse.Namespace, split_names: Sequence[str]) -> float | None:
    """--coverage's LEVEL (None without it), checked before any work: a fraction in (0, 1) (90, a percentage, is
    refused naming 0.9), and the random split, whose held-out rows it is measured on, must be run."""
    if args.coverage is None:
        return None
    level = check_level(args.coverage, "--coverage")
    splits = [x.strip() for x in args.splits.split(",")] if args.splits else list(split_names)
    if "random" not in splits:
        raise ValueError(f"--coverage is measured on the held-out rows of the random split, which --splits "
                         f"{args.splits} leaves out; add random to --splits")
    return level


def print_coverage(info: Mapping[str, Any]) -> None:
    """The coverage table under the terminal's summary (nothing when the run did not ask for it)."""
    if "coverage" in info:
        print("\n" + format_coverage(info["coverage"]))
