"""EnergyMonitor windows over synthetic and replay samplers: bookkeeping (duplicate, unknown,
cancel, overlap), energy against analytic integrals, the energy counter, short windows, the
replay round trip through a Trace file, and the real H200 trace as a replay fixture."""

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from energylens.errors import NvmlUnavailableError
from energylens.measure.monitor import (
    EnergyMonitor,
    Measurement,
    PowerSampler,
    ShortWindowWarning,
    mark,
    steady_now_ns,
)
from energylens.measure.trace import Trace

DATA = Path(__file__).parent / "data"


def exact_energy_j(t_s, p_w, a_s, b_s):
    """Integral of a piecewise-constant power over [a_s, b_s] (power p_w[i] from t_s[i] on)."""
    edges = np.concatenate((t_s[1:], [np.inf]))
    total = 0.0
    for start, end, p in zip(t_s, edges, p_w, strict=True):
        lo, hi = max(start, a_s), min(end, b_s)
        if hi > lo:
            total += p * (hi - lo)
    first = t_s[0]
    if a_s < first:
        total += p_w[0] * (min(first, b_s) - a_s)
    return total


# ---- window bookkeeping ---------------------------------------------------------------------------------


def synthetic(timeline=None, **kw):
    return PowerSampler.synthetic(timeline or [([0.0], [100.0])], **kw)


def test_duplicate_unknown_and_cancelled_windows():
    with EnergyMonitor(synthetic(), sync=False, wait=False) as mon:
        mon.begin_window("a")
        with pytest.raises(ValueError, match="already open"):
            mon.begin_window("a")
        with pytest.raises(KeyError, match="no open window 'b'"):
            mon.end_window("b")
        mon.begin_window("b")
        assert mon.windows == ("a", "b")
        mon.cancel_window("b")
        with pytest.raises(KeyError, match=r"no open window 'b' \(open: \['a'\]\)"):
            mon.cancel_window("b")
        with pytest.raises(KeyError, match="no open window 'b'"):
            mon.end_window("b")
        mon.begin_window("b")  # a cancelled key can be reused
        m = mon.end_window("a")
        assert isinstance(m, Measurement) and m.key == "a"
        assert mon.windows == ("b",)


def test_windows_need_the_with_block():
    mon = EnergyMonitor(synthetic(), sync=False)
    with pytest.raises(RuntimeError, match="with block"):
        mon.begin_window("a")
    with pytest.raises(ValueError, match="pass either sampler= or gpus=, not both"):
        EnergyMonitor(synthetic(), gpus=[0])


def test_measurement_is_frozen():
    with EnergyMonitor(synthetic(), sync=False) as mon:
        mon.begin_window("a")
        time.sleep(0.05)
        m = mon.end_window("a")
    with pytest.raises(AttributeError):
        m.energy_j = 0.0


# ---- energy against analytic traces ---------------------------------------------------------------------


def test_overlapping_windows_match_the_analytic_integral_and_the_counter():
    t0 = [0.0, 0.25, 0.55, 0.8]
    p0 = [120.0, 480.0, 200.0, 650.0]
    t1 = [0.0, 0.4]
    p1 = [60.0, 300.0]
    s = synthetic([(t0, p0), (t1, p1)], buffer_poll_s=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShortWindowWarning)
        with EnergyMonitor(s, sync=True) as mon:
            time.sleep(0.05)
            mon.begin_window("outer")
            time.sleep(0.3)
            mon.begin_window("inner")
            time.sleep(0.4)
            inner = mon.end_window("inner")
            time.sleep(0.2)
            outer = mon.end_window("outer")
    origin = s.start_ns
    for m in (inner, outer):
        a = (m.start_ns - origin) * 1e-9
        b = (m.end_ns - origin) * 1e-9
        truth = [exact_energy_j(np.array(t0), np.array(p0), a, b), exact_energy_j(np.array(t1), np.array(p1), a, b)]
        assert m.source == "nvml_samples"
        assert not m.short_window
        assert m.duration_s == pytest.approx(b - a)
        # 20 ms buffer means + trapezoid: at most ~half a buffer period of each step is misplaced.
        for got, want in zip(m.energy_j_per_gpu, truth, strict=True):
            assert got == pytest.approx(want, rel=0.04)
        # The counter is exact at each update but seen up to a poll late and interpolated between.
        for got, want in zip(m.counter_energy_j_per_gpu, truth, strict=True):
            assert got == pytest.approx(want, rel=0.06)
        assert m.energy_j == pytest.approx(sum(m.energy_j_per_gpu))
        assert m.avg_power_w == pytest.approx(m.energy_j / m.duration_s)
        assert m.sample_count > 0


