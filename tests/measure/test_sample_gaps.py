"""Holes in the driver sample buffer (nvml_samples): readings further apart than 1.5 update periods (a row
missing, or NaN) were integrated across without a word (one 540 W reading lost out of a 500 W stretch
read 500 W for 504 W). They are now counted in WindowEnergy / Measurement.gap_count and gap_s and named
in a SampleGapWarning; jittered spacing and point sources (a changes-only instant stream) are not gaps."""

import warnings

import numpy as np
import pytest

from energylens.measure.gaps import interval_gaps
from energylens.measure.integrate import SampleGapWarning, integrate_window
from energylens.measure.monitor import EnergyMonitor
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import Trace, synthetic_trace

S = 1_000_000_000


def _samples(t, p, source="nvml_samples", gpu=None):
    gpu = np.zeros(t.size, np.int32) if gpu is None else gpu
    order = np.lexsort((gpu, t))
    return {"t_ns": t[order], "gpu": gpu[order].astype(np.int32), "power_w": p[order],
            "energy_j": np.full(t.size, np.nan), "source": np.full(t.size, source, dtype=object)[order]}


def _buffer():
    """A reading every 20 ms (each the mean since the previous): 500 W, 540 W over (1.00, 1.02] s."""
    t = np.arange(0, 2 * S + 1, 20_000_000, dtype=np.int64)
    return t, np.where((t > S) & (t <= S + 20_000_000), 540.0, 500.0)


def test_a_missing_buffer_row_is_counted_and_warned_with_its_span_and_energy():
    t, p = _buffer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # whole: no warning
        whole = integrate_window(_samples(t, p), 1, 900_000_000, 1_100_000_000, {"nvml_samples": 0.02})
    assert whole.energy_j_per_gpu[0] == pytest.approx(100.8, rel=1e-12)
    assert (whole.gap_count, whole.gap_s) == (0, 0.0)
    keep = t != S + 20_000_000  # the 540 W reading never arrived
    with pytest.warns(SampleGapWarning, match=r"1 gap\(s\).*nvml_samples GPU position 0: t_ns 1000000000 to 1040000000 "
                      r"\(40\.0 ms for a 20\.0 ms update period, ~1 reading\(s\) missing\).*0\.040 s.*20\.000 J "
                      r"of 100\.000 J"):
        w = integrate_window(_samples(t[keep], p[keep]), 1, 900_000_000, 1_100_000_000, {"nvml_samples": 0.02})
    assert w.energy_j_per_gpu[0] == pytest.approx(100.0, rel=1e-12)  # what it silently read before
    assert (w.gap_count, w.gap_s) == (1, pytest.approx(0.04, abs=1e-12))
    # only the part inside the window counts; a window clear of the hole has none
    with pytest.warns(SampleGapWarning, match=r"0\.010 s"):
        part = integrate_window(_samples(t[keep], p[keep]), 1, S + 30_000_000, 1_100_000_000, {"nvml_samples": 0.02})
    assert (part.gap_count, part.gap_s) == (1, pytest.approx(0.01, abs=1e-12))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clear = integrate_window(_samples(t[keep], p[keep]), 1, S + 40_000_000, 2 * S, {"nvml_samples": 0.02})
    assert clear.gap_count == 0


def test_a_nan_row_and_a_gap_on_one_gpu_of_two_are_named_by_gpu():
    t, p = _buffer()
    p1 = p.copy()
    p1[t == S + 20_000_000] = np.nan  # GPU 1's reading is NaN: the same hole
    s = _samples(np.concatenate([t, t]), np.concatenate([p, p1]), gpu=np.repeat([0, 1], t.size))
    with pytest.warns(SampleGapWarning, match=r"^1 gap\(s\).*GPU position 1: t_ns 1000000000 to 1040000000") as rec:
        w = integrate_window(s, 2, 0, 2 * S, {"nvml_samples": 0.02})
    assert "GPU position 0" not in str(rec[0].message)
    assert (w.gap_count, w.gap_s) == (1, pytest.approx(0.04, abs=1e-12))


