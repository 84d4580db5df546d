"""The native power sampler through the synthetic and replay sources: samples, update periods,
fallbacks, stored errors re-raised on the caller's thread, drops, clock mapping, marks, visible-GPU
resolution and every "not available here" error path (NVML, DCGM, CUPTI, CUDA)."""

import ctypes
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import energylens
from energylens import _core
from energylens.errors import (
    CudaUnavailableError,
    CuptiUnavailableError,
    EnergyLensError,
    NvmlError,
    NvmlUnavailableError,
)
from energylens.measure.marks import mark, marks, steady_now_ns
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import Trace

NVML = energylens.capabilities().nvml_available


def constant(power_w=100.0, gpus=1):
    return [([0.0], [power_w])] * gpus


# ---- synthetic source ---------------------------------------------------------------------------------


def test_synthetic_buffer_samples_are_exact_means_at_the_buffer_period():
    s = PowerSampler.synthetic([([0.0, 0.2], [100.0, 300.0])], buffer_period_s=0.02, buffer_poll_s=0.05)
    with s:
        time.sleep(0.5)
    d = s.samples()
    buf = d["source"] == "nvml_samples"
    t_rel = (d["t_ns"][buf] - s.start_ns) * 1e-9
    p = d["power_w"][buf]
    assert np.allclose(np.diff(t_rel), 0.02, atol=1e-9)
    assert np.allclose(p[t_rel <= 0.2 + 1e-9], 100.0)
    assert np.allclose(p[t_rel >= 0.22 - 1e-9], 300.0)
    res = s.result()
    assert res.active_source == "synthetic_sample_buffer"
    assert res.update_period_s["nvml_samples"] == pytest.approx(0.02)
    assert res.observed_period_s["nvml_samples"] == pytest.approx(0.02, rel=1e-6)
    assert res.update_period_s["nvml_energy"] == pytest.approx(0.1)
    assert res.dropped == 0


def test_synthetic_instant_publishes_the_mean_of_the_last_window():
    # Step at 0.31 s; instant averages the last 25 ms of each 100 ms: 0.3 -> 100 W, 0.4 -> 300 W.
    s = PowerSampler.synthetic([([0.0, 0.31], [100.0, 300.0])], chain=("instant",), energy_counter=False)
    with s:
        time.sleep(0.55)
    d = s.samples()
    assert set(d["source"]) == {"nvml_instant"}
    assert d["power_w"][0] == pytest.approx(100.0)
    assert d["power_w"][-1] == pytest.approx(300.0)
    assert s.result().observed_period_s["nvml_instant"] == pytest.approx(0.1, abs=0.03)


def test_the_energy_counter_is_exact_at_publication():
    s = PowerSampler.synthetic(constant(250.0), chain=("sample_buffer",), energy_offset_j=5000.0)
    with s:
        time.sleep(0.45)
    d = s.samples()
    c = d["source"] == "nvml_energy"
    e = d["energy_j"][c]
    assert e[0] == pytest.approx(5000.0)
    assert np.allclose(np.diff(e), 25.0)  # 250 W x 0.1 s per update
    assert np.isnan(d["power_w"][c]).all()


def test_a_slow_energy_counter_does_not_stall_the_fast_path():
    fast = PowerSampler.synthetic(constant(), buffer_poll_s=0.02, energy_read_latency_s=0.08)
    with fast:
        time.sleep(0.6)
    n_buf = int((fast.samples()["source"] == "nvml_samples").sum())
    assert n_buf >= 25  # 0.6 s / 20 ms = 30, minus what the last drain had not reached yet


def test_samples_of_several_gpus_are_labelled():
    s = PowerSampler.synthetic([([0.0], [100.0]), ([0.0], [200.0]), ([0.0], [300.0])])
    with s:
        time.sleep(0.25)
    d = s.samples()
    assert s.gpu_count == 3
    for g, p in enumerate([100.0, 200.0, 300.0]):
        sel = (d["gpu"] == g) & (d["source"] == "nvml_samples")
        assert sel.any() and np.allclose(d["power_w"][sel], p)


