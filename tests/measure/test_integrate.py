"""Window integration (energylens.measure.integrate): the pure maths against hand integrals, and the
vectorised per-GPU integration against the per-GPU, per-source loop it replaced, on replayed traces
(the real H200 slice, and a three-GPU trace with a DCGM counter and a GPU without readings)."""

import math
import re
import warnings

import numpy as np
import pytest

from energylens.measure.integrate import (
    COUNTER_SOURCES,
    INTERVAL_SOURCES,
    POWER_PREFERENCE,
    CounterWentBackWarning,
    counter_energy_j,
    counter_energy_j_per_gpu,
    covered,
    integrate_window,
    power_energy_j_per_gpu,
    window_energy_j,
)
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import Trace

# ---- pure window maths ----------------------------------------------------------------------------------


def test_window_energy_is_the_integral_of_the_linear_interpolant():
    t = np.array([0, 1_000_000_000, 2_000_000_000])
    p = np.array([100.0, 200.0, 200.0])
    assert window_energy_j(t, p, 0, 2_000_000_000) == pytest.approx(150.0 + 200.0)
    # [0.5, 1]: mean of 150 and 200 W for 0.5 s; [1, 1.5]: 200 W for 0.5 s
    assert window_energy_j(t, p, 500_000_000, 1_500_000_000) == pytest.approx(87.5 + 100.0)
    # constant beyond the ends, for a span that reaches the readings (one wholly past them is refused:
    # tests/measure/test_integrate_arguments.py)
    assert window_energy_j(t, p, 1_000_000_000, 4_000_000_000) == pytest.approx(200.0 * 3)
    assert window_energy_j(t, p, -1_000_000_000, 0) == pytest.approx(100.0)
    assert math.isnan(window_energy_j(np.array([], np.int64), np.array([]), 0, 1))
    with pytest.raises(ValueError, match="end_ns < start_ns"):
        window_energy_j(t, p, 2, 1)


def test_window_energy_half_segments():
    t = np.array([0, 1_000_000_000])
    p = np.array([0.0, 100.0])
    assert window_energy_j(t, p, 0, 500_000_000) == pytest.approx(0.5 * 50 * 0.5)
    assert window_energy_j(t, p, 500_000_000, 1_000_000_000) == pytest.approx(0.5 * (50 + 100) * 0.5)


def test_counter_energy_interpolates_and_needs_brackets():
    t = np.array([0, 100, 200]) * 1_000_000  # readings 0.1 s apart, 100-200 W (100 ns apart was a UnitsWarning)
    e = np.array([10.0, 20.0, 40.0])
    assert counter_energy_j(t, e, 50_000_000, 150_000_000) == pytest.approx(30.0 - 15.0)
    assert math.isnan(counter_energy_j(t, e, -1, 150_000_000))
    assert math.isnan(counter_energy_j(t, e, 50_000_000, 200_000_001))


def test_a_counter_that_goes_back_inside_a_window_is_nan_and_warned_not_a_negative_energy():
    """A reset (driver reload, or a corrupt trace) inside a window: the difference read -820 J on a 400 W x 2 s
    run. GPU 1's counter is fine and keeps its value; a window before the reset is unaffected."""
    t = np.arange(0, 31) * 100_000_000
    e = 200.0 * 0.1 * np.arange(31) + 1000.0
    e[t > 1_050_000_000] -= 1220.0  # the counter restarts near 0 after 1.05 s
    gpu = np.repeat([0, 1], 31)
    both = np.concatenate([e, 200.0 * 0.1 * np.arange(31)])
    with pytest.warns(CounterWentBackWarning, match=r"GPU\(s\) \[0\] went back .*t_ns 1100000000"):
        got = counter_energy_j_per_gpu(np.concatenate([t, t]), both, gpu, 2, 500_000_000, 2_500_000_000)
    assert math.isnan(got[0]) and got[1] == pytest.approx(400.0)
    assert counter_energy_j(t, e, 100_000_000, 900_000_000) == pytest.approx(160.0)  # before it: no warning