def test_jitter_and_an_unknown_period_are_not_gaps_but_a_longer_hole_is():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(17_000_000, 23_000_000, 500)).astype(np.int64)  # the H200's spread
    p = rng.uniform(100, 600, t.size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for periods in ({"nvml_samples": 0.02}, {}):  # {}: the median spacing stands for the period
            assert integrate_window(_samples(t, p), 1, int(t[0]), int(t[-1]), periods).gap_count == 0
    keep = np.ones(t.size, bool)
    keep[100:105] = False  # five readings lost: ~120 ms
    with pytest.warns(SampleGapWarning, match=r"~5 reading\(s\) missing"):
        w = integrate_window(_samples(t[keep], p[keep]), 1, int(t[0]), int(t[-1]), {})  # period from the spacing
    assert w.gap_count == 1 and w.gap_s == pytest.approx((t[105] - t[99]) * 1e-9, abs=1e-12)


def test_point_sources_are_interpolated_across_and_a_native_hold_is_not_reported():
    """The native instant stream emits on change or once a second: a 1 s spacing is no hole there (a table
    without the sampler's signal column says so with hold_s; as raw polls it is a hole: test_reading_holes.py)."""
    t = np.arange(0, 5 * S + 1, S, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = integrate_window(_samples(t, np.full(t.size, 300.0), "nvml_instant"), 1, 0, 5 * S, {"nvml_instant": 0.1},
                             hold_s={"nvml_instant": 1.0})
    assert w.gap_count == 0 and w.energy_j_per_gpu[0] == pytest.approx(1500.0)


def _dropped(trace: Trace, rows: np.ndarray) -> Trace:
    s = trace.samples
    buf = np.flatnonzero((s["source"] == "nvml_samples").to_numpy())
    return Trace(samples=s.drop(index=s.index[buf[rows]]).reset_index(drop=True), marks=trace.marks, meta=trace.meta)


def test_a_synthetic_trace_replayed_with_a_lost_buffer_row_reports_it_in_the_measurement():
    trace, _ = synthetic_trace(duration_s=4.0, seed=1)  # buffer every 20 +- 2.5 ms
    t = trace.samples["t_ns"].to_numpy()
    start, end = int(t.min()) + S // 2, int(t.max()) - S // 2
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False) as mon:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            whole = mon.measure("w", start, end, recorded=True)
    assert whole.source == "nvml_samples" and (whole.gap_count, whole.gap_s) == (0, 0.0)
    lossy = _dropped(trace, np.array([60, 61, 120]))  # two readings together, then one
    buf = lossy.samples[lossy.samples["source"] == "nvml_samples"]["t_ns"].to_numpy()
    with EnergyMonitor(PowerSampler.replay(lossy, realtime=False, rebase=False), sync=False) as mon:
        with pytest.warns(SampleGapWarning, match=rf"2 gap\(s\).*t_ns {buf[59]} to {buf[60]} .*~2 reading\(s\) "
                          rf"missing.*t_ns {buf[117]} to {buf[118]} .*~1 reading\(s\) missing"):
            m = mon.measure("w", start, end, recorded=True)
    assert m.gap_count == 2
    assert m.gap_s == pytest.approx((buf[60] - buf[59] + buf[118] - buf[117]) * 1e-9, abs=1e-12)
    assert m.energy_j != whole.energy_j  # the lost readings' power was not what the next one read


def test_rows_in_any_order_give_the_same_window_and_the_same_gaps():
    """integrate_window reads the sampler's time-sorted table; rows in another order (GPU by GPU, shuffled)
    read NaN, or a window of the wrong rows, without a word. They are now put in time order first; the gap
    search works on the integrator's rows sorted by (GPU, time), with no sort of its own."""
    t, p = _buffer()
    keep = np.ones(t.size, bool)
    keep[[30, 61, 62]] = False
    t2, gpu = np.concatenate([t[keep], t]), np.repeat([0, 1], [keep.sum(), t.size]).astype(np.int32)
    p2 = np.concatenate([p[keep], np.where(t == S + 20_000_000, np.nan, p)])  # GPU 1: one NaN reading
    s = _samples(t2, p2, gpu=gpu)  # time-sorted, GPUs interleaved: the sampler's order
    periods = {"nvml_samples": 0.02}
    with pytest.warns(SampleGapWarning) as ref_warning:
        ref = integrate_window(s, 2, S // 2, 3 * S // 2, periods, margin_ns=S // 10)
    assert ref.gap_count == 3 and ref.gap_s == pytest.approx(0.06 + 0.04 + 0.04, abs=1e-12)
    rng = np.random.default_rng(5)
    by_gpu = np.lexsort((s["t_ns"], s["gpu"]))
    for order in (by_gpu, rng.permutation(t2.size), by_gpu[::-1]):
        with pytest.warns(SampleGapWarning) as rec:
            w = integrate_window({k: v[order] for k, v in s.items()}, 2, S // 2, 3 * S // 2, periods,
                                 margin_ns=S // 10)
        assert (w.energy_j_per_gpu, w.sample_count, w.gap_count, w.gap_s, w.source) == \
            (ref.energy_j_per_gpu, ref.sample_count, ref.gap_count, ref.gap_s, ref.source)
        assert str(rec[0].message) == str(ref_warning[0].message)


def test_the_gap_search_sorts_only_rows_that_are_not_in_gpu_time_order():
    t, p = _buffer()
    keep = t != S + 20_000_000
    t2, p2 = np.concatenate([t[keep], t]), np.concatenate([p[keep], p])
    gpu = np.repeat([0, 1], [keep.sum(), t.size])
    ref = interval_gaps(t2, p2, gpu, 0, 2 * S, 0.02)  # (GPU, time) order: searched as given
    assert (ref.gpu.tolist(), ref.t0_ns.tolist(), ref.t1_ns.tolist()) == ([0], [S], [S + 40_000_000])
    for order in (np.argsort(t2, kind="stable"), np.random.default_rng(2).permutation(t2.size)):
        got = interval_gaps(t2[order], p2[order], gpu[order], 0, 2 * S, 0.02)
        assert all(np.array_equal(getattr(got, f), getattr(ref, f)) for f in ("gpu", "t0_ns", "t1_ns", "overlap_ns",
                                                                              "energy_j", "missing"))
