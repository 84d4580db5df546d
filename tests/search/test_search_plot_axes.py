"""The Pareto plot's axes say what the table's legend says: in a workload distribution TTFT / TPOT are the
worst point's and the objective the expected value over the points (the axes read plain "TPOT (s)" and
"energy (J per request)", as if one workload); an empty result says why once, not in both panels."""

import warnings

import matplotlib
import matplotlib.figure
import pytest

import energylens
from energylens.search.api import bundled_model

matplotlib.use("Agg")
L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _axes(monkeypatch, result, path) -> list[tuple[str, str, list[str]]]:
    seen = []
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        seen.extend((ax.get_xlabel(), ax.get_ylabel(), [t.get_text() for t in ax.texts]) for ax in fig.axes)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    result.plot(str(path))
    return seen


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(L8, "H100", energy_model=bundled_model(), bootstrap=False, tp=[1, 2],
                                 max_num_seqs=[8, 64], **kw)


def test_distribution_axes_name_the_worst_point_and_the_expected_value(monkeypatch, tmp_path):
    r = _search(input_tokens=[256, 2048], output_tokens=[128, 512], workload_weights=[3, 1])
    (x1, y1, _), (x2, y2, _) = _axes(monkeypatch, r, tmp_path / "p.png")
    assert "worst" in x1 and "TPOT" in x1 and "worst" in x2 and "TTFT" in x2
    assert y1 == y2 and "expected" in y1 and "J per request" in y1


@pytest.mark.parametrize("kw", [dict(input_tokens=512, output_tokens=256),
                                dict(input_tokens=[256, 2048], output_tokens=[128, 512])])  # separate points
def test_one_workload_axes_unchanged(monkeypatch, tmp_path, kw):
    (x1, y1, _), (x2, _, _) = _axes(monkeypatch, _search(**kw), tmp_path / "p.png")
    assert (x1, x2, y1) == ("TPOT (s)", "TTFT (s)", "energy (J per request)")


def test_empty_result_says_why_once(monkeypatch, tmp_path):
    r = _search(input_tokens=512, output_tokens=256, tpot_limit_s=1e-4)
    texts = [t for _, _, ts in _axes(monkeypatch, r, tmp_path / "p.png") for t in ts]
    assert len(texts) == 1 and "no feasible configuration" in texts[0].replace("\n", " ")
