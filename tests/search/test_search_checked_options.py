"""checked_options leaves the options it is given as they were: it replaced their numbers, in place, by the floats it
checked (a Fraction rate became 20.0 in the caller's dict), so a caller that reused its dict saw other values than it
passed; the settings record still gets the checked floats, from the copy it returns."""

from fractions import Fraction

import numpy as np

from energylens.search.options import _VALIDATED, checked_options


def test_the_given_options_are_left_as_passed():
    given = dict.fromkeys(_VALIDATED)
    given.update(rate_per_s=Fraction(20), tpot_limit_s=np.array(0.15), max_utilization=np.float32(0.5), per_token=False,
                 gpu_memory_utilization=Fraction(9, 10))
    before = dict(given)
    options, recorded = checked_options(given, top=3)
    assert given == before and all(given[k] is before[k] for k in given)  # the same objects, none replaced
    assert options["rate_per_s"] == 20.0 and options["top_k"] == 3
    assert {k: (type(v), v) for k, v in recorded.items() if v is not None} == {
        "rate_per_s": (float, 20.0), "tpot_limit_s": (float, 0.15), "max_utilization": (float, 0.5),
        "per_token": (bool, False), "gpu_memory_utilization": (float, 0.9)}
    assert set(recorded) == set(given)
