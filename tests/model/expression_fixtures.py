"""The bundled rows and one expression model fitted on them: what the expression-model interval and range tests
share (each its own number of bootstrap refits)."""

import warnings

import pandas as pd

from energylens.model import EnergyModel
from energylens.profiles.datasets import load_profiles_or_bundled

EXPR = "1.0*tp*pp*tdp_w*output_tokens/batch_size + 5.0"


def bundled_rows() -> pd.DataFrame:
    """The bundled ML.ENERGY v2 rows, validated, index 0..n-1."""
    return load_profiles_or_bundled("bundled").reset_index(drop=True)


def fitted_expression(rows: pd.DataFrame, bootstrap: int):
    """:data:`EXPR` fitted on ``rows`` with one start and ``bootstrap`` refits (fit warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel.from_expression(EXPR, bootstrap=bootstrap, n_starts=1).fit(rows)
