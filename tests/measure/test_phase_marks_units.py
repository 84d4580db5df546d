"""attribute_phases on marks whose t_ns were written as seconds: on the H200 polls (their time base starts at 0, as
docs/measuring.md builds it), marks at t_ns 0, 1, 2, 4 (meant as 0 s, 1 s, 2 s, 4 s) lay within the readings'
tolerance and read 0.0 J for every phase, without a word. Marks spanning under a microsecond in all are refused,
saying ns. Marks written as ms (200, 1000, 2000, 2500) or us read 0.0 J / 0.3 J a phase, without a word, too: marks
all in the clock's first 10 ms that read as ms or us would lie within readings running over a second warn
UnitsWarning naming ms / us."""

import warnings

import numpy as np
import pytest

from energylens.errors import EnergyLensError
from energylens.measure import Trace, attribute, attribute_phases
from energylens.measure.units import UnitsWarning

S = 1_000_000_000


def _trace(h200_trace, t_ns):
    s = h200_trace.samples.copy()
    s["t_ns"] -= s["t_ns"].min() - 300_000  # the slice's polls from 0.3 ms on, as the docs' CSV starts
    return Trace(samples=s, kernels={"gpu": [0], "start_ns": [1 * S], "end_ns": [2 * S], "name": ["gemm"],
                                     "kind": ["matmul"]},
                 marks={"t_ns": np.array(t_ns, np.int64), "label": ["idle", "load", "idle", "end"][:len(t_ns)]},
                 meta=h200_trace.meta)


def test_marks_written_as_seconds_are_refused_naming_ns(h200_trace):
    tr = _trace(h200_trace, [0, 1, 2, 3])
    a = attribute(tr, source="nvml_energy", span_ns=(int(0.2 * S), int(2.5 * S)), bootstrap=0)
    with pytest.raises(EnergyLensError, match=r"the marks span 3 ns from first to last.*ns.*seconds\?"):
        attribute_phases(tr, attribution=a)


def test_marks_a_second_apart_are_taken(h200_trace):
    tr = _trace(h200_trace, [int(0.2 * S), 1 * S, 2 * S, int(2.5 * S)])
    a = attribute(tr, source="nvml_energy", span_ns=(int(0.2 * S), int(2.5 * S)), bootstrap=0)
    assert (attribute_phases(tr, attribution=a).energy_j > 0).all()


@pytest.mark.parametrize("unit, f", [("ms", 10**6), ("us", 10**3)])
def test_marks_written_as_ms_or_us_warn(h200_trace, unit, f):
    tr = _trace(h200_trace, [int(0.2 * S) // f, 1 * S // f, 2 * S // f, int(2.5 * S) // f])
    a = attribute(tr, source="nvml_energy", span_ns=(int(0.2 * S), int(2.5 * S)), bootstrap=0)
    with pytest.warns(UnitsWarning, match=rf"the marks lie at t_ns {int(0.2 * S) // f}\.\.{int(2.5 * S) // f}, all in "
                                          rf"the clock's first 10 ms.*were they left in {unit} "):
        p = attribute_phases(tr, attribution=a)
    assert (p.energy_j < 1).all()  # what they read: the model over microseconds


def test_marks_a_second_apart_do_not_warn(h200_trace):
    tr = _trace(h200_trace, [int(0.2 * S), 1 * S, 2 * S, int(2.5 * S)])
    a = attribute(tr, source="nvml_energy", span_ns=(int(0.2 * S), int(2.5 * S)), bootstrap=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        attribute_phases(tr, attribution=a)
