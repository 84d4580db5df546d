"""Holes in energy-counter and DCGM readings, and raw-poll counter stamps.

- A cumulative counter is exact between any two of its readings: what a hole costs is the split of the energy
  inside it. A window whose start or end falls between two counter readings further apart than their recording
  allows read its counter figure with no word (the counter read only at a window's ends, then asked for a part of
  it; the shared H200 trace with its counter polls cut from 2.4 to 3.3 s); energylens' own counter and DCGM had no
  hole rule at all ("dcgm": None, "nvml_energy": None), so a multi-second stall of their reader went unnoticed, in
  windows and in attribute_phases. They are now judged by their own reads' spacing (gaps.BACKED_OFF).
- Another tool's changes-only stream without meta["hold_s"] is judged as raw polls; rows that never repeat a
  value (raw polls faster than the updates always do) now get a hint in the hole's message to state hold_s.
- A raw-poll counter's change was stamped at the first poll that saw it, on average half a poll late: a 1 s window
  across a 100 -> 500 W step read 298.0 J for 300 J. It is stamped mid-bracket, as the sampler's own."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from data_paths import SHARED_DATA
from energylens.errors import EnergyLensError
from energylens.measure import EnergyMonitor, PowerSampler, Trace, attribute, attribute_phases
from energylens.measure.gaps import hold_limits
from energylens.measure.integrate import (
    PowerCounterDisagreeWarning,
    SampleGapWarning,
    counter_energy_j,
    integrate_window,
)

S = 1_000_000_000
CSV = SHARED_DATA / "h200-nvml-trace" / "nvml_trace.csv"
KERNEL = {"gpu": [0], "start_ns": [1 * S], "end_ns": [int(2.78 * S)], "name": ["gemm"], "kind": ["matmul"]}


def _h200(counter_cut: tuple[float, float] | None = None, native: bool = False) -> Trace:
    """The shared H200 polls (instant power and counter), less the counter polls inside ``counter_cut`` (s); with
    ``native``, the counter as energylens' sampler records it (a row per change) and meta saying so."""
    if not CSV.is_file():
        pytest.skip(f"{CSV} is absent (ENERGYLENS_SHARED_DATA)")
    polls = pd.read_csv(CSV, comment="#")
    t_ns = np.round(polls["t_s"].to_numpy() * 1e9).astype(np.int64)
    e = polls["energy_mj"].to_numpy() / 1e3
    keep = np.ones(e.size, bool)
    if native:
        keep[1:] = e[1:] != e[:-1]
    if counter_cut is not None:
        keep &= (polls["t_s"] < counter_cut[0]).to_numpy() | (polls["t_s"] > counter_cut[1]).to_numpy()
    n, m = len(polls), int(keep.sum())
    samples = pd.concat([
        pd.DataFrame({"t_ns": t_ns, "gpu": 0, "power_w": polls["field_instant_mw"] / 1e3, "energy_j": np.nan,
                      "source": "nvml_instant"}),
        pd.DataFrame({"t_ns": t_ns[keep], "gpu": 0, "power_w": np.full(m, np.nan), "energy_j": e[keep],
                      "source": "nvml_energy"}),
    ], ignore_index=True)
    assert len(samples) == n + m
    meta = {"gpus": [{"index": 0, "name": "NVIDIA H200", "uuid": ""}]} | ({"sampler": "nvml"} if native else {})
    marks = {"t_ns": [int(0.2 * S), 1 * S, int(2.5 * S), int(3.2 * S), int(4.1 * S)],
             "label": ["idle", "load", "stalled", "idle", "end"]}
    return Trace(samples=samples, kernels=KERNEL, marks=marks, meta=meta)


def _table(trace: Trace) -> dict:
    s = trace.samples.sort_values("t_ns", kind="stable")
    return {c: s[c].to_numpy(dtype=object if c == "source" else None) for c in s.columns}


