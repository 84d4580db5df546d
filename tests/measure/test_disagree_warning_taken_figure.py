"""A PowerCounterDisagreeWarning told the user 'counter_energy_j is the figure to use' on windows whose energy_j
already was the counter's figure (energy_source 'nvml_energy'), and called the power readings' figure 'energy_j':
a 0.2-1.56 s window over a lagging 120 -> 720 W step read energy_j 198.1 J (the counter's) and warned 'energy_j
163.2 J, counter_energy_j 198.1 J ... counter_energy_j is the figure to use'. The warning is for a window whose
energy_j took the power readings' figure (the driver buffer's, or a window short against the counter's uncertainty
at its ends) while they disagree with the counter beyond its uncertainty: it now fires there only, saying which
figure energy_j took. Raw 3 ms polls with a known truth (tests/measure/test_power_counter_agreement.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_power_counter_agreement import _step_polls

from energylens.measure.integrate import PowerCounterDisagreeWarning, integrate_window

S = 1_000_000_000


def _window(seed: int, a_s: float, b_s: float, dcgm: bool = False):
    """``dcgm``: both streams named ``dcgm`` (DCGM's power and its energy counter share the source name), where the
    figure taken is told by its value, not its name."""
    samples, energy = _step_polls(lag_s=0.075, step_s=1.5037, seed=seed)
    if dcgm:
        samples["source"] = np.array(["dcgm"] * samples["source"].size, dtype=object)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        w = integrate_window(samples, 1, int(a_s * S), int(b_s * S), {})
    said = [str(g.message) for g in got if issubclass(g.category, PowerCounterDisagreeWarning)]
    return w, said, energy(b_s) - energy(a_s)


@pytest.mark.parametrize("dcgm", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_warning_where_energy_j_is_already_the_counters_figure(seed, dcgm):
    w, said, truth = _window(seed, 0.2, 1.56, dcgm)  # 1.36 s, ending 56 ms after the step the instant readings miss
    assert w.energy_source_per_gpu == ("dcgm" if dcgm else "nvml_energy",)
    assert w.energy_j_per_gpu == w.counter_energy_j_per_gpu
    assert abs(w.power_energy_j_per_gpu[0] - truth) > 0.1 * truth  # the power readings are off: the check would fire
    assert not said, said


@pytest.mark.parametrize("dcgm", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_short_window_that_took_the_power_readings_figure_warns_and_says_so(seed, dcgm):
    w, said, truth = _window(seed, 1.45, 1.55, dcgm)  # 0.1 s: short against the counter's 100 ms updates
    power = "dcgm" if dcgm else "nvml_instant"
    assert w.energy_source_per_gpu == (power,) and w.energy_j_per_gpu == w.power_energy_j_per_gpu
    assert len(said) == 1, said
    text = said[0]
    assert f"energy_j {w.energy_j_per_gpu[0]:.1f} J (the {power} readings')" in text, text
    assert f"energy_j took the {power} readings' figure (power_energy_j" in text, text
    assert "counter_energy_j is the figure to use" in text, text
    assert abs(w.counter_energy_j_per_gpu[0] - truth) < abs(w.energy_j_per_gpu[0] - truth), (w, truth)