def test_constant_power_is_measured_exactly():
    with EnergyMonitor(synthetic([([0.0], [333.0])]), sync=False) as mon:
        mon.begin_window("w")
        time.sleep(0.6)
        m = mon.end_window("w")
    assert m.avg_power_w == pytest.approx(333.0, rel=1e-9)
    # The counter is read up to a poll (25 ms, more on a loaded box) after each 100 ms update, as
    # NVML's would be: each end of the window may be off by that lag.
    assert m.counter_energy_j == pytest.approx(333.0 * m.duration_s, rel=0.10)


def test_a_window_shorter_than_the_update_period_is_flagged_with_an_estimate():
    with EnergyMonitor(synthetic([([0.0], [200.0])], chain=("instant",)), sync=False) as mon:
        time.sleep(0.15)
        mon.begin_window("tiny")
        with pytest.warns(ShortWindowWarning, match="interpolated estimate"):
            m = mon.end_window("tiny")
    assert m.short_window
    assert m.source == "nvml_instant"
    assert m.update_period_s == pytest.approx(0.1)
    assert m.energy_j == pytest.approx(200.0 * m.duration_s, rel=1e-6)


def test_measurements_follow_a_mid_run_fallback():
    # 150 W until 0.2 s, then 400 W; the buffer fails at 0.1 s: a later window must be integrated
    # from the instant readings, not extrapolated from the buffer's last (150 W) reading.
    s = synthetic([([0.0, 0.2], [150.0, 400.0])], fail_after_s={"sample_buffer": 0.1}, buffer_poll_s=0.02)
    with EnergyMonitor(s, sync=False) as mon:
        time.sleep(0.45)
        mon.begin_window("after")
        time.sleep(0.3)
        m = mon.end_window("after")
    assert mon.result.fallbacks and mon.result.active_source == "synthetic_instant"
    assert m.source == "nvml_instant"
    assert m.avg_power_w == pytest.approx(400.0, rel=1e-6)


def test_monitor_without_nvml_raises_with_the_fix():
    import energylens

    if energylens.capabilities().nvml_available:
        pytest.skip("NVML is available here")
    with pytest.raises(NvmlUnavailableError, match="Fix"):
        with EnergyMonitor():
            pass


# ---- traces: record and replay -----------------------------------------------------------------------------


def test_monitor_trace_holds_samples_marks_and_meta_and_round_trips(tmp_path):
    with EnergyMonitor(synthetic([([0.0, 0.1], [100.0, 250.0])]), sync=False) as mon:
        mark("phase-a")
        time.sleep(0.25)
        mark("phase-b")
        trace = mon.trace()
    assert isinstance(trace, Trace)
    assert list(trace.marks["label"]) == ["phase-a", "phase-b"]
    assert set(trace.sources()) == {"nvml_samples", "nvml_energy"}
    assert trace.meta["update_period_s"]["nvml_samples"] == pytest.approx(0.02)
    path = tmp_path / "run.parquet"
    trace.save(path)
    assert Trace.load(path).equals(trace)


