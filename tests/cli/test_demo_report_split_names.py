"""report.md of the demo, under "Notes on the methods", gave wilkins2024's pooled share "per split: random: 95 %,
curve: 68 %, unseen_batch: 18 %, unseen_gpu: 100 %, unseen_model: 100 %": the runner's internal names, "curve"
used nowhere else in the report (its section is "Sample efficiency"). The shares are now named by the report's
own sections."""

from __future__ import annotations

import pytest

from energylens.compare import findings, registry
from energylens.compare import runner as ev
from energylens.profiles.datasets import mlenergy_v2

pytest.importorskip("sklearn")


def test_the_wilkins_note_names_the_report_sections():
    res = ev.run_evaluation(
        mlenergy_v2(), train_size=20, repeats=1, progress=False, splits=("random", "curve", "unseen_batch"),
        curve_sizes=(12,), methods=lambda seed: registry.default_methods(seed=seed, include=("energylens", "wilkins2024")))
    pooled = res.info["notes"]["wilkins2024"]["pooled_fraction"]
    assert set(pooled) == {"random", "curve", "unseen_batch"}
    note = next(n for n in findings.method_notes(res) if n.startswith("- **wilkins2024**"))
    assert "curve:" not in note and "unseen_batch" not in note
    assert f"sample efficiency {100 * pooled['curve']:.0f} %" in note
    assert f"random split {100 * pooled['random']:.0f} %" in note
    assert f"unseen batch sizes {100 * pooled['unseen_batch']:.0f} %" in note


def test_the_sample_efficiency_plot_is_titled_as_its_section(tmp_path, monkeypatch):
    """sample_efficiency.png, shown under "## Sample efficiency", was titled "curve split: mean ± ..."."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from energylens.compare.report_plots import plot_curves

    titles: list[str] = []
    real = Figure.suptitle
    monkeypatch.setattr(Figure, "suptitle", lambda self, t, **kw: titles.append(t) or real(self, t, **kw))
    res = ev.run_evaluation(
        mlenergy_v2(), train_size=20, repeats=2, progress=False, splits=("curve",), curve_sizes=(12, 25),
        methods=lambda seed: registry.default_methods(seed=seed, include=("energylens",)))
    assert plot_curves(res, tmp_path / "s.png")
    assert titles and titles[0].startswith("sample efficiency (split `curve` in summary.csv): mean ± standard "
                                           "deviation over 2 repeats"), titles
