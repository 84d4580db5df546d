"""A window closed after its sampler was stopped inside the monitor (``mon.sampler.stop()``, or ``stop()`` on the
sampler passed in): its end lies past the last reading, but the error said the window "starts before the recording"
(its start lay inside the driver buffer's first 20 ms interval, which that interval's reading covers) and blamed
a failed source."""

import time

import pytest

from energylens.errors import EnergyLensError
from energylens.measure.monitor import EnergyMonitor
from energylens.measure.sampler import PowerSampler


def test_a_window_ending_after_the_sampler_was_stopped_names_the_stop():
    sampler = PowerSampler.synthetic([([0.0, 0.5], [150.0, 450.0])])
    with EnergyMonitor(sampler, sync=False) as mon:
        mon.begin_window("w")  # at once: before the buffer's first reading, inside the interval it covers
        time.sleep(0.3)
        sampler.stop()
        time.sleep(0.1)
        with pytest.raises(ValueError, match=r"end_window\('w'\): no power reading covers .* which ends after the "
                                             r"recording .*the sampler was stopped"):
            mon.end_window("w")


def test_a_monitor_given_a_running_sampler_says_it_starts_the_sampler_itself():
    # it said 'PowerSampler: already started; call stop() before starting it again', the user never having started it
    # in the second monitor's case (the first monitor had), and the fix it named would end the first monitor's run
    sampler = PowerSampler.synthetic([([0.0], [150.0])])
    with EnergyMonitor(sampler, sync=False):
        with pytest.raises(EnergyLensError, match=r"EnergyMonitor: its sampler is already running .*one sampler per "
                                                  r"monitor"):
            EnergyMonitor(sampler, sync=False).__enter__()
        assert sampler.running  # the first monitor's run goes on