# ---- fallbacks and errors ---------------------------------------------------------------------------


def test_a_source_failing_mid_run_falls_back_and_says_so():
    s = PowerSampler.synthetic(constant(), fail_after_s={"sample_buffer": 0.15}, buffer_poll_s=0.05)
    with s:
        time.sleep(0.6)
    res = s.result()
    assert res.active_source == "synthetic_instant"
    assert len(res.fallbacks) == 1
    fb = res.fallbacks[0]
    assert (fb.from_source, fb.to) == ("synthetic_sample_buffer", "synthetic_instant")
    assert "GPU is lost" in fb.reason
    failed = {x.name: x for x in res.sources}
    assert failed["synthetic_sample_buffer"].failed and failed["synthetic_instant"].started
    d = s.samples()
    assert (d["source"] == "nvml_instant").any() and (d["source"] == "nvml_samples").any()


def test_source_status_and_fallbacks_cross_the_boundary_as_read_only_classes():
    s = PowerSampler.synthetic(constant(), fail_after_s={"sample_buffer": 0.1}, buffer_poll_s=0.05)
    with s:
        time.sleep(0.4)
    status = s._native.sources()
    assert [type(x) for x in status] == [_core.SourceStatus] * 3
    buf = status[0]
    assert (buf.name, buf.role, buf.failed, buf.started) == ("synthetic_sample_buffer", "power", True, True)
    assert buf.update_period_ns == 20_000_000 and buf.samples > 0 and "GPU is lost" in buf.error
    assert status[2].role == "auxiliary" and status[2].poll_interval_ns > 0
    fb = s._native.fallbacks()[0]
    assert isinstance(fb, _core.FallbackEvent)
    assert (fb.from_source, fb.to) == ("synthetic_sample_buffer", "synthetic_instant") and fb.t_ns > 0
    for obj, attr in ((buf, "name"), (buf, "samples"), (fb, "reason"), (fb, "from_source")):
        with pytest.raises(AttributeError):
            setattr(obj, attr, getattr(obj, attr))
    assert "synthetic_sample_buffer" in repr(buf) and "synthetic_instant" in repr(fb)
    info = s.result().sources[0]
    assert info.update_period_s == pytest.approx(0.02) and info.samples == buf.samples


def test_when_no_fallback_is_left_the_error_is_raised_on_the_callers_thread():
    s = PowerSampler.synthetic(constant(), chain=("sample_buffer",), fail_after_s={"sample_buffer": 0.05},
                               buffer_poll_s=0.02)
    s.start()
    time.sleep(0.2)
    with pytest.raises(NvmlError) as info:
        s.flush()
    assert info.value.code == 15  # NVML_ERROR_GPU_IS_LOST
    with pytest.raises(NvmlError):
        s.stop()
    assert s.result().fallbacks[-1].to == ""


def test_the_samples_taken_before_the_last_source_failed_are_kept():
    """drain() re-raised the stored error after emptying the archive: a run whose only source failed after
    0.5 s kept 0 of the 5 readings it took."""
    s = PowerSampler.synthetic(constant(), chain=("instant",), energy_counter=False, fail_after_s={"instant": 0.3})
    s.start()
    time.sleep(0.6)
    with pytest.raises(NvmlError):
        s.stop()
    produced = s.result().sources[0].samples
    assert produced >= 2 and s.result().samples == produced == s.samples(collect=False)["t_ns"].size


def test_a_restarted_sampler_reports_this_runs_sources_not_the_last_runs_failure():
    """After a run whose sample buffer failed (falling back to the instant field), a second run still said
    the working buffer had failed, with the old error, and listed the old fallback."""
    s = PowerSampler.synthetic(constant(), fail_after_s={"sample_buffer": 0.15}, energy_counter=False,
                               buffer_poll_s=0.05)
    s.start()
    time.sleep(0.4)
    s.stop()
    assert s.result().fallbacks and any(x.failed for x in s.result().sources)
    s.start()
    r = s.result()
    assert not r.fallbacks and not any(x.failed or x.error for x in r.sources)
    assert r.active_source == "synthetic_sample_buffer"
    s.stop()


