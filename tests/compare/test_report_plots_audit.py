"""The evaluation report's plots label what they draw (audit of 2026-12-06): the learning curves had no y-axis
labels, regret's standard-deviation bars ran below 0 on its symlog axis and the figure did not say what the bars
are; the group heat map cut labels at 60 characters (``... | NVIDIA A100-SXM4-`` named the 40 GB and 80 GB cards
alike), left a method's missing Top-1 blank and unexplained and had no colour-bar label; a panel of a method whose
fit failed in the plotted repeat read "306 of 306 predictions off the axes", and no figure named its repeat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_methods import fake_gpu_spec, synthetic_profiles

from energylens.compare import registry
from energylens.compare import runner as ev
from energylens.compare.result import EvaluationResult

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def res():
    return ev.run_evaluation(
        synthetic_profiles(), train_size=30, repeats=3, progress=False, splits=("curve",), curve_sizes=(12, 25),
        methods=lambda seed: registry.default_methods(seed=seed, gpu_spec=fake_gpu_spec,
                                                      include=("energylens", "wilkins2024", "llmcarbon")))


def _figures(monkeypatch):
    import matplotlib.figure

    saved = []
    original = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda self, *a, **k: saved.append(self) or original(self, *a, **k))
    return saved


def test_the_learning_curves_label_their_axes_and_keep_regret_at_or_above_zero(res, tmp_path, monkeypatch):
    from energylens.compare.report_plots import plot_curves

    saved = _figures(monkeypatch)
    assert plot_curves(res, tmp_path / "c.png")
    axes = saved[0].axes
    assert all(ax.get_ylabel() for ax in axes)
    assert "%" in axes[2].get_ylabel()
    assert axes[2].get_ylim()[0] >= 0
    assert all("log" in ax.get_xlabel() for ax in axes)
    assert "standard deviation over" in saved[0].texts[0].get_text()


def test_the_group_heatmap_labels_stay_distinct_and_its_colour_bar_is_named(tmp_path, monkeypatch):
    from energylens.compare.report_plots import plot_groups

    long = "chat | meta-llama/Meta-Llama-3.1-70B-Instruct-and-a-much-longer-suffix | NVIDIA A100-SXM4-"
    t = pd.DataFrame({"split": "random", "method": ["energylens", "x"] * 4, "top1": [1.0, 0.0, 0.5, np.nan] * 2,
                      "group": [long + "40GB"] * 2 + [long + "80GB"] * 2
                      + [f"chat | meta-llama/Meta-Llama-3.1-{b}-Instruct-with-a-long-name-to-cut | H100 80GB HBM3"
                         for b in ("8B", "70B")] * 2})
    saved = _figures(monkeypatch)
    assert plot_groups(EvaluationResult(t, pd.DataFrame(), {"methods": ["energylens", "x"]}), tmp_path / "g.png")
    ax = saved[0].axes[0]
    labels = [lab.get_text() for lab in ax.get_yticklabels()]
    assert len(set(labels)) == 4 and sum(lab.endswith(("40GB", "SXM4-80GB")) for lab in labels) == 2
    assert "no Top-1" in saved[0].axes[0].get_xlabel()  # what a blank cell means
    assert saved[0].axes[1].get_ylabel()  # the colour bar


def test_a_panel_whose_fit_failed_says_so(tmp_path, monkeypatch):
    from energylens.compare.report_plots import plot_pred_vs_meas

    measured = np.array([10.0, 20.0, 40.0])
    p = pd.DataFrame({"repeat": 0, "energy_scale": True, "modality": "text", "energy_j": np.tile(measured, 2),
                      "method": ["energylens"] * 3 + ["broken"] * 3,
                      "predicted_energy_j": [11.0, 19.0, 41.0, np.nan, np.nan, np.nan]})
    saved = _figures(monkeypatch)
    assert plot_pred_vs_meas(EvaluationResult(pd.DataFrame(), p, {}), tmp_path / "p.png")
    titles = [ax.get_title() for ax in saved[0].axes if ax.get_title()]
    assert titles[1].startswith("broken") and "no predictions" in titles[1] and "off the axes" not in titles[1]
    assert "repeat 0" in saved[0].texts[0].get_text()
