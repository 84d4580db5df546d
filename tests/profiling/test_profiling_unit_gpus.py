"""A unit's energy covers its own tp x pp x dp GPUs: the first that many the process sees (CUDA_VISIBLE_DEVICES,
Ray's reservation), measured against a stand-in libnvidia-ml with a known power (tests/measure/data/fake_nvml.c:
GPU g draws 100 + 100 g W plus 200 W every odd half second) loaded in a subprocess; the worker's subprocess
sees only the unit's GPUs. Needs a C compiler for the NVML part."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

import energylens
from energylens.profiling import meter as meter_mod
from energylens.profiling import parse_spec, worker
from energylens.profiling.meter import make_sampler, ordinal_mapping_problem
from energylens.profiling.worker import unit_visible_devices

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler to build the stand-in NVML")

SCRIPT = r"""
import json, sys, time
from energylens.profiling.meter import Meter, make_sampler
try:
    sampler, label = make_sampler("nvml", int(sys.argv[1]))
except ValueError as e:
    print(json.dumps({"error": str(e)}))
    raise SystemExit
out = {"label": label, "gpus": None if sampler is None else [g["index"] for g in sampler.meta["gpus"]]}
if sampler is not None and len(sys.argv) > 2:
    with Meter(sampler, label) as m:
        with m.span("w") as s:
            time.sleep(1.0)
    out["power_w"] = s.energy_j / s.duration_s
