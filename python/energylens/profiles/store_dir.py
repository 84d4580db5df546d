"""Reading a profiling-sweep store directory (written by :mod:`energylens.profiling.store`): its marker
file and its part files, each part read with an error that names it and says how to recover.

A part that cannot be read (a disk that filled, a file copied half-way, an edit) is an error naming the
part and the unit: delete that one file and ``energylens profile SPEC -o DIR --resume`` measures the
unit again; the other parts are untouched.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.errors import FailedRowsWarning, ProfileSchemaError, user_stacklevel

__all__ = ["STORE_MARKER", "part_origin", "read_part", "read_store_dir"]

#: File that marks a directory as a profiling-sweep store (energylens.profiling.store).
STORE_MARKER = "energylens-store.json"


def read_part(part: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One part file (``columns`` of it), or ProfileSchemaError naming the part and the remedy."""
    try:
        frame = pd.read_parquet(part, columns=columns)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
        raise ProfileSchemaError(
            f"{part}: this part of the sweep store cannot be read ({type(exc).__name__}: {exc}); delete this "
            f"file and run `energylens profile SPEC -o {part.parent.parent} --resume` to measure unit "
            f"{part.stem} again (the other parts are kept)", source=str(part)) from None
    if not len(frame) or (columns is None and "status" not in frame):  # a part holds one row, with its status
        raise ProfileSchemaError(f"{part}: this part of the sweep store has no row or no status column; delete it and --resume to "
                                 f"measure unit {part.stem} again", source=str(part))
    if columns is None and len(frame) > 1:  # (concatenated parts: each row would be read, none counted as its unit)
        raise ProfileSchemaError(f"{part}: this part of the sweep store holds {len(frame)} rows, where a part holds the "
                                 f"one row of its unit; delete it and --resume to measure unit {part.stem} again",
                                 source=str(part))
    held = str(frame["config_id"].iloc[0]) if "config_id" in frame else part.stem
    if held != part.stem:  # (copied in under another name: its unit was counted done, the other read twice)
        raise ProfileSchemaError(f"{part}: this part is named for unit {part.stem} but holds the row of unit {held} "
                                 f"(a part copied in under another name?); move it away (as {held}.parquet it is that "
                                 f"unit's row) and --resume measures unit {part.stem}", source=str(part))
    return frame


def read_store_dir(path: str | os.PathLike, *, include_failed: bool = False, warn_failed: bool = False) -> pd.DataFrame:
    """The rows of a profiling-sweep store directory (``parts/*.parquet``), unvalidated, in part-name
    order; only ``status == "ok"`` rows unless ``include_failed`` (failed ones carry ``error``). With
    ``warn_failed`` (a user reading the store: load_profiles) the failed rows left out are said
    (FailedRowsWarning with their count and the command that measures them again): ``energylens fit STORE/``
    said "fitted on 16 rows" of a store of 32 units without a word on the other 16."""
    parts = sorted((Path(path) / "parts").glob("*.parquet"))
    frames = [read_part(p) for p in parts]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not include_failed and len(frame):
        ok = (frame["status"] == "ok").to_numpy()
        if warn_failed and not ok.all():
            warnings.warn(f"{path}: {int((~ok).sum())} of the sweep store's {len(frame)} units failed and are not "
                          f"read (no measurement; `energylens profile SPEC -o {path} --resume --retry-failed` measures them "
                          "again, and their errors are in the store's failed rows)", FailedRowsWarning,
                          stacklevel=user_stacklevel())
        frame = frame[ok].reset_index(drop=True)
    return frame


def part_origin(path: str | os.PathLike, frame: pd.DataFrame) -> Callable[[np.ndarray], str]:
    """For an error on rows (positions) of a store's table (:func:`read_store_dir`): ", which is the part
    DIR/parts/<config_id>.parquet" (the first 5), so the user knows which file to mend or delete: "data row 2" of a
    store folder counts rows no file shows."""
    def origin(rows: np.ndarray) -> str:
        if "config_id" not in frame or not len(rows):
            return ""
        files = [str(Path(path) / "parts" / f"{frame['config_id'].iloc[int(r)]}.parquet") for r in list(rows)[:5]]
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        return f", which {'is the part' if len(rows) == 1 else 'are the parts'} {', '.join(files)}{more}"
    return origin
