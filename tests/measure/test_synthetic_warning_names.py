"""A synthetic sampler's rows are recorded under NVML's trace sources (``nvml_instant``, ``nvml_energy``); its
hole warnings name the synthetic source that made them since 8926f42d, but a PowerCounterDisagreeWarning still said
'the nvml_energy readings around the window ... the nvml_instant readings integrate to' and attribute_phases'
refusal 'a hole of the 'nvml_energy' readings', so a user of ``--power-source synthetic`` read that NVML had been
sampled. Both now name the rows as the hole warnings do; NVML's keep their names."""

from __future__ import annotations

import warnings

import pytest
from test_power_counter_agreement import _step_polls
from test_reading_holes import _h200

from energylens.errors import EnergyLensError
from energylens.measure import attribute, attribute_phases
from energylens.measure.gaps import SampleGapWarning, hold_limits
from energylens.measure.integrate import PowerCounterDisagreeWarning, integrate_window
from energylens.measure.trace import Trace

S = 1_000_000_000
SYNTHETIC = [{"sampler": "synthetic"}, {"sampler": "replay", "recorded_by": "synthetic"}]


def _disagreement(meta: dict) -> str:
    samples, _ = _step_polls(lag_s=0.075)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        integrate_window(samples, 1, int(0.95 * S), int(1.05 * S), {}, hold_s=hold_limits(meta))
    said = [str(w.message) for w in caught if issubclass(w.category, PowerCounterDisagreeWarning)]
    assert len(said) == 1, [str(w.message) for w in caught]
    return said[0]


@pytest.mark.parametrize("meta", SYNTHETIC)
def test_a_synthetic_samplers_power_counter_disagreement_names_the_synthetic_sources(meta):
    text = _disagreement(meta)
    assert "the synthetic_energy_counter (rows of source nvml_energy) readings around the window" in text, text
    assert "the synthetic_instant (rows of source nvml_instant) readings integrate to" in text, text
    assert "The synthetic_instant (rows of source nvml_instant) readings lagged" in text, text
    assert "nvml_energy readings" not in text and "nvml_instant readings" not in text, text


def test_nvmls_power_counter_disagreement_keeps_its_names():
    text = _disagreement({"sampler": "nvml"})
    assert "the nvml_energy readings around the window" in text and "the nvml_instant readings integrate" in text
    assert "synthetic" not in text, text


def _phases_in_hole(meta: dict) -> tuple[str, str]:
    marks = {"t_ns": [int(0.2 * S), 1 * S, int(2.5 * S), int(3.2 * S), int(4.1 * S)],
             "label": ["idle", "load", "stalled", "idle", "end"]}
    cut = _h200((2.4, 3.3), marks)
    trace = Trace(samples=cut.samples, kernels=cut.kernels, marks=cut.marks, meta={**cut.meta, **meta})
    a = attribute(trace, source="nvml_energy", span_ns=(0, int(4.3 * S)))
    with pytest.raises(EnergyLensError) as refused:
        attribute_phases(trace, attribution=a)
    with pytest.warns(SampleGapWarning) as warned:
        attribute_phases(trace, attribution=a, phases=["idle", "load"])
    said = [str(w.message) for w in warned if "partly in a hole" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in warned]
    return str(refused.value), said[0]


@pytest.mark.parametrize("meta", SYNTHETIC)
def test_a_synthetic_samplers_phase_hole_names_the_synthetic_source(meta):
    for text in _phases_in_hole(meta):
        assert ("a hole of the synthetic_energy_counter (rows of source nvml_energy) readings: phase" in text
                and "in the hole synthetic_energy_counter (rows of source nvml_energy) GPU position 0" in text), text
        assert "nvml_energy readings" not in text and "'nvml_energy'" not in text, text


def test_nvmls_phase_hole_keeps_its_name():
    for text in _phases_in_hole({}):
        assert "a hole of the 'nvml_energy' readings: phase" in text and "synthetic" not in text, text
