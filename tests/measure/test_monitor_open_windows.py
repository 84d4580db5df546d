"""Windows a monitor ends with, and windows with nothing to read: an EnergyMonitor left with a window open
dropped it at the end of its with block without a word (its energy never measured), and a window whose power
readings were all NaN measured NaN J with source "" and no reason given."""

import time
import warnings

import numpy as np
import pytest

from energylens.measure import EnergyMonitor, PowerSampler, Trace
from energylens.measure.monitor import OpenWindowWarning

S = 1_000_000_000


def _synthetic() -> PowerSampler:
    return PowerSampler.synthetic([([0.0], [300.0])], energy_counter=False)


def test_windows_left_open_at_the_end_of_the_block_are_warned_by_name():
    with pytest.warns(OpenWindowWarning, match=r"EnergyMonitor ended with window\(s\) 'decode' \(open 0\.\d\d s\), "
                                               r"'step' \(open 0\.\d\d s\) still open: not measured"):
        with EnergyMonitor(_synthetic(), sync=False) as mon:
            mon.begin_window("decode")
            mon.begin_window("step")
            mon.begin_window("closed")
            time.sleep(0.05)
            mon.end_window("closed")
    assert mon.windows == ()


def test_no_open_window_warning_for_cancelled_windows_nor_under_an_exception():
    with warnings.catch_warnings():
        warnings.simplefilter("error", OpenWindowWarning)
        with EnergyMonitor(_synthetic(), sync=False) as mon:
            mon.begin_window("a")
            mon.cancel_window("a")
        with pytest.raises(KeyboardInterrupt), EnergyMonitor(_synthetic(), sync=False) as mon:
            mon.begin_window("a")  # the exception, not a warning, says why it was not closed
            raise KeyboardInterrupt


def _nan_trace(sources: tuple[str, ...] = ("nvml_instant",), counter: bool = False) -> Trace:
    n = 40
    t = np.arange(n, dtype=np.int64) * (S // 20)
    rows = [{"t_ns": t, "gpu": 0, "power_w": np.full(n, np.nan), "energy_j": np.full(n, np.nan), "source": src}
            for src in sources]
    if counter:
        rows.append({"t_ns": t, "gpu": 0, "power_w": np.full(n, np.nan), "energy_j": 100.0 + 300.0 * t / S,
                     "source": "nvml_energy"})
    samples = {k: np.concatenate([np.broadcast_to(r[k], n) for r in rows]) for k in rows[0]}
    return Trace(samples=samples, meta={"gpus": [{"index": 0, "name": "x", "uuid": ""}],
                                       "update_period_s": {"nvml_instant": 0.05, "nvml_energy": 0.05}})


@pytest.mark.parametrize("counter", [False, True])
def test_a_window_whose_power_readings_are_all_nan_is_refused_saying_so(counter):
    # measure() returned energy_j NaN, source "" and no word of why (a counter alongside kept its figure silent)
    trace = _nan_trace(("nvml_instant", "nvml_average"), counter=counter)
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        with pytest.raises(ValueError, match=r"measure\('prefill'\): no power reading covers \[600000000, "
                                             r"1300000000\] ns: the 80 power readings recorded \(nvml_average, "
                                             r"nvml_instant\) are all NaN"
                                             + (r".*energy counter read 210\.0 J over it$" if counter else r" \(.*\)$")):
            mon.measure("prefill", int(0.6 * S), int(1.3 * S), recorded=True)


def test_a_gpu_whose_power_readings_are_all_nan_beside_one_read_is_named():
    # two GPUs, the second's readings all NaN: energy_j NaN (energy_j_per_gpu (210.0, nan)), source
    # 'nvml_instant', and nothing said which GPU or why
    n, t = 40, np.arange(40, dtype=np.int64) * (S // 20)
    trace = Trace(samples={"t_ns": np.concatenate([t, t]), "gpu": np.repeat([0, 1], n),
                           "power_w": np.concatenate([np.full(n, 300.0), np.full(n, np.nan)]),
                           "energy_j": np.full(2 * n, np.nan), "source": ["nvml_instant"] * (2 * n)},
                  meta={"gpus": [{"index": 0, "name": "x", "uuid": ""}, {"index": 1, "name": "x", "uuid": ""}],
                        "update_period_s": {"nvml_instant": 0.05}})
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        with pytest.raises(ValueError, match=r"measure\('decode'\): GPU 1's 40 power readings are all NaN, where "
                                             r"other GPUs were read"):
            mon.measure("decode", int(0.6 * S), int(1.3 * S), recorded=True)