def test_an_auxiliary_failure_is_reported_not_fatal():
    s = PowerSampler.synthetic(constant(), fail_after_s={"energy_counter": 0.1})
    with s:
        time.sleep(0.35)
    res = s.result()
    counter = [x for x in res.sources if x.role == "auxiliary"][0]
    assert counter.failed and "GPU is lost" in counter.error
    assert any(f.from_source == "synthetic_energy_counter" and f.to == "" for f in res.fallbacks)
    assert res.active_source == "synthetic_sample_buffer"


def test_a_full_ring_counts_drops_instead_of_blocking():
    n = 5000
    src = _core.replay_source(np.arange(n, dtype=np.int64) * 1000, np.zeros(n, np.int32),
                              np.zeros(n, np.int32), np.full(n, 100.0), np.full(n, np.nan), False, False, 1.0)
    s = PowerSampler([src], ring_capacity=64)
    with s:
        time.sleep(0.1)
    res = s.result()
    assert res.dropped == n - 64
    assert res.samples == 64


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="power of two"):
        PowerSampler.synthetic(constant(), ring_capacity=100)
    with pytest.raises(ValueError, match=r"interval_s must be a finite number of seconds > 0 .*, got -1"):
        PowerSampler.synthetic(constant(), interval_s=-1)
    with pytest.raises(ValueError, match="increase strictly"):
        PowerSampler.synthetic([([0.0, 0.0], [1.0, 2.0])])
    with pytest.raises(ValueError, match="averaging_window"):
        PowerSampler.synthetic(constant(), averaging_window_s=0.2, update_period_s=0.1)
    with pytest.raises(ValueError, match="empty"):
        PowerSampler([], [])
    with pytest.raises(ValueError, match=r"unknown power source 'average' in chain=\('average',\) \(sample_buffer, instant\)"):
        PowerSampler.synthetic(constant(), chain=("average",))
    with pytest.raises(ValueError, match="fail_after_s"):
        PowerSampler.synthetic(constant(), fail_after_s={"bogus": 1.0})


@pytest.mark.parametrize("name", ["update_period_s", "averaging_window_s", "buffer_period_s", "buffer_poll_s",
                                  "energy_read_latency_s", "energy_read_cpu_s", "energy_offset_j", "fail_after_s"])
@pytest.mark.parametrize("value", [np.nan, np.inf, "0.1"])
def test_a_synthetic_argument_that_is_not_a_number_is_named(name, value):
    """update_period_s=nan read 'cannot convert float NaN to integer', and energy_offset_j=nan ran a counter of NaN
    readings (no counter energy, no word)."""
    kw = {"fail_after_s": {"instant": value}} if name == "fail_after_s" else {name: value}
    with pytest.raises(ValueError, match=rf"{name}.* must be a finite number"):
        PowerSampler.synthetic(constant(), **kw)


@pytest.mark.parametrize("name", ["buffer_poll_s", "energy_interval_s"])
def test_an_nvml_interval_that_is_not_a_number_is_named_before_nvml_is_asked(name):
    with pytest.raises(ValueError, match=rf"{name} must be a finite number"):
        PowerSampler.nvml(**{name: np.nan})


@pytest.mark.parametrize("t", [[0.0, np.inf], [np.nan, 1.0], [0.0, 1e10]])
def test_a_timeline_time_that_is_not_finite_seconds_is_named_with_its_row(t):
    """inf was cast to int64's minimum (a RuntimeWarning) and reported as "t_ns must increase strictly"."""
    bad = [i for i, x in enumerate(t) if not abs(x) < 1e9]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no cast warning either)
        with pytest.raises(ValueError, match=rf"timeline\[0\]: t_s must be finite seconds \(rows \{bad}\)"):
            PowerSampler.synthetic([(t, [100.0, 200.0])])


def test_start_twice_is_an_energylens_error_naming_the_fix_and_stop_twice_is_not():
    # Was std::logic_error: a plain RuntimeError outside EnergyLensError, and no word on what to do.
    s = PowerSampler.synthetic(constant())
    s.start()
    with pytest.raises(EnergyLensError, match=r"already started; call stop\(\) before starting it again") as e:
        s.start()
    assert type(e.value) is EnergyLensError
    assert s.running
    s.stop()
    s.stop()


