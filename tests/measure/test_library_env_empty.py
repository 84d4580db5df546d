"""ENERGYLENS_DCGM_LIBRARY / ENERGYLENS_CUPTI_LIBRARY exported empty (an unset shell variable: ``export
ENERGYLENS_DCGM_LIBRARY=$DCGM_LIB``) went to dlopen(""), which returns the program itself, so the reason read
"the DCGM library lacks dcgmInit..." / "the CUPTI library lacks the activity API", blaming a library never named.
An empty value is taken as unset, as c02445b5 did for ENERGYLENS_NVML_LIBRARY: the default names are tried and
the reason says they could not be loaded (no DCGM and no CUPTI on this machine)."""

import os
import subprocess
import sys

import pytest


def _reason(var: str, code: str) -> str:
    env = dict(os.environ, **{var: ""})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_an_empty_cupti_library_variable_is_unset():
    """The reason (or "" where the default names load, as with the CUDA toolkit here) is the unset variable's."""
    probe = "from energylens.measure.kernels import cupti_unavailable_reason as r; print(repr(r()))"
    unset = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "ENERGYLENS_CUPTI_LIBRARY"})
    out = _reason("ENERGYLENS_CUPTI_LIBRARY", probe)
    assert out == unset.stdout and "lacks" not in out, (out, unset.stdout)


def test_an_empty_dcgm_library_variable_is_unset():
    from energylens import _core

    probe = "from energylens import _core; print(_core.dcgm_unavailable_reason())"
    if not hasattr(_core, "dcgm_unavailable_reason"):
        pytest.skip("no DCGM reason in this build")
    if not str(_core.dcgm_unavailable_reason()).startswith("cannot load DCGM"):
        pytest.skip("a DCGM loads on this machine: the default names succeed")
    out = _reason("ENERGYLENS_DCGM_LIBRARY", probe)
    assert out.startswith("cannot load DCGM (") and "lacks" not in out, out