def test_per_gpu_integration_keeps_gpus_apart_and_ignores_nan_and_foreign_rows():
    t = np.array([0, 0, 1_000_000_000, 1_000_000_000, 500_000_000, 500_000_000])
    p = np.array([100.0, 300.0, 100.0, 300.0, np.nan, 1e9])
    gpu = np.array([0, 1, 0, 1, 0, 7])  # GPU 7 is not one of the sampler's 3; GPU 2 has no readings
    e = power_energy_j_per_gpu(t, p, gpu, 3, 0, 1_000_000_000)
    assert e[:2] == pytest.approx([100.0, 300.0])
    assert math.isnan(e[2])


# ---- the loop the vectorised integration replaced (monitor.py before the split) -------------------------


def _finite_readings(t_ns, power_w):
    t = np.asarray(t_ns, dtype=np.int64)
    p = np.asarray(power_w, dtype=np.float64)
    ok = np.isfinite(p)
    return t[ok], p[ok]


def _loop_window_energy_j(t_ns, power_w, start_ns, end_ns):
    t, p = _finite_readings(t_ns, power_w)
    if t.size == 0:
        return math.nan
    inside = t[(t > start_ns) & (t < end_ns)]
    knots = np.concatenate(([start_ns], inside, [end_ns])).astype(np.int64)
    rel = (knots - start_ns).astype(np.float64)
    values = np.interp(knots.astype(np.float64), t.astype(np.float64), p)
    return float(np.sum(0.5 * (values[1:] + values[:-1]) * np.diff(rel)) * 1e-9)


def _loop_step_energy_j(t_ns, power_w, start_ns, end_ns):
    """The same for interval means: reading i holds on (t[i-1], t[i]], the first and last held beyond the ends."""
    t, p = _finite_readings(t_ns, power_w)
    if t.size == 0:
        return math.nan
    total = 0.0
    edges = [(-(2**62), int(t[0]), p[0])] + [(int(t[i - 1]), int(t[i]), p[i]) for i in range(1, t.size)] \
        + [(int(t[-1]), 2**62, p[-1])]
    for a, b, v in edges:
        overlap = min(b, end_ns) - max(a, start_ns)
        if overlap > 0:
            total += v * overlap
    return total * 1e-9


def _loop_counter_energy_j(t_ns, energy_j, start_ns, end_ns, tail=None):
    t = np.asarray(t_ns, dtype=np.int64)
    e = np.asarray(energy_j, dtype=np.float64)
    ok = np.isfinite(e)
    t, e = t[ok], e[ok]
    raw_last = int(t[-1]) if t.size else None
    keep = np.ones(t.size, dtype=bool)  # a repeated reading is not where the counter reached its value:
    keep[1:] = e[1:] != e[:-1]          # the first of each value (raw polls: a last repeat adds nothing)
    if t.size > 1 and e[1] == e[0]:     # a first value the next poll repeats was published earlier: left out
        keep[0] = False
    if (e[1:] == e[:-1]).any():         # raw polls: a change stamped mid-way back to the poll before, within a period
        changes = [i for i in range(1, t.size) if e[i] != e[i - 1]]
        period = float(np.median(np.diff(t[changes]))) if len(changes) >= 3 else 1e8
        stamped = t.copy()
        for n, i in enumerate(changes):
            lo = max(int(t[i - 1]), int(t[i]) - int(period))
            stamped[i] = lo + (int(t[i]) - lo + 1) // 2
            if i == t.size - 1 and n > 0:  # the last change: at the next update after the one before, in its bracket
                prev = int(stamped[changes[n - 1]])
                expected = max(prev + int(round(max(math.ceil((lo - prev) / period - 0.25), 1) * period)), lo + 1)
                stamped[i] = expected if expected <= t[i] else stamped[i]
        t = stamped
    else:
        keep[-1] = True
    t, e = t[keep], e[keep]
    if t.size < 2 or t[0] > start_ns:
        return math.nan
    tf = t.astype(np.float64)
    if t[-1] < end_ns:  # past the last update: the power readings fill the tail where the counter was read there
        if tail is None or raw_last < end_ns or not t[-1] > start_ns or (np.diff(e) < 0).any():
            return math.nan
        return float(e[-1] - np.interp(float(start_ns), tf, e)) + tail(int(t[-1]), end_ns)
    return float(np.interp(float(end_ns), tf, e) - np.interp(float(start_ns), tf, e))


