"""`energylens fit bundled --expression discovered.json` printed g3 = 2.3e8 [2.3e+08, 2.3e+08] while g2 moved
+-20 % across the bootstrap refits: the discovered formula held exp(-g1 sqrt(tp) sqrt(g2 A + g3 B) / sqrt(B)),
unchanged by (g1, g2, g3) -> (c g1, g2 / c^2, g3 / c^2), so no data determine the three constants (the fit's
scaled Jacobian has a direction at 3e-16 of the largest). g3's narrow interval was the optimiser barely moving a
constant of 2.3e8 along that valley, not a measurement. Expression fits now get the template's check
(energylens.model.identify): the constants on such a direction are listed in unidentified_params and
summary.undetermined, get no interval, and a DegenerateFitWarning names them. Fitted values are unchanged."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel

ROW = {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1,
       "batch_size": 16.0, "input_tokens": 512.0, "output_tokens": 256.0, "energy_j": 40.0}
#: g1 sqrt(g2 batch + g3 input) = sqrt(g1^2 g2 batch + g1^2 g3 input): one direction of (g1, g2, g3) is free.
VALLEY = "0.5*output_tokens + 2.0*sqrt(0.3*batch_size + 3.0e7*input_tokens)"
PLAIN = "0.5*output_tokens + 2.0*sqrt(batch_size) + 3.0e-3*input_tokens"


def _rows():
    return pd.DataFrame([dict(ROW, batch_size=b, input_tokens=i, output_tokens=o,
                              energy_j=0.4 * o + 3.0 * math.sqrt(0.2 * b + 1e3 * i) * (1 + 0.01 * k % 3))
                         for k, (b, i, o) in enumerate((b, i, o) for b in (8.0, 32.0, 128.0)
                                                       for i in (256.0, 1024.0) for o in (128.0, 512.0))])


def _fit(expr):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = EnergyModel.from_expression(expr, bootstrap=30).fit(_rows())
    return model, [str(w.message) for w in caught if issubclass(w.category, DegenerateFitWarning)]


def test_constants_on_a_free_direction_are_not_identified():
    model, said = _fit(VALLEY)
    names = model.param_names
    assert model.summary.identifiable  # 12 configurations for 4 constants: the count saw nothing
    moving = model.summary.undetermined
    assert set(moving) == set(names[1:]), (names, moving)  # the scale, the batch and the input constants
    assert model.unidentified_params == moving
    for n in moving:
        p = model.params[n]
        assert not p.identified and math.isnan(p.ci_low), p  # was [3e7, 3e7]: a false precision
    assert model.params[names[0]].identified and math.isfinite(model.params[names[0]].ci_low)
    assert any("do not determine" in s and all(n in s for n in moving) for s in said)


def test_a_determined_expression_is_not_flagged():
    model, said = _fit(PLAIN)
    assert model.summary.undetermined == () and model.unidentified_params == ()
    assert not [s for s in said if "do not determine" in s]


def test_prediction_intervals_still_given():  # predictions are determined where the constants are not
    model, _ = _fit(VALLEY)
    bounds = model.predict_interval(_rows().head(2))
    assert np.all(np.asarray(bounds["energy_j_lo"]) < np.asarray(bounds["energy_j_hi"]))
