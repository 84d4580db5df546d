"""bench/gpu_check.py's 2 % window verdict: a window whose energy equals the counter's exactly is a pass
(it read `rel_diff or inf`, so 0.0 became inf and failed), a missing or undefined difference a fail."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exact_window_passes_and_undefined_fails():
    within = _gpu_check().windows_within
    assert within([{"rel_diff": 0.0}, {"rel_diff": 0.019}], 0.02)
    assert not within([{"rel_diff": 0.0}, {"rel_diff": 0.021}], 0.02)
    assert not within([{"rel_diff": None}], 0.02)
    assert not within([{"rel_diff": math.nan}], 0.02)
    assert not within([], 0.02)