# ---- clock ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift_ns", [0, 12_345, -7_000_000_000, 1_700_000_000_000_000_000])
def test_bracketing_recovers_a_clock_offset(shift_ns):
    offset, uncertainty = _core._estimate_mapping_of_shifted_clock(shift_ns)
    assert uncertainty >= 0
    assert abs(offset - (-shift_ns)) <= uncertainty + 1


def _bracketed_wall_read():
    """(steady before, wall, steady after, slack ns): a wall-clock read between two steady reads, and what the
    offset taken just before may have drifted since (the wall clock slews by <= 500 ppm under NTP)."""
    offset, uncertainty = _core.wall_to_steady()
    taken = steady_now_ns()
    before = steady_now_ns()
    wall = time.time_ns()
    after = steady_now_ns()
    return offset, before, wall, after, uncertainty + (after - taken) // 2000 + 1_000


# (Both compared one wall read with one steady read to 5 ms: a process descheduled between the two on a
# loaded machine failed. The wall read mapped must lie between the steady reads around it.)
def test_wall_clock_maps_onto_the_steady_clock():
    offset, before, wall, after, slack = _bracketed_wall_read()
    assert before - slack <= wall + offset <= after + slack, (before, wall + offset, after, slack)


def test_driver_buffer_microseconds_map_like_the_sampler_does():
    # nvmlSample_t stamps are wall-clock microseconds; the sampler maps them with wall_to_steady.
    offset, before, wall, after, slack = _bracketed_wall_read()
    mapped = wall // 1000 * 1000 + offset
    assert before - 1_000 - slack <= mapped <= after + slack, (before, mapped, after, slack)


# ---- marks -------------------------------------------------------------------------------------------


def test_marks_keep_order_labels_and_time_base():
    t0 = steady_now_ns()
    for label in ["prefill", "decode", "decode", "prefill"]:
        mark(label)
    t1 = steady_now_ns()
    m = marks(t0, t1)
    assert list(m["label"]) == ["prefill", "decode", "decode", "prefill"]
    assert np.all(np.diff(m["t_ns"]) >= 0) and m["t_ns"][0] >= t0 and m["t_ns"][-1] <= t1


def test_marks_between_an_end_before_the_start_is_an_error_not_none():
    """marks(start_ns=b, end_ns=a) with a < b returned no marks, the answer for a span without any."""
    a = steady_now_ns()
    mark("between-check")
    b = steady_now_ns()
    assert "between-check" in list(marks(a, b)["label"])
    with pytest.raises(ValueError, match=rf"end_ns {a} is before start_ns {b}"):
        marks(b, a)


@pytest.mark.parametrize("bounds, named", [((float("nan"), None), "start_ns"), ((None, float("nan")), "end_ns"),
                                            (("0", None), "start_ns"), ((0, float("inf")), "end_ns")])
def test_marks_between_bounds_that_are_not_times_is_an_error(bounds, named):
    """marks(start_ns=nan) returned no marks (every comparison with NaN is False), and a string bound failed in a
    NumPy ufunc ('did not contain a loop with signature')."""
    mark("bounds-check")
    with pytest.raises(ValueError, match=rf"marks\(\): {named} must be a steady-clock time in ns"):
        marks(*bounds)


