"""Options several commands share (not a command: ``cli/main.py`` does not list it).

``--gpu-table FILE`` (fit, predict, evaluate): a user GPU table, a CSV with the columns of the bundled
``energylens/data/gpus.csv``, registered before the profiles are read so that a GPU the bundled table
lacks (or a bundled row's blank cells) can be described (docs/reference-tables.md, "User GPU tables").
"""

from __future__ import annotations

import argparse
import sys

from energylens.profiles.tables import register_gpu_table

__all__ = ["add_gpu_table_option", "apply_gpu_tables"]


def add_gpu_table_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--gpu-table FILE`` (repeatable) to a command's parser."""
    parser.add_argument(
        "--gpu-table", action="append", default=[], metavar="FILE",
        help="user GPU table: a CSV with the columns of energylens/data/gpus.csv describing GPUs the "
             "bundled table lacks (name, hbm_bw_gbs, peak_bf16_tflops, tdp_w, interconnect_bw_gbs, ...); "
             "repeatable")


def apply_gpu_tables(args: argparse.Namespace) -> None:
    """Register every ``--gpu-table`` file (errors name the file, row and column) and say so on stderr
    (stdout may carry ``--json``)."""
    for path in getattr(args, "gpu_table", None) or []:
        specs = register_gpu_table(path)
        print(f"{path}: {len(specs)} GPU(s) registered: {', '.join(s.name for s in specs)}",
              file=sys.stderr)
