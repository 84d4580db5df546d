"""The parser of ``energylens fit``; the command itself is :mod:`energylens.cli.fit`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import (
    DEFAULTS,
    PROFILES_HELP,
    TEMPLATE_PARAMETERS,
    add_gpu_table_option,
    add_model_table_option,
    add_prior_options,
    nonnegative_float,
    nonnegative_int,
    path,
    positive_int,
    seed,
)

__all__ = ["add_parser"]

#: energylens.model.closed_form.ENERGY_TPOT_WEIGHT (copied: the model loads pandas).
ENERGY_TPOT_WEIGHT = 1.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens fit``."""
    fit = sub.add_parser("fit", help="fit the closed-form energy (and latency) model on measured profiles")
    fit.add_argument("profiles", metavar="PROFILES", type=path,
                     help=PROFILES_HELP.replace(", a sweep's", ", a Splitwise perf_model CSV (latency only), a "
                                                "sweep's"))
    fit.add_argument("-o", "--output", required=True, type=path, help="model file to write (JSON: a .json name, or one without an extension; written atomically; an existing model file is "
                                                           "replaced, and the command says so on stderr; any other file is refused)")
    fit.add_argument("--residual", choices=("relative", "log"), default="log",
                     help="residual the fit minimises: log(pred/meas) (default) or relative error")
    fit.add_argument("--loss", choices=("linear", "soft_l1", "huber"), default="linear",
                     help="loss on the residuals: linear (least squares, default) or a robust one")
    fit.add_argument("--starts", type=positive_int, default=DEFAULTS["n_starts"],
                     help=f"multi-start count ({DEFAULTS['n_starts']}, as EnergyModel)")
    fit.add_argument("--bootstrap", type=nonnegative_int, default=DEFAULTS["bootstrap"],
                     help=f"bootstrap refits for intervals ({DEFAULTS['bootstrap']}; 0: no intervals)")
    fit.add_argument("--seed", type=seed, default=DEFAULTS["seed"], help="seed of the starts and the bootstrap (0)")
    fit.add_argument("--tpot-weight", type=nonnegative_float, default=None, metavar="W",
                     help=f"weight of the measured-TPOT residuals next to the energy residuals in the energy fit "
                          f"({ENERGY_TPOT_WEIGHT:g}; 0: energy alone; docs/model.md)")
    group = fit.add_mutually_exclusive_group()
    group.add_argument("--no-latency", action="store_true", help="fit the energy model without its latency model")
    group.add_argument("--latency-only", action="store_true",
                       help="fit only the latency model (on ttft_s / tpot_s), ignoring any energy column")
    fit.add_argument("--calibrate", choices=("family", "model"), default=None, metavar="KEY",
                     help="opt-in: also fit one shrunk multiplicative offset per model family or model "
                          f"(family | model; default: none, the {TEMPLATE_PARAMETERS} shared parameters alone; docs/model.md)")
    fit.add_argument("--calibrate-latency", choices=("family", "model"), default=None, metavar="KEY",
                     help="opt-in: also fit one shrunk TPOT and one TTFT factor per model family or model for the "
                          "latency model (family | model; `energylens search --model-file` applies them; unseen "
                          "models keep factor 1; docs/model.md section 4)")
    fit.add_argument("--expression", default=None, metavar="DISCOVERY.json", type=path,
                     help="fit a discovered expression instead of the template: a result of `energylens discover -o` "
                          "(target energy, or residual: template x exp(g), the template fitted on PROFILES too); "
                          "its constants are refitted on PROFILES with --residual, --loss, --starts, --bootstrap and "
                          "--seed, and the model file is for `energylens predict` (an expression models energy "
                          "only: no latency model, so `search --model-file` refuses it); docs/discover.md")
    fit.add_argument("--pick", default=None, metavar="chosen|INDEX",
                     help="which front expression of --expression: 'chosen' (default: the one the discovery chose) "
                          "or its index in the front (the table's first column)")
    add_prior_options(fit, "fit the energy model for a new GPU or stack measured on few rows")
    add_gpu_table_option(fit)
    add_model_table_option(fit)
    fit.set_defaults(func=Run("fit", "_cmd_fit"))
