"""`energylens demo --help` said --seed is the 'seed of the training draw', but run_demo also seeds the energy
model's fit with it (its multi-start spread and bootstrap refits, hence every parameter interval printed) and the
closing comparison's splits and per-method seeds (seed * 1000 + repeat); the closing search takes no seed of
its own. The help now says each, and these tests hold the demo to it."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from energylens.cli import demo as demo_cli
from energylens.cli.parsers.demo import add_parser
from energylens.profiles.datasets import mlenergy_v2


def _seed_help() -> str:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    action = next(a for a in parser._subparsers._group_actions[0].choices["demo"]._actions  # noqa: SLF001
                  if "--seed" in a.option_strings)
    return " ".join(action.help.split())


def test_help_names_everything_the_seed_controls():
    text = _seed_help()
    for what in ("training rows", "fit's starts", "bootstrap", "closing comparison", "seed * 1000 + repeat"):
        assert what in text, text
    assert "search draws nothing" in text, text


def test_the_fit_is_seeded_by_it_not_only_the_draw():
    data = mlenergy_v2().reset_index(drop=True)
    fits = {s: demo_cli._fit(data, s, 20, lambda *_: None) for s in (0, 1)}
    for s, (model, _held_out) in fits.items():
        assert model.options["seed"] == s
    assert not fits[0][1].index.equals(fits[1][1].index)  # a different training draw
    assert not np.array_equal(fits[0][0].bootstrap_params, fits[1][0].bootstrap_params)


def test_the_comparison_gets_it(monkeypatch, tmp_path):
    seen = {}

    class Stop(Exception):
        pass

    def fake(df, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(demo_cli, "run_evaluation", fake)
    with pytest.raises(Stop):
        demo_cli.demo_comparison(tmp_path / "r", seed=7, repeats=2, train_size=20, profiles=mlenergy_v2(), progress=False)
    assert seen["seed"] == 7

