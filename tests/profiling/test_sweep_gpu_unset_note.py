"""A sweep without sweep.gpu on a machine whose NVML sees no GPU (a CPU box trying --power-source synthetic) records
each row's gpu as the device it ran on, 'cpu', and `energylens fit` then refused every row ("unknown GPU 'cpu'");
nothing said so before the sweep had run. The start line (and --dry-run) now says it, naming sweep.gpu.

The sweep.gpu note of a machine whose NVML sees no GPU (start_notes.gpu_name_note) said each row records 'cpu'
and that `energylens fit` refuses the rows; but a unit's row records the device torch names
(worker.run_in_process: torch.cuda.get_device_name()), so on ROCm, or in a container with CUDA and no NVML, the
rows record the GPU's name ('AMD Instinct MI300X', which the GPU table prices). The note now says 'cpu' only where
torch sees no GPU either, and says nothing where energylens's own CUDA runtime sees a device (the rows record its
name). Both start notes read NVML's reason through one parse."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from energylens.cli.main import main
from energylens.profiling import load_spec, run_sweep, start_notes, worker
from energylens.profiling import runner as runner_mod

NO_NVML = SimpleNamespace(nvml_available=False, nvml_reason="libnvidia-ml.so.1: cannot open shared object file",
                          cuda_devices=0)


def _spec(tmp_path, gpu: str = ""):
    model = tmp_path / "m"
    model.mkdir(exist_ok=True)
    (model / "model.safetensors").write_bytes(bytes(8))
    (model / "config.json").write_text('{"num_attention_heads": 2}')
    p = tmp_path / "sweep.toml"
    p.write_text(f"[sweep]\nbackend = 'transformers'\n{gpu}\n[grid]\nmodels = ['{model}']\nmax_num_seqs = [1]\n"
                 "input_len = [8]\noutput_len = [4]\n")
    return p


@pytest.fixture
def no_nvml(monkeypatch):
    monkeypatch.setattr(start_notes, "capabilities", lambda: NO_NVML)
    monkeypatch.setattr(runner_mod, "check_local_backend", lambda *a: None)
    monkeypatch.setattr(worker, "run_in_process", lambda cfg, ps: worker.base_row(cfg, ps) | {
        "config_id": cfg.config_id, "status": "ok", "error": "", "wall_s": 0.1, "gpu": "cpu"})


def test_the_start_line_says_the_rows_will_record_cpu(tmp_path, no_nvml):
    p, out = _spec(tmp_path), io.StringIO()
    run_sweep(load_spec(p), str(tmp_path / "s"), power_source="synthetic:200", out=out)
    first = out.getvalue().splitlines()[0]
    assert first.startswith(f"sweep sweep.toml: note: {p}:1: key 'sweep.gpu': not set, and NVML sees no GPU here"), first
    assert "'cpu'" in first and "energylens fit" in first and 'gpu = "H100"' in first


def test_no_note_where_sweep_gpu_is_set_or_the_units_run_elsewhere(tmp_path, no_nvml, monkeypatch):
    out = io.StringIO()
    run_sweep(load_spec(_spec(tmp_path, 'gpu = "H100"')), str(tmp_path / "s"), power_source="synthetic:200", out=out)
    assert ": note:" not in out.getvalue()
    assert start_notes.gpu_name_note(load_spec(_spec(tmp_path)), local=False) == ""
    monkeypatch.setattr(start_notes, "capabilities", lambda: SimpleNamespace(nvml_available=True, nvml_reason=""))
    assert start_notes.gpu_name_note(load_spec(_spec(tmp_path))) == ""


def test_dry_run_says_it_too(tmp_path, no_nvml, capsys):
    assert main(["profile", str(_spec(tmp_path)), "-o", str(tmp_path / "s"), "--dry-run",
                 "--power-source", "synthetic:200"]) == 0
    assert "key 'sweep.gpu': not set, and NVML sees no GPU here" in capsys.readouterr().err


REASON = ("cannot load NVML (libnvidia-ml.so.1): no such file. Fix: install the NVIDIA driver\n"
          "second line of the loader's message")


def _caps(devices: int) -> SimpleNamespace:
    return SimpleNamespace(nvml_available=False, nvml_reason=REASON, cuda_devices=devices)


def test_without_nvml_or_cuda_the_note_says_cpu_only_where_torch_sees_no_gpu_either(tmp_path, monkeypatch):
    monkeypatch.setattr(start_notes, "capabilities", lambda: _caps(0))
    note = start_notes.gpu_name_note(load_spec(_spec(tmp_path)))
    assert "key 'sweep.gpu': not set, and NVML sees no GPU here (cannot load NVML (libnvidia-ml.so.1): no such " \
           "file)" in note, note
    assert "'cpu' where torch sees no GPU either, which `energylens fit` refuses" in note, note
    assert "ROCm" in note and "torch.cuda.get_device_name()" in note, note
    assert 'gpu = "H100"' in note, note


def test_no_note_where_cuda_sees_a_gpu_nvml_does_not(tmp_path, monkeypatch):
    monkeypatch.setattr(start_notes, "capabilities", lambda: _caps(1))
    assert start_notes.gpu_name_note(load_spec(_spec(tmp_path))) == ""


@pytest.mark.parametrize("devices", [0, 1])
def test_both_notes_quote_one_reading_of_nvmls_reason(devices, monkeypatch):
    monkeypatch.setattr(start_notes, "capabilities", lambda: _caps(devices))
    note = start_notes.power_source_note("nvml", local=True)
    assert note.startswith("power source nvml, NOT AVAILABLE here (cannot load NVML (libnvidia-ml.so.1): no such "
                           "file. Fix: install the NVIDIA driver): rows get timings only"), note
