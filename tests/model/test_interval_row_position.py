"""A configuration's prediction interval is a function of the configuration, not of the row it sits in.

Until 2026-12-07 the residual drawn for (replicate, row) hashed the row's index in the table, so ``energylens
predict`` gave one configuration other bounds at row 1 than at row 5 of a file (``EnergyModel(seed=0)`` fitted on
the bundled rows, bundled row 7 (gemma-2-2b-it) at rows 1 and 5 of a six-row CSV: 27.12-46.89 J and 27.47-45.95 J),
and ``predict_interval`` of a frame other bounds than of the row alone: a user comparing two files, or a scheduler
pricing one request in two batches, saw bounds move. The draws are now keyed by a hash of
the row's feature values (:func:`energylens.model.intervals.row_keys`): equal rows, equal bounds, wherever they sit
and however the rows are chunked; distinct rows keep independent draws."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from tests.model.expression_fixtures import fitted_expression

from energylens.cli.main import main as cli_main
from energylens.model import EnergyModel, LatencyModel
from energylens.model import intervals as iv
from energylens.profiles.datasets import mlenergy_v2
from energylens.search.api import bundled_model


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return mlenergy_v2()


@pytest.fixture(scope="module")
def energy(data) -> EnergyModel:
    return EnergyModel(bootstrap=40, seed=3).fit(data, latency=False)


def _interval(model, rows, **kw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.predict_interval(rows.reset_index(drop=True), 0.9, check_range=False, **kw)


def _moved(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Rows 0..5 of a table holding one configuration at rows 0 and 4 (others between), and that configuration."""
    row = data.iloc[7]
    table = pd.concat([data.iloc[[7, 30, 61, 92]], data.iloc[[7, 120]]], ignore_index=True)
    return table, row


def test_one_configuration_gets_one_interval_wherever_it_sits(data, energy):
    table, row = _moved(data)
    got = _interval(energy, table)
    cols = ["energy_j_lo", "energy_j_hi"]
    assert got.loc[0, cols].tolist() == got.loc[4, cols].tolist()
    alone = _interval(energy, table.iloc[[4]])
    assert alone.loc[0, cols].tolist() == got.loc[0, cols].tolist()
    # reversed order and other chunkings: the same bits per configuration
    rev = _interval(energy, table.iloc[::-1])
    np.testing.assert_array_equal(rev[cols].to_numpy()[::-1], got[cols].to_numpy())
    for chunk in (1, 2, 5):
        np.testing.assert_array_equal(_interval(energy, table, chunk_rows=chunk)[cols].to_numpy(), got[cols].to_numpy())


def test_latency_and_unseen_gpu_rows_follow_their_configuration(data):
    latency = LatencyModel(bootstrap=40, seed=4).fit(data[data["gpu"].str.contains("A100")])
    table, _ = _moved(data[data["gpu"].str.contains("H100")].reset_index(drop=True))  # a GPU the fit never saw
    got = _interval(latency, table)
    for col in ("ttft_s_lo", "ttft_s_hi", "tpot_s_lo", "tpot_s_hi"):
        assert got.loc[0, col] == got.loc[4, col] or (np.isnan(got.loc[0, col]) and np.isnan(got.loc[4, col]))
    alone = _interval(latency, table.iloc[[4]])
    np.testing.assert_array_equal(alone[["tpot_s_lo", "tpot_s_hi"]].to_numpy()[0],
                                  got[["tpot_s_lo", "tpot_s_hi"]].to_numpy()[0])


def test_calibrated_and_expression_intervals_follow_their_configuration(data):
    cal = EnergyModel(bootstrap=30, seed=1, calibration="model").fit(data, latency=False)
    table, _ = _moved(data)
    got = _interval(cal, table)
    assert got.loc[0, "energy_j_lo"] == got.loc[4, "energy_j_lo"]
    assert got.loc[0, "energy_j_hi"] == got.loc[4, "energy_j_hi"]
    expr = fitted_expression(data, bootstrap=30)
    got = _interval(expr, table)
    assert got.loc[0, "energy_j_hi"] == got.loc[4, "energy_j_hi"]
    assert _interval(expr, table.iloc[[4]]).loc[0, "energy_j_hi"] == got.loc[0, "energy_j_hi"]


def test_distinct_configurations_draw_independently(data, energy):
    """Keys by content must not collapse distinct rows onto one draw: the keys of distinct rows differ, and each
    row's draws are not one shared sequence (the relative position of its bounds in its refits' spread varies)."""
    rows = data.drop_duplicates().head(300)
    keys = energy.draw_keys(rows)
    assert len(np.unique(keys)) == len(rows.drop_duplicates())
    draws = iv.draw_indices(3, 40, keys, 2048)
    assert len({tuple(col) for col in draws.T}) == len(np.unique(keys))
    # the draws look uniform over rows: the mean index of each replicate near the middle
    assert abs(draws.mean() / 2047 - 0.5) < 0.02


