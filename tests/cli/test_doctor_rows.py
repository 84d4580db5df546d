"""``energylens doctor`` on machines that are half set up: an NVML whose version calls fail, an NVIDIA
driver whose CUDA library cannot be loaded (a container given only the ``utility`` driver capability),
CUDA_VISIBLE_DEVICES hiding every GPU, a core dependency missing. Each row says what is wrong and the fix;
doctor exits 1 only when something required is broken.

The NVML cases load a stand-in libnvidia-ml (built here with the C compiler) through
ENERGYLENS_NVML_LIBRARY in a subprocess, since NVML is loaded once per process."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import energylens
from energylens.cli import doctor
from energylens.cli.main import main

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

#: A stand-in NVML: init succeeds, no GPU; FAKE_NVML_VERSION_RC makes the two version calls fail.
_FAKE_NVML = r"""
#include <stdio.h>
#include <stdlib.h>
static int version_rc(void) { const char* v = getenv("FAKE_NVML_VERSION_RC"); return v ? atoi(v) : 0; }
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
const char* nvmlErrorString(int rc) { return rc == 999 ? "Unknown Error" : "Some Error"; }
int nvmlSystemGetDriverVersion(char* v, unsigned n) {
  if (version_rc()) return version_rc();
  snprintf(v, n, "580.65.06"); return 0; }
int nvmlSystemGetNVMLVersion(char* v, unsigned n) {
  if (version_rc()) return version_rc();
  snprintf(v, n, "13.580.65.06"); return 0; }
int nvmlDeviceGetCount_v2(unsigned* c) { *c = 0; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void** d) { return 2; }
"""


@pytest.fixture(scope="module")
def fake_nvml(tmp_path_factory):
    if CC is None:
        pytest.skip("no C compiler to build the stand-in NVML")
    folder = tmp_path_factory.mktemp("doctor_nvml")
    (folder / "fake.c").write_text(_FAKE_NVML)
    out = folder / "libnvidia-ml.so.1"
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(out), str(folder / "fake.c")], check=True)
    return out


def _doctor(env_extra: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess:
    code = prelude + "\nimport sys\nfrom energylens.cli import main\nsys.exit(main(['doctor']))\n"
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def _row(out: str, key: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(key + " ")).split(":", 1)[1].strip()


def test_nvml_row_says_why_the_versions_are_missing(fake_nvml):
    """NVML loads and initialises but nvmlSystemGetDriverVersion fails: the row read 'yes, library ' (empty)
    and the reason capabilities() holds was not shown."""
    out = _doctor({"ENERGYLENS_NVML_LIBRARY": str(fake_nvml), "FAKE_NVML_VERSION_RC": "999"})
    assert out.returncode == 0, out.stderr
    nvml = _row(out.stdout, "NVML")
    assert "nvmlSystemGetDriverVersion failed: Unknown Error" in nvml, nvml
    assert not nvml.endswith("library")


def test_cuda_row_names_the_missing_cuda_library_when_nvml_sees_a_driver(fake_nvml):
    """NVML reports a driver but the CUDA runtime finds no libcuda.so.1 (this machine has none): the row
    read 'CUDA driver version is insufficient for CUDA runtime version', an upgrade of a driver that is there."""
    caps_code = "import energylens; c = energylens.capabilities(); print(c.cuda_built, c.cuda_driver_version)"
    probe = subprocess.run([sys.executable, "-c", caps_code], capture_output=True, text=True, check=True,
                           env={**os.environ, "ENERGYLENS_NVML_LIBRARY": str(fake_nvml)}).stdout.split()
    if probe != ["True"]:  # the CUDA part is not built in, or a real CUDA driver library is on this machine
        pytest.skip(f"needs the CUDA part built in and no libcuda.so.1 (capabilities: {probe})")
    out = _doctor({"ENERGYLENS_NVML_LIBRARY": str(fake_nvml)})
    assert out.returncode == 0, out.stderr
    row = _row(out.stdout, "CUDA devices")
    assert "driver version is insufficient" not in row, row
    assert "580.65.06" in row and "libcuda.so.1" in row and "NVIDIA_DRIVER_CAPABILITIES" in row, row


def test_cuda_row_names_cuda_visible_devices_when_it_hides_every_gpu(monkeypatch, capsys):
    """With a driver and GPUs, CUDA_VISIBLE_DEVICES="" makes the runtime say 'no CUDA-capable device is
    detected'; the row now names the variable that hid them."""
    caps = dataclasses.replace(energylens.capabilities(), cuda_built=True, cuda_devices=0,
                               cuda_reason="cudaErrorNoDevice: no CUDA-capable device is detected",
                               cuda_runtime_version="13.0", cuda_driver_version="13.0",
                               nvml_available=True, nvml_reason="", driver_version="580.65.06",
                               nvml_version="13.580.65.06")
    monkeypatch.setattr(doctor, "capabilities", lambda: caps)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert main(["doctor"]) == 0
    row = _row(capsys.readouterr().out, "CUDA devices")
    assert "no CUDA-capable device" in row and "CUDA_VISIBLE_DEVICES=''" in row, row
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert main(["doctor"]) == 0
    assert "CUDA_VISIBLE_DEVICES" not in _row(capsys.readouterr().out, "CUDA devices")


_BLOCK = textwrap.dedent("""
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "pyarrow":
                raise ModuleNotFoundError("No module named 'pyarrow'", name="pyarrow")  # as when absent
    sys.meta_path.insert(0, Block())
""")


