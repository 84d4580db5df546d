"""EnergyModel.from_expression(...) took fit options EnergyModel(...) refuses when the model is made
(fit_options.checked_fit_options): loss='bogus' and max_iterations=0 failed only at fit, seed=-3 failed there
with pybind11's 'Unable to cast Python instance of type <class 'int'> to C++ type '?'', n_starts=2.5 was
truncated to 2, seed=True became 1, start_spread=-1 was used, bootstrap='200' was a TypeError from a
comparison. The constructor now runs the same check, so each is the template's ValueError naming the keyword."""

from __future__ import annotations

import pytest

from energylens.model import EnergyModel

EXPR = "0.01*input_tokens + 3.0"
BAD = [({"loss": "bogus"}, "loss must be 'linear', 'soft_l1' or 'huber'"),
       ({"seed": -3}, r"seed must be an integer in \[0, 2\*\*63\)"),
       ({"seed": True}, r"seed must be an integer in \[0, 2\*\*63\)"),
       ({"n_starts": 2.5}, r"n_starts must be a whole number"),
       ({"n_starts": 0}, r"n_starts must be a whole number"),
       ({"max_iterations": 0}, r"max_iterations must be a whole number"),
       ({"start_spread": -1.0}, r"start_spread must be a finite number >= 0"),
       ({"loss_scale": -1.0}, r"loss_scale must be a finite number > 0"),
       ({"bootstrap": "200"}, r"bootstrap must be a whole number"),
       ({"bootstrap": -1}, r"bootstrap must be a whole number"),
       ({"residual": "abs"}, r"residual must be 'relative' or 'log'")]


@pytest.mark.parametrize("kwargs, message", BAD, ids=[str(k) for k, _ in BAD])
@pytest.mark.parametrize("make", [lambda **kw: EnergyModel.from_expression(EXPR, **kw), EnergyModel],
                         ids=["expression", "template"])
def test_a_bad_option_is_refused_when_the_model_is_made(make, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_good_options_are_kept_as_given():
    m = EnergyModel.from_expression(EXPR, loss="huber", seed=7, n_starts=2.0, start_spread=0.0, bootstrap=0)
    assert m.options == {"residual": "log", "loss": "huber", "loss_scale": 0.1, "n_starts": 2, "start_spread": 0.0,
                         "seed": 7, "max_iterations": 300}
    assert type(m.options["n_starts"]) is int and m.bootstrap_replicates == 0
