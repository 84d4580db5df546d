"""`energylens demo --train-size 5` printed the data set's header, then failed in the fit with 'the closed form
needs at least 12 ..., or a prior (EnergyModel(prior=...), fit --prior)': advice demo cannot take (it has no
--prior). The size is now checked when the command line is read (exit 2, before any output), with the bound
the demo's fit needs; run_demo refuses it before its header too."""

from __future__ import annotations

import io

import pytest

from energylens.cli.demo import run_demo
from energylens.cli.main import main
from energylens.cli.parsers.demo import DEMO_MIN_TRAIN_SIZE
from energylens.model import EnergyModel


def test_the_bound_is_the_energy_models_parameter_count():
    assert DEMO_MIN_TRAIN_SIZE == len(EnergyModel().param_names)


@pytest.mark.parametrize("size", ["5", "11"])
def test_too_small_a_training_size_is_an_argument_error(size, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--no-compare", "--train-size", size])
    assert exit_.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""  # no header first
    assert "argument --train-size: " in out.err and f"at least {DEMO_MIN_TRAIN_SIZE}" in out.err, out.err
    assert "--prior" not in out.err and "EnergyModel(" not in out.err, out.err


def test_run_demo_refuses_it_before_its_header():
    out = io.StringIO()
    with pytest.raises(ValueError, match=f"at least {DEMO_MIN_TRAIN_SIZE}") as exc:
        run_demo(compare=False, out=out, train_size=5)
    assert "--prior" not in str(exc.value)
    assert out.getvalue() == ""