def test_marks_from_many_threads_all_arrive():
    t0 = steady_now_ns()
    dropped_before = _core.marks_dropped()  # process-wide and cumulative (test_monitor fills the log on purpose)

    def worker(i):
        for _ in range(500):
            mark(f"thread{i}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m = marks(t0)
    for i in range(4):
        assert int((m["label"] == f"thread{i}").sum()) == 500
    assert _core.marks_dropped() == dropped_before


def test_mark_is_fast():
    n = 20000
    t0 = time.thread_time_ns()  # this thread's CPU time: a loaded machine's waits for a core are not counted
    for _ in range(n):
        mark("hot")
    per_call_ns = (time.thread_time_ns() - t0) / n
    assert per_call_ns < 5_000  # a guard against a lock or a syscall per mark; bench/bench_sampler.py times it


# ---- visible GPUs ---------------------------------------------------------------------------------------

UUIDS = ["GPU-aaaa1111-0000-0000-0000-000000000000", "GPU-bbbb2222-0000-0000-0000-000000000000",
         "GPU-cccc3333-0000-0000-0000-000000000000"]


@pytest.mark.parametrize(("cvd", "expected"), [
    (None, [0, 1, 2]),
    ("", []),
    ("2,0", [2, 0]),
    ("1, 7, 2", [1]),            # CUDA: the list ends at the first invalid entry
    ("GPU-cccc", [2]),           # UUID prefix
    ("GPU-bbbb2222-0000-0000-0000-000000000000,0", [1, 0]),
    ("0,0", [0]),                # a duplicate ends the list too
    ("GPU-zzzz", []),
])
def test_cuda_visible_devices_is_resolved_like_cuda(cvd, expected):
    assert _core.resolve_visible_gpus(cvd, UUIDS, []) == expected


def test_cuda_uuids_win_over_the_variable_and_match_by_uuid():
    assert _core.resolve_visible_gpus("0", UUIDS, [UUIDS[2].upper(), UUIDS[0]]) == [2, 0]
    with pytest.raises(ValueError, match="no NVML device"):
        _core.resolve_visible_gpus(None, UUIDS, ["GPU-ffff"])


def test_mig_instances_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="MIG"):
        _core.resolve_visible_gpus("MIG-1234", UUIDS, [])


# ---- not available on this machine -------------------------------------------------------------------


@pytest.mark.skipif(NVML, reason="NVML is available here")
def test_nvml_sampler_without_nvml_says_how_to_fix_it():
    with pytest.raises(NvmlUnavailableError, match="Fix"):
        PowerSampler.nvml()
    with pytest.raises(NvmlUnavailableError):
        _core.nvml_source("sample_buffer", [], 100_000_000)


def test_nvml_library_override_reports_the_loader_message():
    code = ("import energylens.measure.monitor as m, energylens.errors as e\n"
            "try:\n    m.PowerSampler.nvml()\nexcept e.NvmlUnavailableError as x:\n    print('MSG', x)\n")
    env = dict(os.environ, ENERGYLENS_NVML_LIBRARY="/nonexistent/libnvidia-ml.so.1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert ("MSG cannot load NVML from ENERGYLENS_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1: "
            "/nonexistent/libnvidia-ml.so.1: ") in out.stdout, out.stderr  # the loader's own words follow


def _dcgm_loads() -> bool:
    """Whether a libdcgm the native source would try loads here, read with ctypes (not the code under test)."""
    for name in (os.environ.get("ENERGYLENS_DCGM_LIBRARY"), "libdcgm.so.4", "libdcgm.so.3", "libdcgm.so"):
        try:
            if name:
                ctypes.CDLL(name)
                return True
        except OSError:
            continue
    return False


def test_dcgm_absence_is_a_reason_not_a_crash():
    reason = _core.dcgm_unavailable_reason()
    if not _dcgm_loads():  # no libdcgm here: an empty reason would read as DCGM available
        assert reason.startswith("cannot load DCGM (") and "libdcgm.so.4" in reason, reason
    if reason:
        assert "DCGM" in reason and "Fix" in reason


def test_cupti_without_a_driver_raises_cupti_unavailable():
    from energylens.measure.kernels import KernelTracer

    if energylens.capabilities().cuda_devices > 0:
        pytest.skip("a CUDA device is present")
    with pytest.raises(CuptiUnavailableError):
        KernelTracer().start()
    assert not _core.cupti_enabled()


