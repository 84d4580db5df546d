"""The predicted-vs-measured plot of the evaluation report: a prediction off its axes (beyond [0.5 x, 2 x] the
measured range, or not finite) is drawn hollow at the edge and counted in the panel's title. It was clipped onto
the edge like any other point, and a NaN prediction was not drawn at all."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from energylens.compare.report_plots import beyond_axes, plot_pred_vs_meas
from energylens.compare.result import EvaluationResult

pytest.importorskip("matplotlib")


def test_beyond_axes():
    pred = np.array([1.0, 0.4, 5.0, np.nan, np.inf, 2.0])
    assert beyond_axes(pred, 0.5, 2.0).tolist() == [False, True, True, True, True, False]


def test_the_panel_counts_what_it_cannot_place(tmp_path: Path, monkeypatch):
    measured = np.array([10.0, 20.0, 40.0, 80.0])
    predictions = pd.DataFrame({
        "repeat": 0, "energy_scale": True, "modality": "text", "energy_j": np.tile(measured, 2),
        "method": ["energylens"] * 4 + ["random_forest"] * 4,
        "predicted_energy_j": [11.0, 19.0, 500.0, np.nan, 9.0, 21.0, 41.0, 79.0]})
    titles = []
    import matplotlib.axes

    original = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title",
                        lambda self, label, *a, **k: titles.append(label) or original(self, label, *a, **k))
    assert plot_pred_vs_meas(EvaluationResult(pd.DataFrame(), predictions, {}), tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0
    assert titles == ["energylens\n2 of 4 predictions off the axes (hollow, at the edge)", "random_forest"]
