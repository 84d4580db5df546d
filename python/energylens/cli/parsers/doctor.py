"""The parser of ``energylens doctor``; the command itself is :mod:`energylens.cli.doctor`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens doctor``."""
    p = sub.add_parser(
        "doctor", help="print what this build and machine can do, with versions",
        description="Print what this build and machine can do (the native core, CUDA, NVML, the compiler of "
                    "expression kernels, the core dependencies, each optional extra), with versions, and for "
                    "every 'no' the reason and the command or package that adds it. Exit status 0 when "
                    "everything energylens requires works (missing optional parts are listed, not errors), "
                    "1 when a core dependency (numpy, pandas, pyarrow) is missing, does not import or is "
                    "older than energylens needs.")
    p.set_defaults(func=Run("doctor", "_cmd_doctor"))