def test_doctor_reports_a_missing_core_dependency_and_exits_1():
    """Without pyarrow, 'energylens doctor' (the command that should say what is missing) died in a
    traceback while importing its own modules; it now lists pyarrow as missing with the install and exits 1."""
    out = _doctor({}, prelude=_BLOCK)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr[-2000:])
    row = _row(out.stdout, "pyarrow")
    assert row.startswith("no") and 'pip install "pyarrow>=' in row, row
    assert _row(out.stdout, "numpy")[0].isdigit()               # what is there still shows its version
    assert "pyarrow" in _row(out.stdout, "expression kernels")  # rows that need the library say why not
    assert "required" in out.stderr


def test_doctor_exit_status_is_in_its_help(capsys):
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    text = " ".join(capsys.readouterr().out.lower().split())
    assert "exit status 0" in text and "1 when" in text


def test_doctor_exits_1_for_a_core_dependency_older_than_required(monkeypatch, capsys):
    pytest.importorskip("packaging")
    real = doctor.dist_version
    monkeypatch.setattr(doctor, "dist_version", lambda d: "1.0" if d == "pandas" else real(d))
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    row = _row(captured.out, "pandas")
    assert row.startswith("1.0  <- too old, energylens requires pandas>=") and "pip install -U" in row, row
    assert "required pandas" in captured.err


def test_vllm_row_says_image_video_only_with_pillow_too(monkeypatch, capsys):
    """A sweep with image / video prompts stops without Pillow (profiling.requirements); the vLLM row read
    'image/video too' whenever torchvision was there, and named no install for what was missing."""
    import importlib.util

    real = importlib.util.find_spec
    present = {"vllm", "torchvision"}

    def find_spec(name, *args, **kwargs):
        if name in ("vllm", "torchvision", "PIL"):
            return real("json") if name in present else None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert main(["doctor"]) == 0
    row = _row(capsys.readouterr().out, "profile backend vllm")
    assert "image/video too" not in row and "pip install pillow" in row, row
    present.add("PIL")
    assert main(["doctor"]) == 0
    assert "image/video too" in _row(capsys.readouterr().out, "profile backend vllm")
    present.discard("torchvision")
    assert main(["doctor"]) == 0
    row = _row(capsys.readouterr().out, "profile backend vllm")
    assert "text only" in row and "pip install torchvision" in row, row


def test_an_nvml_without_its_entry_points_is_named_with_its_file_and_what_it_lacks(tmp_path, monkeypatch):
    """A libnvidia-ml.so.1 found on LD_LIBRARY_PATH (a stale copy, a stub) that lacks the entry points read
    'NVML library libnvidia-ml.so.1 lacks nvmlInit/nvmlDeviceGetCount', naming neither the file the loader
    picked nor what it lacks (here nvmlInit is there, the others are not)."""
    if CC is None:
        pytest.skip("no C compiler to build the stand-in NVML")
    (tmp_path / "stub.c").write_text("int nvmlInit_v2(void) { return 0; }\n")
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(tmp_path / "libnvidia-ml.so.1"), str(tmp_path / "stub.c")],
                   check=True)
    # _doctor starts from os.environ: a caller's ENERGYLENS_NVML_LIBRARY would win over LD_LIBRARY_PATH.
    monkeypatch.delenv("ENERGYLENS_NVML_LIBRARY", raising=False)
    out = _doctor({"LD_LIBRARY_PATH": f"{tmp_path}:{os.environ.get('LD_LIBRARY_PATH', '')}"})
    assert out.returncode == 0, out.stderr
    nvml = _row(out.stdout, "NVML")
    assert str(tmp_path / "libnvidia-ml.so.1") in nvml, nvml
    assert "nvmlErrorString" in nvml and "nvmlDeviceGetHandleByIndex" in nvml and "nvmlInit" not in nvml.split("lacks")[1]


def test_cuda_built_in_no_says_how_to_build_it(monkeypatch, capsys):
    """A build without the CUDA part read 'CUDA built in : no' with no reason or fix, though the probe holds
    both (the native core's own words for such a build)."""
    reason = ("energylens was built without the CUDA part (nvcc not found at build time, or "
              "ENERGYLENS_ENABLE_CUDA=OFF); rebuild with nvcc on PATH")
    caps = dataclasses.replace(energylens.capabilities(), cuda_built=False, cuda_devices=0, cuda_reason=reason,
                               cuda_runtime_version="", cuda_driver_version="")
    monkeypatch.setattr(doctor, "capabilities", lambda: caps)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert _row(out, "CUDA built in") == f"no  <- {reason}"
    assert _row(out, "CUDA devices") == "0  <- the CUDA part is not built in (see CUDA built in)"


def test_a_core_dependency_that_fails_to_import_is_broken_not_missing(tmp_path):
    """An installed pyarrow whose import fails (a missing shared library, an ABI mismatch) reads 'broken'
    with the import's own message and a reinstall, and doctor exits 1."""
    (tmp_path / "pyarrow").mkdir()
    (tmp_path / "pyarrow" / "__init__.py").write_text(
        "raise ImportError('libarrow.so.2000: cannot open shared object file')\n")
    out = _doctor({"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    row = _row(out.stdout, "pyarrow")
    assert row.startswith("broken  <- import pyarrow failed: libarrow.so.2000") and "--force-reinstall" in row, row


def test_a_version_packaging_cannot_read_is_not_called_too_old(monkeypatch, capsys):
    """A local build's version label that is not PEP 440 read as 'too old' (packaging's contains() is False
    for it) and made doctor exit 1; it is shown as it is, not compared."""
    pytest.importorskip("packaging")
    real = doctor.dist_version
    monkeypatch.setattr(doctor, "dist_version", lambda d: "local-build" if d == "pandas" else real(d))
    assert main(["doctor"]) == 0
    assert _row(capsys.readouterr().out, "pandas") == "local-build"
