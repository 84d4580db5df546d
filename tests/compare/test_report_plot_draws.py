"""Each report plot is drawn once per PNG (test-speed audit of 2026-12-06): ``fig.tight_layout()`` left a
placeholder layout engine on the figure, and ``savefig`` draws a figure with any layout engine twice (a pass
with rendering disabled that still lays out every tick and text, then the real one), so every plot paid for two
layout passes. The PNGs are unchanged (byte for byte on the bundled data); the layout is still the tight one."""

from __future__ import annotations

import pytest
from test_methods import fake_gpu_spec, synthetic_profiles

from energylens.compare import registry
from energylens.compare import runner as ev

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def res():
    return ev.run_evaluation(
        synthetic_profiles(), train_size=30, repeats=2, progress=False, splits=("random", "curve"),
        curve_sizes=(12, 25),
        methods=lambda seed: registry.default_methods(seed=seed, gpu_spec=fake_gpu_spec,
                                                      include=("energylens", "wilkins2024")))


@pytest.mark.parametrize("name", ["sample_efficiency.png", "predicted_vs_measured.png", "group_rankings.png"])
def test_each_plot_is_laid_out_tightly_and_drawn_once(res, tmp_path, monkeypatch, name):
    import matplotlib.figure

    from energylens.compare.report_plots import PLOTS

    draws, saved = [], []
    draw, savefig = matplotlib.figure.Figure.draw, matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "draw", lambda self, r: draws.append(self) or draw(self, r))
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda self, *a, **k: saved.append(self) or savefig(self, *a, **k))
    plot = dict(PLOTS)[name]
    assert plot(res, tmp_path / name)
    assert (tmp_path / name).stat().st_size > 0
    assert len(saved) == 1 and len(draws) == 1, f"{name}: {len(draws)} draws for one PNG"
    default = matplotlib.figure.SubplotParams()
    pars = saved[0].subplotpars
    assert (pars.left, pars.bottom) != (default.left, default.bottom), "tight_layout did not run"


def test_an_rc_file_with_autolayout_does_not_lay_the_curves_out_again(res, tmp_path):
    """figure.autolayout (a user's matplotlibrc) must not bring back an engine that redoes the layout at draw
    time without the band kept for the legend below the panels: the same PNG with and without it."""
    import matplotlib.pyplot as plt

    from energylens.compare.report_plots import plot_curves

    assert plot_curves(res, tmp_path / "a.png")
    with plt.rc_context({"figure.autolayout": True}):
        assert plot_curves(res, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