def test_missing_cupti_library_reports_the_loader_message():
    code = ("import energylens.measure.kernels as k, energylens.errors as e\n"
            "print('REASON', k.cupti_unavailable_reason())\n"
            "try:\n    k.KernelTracer().start()\nexcept e.CuptiUnavailableError as x:\n    print('RAISED', x)\n")
    env = dict(os.environ, ENERGYLENS_CUPTI_LIBRARY="/nonexistent/libcupti.so", LD_LIBRARY_PATH="/nonexistent")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert "RAISED" in out.stdout, out.stderr
    if "cannot load CUPTI" in out.stdout:
        assert "Fix" in out.stdout


def test_stream_marks_without_cuda_raise_cuda_unavailable():
    from energylens.measure.kernels import StreamMarks

    if energylens.capabilities().cuda_devices > 0:
        pytest.skip("a CUDA device is present")
    with pytest.raises(CudaUnavailableError) as raised:
        StreamMarks()
    # without any driver it read only the runtime's "CUDA driver version is insufficient for CUDA runtime version"
    note = energylens.capabilities().cuda_devices_note().partition("<-")[2].strip()
    assert note in str(raised.value), (str(raised.value), note)


def test_a_cpu_hungry_energy_counter_backs_off_to_its_cpu_budget():
    # 2 ms of CPU per read and a 1 % budget: no more than one read per 200 ms (instead of 25 ms).
    s = PowerSampler.synthetic(constant(), energy_read_cpu_s=0.002, auxiliary_cpu_budget=0.01)
    with s:
        time.sleep(1.0)
    counter = [x for x in s.result().sources if x.role == "auxiliary"][0]
    assert counter.poll_interval_s >= 0.15
    assert counter.samples <= 8
    # a counter that waits (sleeps in the driver) rather than computes keeps its rate
    w = PowerSampler.synthetic(constant(), energy_read_latency_s=0.002, auxiliary_cpu_budget=0.01)
    with w:
        time.sleep(0.5)
    counter = [x for x in w.result().sources if x.role == "auxiliary"][0]
    assert counter.poll_interval_s < 0.05


def test_cpu_budget_must_be_a_fraction():
    with pytest.raises(ValueError, match="auxiliary_cpu_budget"):
        PowerSampler.synthetic(constant(), auxiliary_cpu_budget=-1.0)


def test_incremental_merge_equals_a_full_sort():
    # Chunks overlap in time (the driver buffer arrives ~100 ms after the counter readings): the
    # merged table must equal a full stable sort whatever the order the chunks come in.
    s = PowerSampler.synthetic(constant())
    rng = np.random.default_rng(1)
    seen = []
    for i in range(30):
        n = int(rng.integers(0, 40))
        t = np.sort(rng.integers(i * 1000 - 3000, i * 1000 + 1000, n)).astype(np.int64)
        if n:
            s._table.add({"t_ns": t, "gpu": np.zeros(n, np.int32), "signal": np.zeros(n, np.int32),
                          "power_w": t.astype(float), "energy_j": np.full(n, np.nan)})  # (measure/sample_table.py)
        seen.append(t)
        if i % 4 == 0:
            got = s.samples(collect=False)
            want = np.sort(np.concatenate(seen), kind="stable")
            assert np.array_equal(got["t_ns"], want)
            assert np.array_equal(got["power_w"], want.astype(float))


def test_windows_may_end_on_several_threads():
    from energylens.measure.monitor import EnergyMonitor

    results, errors = [], []
    with EnergyMonitor(PowerSampler.synthetic(constant(120.0)), sync=False) as mon:
        def worker(i):
            try:
                mon.begin_window(f"w{i}")
                time.sleep(0.25)
                results.append(mon.end_window(f"w{i}"))
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert len(results) == 4
    for m in results:
        assert m.avg_power_w == pytest.approx(120.0, rel=1e-9)


