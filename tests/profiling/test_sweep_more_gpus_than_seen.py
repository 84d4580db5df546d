"""A sweep whose units need more GPUs (tp x pp x dp) than the sweep's process sees stops before the store is
written, naming the grid entry (until 2026-12-07 every such unit started a worker and was recorded as a failed row,
"the unit runs on 2 GPUs (tp x pp x dp) but this process sees 1"). Against the stand-in NVML of
tests/measure/data/fake_nvml.c (2 GPUs), loaded in a subprocess; needs a C compiler."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROFILE_RUN = "import sys; from energylens.cli import main; raise SystemExit(main(sys.argv[1:]))"


def _profile(fake, tmp_path, visible, grid, *extra):
    spec = tmp_path / "sweep.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\n[grid]\nmodels = ["org/m"]\n' + grid +
                    "max_num_seqs = [2]\ninput_len = [8]\noutput_len = [4]\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")}
    env.update(ENERGYLENS_NVML_LIBRARY=str(fake), HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES=visible)
    return subprocess.run([sys.executable, "-c", PROFILE_RUN, "profile", str(spec), "-o", str(tmp_path / "runs"),
                           *extra], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(("visible", "grid", "key", "need", "seen"), [
    ("1", "tp = [1, 2]\n", "sweep.toml:5: key 'grid.tp[1]'", 2, 1),
    ("0,1", "tp = [1, 2]\npp = [2]\n", "sweep.toml:5: key 'grid.tp[1]'", 4, 2),  # tp 1 x pp 2 fits
])
def test_units_on_more_gpus_than_the_process_sees_stop_before_the_store(fake_nvml, tmp_path, visible, grid, key,
                                                                         need, seen):
    out = _profile(fake_nvml, tmp_path, visible, grid)
    assert out.returncode == 2, out.stdout + out.stderr
    assert key in out.stderr, out.stderr
    assert (f"need {need} GPUs (tp x pp x dp) but this process sees {seen} "
            f"(CUDA_VISIBLE_DEVICES={visible!r})") in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "runs").exists()


def test_enough_gpus_pass_the_check(fake_nvml, tmp_path):
    """tp 2 on 2 visible GPUs: past the GPU check (the offline Hub id is what stops it, before the store)."""
    out = _profile(fake_nvml, tmp_path, "0,1", "tp = [1, 2]\n")
    assert "GPUs (tp x pp x dp)" not in out.stderr and "HF_HUB_OFFLINE is set" in out.stderr, out.stderr
    assert not (tmp_path / "runs").exists()
