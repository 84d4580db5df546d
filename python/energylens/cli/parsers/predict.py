"""The parser of ``energylens predict``; the command itself is :mod:`energylens.cli.predict`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import DEFAULTS, add_gpu_table_option, add_model_table_option, level, path

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens predict``."""
    predict = sub.add_parser("predict", help="predict energy (and latency) for configurations")
    predict.add_argument("model", metavar="MODEL", type=path, help="model file written by `energylens fit`")
    predict.add_argument("configs", metavar="CONFIGS", type=path, help="configurations: a schema-v1 table (CSV/Parquet; energy_j optional) or "
                         "any profiles fit takes (an ML.ENERGY v2 / v3 export, a sweep's store folder, 'bundled')")
    predict.add_argument("-o", "--output", required=True, type=path, help="output CSV (compressed for a .csv.gz, .csv.bz2, .csv.xz or .csv.zip name; Parquet "
                         "for .parquet; any case); written atomically; an existing "
                         "table predict wrote is replaced, and the command says so on stderr; any other file is refused")
    predict.add_argument("--level", type=level, default=DEFAULTS["level"],
                         help="prediction-interval level, strictly between 0 and 1 (0.9)")
    add_gpu_table_option(predict)
    add_model_table_option(predict)
    predict.set_defaults(func=Run("predict", "_cmd_predict"))
