"""Holes in point power readings (the instant field): with the shared H200 trace's polls cut from 2.4 to 3.3 s,
the window 2.4-3.3 s read 358 J from the instant readings (interpolated across 0.9 s with no reading) against the
counter's 341 J, with no gap counted and no warning; a phase inside the hole got the model's figure without a
word. A hole is now defined by how the rows were recorded (energylens.measure.gaps.reading_holes): raw polls
(every poll a row, another tool's) or one row per update further apart than 1.5 update periods (the period read
off the changes of value, not the 3 ms poll spacing); a changes-only stream (energylens' own, re-sending a held
value every HOLD_S = 1 s) further apart than its hold plus one period. Windows count them in gap_count / gap_s
and warn naming each hole and the counter's figure; attribute_phases refuses a phase inside one and warns for a
phase reaching into one. No alarm on the uncut trace, nor on a changes-only stream holding a value under 1 s."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from data_paths import SHARED_DATA
from energylens.errors import EnergyLensError
from energylens.measure import EnergyMonitor, PowerSampler, Trace, attribute, attribute_phases
from energylens.measure.gaps import HOLD_S, hold_limits, reading_holes
from energylens.measure.integrate import PowerCounterDisagreeWarning, SampleGapWarning, integrate_window
from energylens.measure.trace import synthetic_trace

S = 1_000_000_000
CSV = SHARED_DATA / "h200-nvml-trace" / "nvml_trace.csv"
KERNEL = {"gpu": [0], "start_ns": [1 * S], "end_ns": [int(2.78 * S)], "name": ["gemm"], "kind": ["matmul"]}
COUNTER_HOLE = r"energy counter's figure over \[2400000000, 3300000000\] ns interpolates .*nvml_energy.* at its start\."


def _h200(cut: tuple[float, float] | None, marks: dict | None = None) -> Trace:
    """docs/measuring.md section 3's loading of the shared H200 polls, less the polls inside ``cut`` (s)."""
    if not CSV.is_file():
        pytest.skip(f"{CSV} is absent (ENERGYLENS_SHARED_DATA)")
    polls = pd.read_csv(CSV, comment="#")
    if cut is not None:
        polls = polls[(polls["t_s"] < cut[0]) | (polls["t_s"] > cut[1])]
    t_ns = np.round(polls["t_s"].to_numpy() * 1e9).astype(np.int64)
    nan = np.full(len(polls), np.nan)
    samples = pd.concat([
        pd.DataFrame({"t_ns": t_ns, "gpu": 0, "power_w": polls["field_instant_mw"] / 1e3, "energy_j": nan,
                      "source": "nvml_instant"}),
        pd.DataFrame({"t_ns": t_ns, "gpu": 0, "power_w": polls["power_usage_mw"] / 1e3, "energy_j": nan,
                      "source": "nvml_average"}),
        pd.DataFrame({"t_ns": t_ns, "gpu": 0, "power_w": nan, "energy_j": polls["energy_mj"] / 1e3,
                      "source": "nvml_energy"}),
    ])
    marks = marks or {"t_ns": [int(0.2 * S), 1 * S, int(2.78 * S), int(4.1 * S)],
                      "label": ["idle", "load", "idle", "end"]}
    return Trace(samples=samples, kernels=KERNEL, marks=marks,
                 meta={"gpus": [{"index": 0, "name": "NVIDIA H200", "uuid": ""}]})


def _table(trace: Trace) -> dict:
    s = trace.samples.sort_values("t_ns", kind="stable")
    return {c: s[c].to_numpy(dtype=object if c == "source" else None) for c in s.columns}


