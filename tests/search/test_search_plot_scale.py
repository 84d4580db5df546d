"""The Pareto plot's objective axis: log where every plotted objective is positive, linear otherwise. A GPU
priced at 0 per hour gives its configurations a cost of 0, which a log axis cannot show: the best point, the
top-k and a whole TTFT front vanished from the plot without a word."""

import warnings

import matplotlib
import matplotlib.figure

import energylens

matplotlib.use("Agg")


def _scales(monkeypatch, result, path):
    seen = {}
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        seen["axes"] = [(ax.get_yscale(), ax.get_ylim()) for ax in fig.axes]
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    result.plot(str(path))
    assert path.exists()
    return seen["axes"]


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100,H200", input_tokens=512, output_tokens=256,
                                 **kw)


def test_zero_cost_configurations_stay_on_the_axis(monkeypatch, tmp_path):
    r = _search(objective="cost", price_per_gpu_hour={"H100": 0, "H200": 3})
    assert r.top["objective"].iloc[0] == 0
    for scale, (lo, hi) in _scales(monkeypatch, r, tmp_path / "p.png"):
        assert scale == "linear"
        assert lo <= 0 <= hi and hi >= r.top["objective"].max()


def test_positive_objectives_keep_the_log_axis(monkeypatch, tmp_path):
    r = _search()
    assert [s for s, _ in _scales(monkeypatch, r, tmp_path / "p.png")] == ["log", "log"]