def test_replay_as_fast_as_possible_reproduces_the_trace_exactly(tmp_path):
    with EnergyMonitor(synthetic([([0.0, 0.1], [100.0, 250.0]), ([0.0], [80.0])]), sync=False) as mon:
        time.sleep(0.3)
        original = mon.trace()
    path = tmp_path / "t.parquet"
    original.save(path)
    replay = PowerSampler.replay(path, realtime=False, rebase=False)
    with replay:
        time.sleep(0.05)
    again = replay.to_trace()
    a = original.samples.sort_values(["t_ns", "gpu", "source"], kind="stable").reset_index(drop=True)
    b = again.samples.sort_values(["t_ns", "gpu", "source"], kind="stable").reset_index(drop=True)
    assert a.equals(b)
    assert again.meta["update_period_s"] == original.meta["update_period_s"]


def test_realtime_replay_feeds_windows_like_a_live_source():
    with EnergyMonitor(synthetic([([0.0], [400.0])]), sync=False) as mon:
        time.sleep(0.4)
        recorded = mon.trace()
    with EnergyMonitor(PowerSampler.replay(recorded, realtime=True, speed=1.0), sync=False) as mon:
        time.sleep(0.05)
        mon.begin_window("w")
        time.sleep(0.2)
        m = mon.end_window("w")
    assert m.avg_power_w == pytest.approx(400.0, rel=1e-6)
    with pytest.raises(TypeError, match=r"replay\(\) needs a Trace or a path, got int"):
        PowerSampler.replay(42)


def test_a_faster_replay_stamps_samples_when_they_appear_and_its_counter_agrees(h200_trace):
    """speed=4 delivered samples 4x faster but stamped them on the recorded time: the latest stamp lay 1.5 s in
    the future and a 0.5 s window read idle power while the load step had played."""
    replay = PowerSampler.replay(h200_trace, realtime=True, speed=4.0)
    with EnergyMonitor(replay, sync=False) as mon:
        time.sleep(0.15)  # trace time 0.6 s
        mon.begin_window("w")
        time.sleep(0.35)  # 1.4 s of trace (it lasts 2.7 s): into the load step
        m = mon.end_window("w")
        assert replay.samples()["t_ns"].max() <= steady_now_ns()  # nothing stamped in the future
    full = PowerSampler.replay(h200_trace, realtime=False, rebase=False)
    with EnergyMonitor(full, sync=False, wait=False) as slow:
        time.sleep(0.05)  # (every sample at the first poll)
        t0 = int(h200_trace.samples["t_ns"].min())
        a, b = m.start_ns - replay.start_ns, m.end_ns - replay.start_ns  # the same stretch of the trace, x4
        same = slow.measure("w", t0 + 4 * a, t0 + 4 * b)
    assert m.avg_power_w == pytest.approx(same.avg_power_w, rel=0.05)  # power kept, time compressed
    assert m.energy_j == pytest.approx(same.energy_j / 4, rel=0.05)
    assert m.counter_energy_j == pytest.approx(m.energy_j, rel=0.1)  # counter scaled with the time


def test_real_h200_trace_replays_and_its_counter_agrees_with_instant_power(h200_trace):
    trace = h200_trace
    replay = PowerSampler.replay(trace, realtime=False, rebase=False)
    with EnergyMonitor(replay, sync=False, wait=False) as mon:
        time.sleep(0.05)
        t0 = 10_000_000_000
        load = mon.measure("load", t0 + 1_300_000_000, t0 + 2_700_000_000)   # bf16 matmul running
        whole = mon.measure("all", t0 + 700_000_000, t0 + 3_350_000_000)
    assert load.source == "nvml_instant"
    assert 650 < load.avg_power_w < 740
    # Instant power averages ~25 ms of every 100 ms; over seconds it agrees with the counter.
    assert load.energy_j == pytest.approx(load.counter_energy_j, rel=0.08)
    assert whole.energy_j == pytest.approx(whole.counter_energy_j, rel=0.08)
    res = replay.result()
    assert res.update_period_s["nvml_instant"] == pytest.approx(0.1)


