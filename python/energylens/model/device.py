"""Evaluate a closed-form template on CUDA device arrays, without copies to the host.

Columns may be any object exposing ``__cuda_array_interface__`` (CuPy, PyTorch, Numba) or, when
CuPy is installed, DLPack (``__dlpack__``). Outputs are allocated with CuPy unless ``out`` gives two
device arrays. The kernel is the same formula as the CPU evaluator (one host/device header), so the
two agree to rounding; ``tests/gpu/test_device_parity.py`` checks it on a GPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from energylens import _core
from energylens.capabilities import capabilities
from energylens.errors import CudaUnavailableError, MissingExtraError

__all__ = ["evaluate_device", "features_to_device"]

_DTYPES = {"<f8": "float64", "<f4": "float32"}


def _interface(obj: Any, name: str) -> dict[str, Any]:
    cai = getattr(obj, "__cuda_array_interface__", None)
    on_host = hasattr(obj, "__dlpack_device__") and obj.__dlpack_device__()[0] == 1  # kDLCPU
    if cai is None and hasattr(obj, "__dlpack__") and not on_host:
        try:
            import cupy
        except ImportError:  # pragma: no cover - depends on the environment
            raise ValueError(f"column {name!r} is a DLPack object; install CuPy to pass DLPack, or pass an "
                             "object with __cuda_array_interface__") from None
        obj = cupy.from_dlpack(obj)
        cai = obj.__cuda_array_interface__
    if cai is None:
        raise ValueError(f"column {name!r} ({type(obj).__name__}) is not a CUDA device array: it has neither "
                         "__cuda_array_interface__ nor __dlpack__ (use EnergyModel.predict for host arrays)")
    shape = tuple(cai["shape"])
    if len(shape) != 1:
        raise ValueError(f"column {name!r} must be 1-D, got shape {shape}")
    typestr = cai["typestr"]
    if typestr not in _DTYPES:
        raise ValueError(f"column {name!r} has dtype {typestr}; float64 (<f8) or float32 (<f4) expected")
    strides = cai.get("strides")
    itemsize = int(typestr[-1])
    if strides is not None and tuple(strides) != (itemsize,) and shape[0] > 1:
        raise ValueError(f"column {name!r} is not contiguous (strides {strides})")
    return {"ptr": int(cai["data"][0]), "rows": shape[0], "dtype": _DTYPES[typestr], "keep": obj}


def evaluate_device(template: str, columns: Mapping[str, Any] | Sequence[Any], params: np.ndarray, *,
                    out: tuple[Any, Any] | None = None, stream: int = 0, synchronize: bool = True):
    """Evaluate ``template`` ("energy" or "latency") on device columns; returns the two outputs.

    Args:
        columns: feature name -> device array (all the template's features), or a sequence in the
            template's feature order. All float64 or all float32, same length.
        params: the template's parameters (host array).
        out: two device arrays to write into; allocated with CuPy when omitted.
        stream: a ``cudaStream_t`` as an integer (0: the legacy default stream).
        synchronize: wait for the kernel before returning (default); otherwise keep ``columns`` and
            ``out`` alive until the stream has finished.

    Returns:
        The two output device arrays: ``"energy"``: prefill and decode energy per request (J); ``"latency"``:
        TTFT and TPOT (s).

    Raises:
        ValueError: a missing column, or columns that are not 1-D contiguous device arrays of one float dtype
            and length (the message names the column).
        CudaUnavailableError: no usable CUDA device, or ``out`` omitted without CuPy to allocate it.
    """
    desc = _core.describe_template(template)
    names = desc.feature_names
    if isinstance(columns, Mapping):
        missing = [n for n in names if n not in columns]
        if missing:
            raise ValueError(f"device columns missing for features {missing}")
        seq = [columns[n] for n in names]
    else:
        seq = list(columns)
        if len(seq) != len(names):
            raise ValueError(f"{desc.id} needs {len(names)} device columns, got {len(seq)}")
    infos = [_interface(c, n) for c, n in zip(seq, names, strict=True)]
    rows = infos[0]["rows"]
    dtype = infos[0]["dtype"]
    for info, n in zip(infos, names, strict=True):
        if info["rows"] != rows:
            raise ValueError(f"column {n!r} has {info['rows']} rows, {names[0]!r} has {rows} (single-value "
                             "columns broadcast only on the host path; on the device pass cupy.full(rows, value))")
        if info["dtype"] != dtype:
            raise ValueError(f"column {n!r} is {info['dtype']}, {names[0]!r} is {dtype}: use one dtype")
    if out is None:
        try:
            import cupy
        except ImportError:
            raise CudaUnavailableError("no output arrays given and CuPy is not installed to allocate them; "
                                       "pass out=(device_array, device_array)") from None
        out = (cupy.empty(rows, dtype=dtype), cupy.empty(rows, dtype=dtype))
    o = [_interface(a, f"out[{i}]") for i, a in enumerate(out)]
    for info in o:
        if info["rows"] != rows or info["dtype"] != dtype:
            raise ValueError(f"output arrays must be {dtype} with {rows} rows")
    _core.evaluate_device(template, [i["ptr"] for i in infos], rows, np.asarray(params, dtype=np.float64),
                          o[0]["ptr"], o[1]["ptr"], dtype, int(stream), bool(synchronize))
    return out[0], out[1]


def features_to_device(features: Mapping[str, np.ndarray], template: str = "energy", dtype: str = "float64"):
    """Copy host features (``energylens.profiles.features.build_features``) to CuPy device arrays.

    Raises:
        MissingExtraError: CuPy is not installed (the message names the wheel for this build's CUDA).
    """
    try:
        import cupy
    except ImportError:
        major = (capabilities().cuda_runtime_version or "13").split(".")[0]
        raise MissingExtraError(f"features_to_device needs CuPy, which is not installed: pip install cupy-cuda{major}x "
                                f"(the wheel for CUDA {major}, this build's runtime), or pass device arrays of your own "
                                "to evaluate_device") from None

    names = _core.describe_template(template).feature_names
    return {n: cupy.asarray(np.ascontiguousarray(features[n], dtype=dtype)) for n in names}