def test_replay_and_source_argument_errors():
    z = np.zeros(3, np.int64)
    g = np.zeros(3, np.int32)
    p = np.ones(3)
    with pytest.raises(ValueError, match="differ in length"):
        _core.replay_source(z, g[:2], g, p, p, False, False, 1.0)
    with pytest.raises(ValueError, match="unknown signal"):
        _core.replay_source(z, g, np.full(3, 99, np.int32), p, p, False, False, 1.0)
    with pytest.raises(ValueError, match="speed"):
        _core.replay_source(z, g, g, p, p, True, True, 0.0)
    with pytest.raises(ValueError, match="no samples"):
        _core.replay_source(z[:0], g[:0], g[:0], p[:0], p[:0], False, False, 1.0)
    with pytest.raises(ValueError, match="negative gpu"):
        _core.replay_source(z, np.full(3, -1, np.int32), g, p, p, False, False, 1.0)
    with pytest.raises(ValueError, match="unknown signal"):
        _core.synthetic_source([np.array([0])], [np.array([1.0])], "bogus", 1, 1, 1, 1, 0.0, 0, -1)
    with pytest.raises(ValueError, match="signal must be"):
        _core.synthetic_source([np.array([0])], [np.array([1.0])], "average", 1, 1, 1, 1, 0.0, 0, -1)
    with pytest.raises(ValueError, match="at least one GPU"):
        PowerSampler.synthetic([])
    with pytest.raises(ValueError, match="finite and >= 0"):
        PowerSampler.synthetic([([0.0], [-5.0])])
    with pytest.raises(ValueError, match="None"):
        _core.PowerSampler([None], [])


def test_replay_refuses_gpu_values_that_are_not_positions():
    """One GPU recorded as gpu 2 was replayed as three GPUs, two of them without readings: a NaN total."""
    n = 50
    samples = {"t_ns": np.arange(n, dtype=np.int64) * 20_000_000, "gpu": np.full(n, 2, np.int32),
               "power_w": np.full(n, 300.0), "energy_j": np.full(n, np.nan), "source": ["nvml_samples"] * n}
    with pytest.raises(EnergyLensError, match=r"samples\.gpu holds 2 .*lists 1 GPU: 0 \(index 2, H200\)"):
        Trace(samples=samples, meta={"gpus": [{"index": 2, "name": "H200", "uuid": "GPU-x"}]})  # (refused where made)
    with pytest.raises(ValueError, match=r"gpu column holds \[2\]; it is the position 0..n-1"):
        PowerSampler.replay(Trace(samples=samples), realtime=False)  # (a trace listing no GPU)
    assert PowerSampler.replay(Trace(samples={**samples, "gpu": np.zeros(n, np.int32)}), realtime=False).gpu_count == 1


def test_replaying_a_saved_trace_without_samples_names_the_file(tmp_path):
    """An empty (but valid) trace file said only "replay(): the trace has no samples"."""
    path = tmp_path / "empty.parquet"
    Trace().save(path)
    with pytest.raises(ValueError, match=rf"replay\('{path}'\): the trace has no samples"):
        PowerSampler.replay(path, realtime=False)


def test_a_fast_flush_does_not_wait_for_the_slow_counter():
    s = PowerSampler.synthetic(constant(), energy_read_latency_s=0.15, auxiliary_cpu_budget=0.0)
    with s:
        time.sleep(0.2)
        t0 = time.perf_counter()
        s.flush(auxiliary=False)
        fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        s.flush()
        full = time.perf_counter() - t0
    assert fast < 0.1
    assert full >= 0.1  # waits for a counter read (150 ms each)


def test_samples_are_read_only_views_so_a_users_edit_cannot_change_later_windows():
    """samples() handed out the sampler's own table: converting its power to kW in place for a plot made every
    later window of the run read 1000x low (978.5 J read 0.98 J)."""
    from energylens.measure.monitor import EnergyMonitor

    with EnergyMonitor(PowerSampler.synthetic(constant()), sync=False) as mon:
        time.sleep(0.6)
        mon.sampler.flush()
        now = steady_now_ns()
        before = mon.measure("a", now - 450_000_000, now - 250_000_000, recorded=True).energy_j
        d = mon.sampler.samples()
        with pytest.raises(ValueError, match="read-only"):
            d["power_w"] /= 1000
        d["power_w"] = d["power_w"] / 1000  # a new array in the caller's own dict: fine
        del d["t_ns"]
        after = mon.measure("a", now - 450_000_000, now - 250_000_000, recorded=True).energy_j
    assert after == before > 0