def test_row_keys_native_equals_numpy_and_ignores_the_sign_of_zero():
    rng = np.random.default_rng(0)
    cols = [rng.normal(size=1000), rng.integers(0, 4, 1000).astype(float), np.array([2.5])]
    cols[0][3] = np.nan
    np.testing.assert_array_equal(iv.row_keys(cols), iv._row_keys_numpy(cols))
    assert iv.row_keys([np.array([0.0, -0.0])]).tolist()[0] == iv.row_keys([np.array([-0.0])])[0]
    # a broadcast column is the same key as the column repeated
    np.testing.assert_array_equal(iv.row_keys([cols[0], np.full(1000, 2.5)]), iv.row_keys([cols[0], cols[2]]))
    with pytest.raises(ValueError, match=r"row_keys: column \d has \d rows, another \d"):
        iv.row_keys([np.ones(4), np.ones(3)])


def _float32(rows: pd.DataFrame, columns=None) -> pd.DataFrame:
    out = rows.copy()
    for c in columns or [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])
                         and not pd.api.types.is_bool_dtype(out[c])]:
        out[c] = out[c].astype(np.float32)
    return out


def test_float32_columns_and_last_bit_differences_keep_the_bounds(data):
    """Until 2026-12-08 the key hashed the exact bits: the bundled model's three first ML.ENERGY v2 rows with
    batch_size read as float32 (a Parquet source) drew afresh, bounds moving by up to 9 % (lo / hi ratios 0.928 /
    1.003, 0.990 / 1.018, 1.088 / 0.998), and input_tokens x (1 + 1e-15) did the same. The key now rounds each
    feature value (24, then 12 significant bits): the same draws, so the bounds move by the prediction's own change
    (float32's rounding, ~1e-8) alone."""
    model = bundled_model()
    rows = data.head(3).reset_index(drop=True)
    cols = ["energy_j_lo", "energy_j_hi"]
    want = _interval(model, rows)[cols].to_numpy()
    for other in (_float32(rows, ["batch_size"]), _float32(rows),
                  rows.assign(input_tokens=rows["input_tokens"] * (1 + 1e-15))):
        np.testing.assert_array_equal(model.draw_keys(other), model.draw_keys(rows))
        got = _interval(model, other)[cols].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6)  # the prediction moves by float32's rounding alone
    last_bit = _interval(model, rows.assign(input_tokens=rows["input_tokens"] * (1 + 1e-15)))[cols].to_numpy()
    np.testing.assert_allclose(last_bit, want, rtol=1e-14)  # the template's own last-bit change alone
    # every bundled row keys alike from float32 columns; distinct configurations keep distinct keys
    np.testing.assert_array_equal(model.draw_keys(_float32(data)), model.draw_keys(data))
    batch = pd.concat([rows.iloc[[0]]] * 2, ignore_index=True).assign(batch_size=[64.0, 65.0])
    assert len(set(model.draw_keys(batch).tolist())) == 2


def test_row_keys_round_to_the_key_precision():
    x = np.array([127.76634210917, 484.5048, 3.3e9, 2.5e-30, -7.25])
    near = [x.astype(np.float32).astype(np.float64), np.nextafter(x, np.inf), x * (1 + 1e-15), x * (1 + 1e-9)]
    for y in near:
        np.testing.assert_array_equal(iv.row_keys([y]), iv.row_keys([x]))
        np.testing.assert_array_equal(iv._row_keys_numpy([y]), iv.row_keys([x]))
    # 2^-12 apart: distinct keys; NaNs one key; an infinity is not the largest value
    assert (iv.row_keys([x * (1 + 2.0 ** -11)]) != iv.row_keys([x])).all()
    nans = np.array([np.nan, -np.nan, np.float64(np.float32(np.nan))])
    assert len(set(iv.row_keys([nans]).tolist())) == 1
    inf = np.array([np.inf, -np.inf, 1.7e308, -1.7e308, 0.0])
    assert len(set(iv.row_keys([inf]).tolist())) == 5
    np.testing.assert_array_equal(iv.row_keys([inf]), iv._row_keys_numpy([inf]))


def test_cli_predict_bounds_do_not_depend_on_the_row(tmp_path, data, energy, capsys):
    model_path = tmp_path / "m.json"
    energy.save(model_path)
    table, _ = _moved(data)
    csv = tmp_path / "rows.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "out.csv"
    assert cli_main(["predict", str(model_path), str(csv), "--level", "0.9", "-o", str(out)]) == 0
    got = pd.read_csv(out)
    assert got.loc[0, "energy_j_lo"] == got.loc[4, "energy_j_lo"]
    assert got.loc[0, "energy_j_hi"] == got.loc[4, "energy_j_hi"]
