"""``energylens predict``: energy (phases, interval) and latency for configurations from a model file."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from energylens.cli.options import (
    DEFAULTS,
    add_gpu_table_option,
    apply_gpu_tables,
    level,
    read_profiles_with_rows,
)
from energylens.model import EnergyModel, load_model
from energylens.outputs import atomic_file, check_output_path

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens predict``."""
    predict = sub.add_parser("predict", help="predict energy (and latency) for configurations")
    predict.add_argument("model", metavar="MODEL", help="model file written by `energylens fit`")
    predict.add_argument("configs", metavar="CONFIGS", help="configurations (CSV/Parquet, schema v1, energy_j optional)")
    predict.add_argument("-o", "--output", required=True, help="output CSV (or .parquet); written atomically")
    predict.add_argument("--level", type=level, default=DEFAULTS["level"],
                         help="prediction-interval level, strictly between 0 and 1 (0.9)")
    add_gpu_table_option(predict)
    predict.set_defaults(func=_cmd_predict)


def _interval_columns(model, configs, level: float, what: str):
    try:
        return model.predict_interval(configs, level=level)
    except ValueError as exc:
        print(f"energylens predict: no {what} interval columns: {exc}", file=sys.stderr)
        return None


def _cmd_predict(args: argparse.Namespace) -> int:
    check_output_path(args.output, inputs=[args.model, args.configs])
    apply_gpu_tables(args)
    model = load_model(args.model)
    configs = read_profiles_with_rows(args.configs, require_energy=False)
    if isinstance(model, EnergyModel):
        parts = [model.predict_phases(configs), _interval_columns(model, configs, args.level, "energy")]
        if model.latency_model is not None:
            parts.append(model.latency_model.predict(configs))
    else:  # a model file fitted from latency-only profiles
        parts = [model.predict(configs), _interval_columns(model, configs, args.level, "latency")]
    out = pd.concat([configs.reset_index(drop=True), *[p for p in parts if p is not None]], axis=1)
    with atomic_file(args.output) as tmp:
        if args.output.endswith(".parquet"):
            out.to_parquet(tmp, index=False)
        else:
            out.to_csv(tmp, index=False)
    print(f"wrote {len(out)} rows to {args.output}")
    return 0
