"""A sweep without sweep.gpu on a machine whose NVML sees no GPU (a CPU box trying --power-source synthetic) records
each row's gpu as the device it ran on, 'cpu', and `energylens fit` then refused every row ("unknown GPU 'cpu'");
nothing said so before the sweep had run. The start line (and --dry-run) now says it, naming sweep.gpu."""

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
