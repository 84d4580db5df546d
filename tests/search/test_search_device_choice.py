"""``search(device="cuda")`` without a usable GPU says so in the user's words. On a machine with no NVIDIA driver
the native device pass failed at its first allocation with the CUDA runtime's own text ("cudaMalloc failed:
cudaErrorInsufficientDriver: CUDA driver version is insufficient ..."), after the model was fitted, while
``energylens doctor`` said "no NVIDIA driver". Now the capabilities probe doctor reads is asked before any work:
the CudaUnavailableError names the option, what is missing and that device='cpu' (the default) works."""

import dataclasses

import pandas as pd
import pytest

import energylens
from energylens.errors import CudaUnavailableError
from energylens.search import device as search_device
from energylens.search.api import bundled_model, native_options, run_engine
from energylens.search.space import build_space

L8 = "meta-llama/Llama-3.1-8B-Instruct"
NO_GPU = energylens.capabilities().cuda_devices == 0
CLEAR = r"device='cuda': no usable NVIDIA GPU / driver: .*device='cpu', the default \(the OpenMP engine"


def _caps(**fields):
    """This machine's capabilities with ``fields`` replaced (a machine of another kind)."""
    return dataclasses.replace(energylens.capabilities(), **fields)


@pytest.mark.skipif(not NO_GPU, reason="a CUDA device is present (tests/gpu/test_search_device.py runs the pass)")
def test_no_gpu_here_is_said_before_the_model_is_read(tmp_path):
    """Before the model (a missing file here) is read or the bundled one fitted: the probe answers first."""
    with pytest.raises(CudaUnavailableError, match=CLEAR) as info:
        energylens.search(L8, "H100", input_tokens=512, output_tokens=256, device="cuda",
                          energy_model=tmp_path / "no-such-model.json")
    assert "cudaMalloc" not in str(info.value)


@pytest.mark.parametrize(("fields", "reason"), [
    (dict(cuda_devices=0, cuda_built=True, cuda_driver_version="", driver_version="", nvml_available=False,
          cuda_reason="cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version"),
     "no NVIDIA driver on this machine"),  # (NVML pinned too: on a GPU machine it loads, and that is another case)
    (dict(cuda_devices=0, cuda_built=False, cuda_driver_version="", driver_version="", cuda_reason=""),
     "this energylens build has no CUDA part"),
    (dict(cuda_devices=0, cuda_built=True, cuda_driver_version="12.4", driver_version="550.54",
          cuda_reason="cudaErrorNoDevice: no CUDA-capable device is detected"),
     "no usable NVIDIA GPU (cudaErrorNoDevice: no CUDA-capable device is detected)"),
    # doctor's words for the cases the runtime misnames (capabilities.cuda_devices_note)
    (dict(cuda_devices=0, cuda_built=True, cuda_driver_version="", driver_version="570.86", nvml_available=True,
          cuda_reason="cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version"),
     "the NVIDIA driver 570.86 answers through NVML, but the CUDA runtime cannot load its CUDA library libcuda.so.1"),
    (dict(cuda_devices=0, cuda_built=True, cuda_driver_version="12.8", driver_version="570.86",
          cuda_runtime_version="13.0",
          cuda_reason="cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version"),
     "the NVIDIA driver 570.86 supports CUDA 12.8, older than this build's CUDA runtime 13.0"),
])
def test_each_kind_of_missing_gpu_is_named(monkeypatch, fields, reason):
    """Any machine (one with a GPU too): the probe's answer decides, and the words follow doctor's."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(search_device, "capabilities", lambda: _caps(**fields))
    with pytest.raises(CudaUnavailableError, match=CLEAR) as info:
        energylens.search(L8, "H100", input_tokens=512, output_tokens=256, device="cuda", bootstrap=False,
                          energy_model=bundled_model())
    assert f"GPU / driver: {reason}" in str(info.value)


@pytest.mark.skipif(not NO_GPU, reason="a CUDA device is present")
def test_run_engine_words_the_native_failure_and_keeps_it_as_the_cause():
    """run_engine lets the native pass check its options first (a bad one is named on any machine), then words
    the pass's own CudaUnavailableError as search() does, the native text kept as the cause."""
    model = bundled_model()
    space = build_space(L8, "H100", input_tokens=512, output_tokens=256)
    with pytest.raises(ValueError, match="device_front_points must be"):
        run_engine(space, model.theta, model.latency_model.theta, dict(native_options(top=5), device_front_points=99),
                   device="cuda")
    with pytest.raises(CudaUnavailableError, match=CLEAR) as info:
        run_engine(space, model.theta, model.latency_model.theta, native_options(top=5), device="cuda")
    assert isinstance(info.value.__cause__, CudaUnavailableError)


def test_argument_errors_come_before_the_probe(monkeypatch):
    """A bad device name and an explicit candidate list on the GPU are argument errors on any machine."""
    monkeypatch.setattr(search_device, "capabilities", lambda: _caps(cuda_devices=0, cuda_driver_version="",
                                                                      driver_version=""))
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', got 'gpu'"):
        energylens.search(L8, "H100", input_tokens=512, output_tokens=256, device="gpu")
    table = pd.DataFrame([dict(model=L8, gpu="H100", tp=1, batch_size=8, input_tokens=512, output_tokens=256)])
    with pytest.raises(ValueError, match="explicit candidate list runs on the CPU engine"):
        energylens.search(candidates=table, device="cuda")