def test_a_window_edge_in_a_hole_of_raw_counter_polls_is_warned_and_a_hole_inside_the_window_is_not():
    cut = _table(_h200((2.4, 3.3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # (1.0-1.05 s: the instant readings lag the load step; test_power_counter_agreement.py)
        warnings.simplefilter("ignore", PowerCounterDisagreeWarning)
        for a, b in ((0.5, 4.0), (2.0, 3.6), (1.0, 1.05)):  # the counter's difference across the hole is exact
            assert np.isfinite(integrate_window(cut, 1, int(a * S), int(b * S), {}).counter_energy_j_per_gpu[0])
    with pytest.warns(SampleGapWarning, match=r"the energy counter's figure over \[2500000000, 4000000000\] ns "
                      r"interpolates across 1 hole\(s\) at its ends: nvml_energy GPU position 0: no reading from t_ns "
                      r"\d+ to \d+ \(0\.8\d\d s, where its rows lie at most 0\.15\d s apart.*its start"):
        w = integrate_window(cut, 1, int(2.5 * S), int(4.0 * S), {})
    assert w.gap_count == 0  # (gap_count counts the power readings' holes: there are none)


def test_a_counter_read_only_at_a_windows_ends_is_exact_there_and_warned_for_a_part_of_it():
    t = np.arange(0, 5 * S + 1, 10_000_000, dtype=np.int64)
    p = 200.0 + 100.0 * (t > 2 * S)
    samples = {"t_ns": np.concatenate([t, [0, 5 * S]]), "gpu": np.zeros(t.size + 2, np.int32),
               "power_w": np.concatenate([p, [np.nan, np.nan]]), "energy_j": np.concatenate([np.full(t.size, np.nan),
                                                                                           [100.0, 1400.0]]),
               "source": np.array(["nvml_instant"] * t.size + ["nvml_energy"] * 2, dtype=object)}
    order = np.argsort(samples["t_ns"], kind="stable")
    samples = {k: np.asarray(v)[order] for k, v in samples.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert integrate_window(samples, 1, 0, 5 * S, {}).counter_energy_j_per_gpu[0] == pytest.approx(1300.0)
    with pytest.warns(SampleGapWarning, match=r"no reading from t_ns 0 to 5000000000 \(5\.000 s.*at its start and "
                      r"end.*a guess"):
        w = integrate_window(samples, 1, 1 * S, 2 * S, {})
    assert w.counter_energy_j_per_gpu[0] == pytest.approx(260.0)  # the interpolated guess (the truth: 200 J)


def _native_counter(times_s: np.ndarray, power_w: float = 300.0) -> dict:
    """energylens' own table of instant power (a row every 0.1 s) and counter rows at ``times_s``."""
    tp = np.arange(0, 20 * S, S // 10, dtype=np.int64)
    tc = np.round(np.asarray(times_s) * 1e9).astype(np.int64)
    t = np.concatenate([tp, tc])
    order = np.argsort(t, kind="stable")
    return {"t_ns": t[order], "gpu": np.zeros(t.size, np.int32),
            "power_w": np.concatenate([power_w + np.arange(tp.size) % 3, np.full(tc.size, np.nan)])[order],
            "energy_j": np.concatenate([np.full(tp.size, np.nan), 1e4 + power_w * tc * 1e-9])[order],
            "source": np.array(["nvml_instant"] * tp.size + ["nvml_energy"] * tc.size, dtype=object)[order]}


def test_energylens_own_counter_backed_off_is_no_hole_but_a_stalled_reader_is():
    native = hold_limits({"sampler": "nvml"})
    assert native["nvml_energy"] == "backed_off" and native["dcgm"] == "backed_off"
    dither = np.cumsum(1.2 * (0.75 + 0.5 * np.mod(np.arange(1, 17) * 0.6180339887498949, 1.0)))
    held = np.arange(0.0, 19.9, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for times in (dither[dither < 19.9], held):
            for a in np.arange(1.0, 17.0, 0.37):
                integrate_window(_native_counter(times), 1, int(a * S), int((a + 0.5) * S), {"nvml_energy": 0.1},
                                 hold_s=native)
    stalled = held[(held < 5.0) | (held > 8.5)]  # the reader stalled for 3.5 s
    with pytest.warns(SampleGapWarning, match=r"nvml_energy GPU position 0: no reading from t_ns 4900000000 to "
                      r"8600000000 \(3\.700 s, where its rows lie at most 0\.300 s apart"):
        integrate_window(_native_counter(stalled), 1, 6 * S, 7 * S, {"nvml_energy": 0.1}, hold_s=native)
    # replayed from a trace the sampler recorded: the same
    trace = Trace(samples=_native_counter(stalled), meta={"gpus": [{"index": 0, "name": "x", "uuid": ""}],
                                                          "sampler": "nvml"})
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False) as mon:
        with pytest.warns(SampleGapWarning, match=r"nvml_energy GPU position 0: no reading from t_ns 4900000000"):
            mon.measure("w", 6 * S, 7 * S, recorded=True)


def test_dcgm_power_rows_missing_updates_are_a_hole():
    t = np.arange(0, 10 * S, S // 10, dtype=np.int64)
    kept = t[(t < 3 * S) | (t > 4 * S)]
    native = hold_limits({"sampler": "nvml"})

    def dcgm(tt):
        return {"t_ns": tt, "gpu": np.zeros(tt.size, np.int32), "power_w": 250.0 + (tt // (S // 10)) % 5,
                "energy_j": np.full(tt.size, np.nan), "source": np.full(tt.size, "dcgm", dtype=object)}

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = integrate_window(dcgm(t), 1, 1 * S, 9 * S, {"dcgm": 0.1}, hold_s=native)
        # read at 0.75-1.25 of its period, a row per update seen: some updates unseen, no hole
        reads = np.cumsum(S // 10 * (0.75 + 0.5 * np.mod(np.arange(1, 99) * 0.6180339887498949, 1.0)))
        seen = np.unique((reads // (S // 10)) * (S // 10)).astype(np.int64)
        integrate_window(dcgm(seen), 1, 1 * S, 9 * S, {"dcgm": 0.1}, hold_s=native)
    assert w.source == "dcgm" and w.gap_count == 0
    with pytest.warns(SampleGapWarning, match=r"dcgm GPU position 0: no reading from t_ns 2900000000 to 4100000000"):
        w = integrate_window(dcgm(kept), 1, 1 * S, 9 * S, {"dcgm": 0.1}, hold_s=native)
    assert w.gap_count == 1


def test_a_phase_inside_a_stall_of_energylens_own_counter_is_refused():
    whole = _h200(native=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribute_phases(whole, attribution=attribute(whole, source="nvml_energy", span_ns=(0, int(4.3 * S))))
    cut = _h200((2.4, 3.3), native=True)
    a = attribute(cut, source="nvml_energy", span_ns=(0, int(4.3 * S)))
    with pytest.raises(EnergyLensError, match=r"phase 'stalled' .* in the hole nvml_energy GPU position 0: no "
                       r"reading from t_ns \d+ to \d+"):
        attribute_phases(cut, attribution=a)


def test_a_changes_only_stream_without_hold_s_is_named_in_the_hole_message():
    """Raw polls faster than the updates repeat values; rows that never do may be a changes-only stream."""
    t = np.arange(0, 10 * S, S // 10, dtype=np.int64)
    v = 200.0 + (t // (S // 10)) % 7
    held = (t > 3 * S) & (t < 5 * S)  # the value held 2 s: a changes-only stream sends no row
    rows = {"t_ns": t[~held], "gpu": np.zeros(int((~held).sum()), np.int32), "power_w": v[~held],
            "energy_j": np.full(int((~held).sum()), np.nan),
            "source": np.full(int((~held).sum()), "nvml_instant", dtype=object)}
    with pytest.warns(SampleGapWarning, match=r"never repeat a value.*meta\['hold_s'\]"):
        integrate_window(rows, 1, 1 * S, 9 * S, {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        integrate_window(rows, 1, 1 * S, 9 * S, {}, hold_s=hold_limits({"hold_s": {"nvml_instant": 3.0}}))
    polls = np.repeat(t, 3) + np.tile([0, S // 30, 2 * S // 30], t.size)  # raw polls: each value seen 3 times
    lossy = (polls > 3 * S) & (polls < 5 * S)
    raw = {"t_ns": polls[~lossy], "gpu": np.zeros(int((~lossy).sum()), np.int32),
           "power_w": np.repeat(v, 3)[~lossy], "energy_j": np.full(int((~lossy).sum()), np.nan),
           "source": np.full(int((~lossy).sum()), "nvml_instant", dtype=object)}
    with pytest.warns(SampleGapWarning) as got:
        integrate_window(raw, 1, 1 * S, 9 * S, {})
    assert not any("hold_s" in str(w.message) for w in got)


def test_a_raw_poll_counter_is_stamped_mid_bracket():
    polls = np.arange(0, 3 * S, 10_000_000, dtype=np.int64)
    updates = np.arange(5_000_000, 3 * S, S // 10, dtype=np.int64)  # each update 5 ms after a poll

    def energy(u):  # 100 W to 1 s, then 500 W
        u = u * 1e-9
        return 1e5 + 100.0 * np.minimum(u, 1.0) + 500.0 * np.maximum(u - 1.0, 0.0)

    seen = updates[np.searchsorted(updates, polls, side="right") - 1]
    e = np.where(polls >= updates[0], energy(seen), 1e5)
    assert counter_energy_j(polls, e, S // 2, 3 * S // 2) == pytest.approx(300.0, abs=0.01)  # before: 298.0 J
    # energylens' own rows (one per change, already stamped) are used as they are
    assert counter_energy_j(updates, energy(updates), S // 2, 3 * S // 2) == pytest.approx(300.0, abs=1e-6)
