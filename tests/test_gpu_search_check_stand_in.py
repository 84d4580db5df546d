"""bench/gpu_search_check.py past its "no GPU" exit, which no machine here reaches: the CPU engine stands in for the
device pass (run_engine with device="cuda" runs device="cpu"), so every stage (parity, layer-pattern models, the
sized big space, the pass without fronts, the two-block A/B) runs its Python and writes its verdicts. A slip in
that code otherwise shows only in the one lent GPU session, as a check that broke instead of its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STAND_IN = """
import runpy, sys
import energylens.search.api as api
import energylens.search.device as device

real = api.run_engine
def on_the_cpu(space, theta, phi, options, progress=None, device="cpu", indices=None):
    return real(space, theta, phi, options, progress, "cpu", indices)
api.run_engine = on_the_cpu
device.unavailable_reason = lambda caps: None
sys.argv = ["gpu_search_check.py", "--repeats", "1", "--budget-s", "70", "--out", sys.argv[1]]
runpy.run_path({script!r}, run_name="__main__")
"""


@pytest.mark.slow
def test_every_stage_runs_with_the_cpu_engine_standing_in_for_the_device(tmp_path):
    launcher = tmp_path / "stand_in.py"
    launcher.write_text(STAND_IN.format(script=str(ROOT / "bench" / "gpu_search_check.py")))
    out = tmp_path / "gpu_search_check.json"
    proc = subprocess.run([sys.executable, str(launcher), str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    d = json.loads(out.read_text())
    assert d["stage"] == "done"
    verdict = d["pass"]
    # the same engine on both sides: every identity holds (the rate target is a device figure, not judged here)
    for key in ("parity_small", "parity_pattern_models", "no_fronts_same_top_and_counts", "min_blocks_2_identical"):
        assert verdict.get(key) is True, (key, verdict, d.get("mismatches"))
    assert d["gpu_no_fronts_per_s"] > 0 and d["gpu_candidates"] > d["cpu_candidates"]
