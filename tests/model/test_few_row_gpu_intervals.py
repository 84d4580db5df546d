"""A GPU with a few rows in the fit counted as fitted and its rows drew no GPU transfer factor, though the fit barely
moves for them: fitted on 80 % of the bundled A100 rows plus 5 H100 rows, the 90 % intervals covered 0.816 of the
other H100 rows (0.759 the other way round), below the 0.917 / 0.824 of a GPU the fit never saw
(bench/unseen_gpu_coverage.py). The fit splits a GPU-level bias among the GPUs by their share of the rows, so a GPU
holding a share w of them keeps about (1 - w) of the bias it would carry unseen. A GPU with no more rows in the fit
than the model has parameters (too few to determine the template on its own) now draws the transfer factor with log
sd (1 - w) times the unseen GPU's; rows on every other fitted GPU keep their bounds bit for bit. Since a later
2026-12-07 change the share shrinks smoothly above the parameter count, (1 - w) x sqrt(p / n), and none under
intervals.FEW_ROW_MIN_SHARE (docs/model.md, "A GPU with a few rows in the fit")."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from tests.model.expression_fixtures import EXPR

from energylens.errors import ModelFileError
from energylens.model import EnergyModel
from energylens.model.intervals import GPU_TRANSFER_LOG_SD, few_row_scales
from energylens.profiles.datasets import mlenergy_v2

A100, H100 = "A100-SXM4-40GB", "H100-SXM5-80GB"


def test_few_row_scales_follow_the_gpu_share_of_the_rows():
    assert few_row_scales((A100, H100), (100, 5), 12) == {H100: 1.0 - 5 / 105}
    assert few_row_scales((A100, H100), (100, 12), 12) == {H100: 1.0 - 12 / 112}  # as many rows as parameters
    # more rows than parameters: the share shrinks as sqrt(p / n), no step at n = p (until 2026-12-07 none above it:
    # the H100 rows of an A100 fit with 20 H100 rows drew none, and their 90 % intervals covered 0.837 / 0.824)
    assert few_row_scales((A100, H100), (100, 13), 12) == {H100: (1.0 - 13 / 113) * (12 / 13) ** 0.5}
    assert few_row_scales((A100, H100), (152, 20), 12) == pytest.approx({H100: (1.0 - 20 / 172) * 0.6 ** 0.5})
    # a share under FEW_ROW_MIN_SHARE draws none: the GPUs of a balanced fit (the bundled model's 190 / 166 rows)
    # and the source GPU of an A100 fit with a few H100 rows keep their bounds bit for bit
    assert few_row_scales((A100, H100), (190, 166), 12) == {}
    assert few_row_scales((A100, H100), (152, 5), 12) == {H100: 1.0 - 5 / 157}
    assert few_row_scales((A100, H100), (1000, 200), 12) == {}
    assert few_row_scales((A100,), (5,), 12) == {}  # the only GPU: its rows are the fit
    assert few_row_scales((A100, H100), (), 12) == {}  # a file written before the counts were recorded
    three = few_row_scales((A100, H100, "B200"), (10, 4, 6), 12)
    assert three == {A100: 1 - 10 / 20, H100: 1 - 4 / 20, "B200": 1 - 6 / 20}


@pytest.fixture(scope="module")
def mixed():
    data = mlenergy_v2()
    a100 = data[data["gpu"].str.contains("A100")].reset_index(drop=True)
    h100 = data[data["gpu"].str.contains("H100")].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template = EnergyModel(bootstrap=60, n_starts=1).fit(pd_concat([a100.iloc[:80], h100.iloc[:5]]))
        # (2 constants: a GPU with up to 2 rows is a few-row GPU of this model)
        expression = EnergyModel.from_expression(EXPR, bootstrap=60, n_starts=1).fit(
            pd_concat([a100.iloc[:80], h100.iloc[:2]]))
    rows = pd_concat([a100.iloc[80:86], h100.iloc[5:11]])
    return {"template": template, "expression": expression}, rows


def pd_concat(parts):
    return pd.concat(parts, ignore_index=True)


def _as_before(model):
    """The same fit without its per-GPU row counts: every fitted GPU as the intervals took it before."""
    other = type(model).__new__(type(model))
    vars(other).update(vars(model))
    other.summary = dataclasses.replace(model.summary, gpu_rows=())
    return other


def _bounds(model, rows, col="energy_j", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iv = model.predict_interval(rows, 0.9, **kw)
    return iv[f"{col}_lo"].to_numpy(), iv[f"{col}_hi"].to_numpy()


def test_the_fit_records_its_rows_per_gpu(mixed):
    model = mixed[0]["template"]
    assert model.summary.gpus == (A100, H100) and model.summary.gpu_rows == (80, 5)
    assert mixed[0]["expression"].summary.gpu_rows == (80, 2)
    assert model.latency_model.summary.gpu_rows == (80, 5)


@pytest.mark.parametrize("which, k", [("template", 5), ("expression", 2)])
def test_rows_on_a_few_row_gpu_draw_a_shrunk_transfer_factor(mixed, which, k):
    model, rows = mixed[0][which], mixed[1]
    few = rows["gpu"].str.contains("H100").to_numpy()
    lo, hi = _bounds(model, rows)
    lo0, hi0 = _bounds(_as_before(model), rows)
    assert np.array_equal(lo[~few], lo0[~few]) and np.array_equal(hi[~few], hi0[~few])  # the fitted GPU's: bit for bit
    width, width0 = np.log(hi / lo), np.log(hi0 / lo0)
    assert not np.array_equal(hi[few], hi0[few])
    if which == "template":  # (the expression's log widths, ~2.5, dwarf the factor: only its draws differ)
        assert (width[few] > width0[few]).all()
    sd = GPU_TRANSFER_LOG_SD * (1 - k / (80 + k))
    expected = np.sqrt(width0[few] ** 2 + (2 * 1.645 * sd) ** 2)
    assert np.allclose(width[few], expected, rtol=0.25), (width[few], expected)
    for kw in ({"check_range": False}, {"chunk_rows": 4}):
        again = _bounds(model, rows, **kw)
        assert np.array_equal(again[0], lo) and np.array_equal(again[1], hi), kw


def test_latency_model_widens_tpot_not_ttft_on_a_few_row_gpu(mixed):
    lat, rows = mixed[0]["template"].latency_model, mixed[1]
    few = rows["gpu"].str.contains("H100").to_numpy()
    lo, hi = _bounds(lat, rows, "tpot_s")
    lo0, hi0 = _bounds(_as_before(lat), rows, "tpot_s")
    assert np.array_equal(lo[~few], lo0[~few]) and (np.log(hi / lo)[few] > np.log(hi0 / lo0)[few]).all()
    t_lo, t_hi = _bounds(lat, rows, "ttft_s")
    t_lo0, t_hi0 = _bounds(_as_before(lat), rows, "ttft_s")
    assert np.array_equal(t_lo, t_lo0, equal_nan=True) and np.array_equal(t_hi, t_hi0, equal_nan=True)


def test_a_gpu_with_many_more_rows_than_parameters_keeps_its_bounds(mixed):
    """The expression's 2 constants: 40 H100 rows beside 80 A100 rows give the H100 a share (1 - 1/3) x sqrt(2 / 40)
    = 0.15, under FEW_ROW_MIN_SHARE: a fitted GPU, bounds as before bit for bit (until 2026-12-07 3 rows did: the
    share stopped at the parameter count)."""
    data = mlenergy_v2()
    a100 = data[data["gpu"].str.contains("A100")].reset_index(drop=True)
    h100 = data[data["gpu"].str.contains("H100")].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression(EXPR, bootstrap=30, n_starts=1).fit(pd_concat([a100.iloc[:80],
                                                                                           h100.iloc[:40]]))
    assert few_row_scales(model.summary.gpus, model.summary.gpu_rows, len(model.param_names)) == {}
    rows = mixed[1]
    assert all(np.array_equal(a, b) for a, b in zip(_bounds(model, rows), _bounds(_as_before(model), rows), strict=True))


def test_gpu_rows_survive_the_model_file_and_an_edited_count_is_refused(mixed, tmp_path):
    model, rows = mixed[0]["template"], mixed[1]
    path = tmp_path / "m.json"
    model.save(path)
    back = EnergyModel.load(path)
    assert back.summary.gpu_rows == (80, 5)
    assert all(np.array_equal(a, b) for a, b in zip(_bounds(back, rows), _bounds(model, rows), strict=True))
    state = json.loads(path.read_text())
    for edited in ([80], [80, 500]):  # a count per GPU, adding up to no more than the rows the fit had
        state["energy"]["fit"]["gpu_rows"] = edited
        path.write_text(json.dumps(state))
        with pytest.raises(ModelFileError, match="gpu_rows"):
            EnergyModel.load(path)


@pytest.fixture(scope="module")
def calibrated():
    data = mlenergy_v2()
    a100 = data[data["gpu"].str.contains("A100")].reset_index(drop=True)
    h100 = data[data["gpu"].str.contains("H100")].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=60, n_starts=1, calibration="family").fit(
            pd_concat([a100.iloc[:80], h100.iloc[:5]]), latency=False)
    return model, pd_concat([a100.iloc[80:86], h100.iloc[5:11]])


def test_the_calibrated_interval_widens_a_few_row_gpu_too(calibrated):
    """calibrated_interval widened unseen-GPU rows only: a few-row GPU's rows kept the fitted GPU's factors."""
    model, rows = calibrated
    few = rows["gpu"].str.contains("H100").to_numpy()
    lo, hi = _bounds(model, rows)
    lo0, hi0 = _bounds(_as_before(model), rows)
    assert np.array_equal(lo[~few], lo0[~few]) and np.array_equal(hi[~few], hi0[~few])
    assert (np.log(hi / lo)[few] > np.log(hi0 / lo0)[few]).all()
    for kw in ({"check_range": False}, {"chunk_rows": 4}):
        again = _bounds(model, rows, **kw)
        assert np.array_equal(again[0], lo) and np.array_equal(again[1], hi), kw


def test_transfer_shares_say_what_each_row_draws(mixed):
    """The share of the transfer log sd each row's interval draws, for callers reproducing the intervals (the search's
    confidence limits): 0 on a fitted GPU, 1 - w on a few-row GPU, 1 on an unseen one."""
    model = mixed[0]["template"]
    shares = model.transfer_shares(pd.DataFrame({"gpu": [A100, H100, "B200", "H100"]}))
    assert shares.tolist() == [0.0, 1 - 5 / 85, 1.0, 1 - 5 / 85]
    assert model.latency_model.transfer_shares({"gpu": H100}).tolist() == [1 - 5 / 85]  # (one configuration)
    assert _as_before(model).transfer_shares(pd.DataFrame({"gpu": [A100, H100]})).tolist() == [0.0, 0.0]
    assert mixed[0]["expression"].transfer_shares(pd.DataFrame({"gpu": [H100, A100]})).tolist() == [1 - 2 / 82, 0.0]
