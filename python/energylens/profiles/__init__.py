"""Profiles: everything that knows file formats and reference data (the lowest layer).

Owns schema v1 and its validation (:mod:`.schema`; :func:`load_profiles` reads every input a command
takes), the GPU and model reference tables (:mod:`.tables`) and the filling of model facts from them
(:mod:`.architecture`), the readers of real data sets (:mod:`.datasets`: ML.ENERGY, Splitwise, and
``read_profiles`` for any path or bundled name) and the template's feature columns (:mod:`.features`).
Rows are validated and architectures filled here once (:func:`load_profiles`, :func:`as_profiles`); the
model takes frames through them.
Imports only numpy, pandas, :mod:`energylens.errors`, the native core (for the template's feature list)
and its own modules.
"""

from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import build_features
from energylens.profiles.loading import load_profiles
from energylens.profiles.schema import REQUIRED_COLUMNS, SCHEMA_VERSION, as_profiles

#: One reader for a path (any recognised format) or a bundled data set's name.
read_profiles = load_profiles_or_bundled

__all__ = ["load_profiles", "as_profiles", "read_profiles", "load_profiles_or_bundled", "build_features", "REQUIRED_COLUMNS",
           "SCHEMA_VERSION"]
