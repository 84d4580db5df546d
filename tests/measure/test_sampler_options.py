"""PowerSampler.nvml's options, given as a new user gives them by mistake: milliseconds for seconds, a string
where a list goes. Each is refused before NVML is loaded, naming the option and the value (on this box without a
driver they ended in NvmlUnavailableError, hiding the mistake; with a driver they ran on)."""

import warnings

import pytest

from energylens.measure.monitor import EnergyMonitor
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import synthetic_trace
from energylens.measure.units import UnitsWarning


@pytest.mark.parametrize("interval_s", [5, 2.5, 100])
def test_a_power_poll_slower_than_the_driver_buffer_holds_is_refused(interval_s):
    # interval_s replaces the sample buffer's own drain interval: drained every 3 s, its ~2.4 s of samples
    # overflowed and 30 of every 150 were lost (620 ms holes, a 6 s window 7 % off, stand-in NVML)
    with pytest.raises(ValueError, match=rf"interval_s={interval_s:g} s.*driver's sample buffer.*2\.4 s"):
        PowerSampler.nvml(interval_s=interval_s)


def test_a_slow_poll_without_the_driver_buffer_is_not_refused_for_it():
    with pytest.raises(Exception) as caught:  # no NVML on a driverless box; a sampler where there is one
        PowerSampler.nvml(interval_s=5, chain=("instant",))
    assert "sample buffer" not in str(caught.value)


@pytest.mark.parametrize("value", [0, -0.1, 5, 100, 1e-12, float("nan"), float("inf"), "0.1"])
def test_buffer_poll_s_out_of_range_names_the_option_and_value(value):
    # the native check read 'nvml sample buffer: poll interval must be in (0, 1 s]', naming neither
    with pytest.raises(ValueError, match=r"buffer_poll_s"):
        PowerSampler.nvml(buffer_poll_s=value)


@pytest.mark.parametrize("value", [0, -1, 1e-12, float("inf")])
def test_energy_interval_s_out_of_range_names_the_option(value):
    with pytest.raises(ValueError, match=r"energy_interval_s"):
        PowerSampler.nvml(energy_interval_s=value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "5ms"])
def test_interval_s_that_is_no_number_of_seconds_names_the_option(value):
    with pytest.raises(ValueError, match=r"interval_s"):  # inf raised OverflowError converting to ns
        PowerSampler.nvml(interval_s=value)


@pytest.mark.parametrize("gpus", ["0", "10", "0,1"])
def test_gpus_as_a_string_is_refused(gpus):
    # "10" sampled GPUs 1 and 0, "0" GPU 0, "0,1" failed on int(','): the characters were taken as indices
    with pytest.raises(ValueError, match=r"gpus.*list of GPU indices"):
        PowerSampler.nvml(gpus=gpus)


def test_a_chain_given_as_one_name_is_that_source():
    # chain="instant" was iterated by character: "unknown power source 'i'"
    with pytest.raises(ValueError, match=r"chain"):
        PowerSampler.nvml(chain="insant")
    with pytest.raises(Exception) as caught:
        PowerSampler.nvml(chain="instant")
    assert "unknown power source" not in str(caught.value)
    s = PowerSampler.synthetic([([0.0], [100.0])], chain="instant")
    assert [x.name for x in s.result().sources] == ["synthetic_instant", "synthetic_energy_counter"]


@pytest.mark.parametrize("t", [[0.0, 1.0, 0.5], [0.0, 0.0]])
def test_a_synthetic_timeline_out_of_order_names_its_seconds_and_row(t):
    # it said 'power timeline: GPU 0: t_ns must increase strictly' for a timeline given in seconds (t_s)
    with pytest.raises(ValueError, match=rf"timeline\[0\]: t_s must increase strictly: row {len(t) - 1} "
                                         rf"\({t[-1]!r} s\) after {t[-2]!r} s"):
        PowerSampler.synthetic([(t, [100.0] * len(t))])


@pytest.mark.parametrize("kw", [{"realtime": "no"}, {"realtime": "False"}, {"rebase": "false"}, {"rebase": None}])
def test_replay_flags_must_be_booleans(kw):
    # realtime="no" is truthy: the trace played in real time; rebase=None played it on its own clock
    name, value = next(iter(kw.items()))
    with pytest.raises(ValueError, match=rf"{name} must be True or False, got {value!r}"):
        PowerSampler.replay(synthetic_trace(duration_s=0.3)[0], **kw)


def test_replay_speed_as_a_string_is_refused():
    with pytest.raises(ValueError, match=r"speed must be a finite number, got '2'"):
        PowerSampler.replay(synthetic_trace(duration_s=0.3)[0], speed="2")


@pytest.mark.parametrize("name", ["sync", "wait", "kernels"])
def test_monitor_flags_must_be_booleans(name):
    # sync="no" / wait="no" were truthy: every window edge synchronised the devices and waited
    with pytest.raises(ValueError, match=rf"{name} must be True or False, got 'no'"):
        EnergyMonitor(PowerSampler.synthetic([([0.0], [100.0])]), **{name: "no"})