def test_a_replayed_trace_of_raw_polls_gets_its_update_periods_from_its_rows(h200_trace):
    """The shared H200 trace (polled from Python every ~3 ms) replayed without update periods in its meta had none:
    every Measurement.update_period_s was NaN and a 50 ms window, half an update, was not flagged short. The periods
    the meta does not name are now read off the rows (the median interval between changes of value)."""
    trace = Trace(samples=h200_trace.samples, meta={"gpus": h200_trace.meta["gpus"]})
    replay = PowerSampler.replay(trace, realtime=False, rebase=False)
    with EnergyMonitor(replay, sync=False, wait=False) as mon:
        time.sleep(0.05)
        t0 = 10_000_000_000
        with pytest.warns(ShortWindowWarning, match="shorter than the nvml_instant update period"):
            short = mon.measure("short", t0 + 1_500_000_000, t0 + 1_550_000_000)
        load = mon.measure("load", t0 + 1_300_000_000, t0 + 2_700_000_000)
    periods = replay.result().update_period_s
    assert set(periods) == {"nvml_instant", "nvml_average", "nvml_energy"}
    assert all(0.095 < p < 0.11 for p in periods.values()), periods  # NVML-FACTS: ~94-100 ms
    assert short.short_window and not load.short_window and load.update_period_s == periods["nvml_instant"]
    assert replay.meta["update_period_from_rows"] == ["nvml_average", "nvml_energy", "nvml_instant"]
    # the native replay source's own period (SourceInfo): the updates too, not the 3 ms poll spacing
    (info,) = replay.result().sources
    assert 0.095 < info.update_period_s < 0.11 and info.period_detected, info
    declared = PowerSampler.replay(h200_trace, realtime=False).result().update_period_s  # the meta's own stand
    assert declared["nvml_instant"] == 0.1 and declared["nvml_energy"] == 0.1 and 0.095 < declared["nvml_average"] < 0.11


def test_a_compressed_replay_reports_its_compressed_update_periods(h200_trace):
    """Replayed 4x faster (rebase, realtime) the readings come every 25 ms, but the result said 100 ms: a 50 ms
    window, two updates, was warned about as shorter than one."""
    fast = PowerSampler.replay(h200_trace, realtime=True, speed=4.0)
    assert fast.result().update_period_s["nvml_instant"] == pytest.approx(0.025)
    kept = PowerSampler.replay(h200_trace, realtime=True, rebase=False, speed=4.0)  # stamps kept: periods too
    assert kept.result().update_period_s["nvml_instant"] == pytest.approx(0.1)


@pytest.mark.parametrize("source", ["replay", "synthetic", "dcgm"])
def test_a_replayed_row_with_power_and_energy_replays_both(source):
    """A row of a source whose power and counter are two signals, carrying both (a trace format row may), replayed
    as a power row only: the counter was never read (counter_energy_j NaN for a 2 J-a-row counter beside 100 W)."""
    n = 100
    t = np.arange(n, dtype=np.int64) * 20_000_000 + 1_000_000_000
    trace = Trace(samples={"t_ns": t, "gpu": np.zeros(n, np.int32), "power_w": np.full(n, 100.0),
                           "energy_j": np.arange(n) * 2.0, "source": [source] * n})
    replay = PowerSampler.replay(trace, realtime=False, rebase=False)
    with EnergyMonitor(replay, sync=False, wait=False) as mon:
        time.sleep(0.05)
        m = mon.measure("w", int(t[10]), int(t[50]))
    assert m.energy_j == pytest.approx(80.0) and m.counter_energy_j == pytest.approx(80.0)
    counter = "dcgm" if source == "dcgm" else "nvml_energy"
    assert replay.result().update_period_s[counter] == pytest.approx(0.02)
    assert len(replay.samples()["t_ns"]) == 2 * n


# ---- CLI -------------------------------------------------------------------------------------------------


