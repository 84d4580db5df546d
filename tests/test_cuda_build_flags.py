"""The CUDA part is compiled as the CPU engine is: without multiply-add contraction (cuda/CMakeLists.txt). nvcc
contracts by default (--fmad=true), and the device search's objectives, TPOT and TTFT then differed from the CPU
engine's in their last bits (164 fused multiply-adds in search.cu's PTX for compute_90), so candidates within an
ulp of each other could be ranked, limited or put on a front otherwise than the engine does, while the GPU tests
(tests/gpu/test_search_device.py) require the engine's indices exactly. Checked on the nvcc command lines of the
build trees that hold the CUDA part (no GPU needed); skipped where none does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _cuda_compile_lines() -> dict[str, str]:
    """cuda/NAME.cu -> its nvcc command line in the newest build tree (build/*/build.ninja) with the CUDA part."""
    trees = [p for p in (ROOT / "build").glob("*/build.ninja") if "energylens_cuda.dir" in p.read_text()]
    if not trees:
        pytest.skip("no build tree under build/ holds the CUDA part (nvcc absent or ENERGYLENS_ENABLE_CUDA=OFF)")
    ninja = max(trees, key=lambda p: p.stat().st_mtime)
    text = ninja.read_text()
    lines: dict[str, str] = {}
    # a compile edge: "build cuda/CMakeFiles/energylens_cuda.dir/X.cu.o: CUDA_COMPILER__energylens_cuda_... /abs/X.cu"
    # followed by its FLAGS = ... variable line
    for m in re.finditer(r"^build cuda/CMakeFiles/energylens_cuda\.dir/(\w+)\.cu\.o:.*?\n((?:  .*\n)+)", text, re.M):
        flags = re.search(r"^  FLAGS = (.*)$", m.group(2), re.M)
        lines[m.group(1)] = flags.group(1) if flags else ""
    assert lines, f"{ninja.relative_to(ROOT)} names energylens_cuda but no cuda/*.cu compile edge was read from it"
    return lines


def test_every_cuda_source_is_compiled_without_fma_contraction():
    lines = _cuda_compile_lines()
    assert {p.stem for p in (ROOT / "cuda").glob("*.cu")} <= set(lines), sorted(lines)
    contracting = {name: flags for name, flags in lines.items() if "--fmad=false" not in flags.split()}
    assert not contracting, (f"nvcc contracts multiply-adds in {sorted(contracting)} (no --fmad=false): the device "
                             f"search rounds otherwise than the CPU engine; flags: {contracting}")
