"""Kernel-boundary timestamps on the sampler's steady clock.

- :class:`KernelTracer`: CUPTI's activity API (libcupti, dlopen'd; ships with the CUDA toolkit)
  records every kernel, memcpy and memset with its GPU start and end; GPU timestamps are mapped onto
  the steady clock by bracketing reads. Without CUPTI (or without a driver) ``start()`` raises
  :class:`~energylens.errors.CuptiUnavailableError` with the loader's or CUPTI's own message.
- :class:`StreamMarks`: a lighter path: CUDA events recorded into a stream, resolved to steady-clock
  times (resolution ~0.5 us). Raises :class:`~energylens.errors.CudaUnavailableError` without CUDA.

Both return tables in the :class:`~energylens.measure.trace.Trace` schema (``kernels``: gpu, start_ns,
end_ns, name, kind; ``marks``: t_ns, label).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from energylens import _core
from energylens.capabilities import capabilities
from energylens.errors import CudaUnavailableError

if TYPE_CHECKING:  # pandas loads where a table is built: `energylens monitor` samples before it is imported
    import pandas as pd

__all__ = ["KernelTracer", "StreamMarks", "cupti_unavailable_reason"]


def cupti_unavailable_reason() -> str:
    """Why libcupti cannot be loaded (with the fix), or ``""`` when it loads. Never raises."""
    return str(_core.cupti_unavailable_reason())


def _kernels_frame(d: dict) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({
        "gpu": np.asarray(d["gpu"], np.int32),
        "start_ns": np.asarray(d["start_ns"], np.int64),
        "end_ns": np.asarray(d["end_ns"], np.int64),
        "name": np.asarray(d["name"], dtype=object),
        "kind": np.asarray(d["kind"], dtype=object),
    })


class KernelTracer:
    """Records kernels (and memcpy/memset) with CUPTI while started; one tracer per process.

    ``with KernelTracer() as kt: ...`` then ``kt.kernels`` holds the records as a DataFrame
    (``gpu`` = CUDA device ordinal, which is the sampler's GPU index when it samples every visible
    GPU). ``flush()`` returns the records completed so far while still recording.
    """

    def __init__(self, *, memcpy: bool = True, memset: bool = True) -> None:
        self.memcpy = bool(memcpy)
        self.memset = bool(memset)
        self._parts: list[pd.DataFrame] = []

    def start(self) -> KernelTracer:
        _core.cupti_enable(self.memcpy, self.memset)
        return self

    def flush(self) -> pd.DataFrame:
        """Records completed since the previous flush (also kept in :attr:`kernels`)."""
        part = _kernels_frame(_core.cupti_flush())
        self._parts.append(part)
        return part

    def stop(self) -> pd.DataFrame:
        """Stop recording; returns the records not yet flushed (all are in :attr:`kernels`)."""
        part = _kernels_frame(_core.cupti_disable())
        self._parts.append(part)
        return part

    @property
    def kernels(self) -> pd.DataFrame:
        """Every record so far."""
        if not self._parts:
            return _kernels_frame({"gpu": [], "start_ns": [], "end_ns": [], "name": [], "kind": []})
        import pandas as pd

        return pd.concat(self._parts, ignore_index=True)

    @property
    def dropped(self) -> int:
        """Records CUPTI dropped (its buffers were full)."""
        return int(_core.cupti_dropped())

    def __enter__(self) -> KernelTracer:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if _core.cupti_enabled():
            self.stop()


class StreamMarks:
    """Marks placed in a CUDA stream with events: ``record(label, stream)`` now, ``collect()`` later
    (it waits for the events) gives their steady-clock times."""

    def __init__(self) -> None:
        try:
            self._native = _core.StreamMarks()  # raises CudaUnavailableError without CUDA
        except CudaUnavailableError as e:
            # the runtime's own words for "no driver at all" are "driver version is insufficient": say why and the fix
            # (energylens doctor's note: no driver, a driver without its CUDA library, one too old for the runtime)
            note = capabilities().cuda_devices_note().partition("<-")[2].strip()
            if note and note not in str(e):
                raise CudaUnavailableError(f"stream marks need a CUDA device: {e}; {note}") from None
            raise

    def record(self, label: str, stream: int = 0) -> None:
        """Record ``label`` into ``stream`` (a ``cudaStream_t`` as int, e.g. ``torch.cuda.current_stream().cuda_stream``)."""
        self._native.record(_core.intern_label(label), int(stream))

    def collect(self) -> pd.DataFrame:
        """Wait for the recorded events; returns ``t_ns``, ``label``, ``gpu`` (and forgets them)."""
        import pandas as pd

        d = self._native.collect()
        labels = np.asarray(_core.mark_labels(), dtype=object)
        return pd.DataFrame({"t_ns": d["t_ns"], "label": labels[d["label_id"]] if d["label_id"].size
                             else np.empty(0, object), "gpu": d["gpu"]})

    @property
    def uncertainty_ns(self) -> int:
        """Half-width of the bracket that anchored the event clock to the steady clock."""
        return int(self._native.uncertainty_ns)