def test_an_energy_counter_flag_that_is_no_boolean_is_refused():
    # energy_counter="no" read the counter all the same
    with pytest.raises(ValueError, match=r"energy_counter must be True or False, got 'no'"):
        PowerSampler.synthetic([([0.0], [100.0])], energy_counter="no")
    with pytest.raises(ValueError, match=r"energy_counter must be True or False, got 'no'"):
        PowerSampler.nvml(energy_counter="no")


def test_a_per_window_sync_that_is_no_boolean_is_refused_and_leaves_the_windows_as_they_were():
    # begin_window(key, sync="no") synchronised the devices all the same ("no" is truthy), though the
    # constructor's sync="no" is refused; a mistaken end_window must not lose the open window either
    with EnergyMonitor(PowerSampler.synthetic([([0.0], [100.0])]), sync=False) as mon:
        with pytest.raises(ValueError, match=r"begin_window\('a'\): sync must be True, False or None \(the monitor.s\), got 'no'"):
            mon.begin_window("a", sync="no")
        assert mon.windows == ()
        mon.begin_window("a")
        with pytest.raises(ValueError, match=r"end_window\('a'\): sync must be True, False or None \(the monitor.s\), got 0"):
            mon.end_window("a", sync=0)
        assert mon.windows == ("a",)
        with pytest.raises(ValueError, match=r"begin_window\('b'\): sync must be True, False or None \(the monitor.s\), got 'no'"):
            with mon.window("b", sync="no"):
                pass
        assert mon.windows == ("a",)
        mon.cancel_window("a")


@pytest.mark.parametrize("budget", [5, 1.5, 25])
def test_a_cpu_budget_over_one_core_is_refused_as_a_fraction_not_a_percentage(budget):
    # auxiliary_cpu_budget is a fraction of one core (0.0025: 0.25 %); 5 (meant as 5 %) was taken as 500 %, more
    # than a thread can use: the counter thread never backed off
    with pytest.raises(ValueError, match=rf"auxiliary_cpu_budget must be a fraction of one core in \[0, 1\].*"
                                         rf"got {budget!r}"):
        PowerSampler.synthetic([([0.0], [100.0])], auxiliary_cpu_budget=budget)
    with pytest.raises(ValueError, match=r"auxiliary_cpu_budget"):  # before NVML loads
        PowerSampler.nvml(auxiliary_cpu_budget=budget)


@pytest.mark.parametrize("budget", ["0.01", True, float("nan"), -0.1])
def test_a_cpu_budget_that_is_no_fraction_names_the_option(budget):
    # "0.01" read 'could not convert string to float' (or was taken), True was one whole core
    with pytest.raises(ValueError, match=r"auxiliary_cpu_budget must be a fraction of one core"):
        PowerSampler.synthetic([([0.0], [100.0])], auxiliary_cpu_budget=budget)


@pytest.mark.parametrize("budget", [0, 0.0025, 0.05, 1])
def test_cpu_budgets_from_off_to_one_core_are_taken(budget):
    PowerSampler.synthetic([([0.0], [100.0])], auxiliary_cpu_budget=budget)


@pytest.mark.parametrize("name", ["update_period_s", "averaging_window_s", "buffer_period_s", "buffer_poll_s"])
@pytest.mark.parametrize("value", [0, -0.1, 1e-12])
def test_a_synthetic_period_that_is_no_positive_time_names_the_option_and_value(name, value):
    # the native check read 'synthetic source: need update_period > 0, 0 < averaging_window <= update_period,
    # buffer_period > 0 and buffer_poll > 0', naming neither the option given nor its value
    with pytest.raises(ValueError, match=rf"PowerSampler.synthetic: {name} must be a finite number of seconds.*"
                                         rf"got {value!r}"):
        PowerSampler.synthetic([([0.0], [100.0])], **{name: value})


def test_a_synthetic_averaging_window_longer_than_its_update_period_names_both():
    with pytest.raises(ValueError, match=r"averaging_window_s=0\.2 s is longer than update_period_s=0\.1 s"):
        PowerSampler.synthetic([([0.0], [100.0])], averaging_window_s=0.2)


def test_a_synthetic_timeline_in_milliwatts_is_warned_naming_the_gpu_and_value():
    # 300000 (NVML's mW of a 300 W GPU) was taken as 300 kW: every window read 1000x without a word
    with pytest.warns(UnitsWarning, match=r"timeline\[1\]: power_w up to 300000 W.*mW left undivided"):
        PowerSampler.synthetic([([0.0], [300.0]), ([0.0, 1.0], [120000.0, 300000.0])])


def test_a_synthetic_timeline_in_watts_is_not_warned():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        PowerSampler.synthetic([([0.0, 1.0], [90.0, 1200.0])])
