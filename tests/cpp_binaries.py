"""The C++ unit-test programs of a build tree configured with ENERGYLENS_BUILD_TESTS=ON (``build/*/cpp/NAME``)
for the tests that run them (ctest runs them too, in .ci/run). A program older than a source under cpp/ (include,
src, tests: any may be in it) may test other code than the checkout's, and passed whatever the source now
says: it is not run, the skip naming the newer source and the rebuild, as where no build tree has it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("cpp/include", "cpp/src", "cpp/tests")


def cpp_test_binary(name: str) -> Path:
    """The newest ``build/*/cpp/NAME``, or a skip (none, or older than a source under cpp/)."""
    exes = [b / "cpp" / name for b in sorted((ROOT / "build").glob("*"))]
    exes = [e for e in exes if e.is_file() and os.access(e, os.X_OK)]
    if not exes:
        pytest.skip(f"no build tree with ENERGYLENS_BUILD_TESTS=ON has cpp/{name}")
    exe = max(exes, key=lambda e: e.stat().st_mtime)
    built = exe.stat().st_mtime
    newer = sorted(p for d in SOURCES for p in (ROOT / d).rglob("*") if p.is_file() and p.stat().st_mtime > built)
    if newer:
        pytest.skip(f"{exe.relative_to(ROOT)} is older than {newer[0].relative_to(ROOT)}"
                    f"{f' and {len(newer) - 1} more sources' if len(newer) > 1 else ''}: it would test other code "
                    f"than the checkout's (rebuild: cmake --build {exe.parents[1].relative_to(ROOT)})")
    return exe
