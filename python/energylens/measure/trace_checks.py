"""The checks of a :class:`~energylens.measure.trace.Trace`'s values and ``meta`` that its column dtypes allow but
its readers do not: where a trace is made and where a saved one is read, each an EnergyLensError naming where
(``Trace`` or the file) and what is wrong."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from energylens.errors import EnergyLensError

if TYPE_CHECKING:  # pandas only for the hint: energylens monitor samples before it loads pandas (test_cli_startup)
    import pandas as pd

__all__ = ["check_values", "check_meta", "check_gpus"]


def check_values(table: str, df: pd.DataFrame, where: str) -> None:
    """EnergyLensError for values a table's dtypes allow but its readers do not (see the trace module's
    docstring): a negative or infinite reading, a negative gpu, a kernel ending before it starts."""
    if table == "samples" and len(df):  # NaN marks a missing reading; a negative or infinite one is a fault
        for name in ("power_w", "energy_j"):
            v = df[name].to_numpy()
            bad = np.isinf(v) | (v < 0)
            if bad.any():
                raise EnergyLensError(f"{where}: samples.{name} must be finite and >= 0 where present (NaN: not "
                                      f"read); rows {np.flatnonzero(bad)[:10].tolist()} hold "
                                      f"{v[bad][:5].tolist()}")
    if table != "marks" and len(df) and (df["gpu"].to_numpy() < 0).any():
        raise EnergyLensError(f"{where}: {table}.gpu must be >= 0 (a position in meta['gpus']); rows "
                              f"{np.flatnonzero(df['gpu'].to_numpy() < 0)[:10].tolist()} are negative")
    if table == "kernels" and len(df) and (df["end_ns"].to_numpy() < df["start_ns"].to_numpy()).any():
        bad_rows = np.flatnonzero(df["end_ns"].to_numpy() < df["start_ns"].to_numpy())[:10].tolist()
        raise EnergyLensError(f"{where}: kernels with end_ns < start_ns at rows {bad_rows}")


def check_meta(meta: dict, where: str, sources: tuple[str, ...]) -> None:
    """EnergyLensError naming the file for a ``meta`` whose ``gpus`` / ``update_period_s`` / ``averaging_window_s`` /
    ``hold_s`` are not what the readers of a trace expect (a list of objects; an object of seconds > 0 or nulls
    keyed by ``sources``: a key that is no source, ``{"instant": 0.025}``, was kept and never read)."""
    gpus = meta.get("gpus", [])
    if not isinstance(gpus, list) or not all(isinstance(g, dict) for g in gpus):
        raise EnergyLensError(f"{where}: trace meta 'gpus' must be a list of objects, got {type(gpus).__name__}")
    for key in ("update_period_s", "averaging_window_s", "hold_s"):  # (a "25ms" or a -0.1 failed later, naming nothing)
        periods = meta.get(key, {})
        if periods is None and key == "hold_s":  # (gaps.hold_limits reads a null hold_s as none stated)
            continue
        if not isinstance(periods, dict) or not all(
                v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0)
                for v in periods.values()):
            raise EnergyLensError(f"{where}: trace meta '{key}' must be an object of seconds > 0 (or null) per "
                                  f"source, got {periods!r}"[:300])
        unknown = [k for k in periods if k not in sources]
        if unknown:
            raise EnergyLensError(f"{where}: trace meta '{key}' names {unknown[0]!r}, which is no source: its "
                                  f"seconds would never be read. Key it by a samples source: {', '.join(sources)}")


def check_gpus(samples: pd.DataFrame, gpus: list[dict], where: str) -> None:
    """EnergyLensError where ``samples`` hold a gpu (a position in ``meta["gpus"]``) past the GPUs ``gpus`` lists,
    naming them: a one-GPU trace with readings on gpu 3 was made, saved and read back without a word. Nothing
    where ``gpus`` is empty (a trace listing no GPU: nothing to check against). Not ``kernels``, whose gpu is
    CUPTI's CUDA device ordinal (``energylens.measure.kernels``): a kernel on a GPU not sampled (``--gpus``) is
    recorded all the same, and refusing it would lose the whole recording at ``EnergyMonitor.trace()``."""
    gpu = samples["gpu"].to_numpy()
    bad = gpu >= len(gpus) if gpus else np.zeros(gpu.size, bool)
    if bad.any():
        held = ", ".join(map(str, np.unique(gpu[bad])[:10].tolist()))
        listed = ", ".join(f"{i} (index {g.get('index', '?')}, {g.get('name', '?')})" for i, g in enumerate(gpus))
        raise EnergyLensError(
            f"{where}: samples.gpu holds {held} at rows {np.flatnonzero(bad)[:10].tolist()}, but meta['gpus'] "
            f"lists {len(gpus)} GPU{'s' if len(gpus) != 1 else ''}: {listed}"[:600]
            + "; gpu is a position in meta['gpus'] (the device's own index goes in its 'index'): list every "
            "GPU the trace has there, or renumber gpu 0..n-1")
