"""``with mon.window("w"): ...`` on a short window warned ShortWindowWarning at contextlib.py:144 (the block was a
generator, whose end_window ran inside contextlib's ``__exit__``), so the warning named no line of the user's and a
filter by module missed it; a window measured without waiting warned NotYetReadWarning inside monitor.py. Both now
point at the ``with`` line; an exception inside the block still cancels the window and propagates."""

from __future__ import annotations

import time
import warnings

import pytest

from energylens.measure.monitor import EnergyMonitor, NotYetReadWarning, ShortWindowWarning
from energylens.measure.sampler import PowerSampler


def _flat(**kw):
    return PowerSampler.synthetic([([0.0, 60.0], [300.0, 300.0])], **kw)


@pytest.mark.parametrize(("wait", "category"), [(True, ShortWindowWarning), (False, NotYetReadWarning)])
def test_a_windows_warning_points_at_the_with_line(wait, category):
    # wait=False: the driver buffer's first reading 0.5 s after the start, so the window holds none
    with EnergyMonitor(_flat(buffer_period_s=0.02 if wait else 0.5), sync=False, wait=wait) as mon:
        time.sleep(0.1 if wait else 0.05)
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            with mon.window("w") as w:
                time.sleep(0.001)
    said = [g for g in got if issubclass(g.category, category)]
    assert said, [(g.category.__name__, str(g.message)) for g in got]
    assert all(g.filename == __file__ for g in said), [(g.filename, g.lineno) for g in said]
    assert w.key == "w" and w.measurement is not None and w.measurement.key == "w"


def test_an_exception_in_the_block_cancels_the_window_and_propagates():
    with EnergyMonitor(_flat(), sync=False) as mon:
        with pytest.raises(KeyError, match="inside"):
            with mon.window("w") as w:
                assert mon.windows == ("w",)
                raise KeyError("inside")
        assert mon.windows == () and w.measurement is None
        with mon.window("w") as again:  # the key is free again
            time.sleep(0.05)
    assert again.measurement.duration_s >= 0.05
