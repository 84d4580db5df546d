"""EnergyModel().fit on 13 rows of one model, GPU and TP that differ only in batch size gave no
DegenerateFitWarning and an empty unidentified_params, although the fit's scaled Jacobian had only a few
directions above rounding: the parameters moving along the rest were reported with values and bootstrap
intervals as if fitted. The fit now finds them from the Jacobian's singular value decomposition at the solution
(energylens.model.identify), lists them in unidentified_params / summary.undetermined, gives them no interval and
warns naming them and the data that would determine them. Fitted values are unchanged, and the full bundled fit
warns about none."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from energylens.cli.main import main
from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel, load_model
from energylens.model.identify import undetermined
from energylens.profiles.datasets import mlenergy_v2

BATCHES = [8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 384, 512]


@pytest.fixture(scope="module")
def bundled_fit():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = EnergyModel(bootstrap=0).fit(mlenergy_v2())
    return model, caught


@pytest.fixture(scope="module")
def one_series(bundled_fit):
    """13 rows of one model on one GPU at TP 1, one input and output length, differing only in batch size:
    energies and TPOTs from the bundled fit with 5 % log-normal noise."""
    rows = mlenergy_v2()
    base = rows[rows.model.str.contains("Llama-3.1-8B") & rows.gpu.str.contains("H100") & (rows.tp == 1)].head(1)
    one = base.loc[base.index.repeat(len(BATCHES))].reset_index(drop=True)
    one["batch_size"] = one["max_batch_size"] = np.array(BATCHES, dtype=float)
    model = bundled_fit[0]
    rng = np.random.default_rng(0)
    one["energy_j"] = model.predict(one, check_range=False) * np.exp(rng.normal(0, 0.05, len(one)))
    tpot = model.latency_model.predict(one, check_range=False)["tpot_s_pred"]
    one["tpot_s"] = np.asarray(tpot) * np.exp(rng.normal(0, 0.05, len(one)))
    return one


def test_one_series_names_what_it_cannot_determine(one_series, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = EnergyModel(bootstrap=20).fit(one_series, latency=False)
    said = [str(w.message) for w in caught if issubclass(w.category, DegenerateFitWarning)]
    moving = model.summary.undetermined
    assert len(moving) >= 4, model.summary  # every row depends on them, yet the rows fix only a few combinations
    assert set(moving) <= set(model.unidentified_params)
    assert model.summary.identifiable  # 13 distinct configurations > 12 parameters: the old count saw no problem
    text = next(s for s in said if "do not determine" in s)
    assert all(n in text for n in moving) and "other TP" in text and "other GPUs" in text
    assert "batch sizes" not in text  # the batch varies: not offered as missing data
    for name in moving:
        p = model.params[name]
        assert not p.identified and math.isnan(p.ci_low) and math.isnan(p.ci_high)
    model.save(tmp_path / "m.json")
    assert load_model(tmp_path / "m.json").summary.undetermined == moving


def test_the_check_changes_no_fitted_value(one_series):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = EnergyModel(bootstrap=0).fit(one_series, latency=False)
        b = EnergyModel(bootstrap=0, prior="bundled", prior_weight=1e-12).fit(one_series, latency=False)
    assert a.summary.undetermined and not b.summary.undetermined  # a prior sets a value for every parameter
    np.testing.assert_array_equal(a.theta, EnergyModel(bootstrap=0).fit(one_series, latency=False).theta)


def test_bundled_fit_determines_its_parameters(bundled_fit):
    model, caught = bundled_fit
    assert model.summary.undetermined == () and model.unidentified_params == ()
    assert not [w for w in caught if "do not determine" in str(w.message)]
    assert model.latency_model.summary.undetermined == ()


def test_singular_direction_loadings():
    x = np.linspace(1.0, 2.0, 20)
    jac = np.column_stack([x, 2 * x, np.ones(20), np.zeros(20)])  # a and b only as a + 2b; d unexercised
    assert undetermined(jac, ["a", "b", "c", "d"]) == ("a", "b")
    assert undetermined(np.column_stack([x, x**2, np.ones(20)]), ["a", "b", "c"]) == ()
    assert undetermined(jac[:1], ["a", "b", "c", "d"]) == ("a", "b", "c")  # one row: rank 1


def test_fit_prints_them_apart_from_parameters_no_row_depends_on(one_series, tmp_path, capsys):
    one_series.to_csv(tmp_path / "one.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", str(tmp_path / "one.csv"), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    moving = load_model(tmp_path / "m.json").summary.undetermined
    line = next(x for x in out.splitlines() if "do not determine" in x)
    assert moving and all(n in line for n in moving)
    depends = next(x for x in out.splitlines() if "no training row depends on" in x)
    assert not any(n in depends for n in moving)  # (their value is not the start value)


def _said(frame) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        EnergyModel(bootstrap=0).fit(frame, latency=False)
    return next(str(w.message) for w in caught if issubclass(w.category, DegenerateFitWarning)
                and "do not determine" in str(w.message))


def test_an_energy_only_fit_is_told_that_tpot_rows_separate_power_from_time(one_series):
    """Without tpot_s the fit sees each GPU's power only times the step time (the valley the TPOT rows remove,
    docs/model.md section 5): the warning names measured TPOT first, then the fixed axes; with tpot_s it does not."""
    without = _said(one_series.drop(columns=["tpot_s"]))
    assert "rows with a measured TPOT (tpot_s)" in without and "other TP" in without, without
    assert without.index("tpot_s") < without.index("other TP")
    with_tpot = _said(one_series)
    assert "measured TPOT" not in with_tpot and "other TP" in with_tpot, with_tpot
