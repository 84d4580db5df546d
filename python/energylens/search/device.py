"""Which engine runs a search: ``device="cpu"`` (the OpenMP engine, the default) or ``device="cuda"`` (the
fixed-batch pass on an NVIDIA GPU).

Without a usable GPU the native device pass failed at its first allocation with the CUDA runtime's own words
("cudaMalloc failed: cudaErrorInsufficientDriver: ...", on a machine with no driver at all), while ``energylens
doctor`` said "no NVIDIA driver". :func:`check_device` asks :func:`energylens.capabilities` (the probe doctor
reads) before the model is fitted, and :func:`cuda_errors` words a failure of the native pass the same way, so
the user reads what is missing, the option at fault and that ``device="cpu"`` runs the same search.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from energylens.capabilities import Capabilities, capabilities
from energylens.errors import CudaUnavailableError

__all__ = ["DEVICES", "check_device", "cuda_errors", "unavailable_reason"]

#: The engines a search runs on.
DEVICES = ("cpu", "cuda")


def unavailable_reason(caps: Capabilities) -> str | None:
    """Why this process cannot run the device pass (None when a CUDA device is usable), in ``energylens doctor``'s
    words (:meth:`Capabilities.cuda_devices_note`): no driver at all, a driver whose libcuda.so.1 the runtime
    cannot load, a driver older than the built-in runtime, a ``CUDA_VISIBLE_DEVICES`` hiding the GPUs, each with
    its fix, not as the runtime's complaint that the absent driver is too old."""
    if caps.cuda_devices > 0:
        return None
    if not caps.cuda_built:
        return "this energylens build has no CUDA part (it was built without nvcc)"
    note = caps.cuda_devices_note().split("<- ", 1)[-1]
    if note == caps.cuda_reason:  # the runtime's own reason, nothing doctor adds
        return f"no usable NVIDIA GPU ({caps.cuda_reason or 'the CUDA runtime found no device'})"
    return note


def _message(reason: str) -> str:
    return (f"device='cuda': no usable NVIDIA GPU / driver: {reason} (`energylens doctor` shows what was found). "
            "device='cpu', the default (the OpenMP engine on this machine's CPUs), runs the same search")


def check_device(device, explicit_candidates: bool = False, probe: bool = True) -> None:
    """``device`` is one of :data:`DEVICES`; an explicit candidate list runs on the CPU engine only; and with
    ``probe``, ``"cuda"`` needs a usable GPU (:class:`CudaUnavailableError` saying so before any work is done).
    ValueError naming the option otherwise."""
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and explicit_candidates:
        raise ValueError("an explicit candidate list runs on the CPU engine (device='cpu')")
    reason = unavailable_reason(capabilities()) if device == "cuda" and probe else None
    if reason is not None:
        raise CudaUnavailableError(_message(reason))


@contextlib.contextmanager
def cuda_errors() -> Iterator[None]:
    """Around the native device pass (which checks its options first, so a bad option is named on any machine):
    its CudaUnavailableError worded as :func:`check_device` words it where the probe finds no usable GPU; the
    native message is kept where one is present (the pass failed for another reason) and chained as the cause."""
    try:
        yield
    except CudaUnavailableError as exc:
        reason = unavailable_reason(capabilities())
        if reason is None:
            raise
        raise CudaUnavailableError(_message(reason)) from exc