def test_cli_monitor_without_nvml_exits_2_with_the_fix(capsys):
    import energylens
    from energylens.cli.main import main

    if energylens.capabilities().nvml_available:
        pytest.skip("NVML is available here")
    assert main(["monitor", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "energylens monitor: NvmlUnavailableError: cannot load NVML" in err and "Fix:" in err


def test_cli_monitor_synthetic_prints_totals_and_saves_a_trace(tmp_path, capsys):
    from energylens.cli.main import main

    path = tmp_path / "m.parquet"
    assert main(["monitor", "--source", "synthetic", "--duration", "0.6", "--interval", "0.2",
                 "--gpus", "0,1", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert "GPU1" in out and "total:" in out and "nvml_samples: update period 20.0 ms" in out
    assert len(Trace.load(path).samples) > 0


# ---- errors through the monitor --------------------------------------------------------------------------


def test_a_sampler_failure_surfaces_at_end_window_on_the_callers_thread():
    from energylens.errors import NvmlError

    s = synthetic([([0.0], [100.0])], chain=("sample_buffer",), fail_after_s={"sample_buffer": 0.1},
                  buffer_poll_s=0.02)
    with pytest.raises(NvmlError, match="GPU is lost"):
        with EnergyMonitor(s, sync=False) as mon:
            mon.begin_window("w")
            time.sleep(0.3)
            mon.end_window("w")
    assert not s.running


def test_kernel_tracing_without_cupti_fails_before_sampling_starts():
    import energylens
    from energylens.errors import CuptiUnavailableError

    if energylens.capabilities().cuda_devices > 0:
        pytest.skip("a CUDA device is present")
    s = synthetic()
    with pytest.raises(CuptiUnavailableError):
        with EnergyMonitor(s, sync=False, kernels=True):
            pass
    assert not s.running


def test_window_context_manager_measures_or_cancels():
    with EnergyMonitor(synthetic([([0.0], [210.0])]), sync=False) as mon:
        with mon.window("ok") as w:
            time.sleep(0.2)
        assert w.measurement is not None and w.measurement.avg_power_w == pytest.approx(210.0, rel=1e-9)
        with pytest.raises(ZeroDivisionError):
            with mon.window("boom") as bad:
                1 / 0  # noqa: B018
        assert bad.measurement is None
        assert mon.windows == ()


def test_a_window_across_a_fallback_is_short_by_its_coarsest_sources_period():
    """A window whose source is 'nvml_samples+nvml_instant' was never flagged short: its period was looked up
    under the joined name."""
    from energylens.measure.integrate import WindowEnergy
    from energylens.measure.measurement import measurement_of as _measurement

    periods = {"nvml_samples": 0.02, "nvml_instant": 0.1}
    w = WindowEnergy(energy_j_per_gpu=(5.0,), counter_energy_j_per_gpu=(5.0,), source="nvml_samples+nvml_instant",
                     sample_count=3)
    short = _measurement("w", 0, 50_000_000, w, periods)  # 50 ms: longer than 20 ms, shorter than 100 ms
    assert short.short_window and short.update_period_s == 0.1
    assert not _measurement("w", 0, 150_000_000, w, periods).short_window


def test_marks_dropped_by_a_full_log_are_warned_and_recorded_in_the_trace():
    """300,001 marks inside one monitor block: 37,857 were dropped (the final one too) without a word, so
    the phases attributed from them merged spans silently."""
    from energylens.errors import MarksDroppedWarning
    from energylens.measure.marks import MARK_LOG_CAPACITY, collect_marks, marks_dropped

    collect_marks()
    before = marks_dropped()
    s = PowerSampler.synthetic([([0.0], [300.0])], energy_counter=False)
    with EnergyMonitor(s, sync=False) as mon:
        for _ in range(MARK_LOG_CAPACITY + 100):
            mark("step")
        with pytest.warns(MarksDroppedWarning, match=r"marks were dropped: the native mark log holds 262,144"):
            trace = mon.trace()
    assert trace.meta["marks_dropped"] == marks_dropped() - before >= 100


# ---- audit: a slow counter, spans in the future -----------------------------------------------------------


def test_a_cpu_hungry_counter_still_brackets_a_short_window_without_a_long_wait():
    """3 ms of CPU per counter read backs its thread off to 1.2 s (0.25 % budget): end_window waited ~1.2 s for
    a counter reading past the end, stamped midway back to a read 1.2 s earlier, and the counter of a 0.7 s
    window came out up to 2x off or NaN. While a window is open the counter is read about once per update
    period, and a move is stamped within one period of the read that saw it."""
    t = np.arange(0.0, 60.0, 0.5)
    p = np.where(np.arange(t.size) % 2 == 0, 150.0, 450.0)
    s = PowerSampler.synthetic([(t, p)], energy_read_cpu_s=0.003)
    waits, ratios = [], []
    with EnergyMonitor(s, sync=False) as mon:
        time.sleep(1.5)  # backed off by now
        for _ in range(3):
            mon.begin_window("w")
            time.sleep(0.7)
            t0 = time.monotonic()
            m = mon.end_window("w")
            waits.append(time.monotonic() - t0)
            ratios.append(m.counter_energy_j / exact_energy_j(t, p, (m.start_ns - s.start_ns) * 1e-9,
                                                               (m.end_ns - s.start_ns) * 1e-9))
            time.sleep(1.3)
        counter = [x for x in s.result().sources if x.role == "auxiliary"][0]
    assert counter.poll_interval_s > 0.5  # backed off between windows (CPU budget)
    assert max(waits) < 0.5, waits
    assert all(0.85 < r < 1.15 for r in ratios), ratios  # +-1 update period of 450 W at each edge


def test_measure_refuses_a_span_in_the_future_or_on_the_wall_clock():
    """measure() waited for readings past end_ns: a span 3 s ahead blocked, a wall-clock span (time.time_ns)
    returned after ~0.25 s with NaN; end < start said only 'end_ns < start_ns'."""
    with EnergyMonitor(synthetic(), sync=False) as mon:
        now = steady_now_ns()
        with pytest.raises(ValueError, match=r"in the future of steady_now_ns\(\)"):
            mon.measure("ahead", now, now + 3 * 10**9)
        with pytest.raises(ValueError, match=r"looks like a wall-clock time \(time.time_ns\(\)\)"):
            mon.measure("wall", time.time_ns() - 10**9, time.time_ns())
        with pytest.raises(ValueError, match="end_ns .* is before start_ns"):
            mon.measure("backwards", now, now - 1)
        time.sleep(0.3)
        assert mon.measure("past", now, now + 10**8).energy_j == pytest.approx(10.0, rel=1e-6)


def test_a_saved_trace_from_a_machine_up_longer_is_measured_between_its_marks():
    """A trace replayed with rebase=False keeps its recording's steady-clock times; recorded on a machine up 10
    days longer than this one, measure() between its own marks was refused as "8.64e+05 s in the future"."""
    t0 = steady_now_ns() + 10 * 86400 * 10**9
    t = t0 + np.arange(50) * 100_000_000
    p = np.where(np.arange(50) < 20, 200.0, 500.0)  # a step at t0 + 2 s
    tr = Trace(samples={"t_ns": t, "gpu": np.zeros(50, np.int32), "power_w": p, "energy_j": np.full(50, np.nan),
                        "source": np.array(["nvml_instant"] * 50, dtype=object)},
               meta={"update_period_s": {"nvml_instant": 0.1}})
    with EnergyMonitor(PowerSampler.replay(tr, realtime=False, rebase=False), sync=False, wait=False) as mon:
        m = mon.measure("ab", t0 + 10**9, t0 + 3 * 10**9)
        # the interpolant: 200 W to t0 + 1.9 s, a ramp to 500 W at 2.0 s, then 500 W
        assert m.energy_j == pytest.approx(0.9 * 200 + 0.1 * 350 + 1.0 * 500, rel=1e-9)
        with pytest.raises(ValueError, match="in the future"):  # past the recording (and now): still refused
            mon.measure("after", t0, t0 + 60 * 10**9)


def test_cli_monitor_keeps_the_recording_when_the_power_chain_dies(tmp_path, capsys, monkeypatch):
    """A sampler error mid-run (the last power source lost) escaped the live loop, which caught only Ctrl-C:
    no summary, no trace. Now the totals cover what was recorded, the trace is saved, the error is stated
    and the exit status is 1."""
    import energylens.cli.monitor as cli_monitor
    from energylens.cli.main import main

    def dying(args):
        return PowerSampler.synthetic([([0.0], [200.0])], chain=("sample_buffer",),
                                      fail_after_s={"sample_buffer": 0.6}, buffer_poll_s=0.02)

    monkeypatch.setattr(cli_monitor, "_sampler", dying)
    path = tmp_path / "dies.parquet"
    assert main(["monitor", "--source", "synthetic", "--duration", "1.5", "--interval", "0.2", "-o", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "total:" in out and "fallback: synthetic_sample_buffer -> none" in out
    total = float(out.split("total:")[1].split("J")[0])
    assert 0.5 * 200 < total < 0.7 * 200  # ~0.6 s at 200 W, not NaN
    assert "sampling stopped after" in err and "GPU is lost" in err and "and the trace cover what was recorded" in err
    assert len(Trace.load(path).samples) > 0


def test_a_ctrl_c_while_the_monitor_saves_is_noted_not_raised():
    """A second Ctrl-C within ~0.1 s of the first (while the run was being closed and saved) lost the trace."""
    import os
    import signal

    from energylens.cli.monitor import _sigint_deferred

    with _sigint_deferred() as got:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert got == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_replayed_trace_whose_meta_leaves_a_period_unknown_is_measured():
    """The trace format allows a null update period (not detected); replaying such a trace made every
    measure() raise "'>' not supported between instances of 'NoneType' and 'int'". The sampler's result now
    leaves the unknown period out, as it does for a native source whose period was not detected."""
    n = 100
    t = np.arange(n, dtype=np.int64) * 20_000_000
    trace = Trace(samples={"t_ns": t, "gpu": np.zeros(n, np.int32), "power_w": np.full(n, 100.0),
                           "energy_j": np.full(n, np.nan), "source": ["nvml_samples"] * n},
                  meta={"update_period_s": {"nvml_samples": None}})
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False) as mon:
        assert mon.sampler.result().update_period_s == {}
        m = mon.measure("w", 100_000_000, 1_000_000_000)
    assert m.energy_j == pytest.approx(90.0, rel=1e-12) and m.source == "nvml_samples"
    assert np.isnan(m.update_period_s) and not m.short_window


@pytest.mark.parametrize("start, end, named", [
    (float("nan"), 0, "start_ns"), (0, float("inf"), "end_ns"), (None, 0, "start_ns"), ("1", 0, "start_ns"),
    (True, 0, "start_ns")])
def test_measure_names_an_end_that_is_not_a_time(start, end, named):
    """measure() read int(nan) ('cannot convert float NaN to integer'), int(None) (a TypeError on int()) and took
    '1' as 1 ns (a NaN energy); each is a ValueError naming the argument now."""
    with EnergyMonitor(PowerSampler.synthetic([([0.0], [200.0])]), sync=False) as mon:
        now = steady_now_ns()
        start, end = (now if v == 0 and not isinstance(v, bool) else v for v in (start, end))
        with pytest.raises(ValueError, match=rf"measure\('k'\): {named} must be a steady-clock time in ns"):
            mon.measure("k", start, end)


def test_measure_refuses_a_span_outside_the_recording_instead_of_a_silent_nan():
    """A span before the recording (a replayed trace's own mark times after rebase=True moved its samples to
    start()) read energy_j NaN with source '' and no word; it is a ValueError naming the recorded range."""
    t0 = 5 * 10**9
    t = t0 + np.arange(50) * 100_000_000
    tr = Trace(samples={"t_ns": t, "gpu": np.zeros(50, np.int32), "power_w": np.full(50, 300.0),
                        "energy_j": np.full(50, np.nan), "source": np.array(["nvml_instant"] * 50, dtype=object)},
               marks={"t_ns": [t0 + 10**9, t0 + 2 * 10**9], "label": ["a", "end"]},
               meta={"update_period_s": {"nvml_instant": 0.1}})
    with EnergyMonitor(PowerSampler.replay(tr, realtime=False, rebase=True), sync=False, wait=False) as mon:
        first = int(mon.sampler.samples()["t_ns"][0])
        with pytest.raises(ValueError, match=rf"measure\('a'\): no power reading covers .*recorded from t_ns {first} "
                                             r"to .*rebase=True"):
            mon.measure("a", t0 + 10**9, t0 + 2 * 10**9)
        assert mon.measure("in", first + 10**9, first + 2 * 10**9).energy_j == pytest.approx(300.0, rel=1e-9)
    with EnergyMonitor(PowerSampler.replay(tr, realtime=False, rebase=False), sync=False, wait=False) as mon:
        assert mon.measure("a", t0 + 10**9, t0 + 2 * 10**9).energy_j == pytest.approx(300.0, rel=1e-9)
        with pytest.raises(ValueError, match=r"no power reading covers .*starts before the recording"):
            mon.measure("early", t0 - 10**9, t0 + 10**9)


def test_the_monitor_trace_records_kernel_records_cupti_dropped(monkeypatch):
    """EnergyMonitor(kernels=True).trace() recorded marks dropped but not kernel records dropped (KernelTracer.dropped):
    a trace with lost kernels read as complete. A stand-in tracer (no CUPTI here) that lost 7."""
    import pandas as pd

    from energylens.measure import kernels as kernels_module
    from energylens.measure import monitor as monitor_module

    class LossyTracer:
        dropped = 7

        def start(self):
            return self

        def _none(self):
            return pd.DataFrame({"gpu": np.zeros(0, np.int32), "start_ns": np.zeros(0, np.int64),
                                 "end_ns": np.zeros(0, np.int64), "name": np.zeros(0, object), "kind": np.zeros(0, object)})

        flush = stop = _none

    assert monitor_module.KernelTracer is kernels_module.KernelTracer
    monkeypatch.setattr(monitor_module, "KernelTracer", LossyTracer)
    with EnergyMonitor(PowerSampler.synthetic([([0.0], [200.0])]), sync=False, kernels=True) as mon:
        time.sleep(0.1)
        inside = mon.trace()
    assert inside.meta["kernels_dropped"] == 7 and mon.trace().meta["kernels_dropped"] == 7


def test_a_window_after_a_replayed_trace_ended_is_an_error_naming_its_end():
    """A window opened after a real-time replay had played all its samples read energy_j NaN, source '', without a
    word; end_window now says the replayed readings ended (a window inside the trace is measured as before)."""
    n = 20
    t = np.arange(n, dtype=np.int64) * 20_000_000
    tr = Trace(samples={"t_ns": t, "gpu": np.zeros(n, np.int32), "power_w": np.full(n, 250.0),
                        "energy_j": np.full(n, np.nan), "source": np.array(["nvml_samples"] * n, dtype=object)},
               meta={"update_period_s": {"nvml_samples": 0.02}})
    with EnergyMonitor(PowerSampler.replay(tr, realtime=True), sync=False) as mon:
        with mon.window("inside") as inside:
            time.sleep(0.1)
        time.sleep(0.6)
        mon.begin_window("after")
        with pytest.raises(ValueError, match=r"end_window\('after'\): no power reading covers .*ends after the "
                                             r"recording .*the replayed trace's readings end there"):
            mon.end_window("after")
        assert mon.windows == ()
    assert inside.measurement.energy_j == pytest.approx(250.0 * inside.measurement.duration_s, rel=1e-9)