print(json.dumps(out))
"""


def _env(fake, visible=None, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")}
    env.update(ENERGYLENS_NVML_LIBRARY=str(fake), **extra)
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    return env


def _sample(fake, n_gpus, visible=None, power=False):
    args = [sys.executable, "-c", SCRIPT, str(n_gpus)] + (["power"] if power else [])
    out = subprocess.run(args, capture_output=True, text=True, env=_env(fake, visible), timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_cc
def test_nvml_energy_covers_the_units_gpus_only(fake_nvml):
    """Before, a 1-GPU unit on this 2-GPU host was charged both GPUs (500 W instead of GPU 0's 200 W)."""
    one = _sample(fake_nvml, 1, power=True)
    assert one["label"] == "nvml" and one["gpus"] == [0]
    assert 150.0 < one["power_w"] < 250.0  # GPU 0: 100 W + 200 W half the time
    assert _sample(fake_nvml, 2)["gpus"] == [0, 1]


@needs_cc
@pytest.mark.parametrize(("visible", "n_gpus", "expected"), [
    ("1", 1, [1]),                      # Ray's reservation of GPU 1 (its CUDA_VISIBLE_DEVICES)
    ("1,0", 1, [1]),                    # the first device the process sees
    ("1,0", 2, [1, 0]),
    ("GPU-fa4e0001", 1, [1]),           # a UUID (prefix), as nvidia-smi -L prints it
])
def test_cuda_visible_devices_decides_the_units_gpus(fake_nvml, visible, n_gpus, expected):
    assert _sample(fake_nvml, n_gpus, visible)["gpus"] == expected


@needs_cc
def test_too_few_visible_gpus_fail_the_unit_and_none_visible_measures_time_only(fake_nvml):
    got = _sample(fake_nvml, 2, "1")
    assert got["error"].startswith("the unit runs on 2 GPUs (tp x pp x dp) but this process sees 1")
    assert "CUDA_VISIBLE_DEVICES='1'" in got["error"]
    none = _sample(fake_nvml, 1, "")
    assert none["gpus"] is None and none["label"] == "none (no GPU visible: CUDA_VISIBLE_DEVICES='')"
    assert "names a MIG instance" in _sample(fake_nvml, 1, "MIG-0123")["error"]  # not passed off as no GPU
    # through the worker: a failed row saying why, not a crashed worker
    code = ("import json\nfrom energylens.profiling import parse_spec\nfrom energylens.profiling.worker import "
            "run_in_process\ncfg = parse_spec({'sweep': {'backend': 'vllm'}, 'grid': {'models': ['m'], 'tp': [2], "
            "'max_num_seqs': [1], 'input_len': [4], 'output_len': [2]}}).configs()[0]\n"
            "row = run_in_process(cfg, 'nvml')\nprint(json.dumps({'status': row['status'], 'error': row['error']}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(fake_nvml, "1"), timeout=120)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["status"] == "failed" and "the unit runs on 2 GPUs" in row["error"], out.stderr


FAKE_LIBCUDA_C = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void loaded(void) {  /* the CUDA runtime dlopens libcuda.so.1 when asked */
  const char* path = getenv("FAKE_CUDA_MARKER");
  FILE* f = path ? fopen(path, "a") : NULL;
  if (f) { fputs("loaded\n", f); fclose(f); }
}
"""


@needs_cc
def test_a_unit_sampler_leaves_the_cuda_driver_alone(fake_nvml, tmp_path):
    """make_sampler and the row's driver column asked the CUDA runtime (UUIDs, device count), initialising the
    CUDA driver in the worker before vllm.LLM forked its engine core, whose CUDA then fails. A stand-in
    libcuda.so.1 records whether anything loads it; the control (capabilities(), which asks the runtime) must."""
    if not energylens.capabilities().cuda_built:
        pytest.skip("the CUDA runtime is not built in: nothing here could load libcuda")
    (tmp_path / "fake_cuda.c").write_text(FAKE_LIBCUDA_C)
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(tmp_path / "libcuda.so.1"), str(tmp_path / "fake_cuda.c")],
                   check=True)

    def loads_libcuda(code: str) -> bool:
        marker = tmp_path / "marker.txt"
        marker.unlink(missing_ok=True)
        env = _env(fake_nvml, "1", LD_LIBRARY_PATH=str(tmp_path), FAKE_CUDA_MARKER=str(marker))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        return marker.exists()

    assert not loads_libcuda("from energylens.profiling.meter import make_sampler\n"
                             "from energylens.profiling.worker import _driver\n"
                             "s, label = make_sampler('nvml', 1)\nassert label == 'nvml' and s is not None\n_driver()")
    assert loads_libcuda("import energylens\nenergylens.capabilities()")


def test_mixed_gpu_models_without_a_known_order_are_refused(monkeypatch):
    """Integers in CUDA_VISIBLE_DEVICES count in CUDA's order (fastest first by default), NVML in PCI bus
    order; without the CUDA runtime to match UUIDs, a host of mixed models has no known mapping: say so."""
    monkeypatch.setattr(meter_mod, "capabilities", lambda: SimpleNamespace(cuda_devices=0))
    gpus = [SimpleNamespace(name="NVIDIA T4"), SimpleNamespace(name="NVIDIA A100")]
    monkeypatch.setattr(meter_mod, "_all_nvml_gpus", lambda: gpus)
    monkeypatch.setattr(meter_mod, "_core", SimpleNamespace(nvml_gpus=lambda requested: gpus))
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    problem = ordinal_mapping_problem(1)
    assert "mixes GPU models (NVIDIA A100, NVIDIA T4)" in problem and "CUDA_DEVICE_ORDER=PCI_BUS_ID" in problem
    with pytest.raises(ValueError, match="cannot tell which GPUs the unit runs on"):
        make_sampler("nvml", 1)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert ordinal_mapping_problem(1)  # unset: CUDA's first devices, just as unknown
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-1234,GPU-5678")
    assert ordinal_mapping_problem(2) == ""  # UUIDs name the GPUs
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    assert ordinal_mapping_problem(1) == ""  # CUDA counts in NVML's order
    monkeypatch.delenv("CUDA_DEVICE_ORDER")
    gpus[0] = SimpleNamespace(name="NVIDIA A100")
    assert ordinal_mapping_problem(1) == ""  # one model: bus order either way
    gpus[0] = SimpleNamespace(name="NVIDIA T4")
    monkeypatch.setattr(meter_mod, "capabilities", lambda: SimpleNamespace(cuda_devices=2))
    assert ordinal_mapping_problem(1) == ""  # the native layer matches CUDA's devices to NVML's by UUID


def test_unit_visible_devices_keeps_the_first_n_in_cudas_order():
    assert unit_visible_devices(2, None) == "0,1"
    assert unit_visible_devices(1, "3, 1") == "3"
    assert unit_visible_devices(2, "GPU-a,GPU-b,GPU-c") == "GPU-a,GPU-b"
    assert unit_visible_devices(4, "2,3") == "2,3"  # too few: the worker's meter says so
    assert unit_visible_devices(1, "") == ""  # none stays none


def test_the_worker_subprocess_sees_only_the_units_gpus(monkeypatch):
    seen = {}

    class FakePopen:
        def __init__(self, cmd, env=None, **kw):
            seen["env"] = env
            self.returncode, self.pid = 1, 0

        def communicate(self, timeout=None):
            return b"", b""

    monkeypatch.setattr(worker.subprocess, "Popen", FakePopen)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,3,7,1")
    cfg = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": ["m"], "tp": [2], "max_num_seqs": [1],
                                                             "input_len": [4], "output_len": [2]}}).configs()[0]
    row = worker.run_in_subprocess(cfg, "none")
    assert seen["env"]["CUDA_VISIBLE_DEVICES"] == "5,3"
    assert row["status"] == "failed" and "crash" in row["error"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5,3,7,1"  # the sweep's own is untouched


def test_a_sweep_on_a_host_without_a_known_gpu_order_stops_before_the_store(monkeypatch, tmp_path):
    """Every unit would fail with the same mapping problem: the sweep refuses to start instead."""
    from energylens.profiling import runner

    monkeypatch.setattr(runner, "check_local_backend", lambda backend, modalities: None)
    monkeypatch.setattr(runner, "capabilities", lambda: SimpleNamespace(nvml_available=True))
    asked = []
    monkeypatch.setattr(runner, "ordinal_mapping_problem", lambda n: asked.append(n) or "cannot tell which GPUs")
    spec = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": ["m"], "tp": [1, 2], "max_num_seqs": [1],
                                                              "input_len": [4], "output_len": [2]}})
    with pytest.raises(ValueError, match="--power-source nvml: cannot tell which GPUs"):
        runner.run_sweep(spec, str(tmp_path / "s"), power_source="nvml")
    assert asked == [2] and not (tmp_path / "s").exists()
