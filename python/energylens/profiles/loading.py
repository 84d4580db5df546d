"""The public :func:`load_profiles` (``energylens.load_profiles``, ``energylens.profiles.load_profiles``): every input
a command takes, as the command reads it. :func:`energylens.profiles.schema.load_profiles` is its schema-v1 part
(a DataFrame, a schema-v1 file or a sweep store), which the package itself calls on frames."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from energylens.profiles import schema
from energylens.profiles.datasets import dataset_reader


def load_profiles(path_or_frame, *, drop_invalid: bool = False, fill_architecture: bool = True,
                  source: str | None = None, require_energy: bool = True,
                  column_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read and validate profiles: whatever a command's PROFILES argument takes, as a schema-v1 table
    (docs/profile-schema.md).

    Args:
        path_or_frame: a DataFrame (not modified); a schema-v1 ``.csv`` (optionally compressed, e.g.
            ``.csv.gz``) or ``.parquet`` file, or a sweep's store folder; ``"bundled"`` / ``"mlenergy-v2"``
            (the bundled ML.ENERGY v2 rows, :func:`energylens.profiles.datasets.mlenergy_v2`); an ML.ENERGY v2
            flat CSV or v3 LLM export, or a Splitwise ``perf_model.csv`` (latency only: ``require_energy=False``),
            each recognised by its header and converted by its reader in :mod:`energylens.profiles.datasets`.
        drop_invalid, fill_architecture, source, column_names: options of a schema-v1 table
            (:func:`energylens.profiles.schema.load_profiles` says what each does). A converted data set
            refuses them with a ValueError: its reader checks and fills every row itself.
        require_energy: ``False`` reads a table of configurations to predict, or latency-only profiles:
            ``energy_j`` may be absent (it is then NaN) or empty.

    Returns:
        The validated table (:func:`energylens.profiles.schema.load_profiles` describes its columns, types,
        index and ``attrs``).

    Raises:
        ProfileSchemaError: a violation, naming the source, the column and the 1-based data rows.
        FileNotFoundError: the path names nothing (a near miss of ``bundled`` offers it).
        ValueError: a schema-v1 option given for a converted data set.
    """
    if isinstance(path_or_frame, (str, os.PathLike)):
        found = dataset_reader(path_or_frame)
        if found is not None:
            reader, read = found
            given = [f"{name}={value!r}" for name, value, default in (
                ("drop_invalid", drop_invalid, False), ("fill_architecture", fill_architecture, True),
                ("source", source, None), ("column_names", column_names, None)) if value != default]
            if given:
                raise ValueError(
                    f"load_profiles({os.fspath(path_or_frame)!r}, {', '.join(given)}): the option(s) apply to "
                    f"schema-v1 tables; this input is a data set that {reader} reads and converts, checking and "
                    "filling every row itself: leave them out (or convert it, edit the frame, and pass that)")
            return read(require_energy)
    return schema.load_profiles(path_or_frame, drop_invalid=drop_invalid, fill_architecture=fill_architecture,
                                source=source, require_energy=require_energy, column_names=column_names)
