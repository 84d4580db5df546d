"""Options and argument types several commands' parsers share (light: :mod:`energylens.cli.parsers`).

Argument types (``positive_int``, ``seed``, ``level``, ...) reject a bad value at parse time with a message
naming the expectation (argparse prints it with the option name and exits 2); ``DEFAULTS`` are the Python
API's, so the command line and the API agree. :mod:`energylens.cli.options` re-exports all of them.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["add_gpu_table_option", "add_model_table_option", "add_prior_options", "PROFILES_HELP", "DEFAULTS", "DEFAULT_PRIOR_WEIGHT",
           "positive_int", "nonnegative_int", "seed", "positive_float", "nonnegative_float", "level", "path",
           "repeats", "MAX_REPEATS", "TEMPLATE_PARAMETERS"]

#: energylens.model.prior.DEFAULT_PRIOR_WEIGHT (copied: importing the model loads pandas; a test compares them).
DEFAULT_PRIOR_WEIGHT = 0.01

#: energylens.compare.runner.MAX_REPEATS (copied, as above): the most seeded repeats of one evaluation.
MAX_REPEATS = 1000


def add_gpu_table_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--gpu-table FILE`` (repeatable) to a command's parser."""
    parser.add_argument(
        "--gpu-table", action="append", default=[], metavar="FILE", type=path,
        help="user GPU table: a CSV with the columns of energylens/data/gpus.csv describing GPUs the "
             "bundled table lacks (name, vendor, hbm_bw_gbs, peak_bf16_tflops, tdp_w, interconnect_bw_gbs, ...); "
             "repeatable; a model file does not keep it: give it again to predict or search with that model")


def add_model_table_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--model-table FILE`` (repeatable) to a command's parser: every command that takes ``--gpu-table``."""
    parser.add_argument(
        "--model-table", action="append", default=[], metavar="FILE", type=path,
        help="user model table: a CSV with the columns of energylens/data/models.csv describing models the "
             "bundled table lacks (a fine-tune, a new release: name, architecture, params_b, active_params_b, "
             "n_layers, d_model, n_heads, n_kv_heads, head_dim, n_experts, experts_per_token, ...); repeatable; a "
             "model file does not keep it: give it again to predict or search with that model")


def add_prior_options(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--prior bundled|MODEL.json`` and ``--prior-weight W`` (docs/model.md, "Accuracy round 8");
    ``what`` says what the command does with the prior."""
    parser.add_argument("--prior", default=None, metavar="bundled|MODEL.json", type=path,
                        help=f"opt-in: {what}, pulled toward another fit's {TEMPLATE_PARAMETERS} parameters (bundled: the fit on the "
                             "bundled ML.ENERGY v2 rows; or a model file); fewer rows than parameters then fit")
    parser.add_argument("--prior-weight", type=nonnegative_float, default=None, metavar="W",
                        help=f"weight of the prior's residuals ({DEFAULT_PRIOR_WEIGHT:g}; needs --prior)")

#: What a PROFILES argument takes (every format load_profiles_or_bundled recognises; README "Using it"), for the
#: commands that need measured energy; ``fit`` adds Splitwise's latency-only table.
PROFILES_HELP = ("profiles: a schema-v1 table (CSV/Parquet; docs/profile-schema.md), an ML.ENERGY v2 flat CSV or "
                 "v3 export, a sweep's store folder (energylens profile -o), or 'bundled' (the bundled ML.ENERGY v2 "
                 "rows)")

#: len(energylens.model.reference.ENERGY_PARAM_NAMES), the template's parameters, which help texts and the
#: discover command's first line name (copied: the model loads pandas; tests/cli/test_cli_startup.py checks it).
TEMPLATE_PARAMETERS = 12

#: Defaults shared with the Python API (``EnergyModel(...)``), so the command line and the API agree.
DEFAULTS = {"n_starts": 3, "bootstrap": 200, "seed": 0, "level": 0.9}


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2**63)."""
    value = nonnegative_int(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"must be < 2**63, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def level(text: str) -> float:
    """A probability strictly between 0 and 1 (an interval level)."""
    value = _float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1 (e.g. 0.9), got {text}")
    return value


def path(text: str) -> str:
    """A file or folder name: not empty (``--report "$OUT"`` with OUT unset was no report at all, or the current
    folder)."""
    if text == "":
        raise argparse.ArgumentTypeError("expected a path, got an empty string (an unset shell variable?)")
    return text


def repeats(text: str) -> int:
    """Seeded repeats of an evaluation: an integer in [1, :data:`MAX_REPEATS`] (each method is seeded
    seed * 1000 + repeat, so more would reuse the next seed's method seeds)."""
    value = positive_int(text)
    if value > MAX_REPEATS:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_REPEATS}, got {value}: each method is seeded seed * 1000 + repeat, so repeat "
            f"{MAX_REPEATS} of seed S would reuse the first method seed of seed S+1; for more, run again with "
            "--seed S+1, S+2, ... (their method seeds never overlap) and pool the results")
    return value
