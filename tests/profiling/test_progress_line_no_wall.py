"""A unit whose Ray worker crashed has no run time (wall_s NaN): its progress line read 'FAILED nan s'."""
import io
import math

from energylens.profiling.runner import Progress


def test_a_failed_unit_without_a_run_time_says_so():
    out = io.StringIO()
    p = Progress(2, out=out)
    p.update({"status": "failed", "wall_s": math.nan, "error": "ray task failed: WorkerCrashedError"}, "tp1 b8")
    p.update({"status": "ok", "wall_s": 2.04}, "tp1 b16")
    first, second = out.getvalue().splitlines()
    assert first.startswith("[1/2] FAILED (no run time)  tp1 b8: ray task failed: WorkerCrashedError")
    assert "nan" not in first
    assert second.startswith("[2/2] ok 2.0 s  tp1 b16")