def test_a_window_across_cut_polls_of_the_h200_trace_counts_and_names_the_hole_and_the_counter():
    whole, cut = _h200(None), _h200((2.4, 3.3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = integrate_window(_table(whole), 1, int(2.4 * S), int(3.3 * S), {})
    assert (ref.gap_count, ref.gap_s) == (0, 0.0)
    # the counter's polls are cut too: its figure's start lies in a hole of its own (test_counter_holes.py)
    with pytest.warns(SampleGapWarning, match=COUNTER_HOLE), \
            pytest.warns(SampleGapWarning, match=r"1 hole\(s\) in the power readings inside \[2400000000, 3300000000\] "
                         r"ns: nvml_instant GPU position 0: no reading from t_ns 2389091000 to 3304892000 \(0\.916 s, "
                         r"where its rows lie at most 0\.157 s apart: 104\.5 ms update period\).*0\.900 s.*"
                         r"358\.3 J from the power readings, 345\.9 J from the energy counter \(\+3\.6 %\)"):
        w = integrate_window(_table(cut), 1, int(2.4 * S), int(3.3 * S), {})
    assert w.energy_j_per_gpu[0] == pytest.approx(358.29, abs=0.01)  # what it read without a word before
    assert (w.gap_count, w.gap_s) == (1, pytest.approx(0.9, abs=1e-9))
    # replayed and measured by the monitor: the same hole, in the Measurement
    with EnergyMonitor(PowerSampler.replay(cut, realtime=False, rebase=False), sync=False) as mon:
        with pytest.warns(SampleGapWarning, match=COUNTER_HOLE), \
                pytest.warns(SampleGapWarning, match=r"no reading from t_ns 2389091000 to 3304892000"):
            m = mon.measure("w", int(2.4 * S), int(3.3 * S), recorded=True)
    assert (m.gap_count, m.gap_s) == (1, pytest.approx(0.9, abs=1e-9))


def test_the_uncut_h200_trace_has_no_hole_in_any_window_or_phase():
    trace = _h200(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # (1.0-1.05 s: the instant readings lag the load step; test_power_counter_agreement.py)
        warnings.simplefilter("ignore", PowerCounterDisagreeWarning)
        for a, b in ((0.02, 4.3), (0.0, 4.4), (1.0, 1.05), (2.4, 3.3)):
            assert integrate_window(_table(trace), 1, int(a * S), int(b * S), {}).gap_count == 0
        with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False) as mon:
            assert mon.measure("w", int(0.02 * S), int(4.3 * S), recorded=True).gap_count == 0
        for source in ("nvml_energy", "nvml_instant"):
            attribute_phases(trace, source=source, span_ns=(0, int(4.3 * S)))


def test_a_phase_inside_the_hole_is_refused_and_one_reaching_into_it_is_warned():
    marks = {"t_ns": [int(0.2 * S), 1 * S, int(2.5 * S), int(3.2 * S), int(4.1 * S)],
             "label": ["idle", "load", "stalled", "idle", "end"]}
    trace = _h200((2.4, 3.3), marks)
    a = attribute(trace, source="nvml_energy", span_ns=(0, int(4.3 * S)))
    with pytest.raises(EnergyLensError, match=r"1 span\(s\) of the reported phases lie inside a hole of the "
                       r"'nvml_energy' readings: phase 'stalled' from marks row 2 \(t_ns 2500000000\) to row 3 "
                       r"\(t_ns 3200000000\), in the hole nvml_energy GPU position 0: no reading from t_ns 2389091000 "
                       r"to 3304892000 \(0\.916 s.*phases= without it"):
        attribute_phases(trace, attribution=a)
    with pytest.warns(SampleGapWarning, match=r"2 span\(s\) of the reported phases lie partly in a hole of the "
                      r"'nvml_energy' readings: phase 'load' from marks row 1 \(t_ns 1000000000\) to row 2 "
                      r"\(t_ns 2500000000\), in the hole .*no reading from t_ns 2389091000 to 3304892000"):
        p = attribute_phases(trace, attribution=a, phases=["idle", "load"])
    assert p.phases == ("idle", "load")
    with warnings.catch_warnings():  # the phases clear of the hole: nothing to say
        warnings.simplefilter("error")
        clear = Trace(samples=trace.samples, kernels=KERNEL, meta=trace.meta,
                      marks={"t_ns": [int(0.2 * S), 1 * S, int(2.3 * S)], "label": ["idle", "load", "end"]})
        attribute_phases(clear, attribution=a)


def _changes_only(t_poll: np.ndarray, power: np.ndarray, hold_s: float = HOLD_S) -> tuple[np.ndarray, np.ndarray]:
    """What energylens' instant source sends for polls ``t_poll`` that read ``power`` (cpp/src/nvml_sources.cpp,
    PolledPowerSource::poll): a new value at its bracket's midpoint, the old one re-sent at the last poll that saw
    it, and a held value again ``hold_s`` after its last row."""
    t_out, v_out = [int(t_poll[0])], [float(power[0])]
    last_emit, last_stamp, last_poll = int(t_poll[0]), int(t_poll[0]), int(t_poll[0])
    for t, w in zip(t_poll[1:].tolist(), power[1:].tolist(), strict=True):
        changed = w != v_out[-1]
        if changed and last_poll > last_stamp:
            t_out.append(last_poll)
            v_out.append(v_out[-1])
        if changed or t - last_emit >= hold_s * S:
            stamp = max(last_poll, t - S // 10) + (t - max(last_poll, t - S // 10)) // 2 if changed else t
            t_out.append(stamp)
            v_out.append(w)
            last_emit, last_stamp = t, stamp
        last_poll = t
    return np.asarray(t_out, np.int64), np.asarray(v_out)


def _stream(t: np.ndarray, v: np.ndarray) -> dict:
    return {"t_ns": t, "gpu": np.zeros(t.size, np.int32), "power_w": v, "energy_j": np.full(t.size, np.nan),
            "source": np.full(t.size, "nvml_instant", dtype=object)}


def test_a_changes_only_stream_holding_a_value_under_its_limit_is_no_hole_but_a_silent_poller_is():
    polls = np.arange(0, 8 * S, 10_000_000, dtype=np.int64)  # a poll every 10 ms, 100 ms updates
    update = polls // (S // 10)
    power = np.where((polls > 2 * S) & (polls < 5 * S), 120.0, 300.0 + (update % 7))  # idle held 3 s
    t, v = _changes_only(polls, power)
    spacing = np.diff(t)
    assert spacing.max() > 0.9 * S and spacing.max() <= S + 10_000_000  # the heartbeat, a second apart
    native = hold_limits({"sampler": "nvml"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = integrate_window(_stream(t, v), 1, S, 7 * S, {"nvml_instant": 0.1}, hold_s=native)
        replayed = Trace(samples=_stream(t, v), meta={"gpus": [{"index": 0, "name": "x", "uuid": ""}],
                                                      "sampler": "nvml"})
        with EnergyMonitor(PowerSampler.replay(replayed, realtime=False, rebase=False), sync=False) as mon:
            assert mon.measure("w", S, 7 * S, recorded=True).gap_count == 0
    assert w.gap_count == 0 and w.energy_j_per_gpu[0] == pytest.approx(
        float(np.sum(power[(polls >= S) & (polls < 7 * S)]) * 0.01), rel=2e-3)
    # as raw polls (no hold stated) the same rows would be holes: how they were recorded decides
    assert reading_holes(t, v, np.zeros(t.size), S, 7 * S, 0.1, "polled").gpu.size >= 2
    # the poller stalled from 2.2 to 3.5 s while the value held: no heartbeat for 1.5 s, a hole
    run = ~((polls > int(2.2 * S)) & (polls < int(3.5 * S)))
    t, v = _changes_only(polls[run], power[run])
    with pytest.warns(SampleGapWarning, match=r"no reading from t_ns 2005000000 to 3500000000 \(1\.495 s, where its "
                      r"rows lie at most 1\.100 s apart"):
        w = integrate_window(_stream(t, v), 1, S, 7 * S, {"nvml_instant": 0.1}, hold_s=native)
    assert w.gap_count == 1


def test_one_reading_per_update_missing_a_stretch_is_a_hole_and_the_stated_hold_of_another_tool_is_read():
    trace, _ = synthetic_trace(duration_s=6.0, buffer_period_s=None, seed=2)
    s = trace.samples
    inst = s[s["source"] == "nvml_instant"]
    t0 = int(inst["t_ns"].min())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert integrate_window(_table(trace), 1, t0, t0 + 5 * S, {}).gap_count == 0
    drop = (s["source"] == "nvml_instant") & (s["t_ns"] > t0 + 2 * S) & (s["t_ns"] < t0 + 2 * S + 350_000_000)
    lossy = Trace(samples=s[~drop], meta=trace.meta)
    with pytest.warns(SampleGapWarning, match=r"0\.150 s apart: 100\.0 ms update period.*from the energy counter"):
        w = integrate_window(_table(lossy), 1, t0, t0 + 5 * S, {})
    assert w.gap_count == 1 and 0.35 < w.gap_s < 0.45
    # another tool's changes-only stream states its hold limit in meta["hold_s"]; None: no limit, no search
    for hold, count in (({"nvml_instant": 0.5}, 0), ({"nvml_instant": 0.2}, 1), ({"nvml_instant": None}, 0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stated = integrate_window(_table(lossy), 1, t0, t0 + 5 * S, {}, hold_s=hold_limits({"hold_s": hold}))
        assert stated.gap_count == count, hold
    # energylens' own stream polled slower than its default (PowerSampler.nvml(interval_s=0.5)): a poll later
    assert hold_limits({"sampler": "nvml", "poll_interval_s": 0.5})["nvml_instant"] == pytest.approx(1.5)
    assert hold_limits({"sampler": "replay", "recorded_by": "nvml"}) == hold_limits({"sampler": "nvml"})
    with pytest.raises(ValueError, match=r"meta\['hold_s'\]\['nvml_instant'\] must be seconds > 0"):
        hold_limits({"hold_s": {"nvml_instant": 0}})


def test_a_fit_on_buffer_readings_across_a_hole_is_warned_and_one_on_the_counter_is_not():
    """attribute() on whole-interval power readings (the driver buffer) charges the row across a hole at the reading
    after it; the counter's difference across one is the energy, and the instant field's rows are each its own
    averaging window: unharmed, no warning (the H200 trace cut from 2.4 to 3.3 s)."""
    cut = _h200((2.4, 3.3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribute(cut, source="nvml_energy", span_ns=(0, int(4.3 * S)))
        attribute(cut, source="nvml_instant", span_ns=(0, int(4.3 * S)), averaging_window_s=0.025)
    trace, _ = synthetic_trace(duration_s=20.0, seed=1)  # the driver buffer, every 20 +- 2.5 ms
    s = trace.samples
    buf = np.flatnonzero((s["source"] == "nvml_samples").to_numpy())
    lossy = Trace(samples=s.drop(index=s.index[buf[300:305]]), kernels=trace.kernels, meta=trace.meta)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribute(trace, source="nvml_samples")
    with pytest.warns(SampleGapWarning, match=r"1 hole\(s\).*nvml_samples GPU position 0: no reading from t_ns "
                      rf"{int(s['t_ns'].iloc[buf[299]])} to {int(s['t_ns'].iloc[buf[305]])}"):
        attribute(lossy, source="nvml_samples")