def _loop_measure(samples, gpu_count, start_ns, end_ns, periods):
    """(energy per GPU, counter per GPU, source, count): one boolean mask per GPU and source."""
    t_all = samples["t_ns"]
    lo = int(np.searchsorted(t_all, start_ns - 30_000_000_000, side="left"))
    hi = int(np.searchsorted(t_all, end_ns + 30_000_000_000, side="right"))
    s = {k: v[lo:hi] for k, v in samples.items()}
    source = None
    has_power = np.isfinite(s["power_w"])
    present = [src for src in POWER_PREFERENCE if (has_power & (s["source"] == src)).any()]
    for src in present:
        t = s["t_ns"][has_power & (s["source"] == src)]
        slack = int(2 * float(periods.get(src, 0.1)) * 1e9) + 1
        if t[0] <= start_ns + slack and t[-1] >= end_ns - slack:
            source = src
            break
    else:  # no source covers the window (it reaches past the recording): no energy, not an extrapolation
        source = None
    per_gpu, counter, count = [], [], 0
    for g in range(gpu_count):
        on_gpu = s["gpu"] == g
        if source is None:
            per_gpu.append(math.nan)
        else:
            sel = on_gpu & (s["source"] == source) & np.isfinite(s["power_w"])
            t, p = s["t_ns"][sel], s["power_w"][sel]
            count += int(((t >= start_ns) & (t <= end_ns)).sum())
            integrate = _loop_step_energy_j if source in INTERVAL_SOURCES else _loop_window_energy_j
            per_gpu.append(integrate(t, p, start_ns, end_ns))
        c = math.nan
        tail = None
        if source is not None and source != "nvml_average":
            tail = (lambda a, b, t=t, p=p, f=integrate: f(t, p, a, b))  # noqa: E731
        for csrc in COUNTER_SOURCES:
            sel = on_gpu & (s["source"] == csrc) & np.isfinite(s["energy_j"])
            if sel.any():
                c = _loop_counter_energy_j(s["t_ns"][sel], s["energy_j"][sel], start_ns, end_ns, tail)
                break
        counter.append(c)
    return per_gpu, counter, source or "", count


def _replayed(trace):
    sampler = PowerSampler.replay(trace, realtime=False, rebase=False)
    with sampler:
        sampler.flush()
    return sampler.samples(), sampler.gpu_count, sampler.result().update_period_s


