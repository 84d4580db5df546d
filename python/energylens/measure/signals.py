"""Signal naming: one table that says, for every native signal (``_core.signal_names()``), which
``Trace.samples.source`` it is recorded as, whether it carries power or energy, and which NVML/DCGM
source emits it. Every other mapping (native source name -> trace source, trace rows -> native
signal ids for replay) is derived from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energylens import _core

__all__ = ["SignalInfo", "SIGNALS", "SIGNAL_TO_SOURCE", "signal_sources", "trace_source_of", "signal_ids"]


@dataclass(frozen=True)
class SignalInfo:
    """One native signal.

    Attributes:
        signal: the native name (``energylens::signal_name``), e.g. ``"sample_buffer"``.
        source: the ``Trace.samples.source`` value it is recorded as, e.g. ``"nvml_samples"``.
        quantity: ``"power"`` (``power_w``) or ``"energy"`` (a cumulative counter in ``energy_j``).
        device_source: the name of the NVML/DCGM ``PowerSource`` that emits it. The synthetic source
            imitating it is named ``"synthetic_" + signal``.
    """

    signal: str
    source: str
    quantity: str
    device_source: str


#: The table, in native signal-id order.
SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo("sample_buffer", "nvml_samples", "power", "nvml_sample_buffer"),
    SignalInfo("instant", "nvml_instant", "power", "nvml_instant"),
    SignalInfo("average", "nvml_average", "power", "nvml_power_usage"),
    SignalInfo("energy_counter", "nvml_energy", "energy", "nvml_energy_counter"),
    SignalInfo("dcgm_power", "dcgm", "power", "dcgm"),
    SignalInfo("dcgm_energy", "dcgm", "energy", "dcgm"),
)

if tuple(s.signal for s in SIGNALS) != tuple(_core.signal_names()):  # pragma: no cover - build mismatch
    raise ImportError(f"energylens.measure.signals lists {[s.signal for s in SIGNALS]} but the native core "
                      f"has {list(_core.signal_names())}: rebuild the extension")

#: Native signal name -> ``Trace.samples.source`` value.
SIGNAL_TO_SOURCE: dict[str, str] = {s.signal: s.source for s in SIGNALS}

_BY_SIGNAL = {s.signal: s for s in SIGNALS}
_ID = {s.signal: i for i, s in enumerate(SIGNALS)}
# Trace sources no native signal records as (synthetic_trace / user tables): power rows replay as
# the instant signal, energy-only rows as the energy counter.
_GENERIC = ("instant", "energy_counter")


def signal_sources() -> np.ndarray:
    """``Trace`` source of each native signal id (object array, index = signal id)."""
    return np.asarray([s.source for s in SIGNALS], dtype=object)


def trace_source_of(source_name: str) -> str | None:
    """The ``Trace`` source of a native ``PowerSource`` name (``"nvml_sample_buffer"`` ->
    ``"nvml_samples"``, ``"synthetic_instant"`` -> ``"nvml_instant"``); None for ``"replay"`` and
    unknown names."""
    for s in SIGNALS:
        if source_name == s.device_source:
            return s.source
    if source_name.startswith("synthetic_"):
        info = _BY_SIGNAL.get(source_name[len("synthetic_"):])
        return info.source if info is not None else None
    return None


def _ids_for(source: str) -> tuple[int, int]:
    """(signal id of a power row, signal id of an energy-only row) recorded as ``source``."""
    mine = [s for s in SIGNALS if s.source == source]
    if not mine:
        return _ID[_GENERIC[0]], _ID[_GENERIC[1]]
    if len(mine) == 1:
        return _ID[mine[0].signal], _ID[mine[0].signal]
    power = next(s for s in mine if s.quantity == "power")
    energy = next(s for s in mine if s.quantity == "energy")
    return _ID[power.signal], _ID[energy.signal]


def signal_ids(source: np.ndarray, power_w: np.ndarray) -> np.ndarray:
    """Native signal ids (int32) for ``Trace`` sample rows (the inverse of :data:`SIGNAL_TO_SOURCE`):
    a row recorded as a source with one signal gets that signal; ``dcgm`` rows are ``dcgm_power``
    when they carry power, else ``dcgm_energy``; other sources (``synthetic``, ``replay``) replay as
    ``instant`` power or, without power, as the ``energy_counter``."""
    names = np.asarray(source, dtype=object).astype(str)
    uniq, inverse = np.unique(names, return_inverse=True)
    ids = np.array([_ids_for(u) for u in uniq], dtype=np.int32).reshape(-1, 2)
    has_power = np.isfinite(np.asarray(power_w, dtype=np.float64))
    return np.where(has_power, ids[inverse, 0], ids[inverse, 1]).astype(np.int32) if names.size \
        else np.empty(0, np.int32)
