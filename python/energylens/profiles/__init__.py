"""Profiles: everything that knows file formats and reference data (the lowest layer).

Owns schema v1 and its validation (:mod:`.schema`, :func:`load_profiles`), the GPU and model reference
tables (:mod:`.tables`), the readers of real data sets (:mod:`.datasets`: ML.ENERGY, Splitwise, and
``read_profiles`` for any path or bundled name) and the template's feature columns (:mod:`.features`).
Imports only numpy, pandas, :mod:`energylens.errors` and its own modules.
"""

from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import build_features
from energylens.profiles.schema import REQUIRED_COLUMNS, SCHEMA_VERSION, load_profiles

#: One reader for a path (any recognised format) or a bundled data set's name.
read_profiles = load_profiles_or_bundled

__all__ = ["load_profiles", "read_profiles", "load_profiles_or_bundled", "build_features", "REQUIRED_COLUMNS",
           "SCHEMA_VERSION"]
