"""Results pickled by an earlier energylens: an Attribution pickled before its fields covariance / bootstrap_coef
gained their unit (2026-12-06) loaded, then failed on first use ('no attribute covariance_w2', from .covariance and
attribute_phases too); it now reads them under the new names. A pickle lacking a field the class has now is an
EnergyLensError at load naming the field and how to remake the object, not an AttributeError later."""

import io
import pickle
import sys

import numpy as np
import pytest

import energylens.measure.monitor as monitor_module
import energylens.measure.trace as trace_module
from energylens.errors import EnergyLensError
from energylens.measure import attribute, attribute_phases
from energylens.measure.monitor import Measurement
from energylens.measure.pickled import load_pickle
from energylens.measure.trace import Trace, synthetic_trace


@pytest.fixture(scope="module")
def made():
    trace, _ = synthetic_trace(duration_s=5.0, seed=0, phases={"prefill": {"gemm": 1.0}, "decode": {"memcpy": 1.0}})
    return trace, attribute(trace, source="nvml_samples", bootstrap=20)


def _pickled_with(obj, rename=None, drop=()):
    """``obj`` pickled as an earlier energylens wrote it: its state under ``rename``'s old keys, ``drop`` missing."""
    saved = dict(obj.__dict__)
    try:
        for new, old in (rename or {}).items():
            obj.__dict__[old] = obj.__dict__.pop(new)
        for name in drop:
            del obj.__dict__[name]
        return pickle.dumps(obj)
    finally:
        obj.__dict__.clear()
        obj.__dict__.update(saved)


def test_an_attribution_pickled_before_the_unit_renames_reads_and_is_usable(made):
    trace, a = made
    old = pickle.loads(_pickled_with(a, {"covariance_w2": "covariance", "bootstrap_coef_w": "bootstrap_coef"}))
    np.testing.assert_array_equal(old.covariance_w2, a.covariance_w2)
    np.testing.assert_array_equal(old.bootstrap_coef_w, a.bootstrap_coef_w)
    assert "covariance" not in old.__dict__
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(old.covariance, a.covariance_w2)
    phases = attribute_phases(trace, attribution=old)  # reads the covariance: failed with AttributeError
    np.testing.assert_array_equal(phases.energy_j, attribute_phases(trace, attribution=a).energy_j)


def test_a_pickle_lacking_a_field_is_refused_at_load_naming_it(made):
    trace, a = made
    with pytest.raises(EnergyLensError, match=r"Attribution.*pickled by an earlier energylens.*measured_energy_j"
                                              r".*attribute\(\) on its trace"):
        pickle.loads(_pickled_with(a, drop=("measured_energy_j",)))
    p = attribute_phases(trace, attribution=a)
    with pytest.raises(EnergyLensError, match=r"PhaseAttribution.*energy_per_span_j"):
        pickle.loads(_pickled_with(p, drop=("energy_per_span_j",)))
    m = Measurement(key="w", start_ns=0, end_ns=10, duration_s=1e-8, energy_j=1.0, energy_j_per_gpu=(1.0,),
                    avg_power_w=1e8, counter_energy_j=1.0, counter_energy_j_per_gpu=(1.0,), source="nvml_samples",
                    sample_count=1, update_period_s=0.02, short_window=True, gap_count=2)
    with pytest.raises(EnergyLensError, match=r"Measurement.*counter_energy_j_per_gpu"):
        pickle.loads(_pickled_with(m, drop=("counter_energy_j_per_gpu",)))
    older = pickle.loads(_pickled_with(m, drop=("gap_count", "gap_s", "bridged_s")))  # fields added with defaults
    assert (older.gap_count, older.gap_s, older.bridged_s) == (0, 0.0, 0.0)


def test_a_pickle_of_today_round_trips(made):
    trace, a = made
    back = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(back.power_w, a.power_w)
    np.testing.assert_array_equal(back.covariance_w2, a.covariance_w2)
    assert back.classes == a.classes


def test_pickles_of_the_flat_layout_load_with_load_pickle(made, tmp_path, monkeypatch):
    """A Trace and a Measurement pickled when they lived in energylens.trace / energylens.monitor (before
    2026-12-01): pickle.load says 'No module named energylens.trace'; load_pickle reads them."""
    trace, _ = made
    m = Measurement(key="w", start_ns=0, end_ns=10, duration_s=1e-8, energy_j=1.0, energy_j_per_gpu=(1.0,),
                    avg_power_w=1e8, counter_energy_j=1.0, counter_energy_j_per_gpu=(1.0,), source="nvml_samples",
                    sample_count=1, update_period_s=0.02, short_window=True)
    with monkeypatch.context() as mp:  # pickled as the flat layout named them
        mp.setitem(sys.modules, "energylens.trace", trace_module)
        mp.setitem(sys.modules, "energylens.monitor", monitor_module)
        mp.setattr(Trace, "__module__", "energylens.trace")
        mp.setattr(Measurement, "__module__", "energylens.monitor")
        old = pickle.dumps((trace, m))
    assert b"energylens.trace" in old and b"energylens.measure.trace" not in old
    with pytest.raises(ModuleNotFoundError, match="energylens.trace"):
        pickle.loads(old)
    path = tmp_path / "old.pkl"
    path.write_bytes(old)
    for source in (path, str(path), io.BytesIO(old)):
        back, mb = load_pickle(source)
        assert isinstance(back, Trace) and back.samples.equals(trace.samples) and back.meta == trace.meta
        assert mb == m


def test_a_measurement_pickled_before_the_monitor_split_loads(monkeypatch):
    """Measurement and WindowResult lived in energylens.measure.monitor until 2026-12-07 (now
    energylens.measure.measurement, re-exported there): their pickles name the old module and load with
    pickle.loads, and the classes and warnings stay importable from it."""
    import energylens.measure.measurement as measurement_module
    from energylens.measure.monitor import AveragedPowerWarning, ShortWindowWarning, WindowResult
    from energylens.measure.window_checks import AveragedPowerWarning as Averaged
    from energylens.measure.window_checks import ShortWindowWarning as Short

    assert Measurement is measurement_module.Measurement and WindowResult is measurement_module.WindowResult
    assert (ShortWindowWarning, AveragedPowerWarning) == (Short, Averaged)
    m = Measurement(key="w", start_ns=0, end_ns=10, duration_s=1e-8, energy_j=1.0, energy_j_per_gpu=(1.0,),
                    avg_power_w=1e8, counter_energy_j=1.0, counter_energy_j_per_gpu=(1.0,), source="nvml_samples",
                    sample_count=1, update_period_s=0.02, short_window=True)
    w = WindowResult("w")
    w.measurement = m
    with monkeypatch.context() as mp:  # pickled as the module before the split named them
        mp.setattr(Measurement, "__module__", "energylens.measure.monitor")
        mp.setattr(WindowResult, "__module__", "energylens.measure.monitor")
        old = pickle.dumps((m, w))
    assert b"energylens.measure.monitor" in old and b"energylens.measure.measurement" not in old
    back, wb = pickle.loads(old)
    assert back == m and type(back) is Measurement and back.energy_source == "nvml_samples"
    assert wb.key == "w" and wb.measurement == m
    assert pickle.loads(pickle.dumps(m)) == m  # and today's
