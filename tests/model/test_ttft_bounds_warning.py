"""A latency model fitted on rows without a measured TTFT (ML.ENERGY v2 / v3 measure TPOT only) returns NaN TTFT
bounds from predict_interval. Only ``energylens predict`` said why; a scheduler calling the Python API got the NaN
columns in silence. predict_interval now warns (DegenerateFitWarning, attributed to the caller's line) naming why the
bounds are NaN and what to do; a model fitted with measured TTFT does not warn, and the command line keeps its one
note instead of saying it twice."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.errors import DegenerateFitWarning
from energylens.model.closed_form import LatencyModel
from energylens.profiles.datasets import mlenergy_v2

REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="A100-SXM4-40GB", tp=1, batch_size=64, input_tokens=512,
               output_tokens=256)


def _fit(ttft: bool) -> LatencyModel:
    rows = mlenergy_v2()
    rows = rows[np.isfinite(rows["tpot_s"])].head(40).copy()
    rows["ttft_s"] = np.nan
    if ttft:  # 15 rows with a TTFT (made up: a latency model needs only some)
        rows.iloc[:15, rows.columns.get_loc("ttft_s")] = 0.05 * rows["input_tokens"].iloc[:15] / 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LatencyModel(bootstrap=20, seed=0).fit(rows)


@pytest.fixture(scope="module")
def models() -> dict[bool, LatencyModel]:
    return {False: _fit(False), True: _fit(True)}


def _ttft_warnings(caught) -> list:
    return [w for w in caught if issubclass(w.category, DegenerateFitWarning) and "ttft_s_lo" in str(w.message)]


def test_nan_ttft_bounds_come_with_a_warning_saying_why_and_what_to_do(models):
    model = models[False]
    assert model.ttft_fitted is False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bounds = model.predict_interval([REQUEST, dict(REQUEST, tp=2)])
    assert bounds[["ttft_s_lo", "ttft_s_hi"]].isna().all().all() and bounds["tpot_s_hi"].notna().all()
    said = _ttft_warnings(caught)
    assert len(said) == 1, [str(w.message) for w in caught]
    text = str(said[0].message)
    assert "ttft_s_lo and ttft_s_hi are NaN" in text and "no training row measured ttft_s" in text, text
    assert "fit on rows with measured ttft_s" in text and "tpot_s bounds are unaffected" in text, text
    assert said[0].filename == __file__  # the caller's line, as the other warnings of a call


def test_it_can_be_escalated_or_silenced_by_its_class(models):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        with pytest.raises(DegenerateFitWarning, match="ttft_s_lo and ttft_s_hi are NaN"):
            models[False].predict_interval(REQUEST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DegenerateFitWarning)
        models[False].predict_interval(REQUEST)
    assert not _ttft_warnings(caught)


def test_a_model_fitted_with_measured_ttft_gives_bounds_and_no_warning(models):
    model = models[True]
    assert model.ttft_fitted is True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bounds = model.predict_interval(REQUEST)
    assert bounds[["ttft_s_lo", "ttft_s_hi"]].notna().all().all()
    assert not _ttft_warnings(caught)


def test_the_command_line_says_it_once(models, tmp_path, capsys):
    path, configs, out = tmp_path / "latency.json", tmp_path / "configs.csv", tmp_path / "out.csv"
    models[False].save(path)
    pd.DataFrame([REQUEST]).to_csv(configs, index=False)
    with warnings.catch_warnings(record=True) as caught:  # (what the command line prints as 'energylens: ...')
        warnings.simplefilter("always")
        assert main(["predict", str(path), str(configs), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ttft_s_lo / ttft_s_hi are empty" in err and "ttft_s_lo and ttft_s_hi are NaN" not in err, err
    assert not _ttft_warnings(caught), [str(w.message) for w in caught]
    assert pd.read_csv(out)["ttft_s_lo"].isna().all()
