"""ENERGYLENS_NVML_LIBRARY set but empty (an unset shell variable exported as '') was passed to dlopen(""),
which returns the program itself: doctor's NVML row read 'NVML library  lacks nvmlInit_v2 (or nvmlInit), ...:
it is not NVML or its driver is too old', blaming a library that was never named. An empty value is now
taken as unset (libnvidia-ml.so.1 is loaded), and a path that does not load names the variable as the cause.
Each case runs in its own process: NVML is loaded once per process."""
from __future__ import annotations

import os
import subprocess
import sys

_CODE = "import energylens; c = energylens.capabilities(); print(c.nvml_available); print(c.nvml_reason)"


def _reason(value: str) -> tuple[str, str]:
    env = {**os.environ, "ENERGYLENS_NVML_LIBRARY": value}
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, check=True, env=env,
                         timeout=120).stdout
    available, reason = out.split("\n", 1)
    return available, reason


def _default() -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ENERGYLENS_NVML_LIBRARY"}
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, check=True, env=env,
                         timeout=120).stdout
    available, reason = out.split("\n", 1)
    return available, reason


def test_an_empty_variable_is_taken_as_unset():
    assert _reason("") == _default()
    assert "lacks" not in _reason("")[1]


def test_a_variable_naming_a_missing_file_is_named_as_the_cause(tmp_path):
    missing = tmp_path / "no-such-libnvidia-ml.so"
    available, reason = _reason(str(missing))
    assert available == "False"
    assert f"ENERGYLENS_NVML_LIBRARY={missing}" in reason
    assert "unset ENERGYLENS_NVML_LIBRARY" in reason
