"""The model file and the inputs every energy model shares: parameter and fit records, profile loading,
the data hash, and the versioned JSON file that ``save`` writes and ``load`` reads (closed-form template
and discovered expression models alike).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energylens import __version__
from energylens.errors import ModelFileError
from energylens.profiles import load_profiles, read_profiles

#: Template id written to model files for expression models (``EnergyModel.from_expression``).
EXPRESSION_MODEL_ID = "energylens.expression.v1"

__all__ = ["EXPRESSION_MODEL_ID", "Param", "FitSummary", "MODEL_FILE_VERSION", "load_configs", "data_hash", "write_model_file",
           "read_model_file"]

#: Version of the JSON model file written by ``save``; ``load`` refuses newer ones.
MODEL_FILE_VERSION = 1
_FORMAT = "energylens.model"


@dataclass(frozen=True)
class Param:
    """One fitted parameter: value, unit, meaning, bounds and its bootstrap interval."""

    name: str
    value: float
    unit: str
    description: str
    lower: float
    upper: float
    ci_low: float = math.nan
    ci_high: float = math.nan


@dataclass(frozen=True)
class FitSummary:
    """How a fit went. Non-convergence is reported here, not raised."""

    n_rows: int
    n_measurements: int
    cost: float
    iterations: int
    converged: bool
    status: str
    starts: int
    starts_converged: int
    train_mape: float
    bootstrap_replicates: int
    bootstrap_converged: int
    data_hash: str
    fit_seconds: float


def load_configs(configs: Any, *, require_energy: bool) -> pd.DataFrame:
    """Validate a profile / configuration table through schema v1: a DataFrame, a profile file, an
    ML.ENERGY v2 flat CSV, a Splitwise perf_model CSV (latency only) or ``"bundled"``, read as the
    command line reads them (``energylens.profiles.read_profiles``)."""
    if isinstance(configs, pd.DataFrame) and configs.attrs.get("schema_version") == 1:
        return configs
    if isinstance(configs, (str, os.PathLike)):  # the same dispatch as the command line
        return read_profiles(str(configs), require_energy=require_energy)
    return load_profiles(configs, require_energy=require_energy)


def data_hash(columns: list[np.ndarray], targets: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in [*columns, *targets]:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return "sha256:" + h.hexdigest()[:32]


def write_model_file(path: str | Path, payload: dict[str, Any]) -> None:
    doc = {"format": _FORMAT, "version": MODEL_FILE_VERSION, "energylens_version": __version__,
           "created_unix_s": time.time(), **payload}
    Path(path).write_text(json.dumps(doc, indent=1, allow_nan=True))


def read_model_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such model file")
    try:
        doc = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{p}: not a JSON model file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ModelFileError(f"{p}: not an energylens model file (format {doc.get('format') if isinstance(doc, dict) else None!r})")
    version = doc.get("version")
    if not isinstance(version, int) or version > MODEL_FILE_VERSION or version < 1:
        raise ModelFileError(f"{p}: model file version {version!r} is not supported (this energylens reads "
                             f"versions 1..{MODEL_FILE_VERSION}); upgrade energylens or refit")
    return doc