def _windows(rng, lo, hi, n):
    """Random spans across [lo, hi] and beyond it: long, short (under one update period), empty."""
    span = hi - lo
    a = rng.integers(lo - span // 10, hi + span // 10, size=n)
    length = np.where(rng.random(n) < 0.3, rng.integers(0, 50_000_000, size=n),
                      rng.integers(0, span, size=n))
    return [(int(x), int(x + d)) for x, d in zip(a, length, strict=True)]


def _assert_same_as_loop(samples, gpu_count, periods, windows):
    compared = 0
    for a, b in windows:
        # (hold_s as the monitor passes it: these replays are of another tool's polls, whose last reading holds
        # no value past two update periods; the default takes the sampler's own changes-only hold)
        w = integrate_window(samples, gpu_count, a, b, periods, hold_s={})
        energy, counter, source, count = _loop_measure(samples, gpu_count, a, b, periods)
        assert (w.source, w.sample_count) == (source, count), (a, b)
        np.testing.assert_allclose(w.power_energy_j_per_gpu, energy, rtol=1e-9, atol=1e-9, equal_nan=True)
        np.testing.assert_allclose(w.counter_energy_j_per_gpu, counter, rtol=1e-9, atol=1e-9, equal_nan=True)
        compared += int(np.isfinite(energy).sum() + np.isfinite(counter).sum())
    assert compared > len(windows)  # most windows have finite numbers to compare


@pytest.mark.filterwarnings("ignore::energylens.measure.integrate.PowerCounterDisagreeWarning")  # the steps' lag
def test_vectorised_integration_matches_the_loop_on_the_replayed_h200_trace(h200_trace):
    samples, gpu_count, periods = _replayed(h200_trace)
    t = samples["t_ns"]
    _assert_same_as_loop(samples, gpu_count, periods, _windows(np.random.default_rng(1), int(t[0]), int(t[-1]), 300))


def _three_gpu_trace():
    """GPU 0: driver buffer + NVML counter; GPU 1: instant power + DCGM counter (power and energy
    rows); GPU 2: only a counter. Irregular times, a gap, and a NaN reading."""
    rng = np.random.default_rng(7)
    rows = []
    t0 = 5_000_000_000

    def add(gpu, source, t, power, energy):
        rows.append((t, np.full(t.size, gpu), power, energy, np.full(t.size, source, dtype=object)))

    tb = t0 + np.cumsum(rng.integers(15_000_000, 25_000_000, size=400))
    tb = tb[(tb < t0 + 3_000_000_000) | (tb > t0 + 4_000_000_000)]  # a 1 s gap
    pb = 200 + 150 * np.sin(tb * 1e-9) + rng.normal(0, 5, tb.size)
    pb[10] = np.nan
    add(0, "nvml_samples", tb, pb, np.full(tb.size, np.nan))
    tc = t0 + np.arange(0, 8_000_000_000, 100_000_000)
    add(0, "nvml_energy", tc, np.full(tc.size, np.nan), 1e5 + np.cumsum(rng.uniform(10, 40, tc.size)))
    ti = t0 + np.arange(30_000_000, 8_000_000_000, 100_000_000)
    add(1, "nvml_instant", ti, rng.uniform(100, 600, ti.size), np.full(ti.size, np.nan))
    td = t0 + np.arange(50_000_000, 7_000_000_000, 100_000_000)
    add(1, "dcgm", td, np.full(td.size, np.nan), 2e5 + np.cumsum(rng.uniform(10, 60, td.size)))
    add(2, "nvml_energy", tc[:40], np.full(40, np.nan), np.cumsum(rng.uniform(5, 9, 40)))
    t, gpu, p, e, src = (np.concatenate(c) for c in zip(*rows, strict=True))
    order = np.argsort(t, kind="stable")
    return Trace(samples={"t_ns": t[order], "gpu": gpu[order].astype(np.int32), "power_w": p[order],
                          "energy_j": e[order], "source": src[order]},
                 meta={"gpus": [{"index": g, "name": "synthetic", "uuid": f"GPU-{g}"} for g in range(3)],
                       "update_period_s": {"nvml_samples": 0.02, "nvml_instant": 0.1, "nvml_energy": 0.1}})


@pytest.mark.filterwarnings("ignore::energylens.measure.integrate.SampleGapWarning")  # its 1 s gap is on purpose
@pytest.mark.filterwarnings("ignore::energylens.measure.integrate.PowerCounterDisagreeWarning")  # drawn apart
def test_vectorised_integration_matches_the_loop_on_a_replayed_three_gpu_trace():
    samples, gpu_count, periods = _replayed(_three_gpu_trace())
    assert gpu_count == 3
    assert set(samples["source"]) == {"nvml_samples", "nvml_energy", "nvml_instant", "dcgm"}
    t = samples["t_ns"]
    _assert_same_as_loop(samples, gpu_count, periods, _windows(np.random.default_rng(2), int(t[0]), int(t[-1]), 300))


def _loop_covered(s, gpu_count, end_ns):
    late = s["t_ns"] >= end_ns
    power = np.isin(s["source"], POWER_PREFERENCE) & np.isfinite(s["power_w"])
    counters = [c for c in COUNTER_SOURCES if (s["source"] == c).any()]
    for g in range(gpu_count):
        here = late & (s["gpu"] == g)
        if not (here & power).any():
            return False
        for c in counters:
            if not (here & (s["source"] == c)).any():
                return False
    return True


def test_covered_matches_the_loop_it_replaced():
    samples, gpu_count, _ = _replayed(_three_gpu_trace())
    only_gpu0 = {k: v[samples["gpu"] == 0] for k, v in samples.items()}
    t0 = 5_000_000_000
    seen = set()
    for s, n in ((samples, gpu_count), (samples, 2), (only_gpu0, 1)):
        for end in range(t0 - 1_000_000_000, t0 + 9_000_000_000, 50_000_000):
            got = covered(s, n, end)
            assert got == _loop_covered(s, n, end), (n, end)
            seen.add(got)
    assert seen == {True, False}
    assert not covered({k: v[:0] for k, v in samples.items()}, 1, t0)


def test_counter_polled_faster_than_it_updates_is_read_at_its_change_points():
    """An energy counter that advances every 100 ms (an H200's, docs/NVML-FACTS.md) polled every 10 ms
    repeats each value ten times; a 50 ms window between two updates reads the power's share, not 0 J,
    and a window across many updates is unchanged."""
    t = np.arange(0, 4_000_000_000, 10_000_000, dtype=np.int64)
    e = 700.0 * ((t // 100_000_000) * 100_000_000) / 1e9  # 700 W, staircase of 100 ms steps
    assert counter_energy_j(t, e, 1_500_000_000, 1_550_000_000) == pytest.approx(35.0, rel=1e-9)
    assert counter_energy_j(t, e, 1_000_000_000, 3_000_000_000) == pytest.approx(1400.0, rel=1e-9)
    # two GPUs interleaved, the second at half the power: per GPU, same rule
    gpu = np.repeat([0, 1], t.size)
    got = counter_energy_j_per_gpu(np.concatenate([t, t]), np.concatenate([e, e / 2]), gpu, 2,
                                   1_500_000_000, 1_550_000_000)
    np.testing.assert_allclose(got, [35.0, 17.5], rtol=1e-9)
    # a window past the last change point but before the last reading: the counter adds nothing after its last
    # update (3.9 s), so it does not bracket the window (until 2026-12-07 the repeats held to 3.99 s read 0 J for
    # 24.5 J; integrate_window fills such a tail from the power readings, tests/measure/test_counter_tail.py)
    assert math.isnan(counter_energy_j(t, e, 3_950_000_000, 3_985_000_000))


def test_interval_means_integrate_exactly_where_the_interpolant_lags_an_edge():
    """Buffer readings are means over the interval since the previous one: a window on a 100 ms burst of
    500 W over 100 W idle reads 50 J above idle exactly as a step function (the interpolant read -8 %)."""
    t = np.arange(0, 2_000_000_001, 20_000_000, dtype=np.int64)  # a reading every 20 ms, t = end of interval
    p = np.where((t > 1_000_000_000) & (t <= 1_100_000_000), 500.0, 100.0)
    gpu = np.zeros(t.size, np.int32)
    exact = power_energy_j_per_gpu(t, p, gpu, 1, 1_000_000_000, 1_100_000_000, kind="interval")[0]
    lagged = power_energy_j_per_gpu(t, p, gpu, 1, 1_000_000_000, 1_100_000_000)[0]
    assert exact == pytest.approx(50.0, rel=1e-12) and lagged == pytest.approx(46.0, rel=1e-9)
    half = power_energy_j_per_gpu(t, p, gpu, 1, 1_010_000_000, 1_020_000_000, kind="interval")[0]
    assert half == pytest.approx(5.0, rel=1e-12)  # inside one interval: its mean x the overlap


def _buffer_then_instant(instant_from_ns: int) -> tuple[dict, dict]:
    """One GPU's driver-buffer readings (300 W, every 20 ms up to 1.0 s), then the instant field's (100 W, every
    100 ms from ``instant_from_ns`` to 3.0 s), in time order; and the two sources' update periods."""
    t_buf = np.arange(20_000_000, 1_000_000_001, 20_000_000, dtype=np.int64)
    t_ins = np.arange(instant_from_ns, 3_000_000_001, 100_000_000, dtype=np.int64)
    samples = {"t_ns": np.concatenate([t_buf, t_ins]), "gpu": np.zeros(t_buf.size + t_ins.size, np.int32),
               "power_w": np.concatenate([np.full(t_buf.size, 300.0), np.full(t_ins.size, 100.0)]),
               "energy_j": np.full(t_buf.size + t_ins.size, np.nan),
               "source": np.array(["nvml_samples"] * t_buf.size + ["nvml_instant"] * t_ins.size, dtype=object)}
    assert np.all(np.diff(samples["t_ns"]) > 0)
    return samples, {"nvml_samples": 0.02, "nvml_instant": 0.1}


def test_a_window_across_a_fallback_joins_the_sources_and_one_before_the_recording_is_nan():
    """The buffer stops at 1.0 s and the instant field takes over: a window across the switch integrates the
    buffer up to its last reading and the instant field from there (it held the dead source's last value to
    the end: +91 %); a window before any reading is NaN, not the first reading extrapolated."""
    s = 1_000_000_000
    samples, periods = _buffer_then_instant(instant_from_ns=s + 100_000_000)
    w = integrate_window(samples, 1, int(0.2 * s), 3 * s, periods)
    assert w.source == "nvml_samples+nvml_instant"
    assert w.energy_j_per_gpu[0] == pytest.approx(0.8 * 300 + 2.0 * 100, rel=1e-9)
    before = integrate_window(samples, 1, -s, -s // 2, periods)
    assert before.source == "" and np.isnan(before.energy_j_per_gpu[0]) and before.sample_count == 0


def test_a_gap_between_a_failed_source_and_the_next_is_bridged_and_reported():
    """The buffer's last reading is at 1.0 s and the instant field's first at 1.5 s (it detected its period
    before reading): no source covered 1.04-1.3 s and every window across it was NaN. Each side's reading
    is now held to the gap's middle (1.25 s) and the window says how long was bridged."""
    s = 1_000_000_000
    samples, periods = _buffer_then_instant(instant_from_ns=s + 500_000_000)
    w = integrate_window(samples, 1, int(0.2 * s), 3 * s, periods)
    assert w.source == "nvml_samples+nvml_instant"
    assert w.energy_j_per_gpu[0] == pytest.approx(1.05 * 300 + 1.75 * 100, rel=1e-9)
    # uncovered: from the buffer's reach (1.0 s + 2 x 20 ms) to the instant field's (1.5 s - 2 x 100 ms)
    assert w.bridged_s == pytest.approx(0.26, abs=1e-6)
    inside = integrate_window(samples, 1, int(1.1 * s), int(2.0 * s), periods)  # opened inside the gap
    assert inside.energy_j_per_gpu[0] == pytest.approx(0.15 * 300 + 0.75 * 100, rel=1e-9)
    assert inside.bridged_s == pytest.approx(0.2, abs=1e-6)
    covered_w = integrate_window(samples, 1, int(1.6 * s), int(2.0 * s), periods)
    assert covered_w.bridged_s == 0.0


# ---- an update period that is unknown or invalid ----------------------------------------------------------


def _buffer_samples(n=100, period_ns=20_000_000):
    t = np.arange(n, dtype=np.int64) * period_ns
    return {"t_ns": t, "gpu": np.zeros(n, np.int32), "power_w": np.where(t % 200_000_000 == 0, 400.0, 100.0),
            "energy_j": np.full(n, np.nan), "source": np.full(n, "nvml_samples", dtype=object)}


@pytest.mark.parametrize("unknown", [math.nan, None, np.float64("nan")])
def test_an_unknown_update_period_is_treated_as_absent_not_a_crash(unknown):
    """A period that could not be estimated (NaN from too few samples, null in a trace's meta) made
    integrate_window raise 'cannot convert float NaN to integer' (TypeError for None). It is now what an
    absent period is: 0.1 s of reach beyond the readings, the median spacing for the gap search."""
    s = _buffer_samples()
    absent = integrate_window(s, 1, 30_000_000, 1_500_000_000, {})
    w = integrate_window(s, 1, 30_000_000, 1_500_000_000, {"nvml_samples": unknown})
    assert (w.energy_j_per_gpu, w.source, w.sample_count, w.gap_count) == \
        (absent.energy_j_per_gpu, "nvml_samples", absent.sample_count, 0)
    assert w.energy_j_per_gpu[0] == pytest.approx(power_energy_j_per_gpu(
        s["t_ns"], s["power_w"], s["gpu"], 1, 30_000_000, 1_500_000_000, kind="interval")[0], rel=1e-12)
    one = {k: v[:1] for k, v in s.items()}  # one reading: no spacing to estimate anything from
    assert integrate_window(one, 1, 0, 50_000_000, {"nvml_samples": math.nan}).energy_j_per_gpu[0] == \
        pytest.approx(400.0 * 0.05, rel=1e-12)


@pytest.mark.parametrize("bad", [0, -0.02, math.inf, "20ms", True])
def test_an_invalid_update_period_names_the_source_and_value(bad):
    with pytest.raises(ValueError, match=rf"update period of 'nvml_samples'.*{re.escape(repr(bad))}"):
        integrate_window(_buffer_samples(), 1, 30_000_000, 1_500_000_000, {"nvml_samples": bad})


def test_source_rows_from_signal_ids_and_from_names_agree_and_windows_match():
    """integrate_window finds each source's rows once (source_rows): from the sampler's signal ids where the table
    has them, else by factorising the names; ==-comparing the name column per source cost ~5 of 11 ms a window."""
    from energylens.measure.integrate import source_rows
    from energylens.measure.signals import signal_sources

    names = signal_sources()
    rng = np.random.default_rng(7)
    sig = rng.integers(0, names.size, 3000).astype(np.int32)
    t = np.sort(rng.integers(0, 3_000_000_000, sig.size)).astype(np.int64)
    energy = np.where(np.isin(sig, [3, 5]), np.arange(sig.size) * 0.05, np.nan)
    s = {"t_ns": t, "gpu": rng.integers(0, 2, sig.size).astype(np.int32), "signal": sig,
         "power_w": np.where(np.isnan(energy), rng.uniform(100, 500, sig.size), np.nan), "energy_j": energy,
         "source": names[sig]}
    by_name = {k: v for k, v in s.items() if k != "signal"}
    wanted = (*POWER_PREFERENCE, *COUNTER_SOURCES, "replay")
    a, b = source_rows(s, wanted), source_rows(by_name, wanted)
    for src in wanted:
        assert np.array_equal(a[src], s["source"] == src) and np.array_equal(b[src], s["source"] == src), src
    periods = {"nvml_samples": 0.02, "nvml_instant": 0.1, "nvml_energy": 0.1}
    with pytest.warns(UserWarning):  # (random rows: gaps, a counter going back)
        w1 = integrate_window(s, 2, 500_000_000, 2_500_000_000, periods, hold_s={})  # (a signal column: said)
    with pytest.warns(UserWarning):
        w2 = integrate_window(by_name, 2, 500_000_000, 2_500_000_000, periods, hold_s={})
    assert (w1.energy_j_per_gpu, w1.source, w1.sample_count, w1.gap_count) == \
        (w2.energy_j_per_gpu, w2.source, w2.sample_count, w2.gap_count)
    assert np.array_equal(w1.counter_energy_j_per_gpu, w2.counter_energy_j_per_gpu, equal_nan=True)


# ---- readings of one source and GPU at one time ------------------------------------------------------------


def _tied(source, rows_at_100ms, shuffle_seed=None):
    """Readings every 20 ms plus ``rows_at_100ms`` at t = 100 ms (in place of the one there), rows shuffled: power
    100 W with 400 W at 60 ms, or a counter at 100 W (2 J a reading) beside a 100 W instant stream."""
    t = np.arange(11, dtype=np.int64) * 20_000_000
    counter = source in COUNTER_SOURCES
    v = 0.1 * t * 1e-6 if counter else np.where(t == 60_000_000, 400.0, 100.0)
    others = t != 100_000_000
    v = np.concatenate([v[others], rows_at_100ms])
    t = np.concatenate([t[others], np.full(len(rows_at_100ms), 100_000_000)])
    order = np.random.default_rng(shuffle_seed).permutation(t.size) if shuffle_seed is not None else np.arange(t.size)
    nan = np.full(t.size, np.nan)
    s = {"t_ns": t[order], "gpu": np.zeros(t.size, np.int32), "power_w": nan if counter else v[order],
         "energy_j": v[order] if counter else nan, "source": np.full(t.size, source, dtype=object)}
    if counter:  # (a window needs a power source too)
        s = {k: np.concatenate([s[k], b]) for k, b in
             {"t_ns": t, "gpu": np.zeros(t.size, np.int32), "power_w": np.full(t.size, 100.0), "energy_j": nan,
              "source": np.full(t.size, "nvml_instant", dtype=object)}.items()}
    return s


def _same(a, b):
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("source", ["nvml_samples", "nvml_instant", "nvml_energy"])
def test_readings_at_one_time_are_their_mean_whatever_the_row_order(source):
    """Two readings of one source and GPU at one t_ns: the integral took the value of whichever row came last for the
    time after it (the driver buffer read 20 J or 16 J by row order; a counter at 20 J then 25 J read its own reset,
    NaN, the other way round). They are now one reading, the mean of the distinct values, with a warning naming them."""
    from energylens.measure.ties import SameTimeReadingsWarning

    periods = {"nvml_samples": 0.02, "nvml_instant": 0.02, "nvml_energy": 0.02}
    counter = source in COUNTER_SOURCES
    low, high = (9.0, 10.5) if counter else (100.0, 300.0)  # (the counter reads 8 J at 80 ms, 12 J at 120 ms)
    results = []
    for rows in ([low, high], [high, low], [high, low, high]):
        for seed in (None, 0, 1, 2):
            with pytest.warns(SameTimeReadingsWarning, match=rf"{source}: 1 time\(s\).*GPU position 0 at t_ns "
                              r"100000000 \([\d.]+, [\d.]+\)"):
                w = integrate_window(_tied(source, rows, seed), 1, 30_000_000, 170_000_000, periods)
            results.append((w.energy_j_per_gpu, w.counter_energy_j_per_gpu, w.sample_count))
    assert all(_same(r, results[0]) for r in results), results
    mean = _tied(source, [(low + high) / 2])  # one reading of the mean, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = integrate_window(mean, 1, 30_000_000, 170_000_000, periods)
    assert _same(results[0], (one.energy_j_per_gpu, one.counter_energy_j_per_gpu, one.sample_count))
    assert np.isfinite(one.counter_energy_j_per_gpu[0] if counter else one.energy_j_per_gpu[0])


def test_a_row_recorded_twice_over_is_one_reading_without_a_warning():
    once, twice = _tied("nvml_samples", [250.0]), _tied("nvml_samples", [250.0, 250.0], shuffle_seed=3)
    periods = {"nvml_samples": 0.02}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = integrate_window(once, 1, 30_000_000, 170_000_000, periods)
        b = integrate_window(twice, 1, 30_000_000, 170_000_000, periods)
    assert (a.energy_j_per_gpu, a.sample_count) == (b.energy_j_per_gpu, b.sample_count)
    # and the pure functions agree, in any row order
    e = [power_energy_j_per_gpu(s["t_ns"], s["power_w"], s["gpu"], 1, 30_000_000, 170_000_000, kind="interval")[0]
         for s in (once, twice)]
    assert e[0] == e[1]
