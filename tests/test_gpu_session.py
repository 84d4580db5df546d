"""bench/gpu_session.sh, the one prepared call of a lent GPU machine, must end by its deadline with a summary
that says plainly what passed, failed and was skipped and why: a step's exit 0 is not a pass when the check
inside skipped or missed a target, and a step the deadline left out is named with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "bench" / "gpu_session_summary.py"

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.gpu.test_search_device" name="test_a"/>
<testcase classname="tests.gpu.test_search_device" name="test_b"><failure message="AssertionError: arrays differ
more">trace</failure></testcase>
<testcase classname="" name="tests.gpu.test_device_parity"><skipped message="collection skipped"
>('/x/tests/gpu/test_device_parity.py', 13, 'Skipped: no CUDA device: no NVIDIA driver')</skipped></testcase>
<testcase classname="" name="tests.gpu.test_nvml"><skipped message="collection skipped"
>/x/tests/gpu/test_nvml.py:9: NVML unavailable</skipped></testcase>
<testcase time="0.000" />
</testsuite></testsuites>"""


def _summary(tmp_path: Path, rows: list[tuple]) -> str:
    steps = tmp_path / "steps.tsv"
    steps.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    out = subprocess.run([sys.executable, str(SUMMARY), "--steps", str(steps), "-o", str(tmp_path / "s.txt")],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert (tmp_path / "s.txt").read_text() == out
    return out


def _line(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name} (" in line or f" {name}: " in line)


def test_summary_words_each_step_by_what_happened_inside_it(tmp_path):
    (tmp_path / "tests.xml").write_text(JUNIT)
    (tmp_path / "search.json").write_text(json.dumps({
        "stage": "done", "gpu_per_s_median": 4.2e9, "target_per_s": 1e10,
        "pass": {"parity_small": True, "rate_at_least_1e10_per_s": False}}))
    (tmp_path / "model.json").write_text(json.dumps({"skipped": "no usable CUDA device: no NVIDIA driver"}))
    (tmp_path / "check.json").write_text(json.dumps({"stage": "big, 2 of 7 passes"}))
    (tmp_path / "ok.json").write_text(json.dumps({"pass": {"parity": True}}))
    text = _summary(tmp_path, [
        ("GPU tests", "ok", 40, 100, "", tmp_path / "tests.xml"),
        ("search check", "ok", 80, 110, "", tmp_path / "search.json"),
        ("model check", "ok", 2, 60, "", tmp_path / "model.json"),
        ("sampler check", "timeout", 130, 130, "stopped at its 130 s limit", tmp_path / "check.json"),
        ("parity", "ok", 3, 60, "", tmp_path / "ok.json"),
        ("profiling check", "skipped", 0, 90, "not started: 12 s left of the 540 s session budget", ""),
        ("build", "failed", 200, 240, "exit 1", ""),
        ("lost", "ok", 1, 10, "", tmp_path / "absent.json"),
    ])
    # (the nameless testcase is the one a time limit's SIGINT interrupted: not counted as passed)
    assert _line(text, "GPU tests").startswith("FAIL") and "1 passed, 1 failed, 2 skipped" in text
    assert "failed: tests.gpu.test_search_device::test_b: AssertionError: arrays differ" in text
    assert "skipped x1: no CUDA device: no NVIDIA driver\n" in text  # a module's skip reason, not "collection skipped"
    assert "skipped x1: NVML unavailable\n" in text
    assert _line(text, "search check").startswith("FAIL") and "FAIL rate_at_least_1e10_per_s" in text
    assert "gpu_per_s_median: 4.2e+09" in text
    assert _line(text, "model check").startswith("SKIPPED") and "skipped: no usable CUDA device" in text
    assert _line(text, "sampler check").startswith("TIMED OUT") and "cut short at stage 'big, 2 of 7 passes'" in text
    assert _line(text, "parity").startswith("PASS")
    assert _line(text, "profiling check").startswith("SKIPPED") and "12 s left of the 540 s" in text
    assert _line(text, "build").startswith("FAIL")
    assert _line(text, "lost").startswith("FAIL") and "(no absent.json was written)" in text
    assert text.rstrip().splitlines()[-1].startswith("steps: 1 pass, 4 fail, 1 timed out, 2 skipped")


def test_summary_gives_the_sampler_checks_sources_fallbacks_and_attribution_figures(tmp_path):
    """What gpu_check measured is in the summary, not only its pass / fail words: which NVML source ran and which
    failed with its error, the fallbacks, each source's attribution figures (the class powers against the steady
    ones: the 5 % target's numbers), mark() latency and the load's timing."""
    (tmp_path / "gpu_check.json").write_text(json.dumps({
        "load": "cupy", "phase_timing": "CUDA events (StreamMarks)", "op_s": {"matmul": 0.0021},
        "sources": [{"name": "nvml_sample_buffer", "role": "power", "started": False, "active": False, "failed": True,
                     "error": "nvmlDeviceGetSamples: Not Supported", "update_period_s": 0.0, "period_detected": False,
                     "samples": 0, "poll_interval_s": 0.0},
                    {"name": "nvml_instant", "role": "power", "started": True, "active": True, "failed": False,
                     "error": "", "update_period_s": 0.1, "period_detected": True, "samples": 812,
                     "poll_interval_s": 0.01}],
        "fallbacks": [{"t_ns": 1, "from": "nvml_sample_buffer", "to": "nvml_instant",
                       "reason": "nvmlDeviceGetSamples: Not Supported"}],
        "attribution": {"nvml_energy": {"idle_power_w": 118.2, "matmul_power_abs_w": 655.0, "matmul_rel_err": 0.031,
                                        "memcpy_rel_err": 0.012, "r2": 0.97},
                        "nvml_samples": {"error": "ValueError: no samples in the span"}},
        "mark_latency": {"mark_median_ns": 95.0, "pybind11_noop_median_ns": 60.0},
        "pass": {"overhead_below_1pct": True, "attribution_within_5pct": {"nvml_energy": True}}}))
    text = _summary(tmp_path, [("sampler check", "ok", 90, 130, "", tmp_path / "gpu_check.json")])
    assert _line(text, "sampler check").startswith("PASS")
    assert "source nvml_sample_buffer (power): failed, 0 samples" in text
    assert "error: nvmlDeviceGetSamples: Not Supported" in text
    assert "source nvml_instant (power): active, 812 samples, update period 0.1 s" in text
    assert "fallback nvml_sample_buffer -> nvml_instant: nvmlDeviceGetSamples: Not Supported" in text
    assert "attribution nvml_energy: idle_power_w 118, matmul_power_abs_w 655, matmul_rel_err 0.031" in text
    assert "attribution nvml_samples: error ValueError: no samples in the span" in text
    assert 'mark_latency: {"mark_median_ns": 95.0' in text and "phase_timing: CUDA events (StreamMarks)" in text


def test_session_script_parses_and_a_short_deadline_skips_steps_with_the_reason(tmp_path):
    """No GPU and no build (GPU_SESSION_SKIP_BUILD): with a 30 s deadline the checks are not started, each named
    with the seconds left (its own, or the build's where the deadline left the build out), and the summary still
    ends the log and lands in $OUT. (At 45 s whether the checks started hung on how fast the first steps ran: on a
    slow CI box they took under 8 s and the search check started; at 30 s no step can, 15 s short of the end.)"""
    script = ROOT / "bench" / "gpu_session.sh"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    env = dict(os.environ, OUT=str(tmp_path), DEADLINE_S="30", GPU_SESSION_SKIP_BUILD="1", PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "gpu_session.log").read_text()
    summary = (tmp_path / "summary.txt").read_text()
    assert log.endswith(summary) and "GPU session summary" in summary
    for name in ("search check", "sampler check", "model check"):
        line = _line(summary, name)
        assert line.startswith("SKIPPED") and "s left of the 30 s session budget" in line, line
    assert summary.rstrip().splitlines()[-1].startswith("steps: ")
