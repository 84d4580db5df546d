"""The sweep.gpu note of a machine whose NVML sees no GPU (start_notes.gpu_name_note) said each row records 'cpu'
and that `energylens fit` refuses the rows; but a unit's row records the device torch names
(worker.run_in_process: torch.cuda.get_device_name()), so on ROCm, or in a container with CUDA and no NVML, the
rows record the GPU's name ('AMD Instinct MI300X', which the GPU table prices). The note now says 'cpu' only where
torch sees no GPU either, and says nothing where energylens's own CUDA runtime sees a device (the rows record its
name). Both start notes read NVML's reason through one parse."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from energylens.profiling import load_spec, start_notes

REASON = ("cannot load NVML (libnvidia-ml.so.1): no such file. Fix: install the NVIDIA driver\n"
          "second line of the loader's message")


def _caps(devices: int) -> SimpleNamespace:
    return SimpleNamespace(nvml_available=False, nvml_reason=REASON, cuda_devices=devices)


def _spec(tmp_path):
    model = tmp_path / "m"
    model.mkdir(exist_ok=True)
    (model / "model.safetensors").write_bytes(bytes(8))
    (model / "config.json").write_text('{"num_attention_heads": 2}')
    p = tmp_path / "sweep.toml"
    p.write_text(f"[sweep]\nbackend = 'transformers'\n[grid]\nmodels = ['{model}']\nmax_num_seqs = [1]\n"
                 "input_len = [8]\noutput_len = [4]\n")
    return load_spec(p)


def test_without_nvml_or_cuda_the_note_says_cpu_only_where_torch_sees_no_gpu_either(tmp_path, monkeypatch):
    monkeypatch.setattr(start_notes, "capabilities", lambda: _caps(0))
    note = start_notes.gpu_name_note(_spec(tmp_path))
    assert "key 'sweep.gpu': not set, and NVML sees no GPU here (cannot load NVML (libnvidia-ml.so.1): no such " \
           "file)" in note, note
    assert "'cpu' where torch sees no GPU either, which `energylens fit` refuses" in note, note
    assert "ROCm" in note and "torch.cuda.get_device_name()" in note, note
    assert 'gpu = "H100"' in note, note


def test_no_note_where_cuda_sees_a_gpu_nvml_does_not(tmp_path, monkeypatch):
    monkeypatch.setattr(start_notes, "capabilities", lambda: _caps(1))
    assert start_notes.gpu_name_note(_spec(tmp_path)) == ""


@pytest.mark.parametrize("devices", [0, 1])
def test_both_notes_quote_one_reading_of_nvmls_reason(devices, monkeypatch):
    monkeypatch.setattr(start_notes, "capabilities", lambda: _caps(devices))
    note = start_notes.power_source_note("nvml", local=True)
    assert note.startswith("power source nvml, NOT AVAILABLE here (cannot load NVML (libnvidia-ml.so.1): no such "
                           "file. Fix: install the NVIDIA driver): rows get timings only"), note
