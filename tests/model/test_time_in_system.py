"""The latency model's time in the system W = TTFT + L_out TPOT + prefill_stall x B_r t_p
(energylens.model.time_in_system): sigma fitted after the 10 parameters (which it leaves as they were),
recovered from rows whose measured throughput a known sigma made; not identified without such rows; predicted
as time_in_system_s_pred; saved, and read as 1 from a file written before the term."""

import json

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ModelFileError
from energylens.model import LatencyModel, reference
from energylens.model.time_in_system import fit_prefill_stall, measured_time_in_system, stall_outputs
from energylens.profiles import read_profiles
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return read_profiles("bundled")


@pytest.fixture(scope="module")
def fitted(rows) -> LatencyModel:
    return LatencyModel(bootstrap=0).fit(rows)


def _parts(model, rows):
    """(TTFT + L_out TPOT, B_r t_p) per row, the stall from the NumPy twin of the template."""
    pred = model.predict(rows, check_range=False)
    base = pred["ttft_s_pred"].to_numpy() + rows["output_tokens"].to_numpy() * pred["tpot_s_pred"].to_numpy()
    return base, reference.prefill_stall(build_features(rows), model.theta)


def test_the_one_dimensional_fit_recovers_sigma_from_exact_rows():
    rng = np.random.default_rng(0)
    base, stall = rng.uniform(1, 50, 40), rng.uniform(0, 20, 40)
    for sigma in (0.0, 0.3, 1.0, 1.7, 2.0):
        got, n = fit_prefill_stall(base, stall, base + sigma * stall)
        assert n == 40 and got == pytest.approx(sigma, abs=1e-7)
    got, n = fit_prefill_stall(base, stall, np.full(40, np.nan))
    assert (got, n) == (1.0, 0)


def test_a_known_sigma_is_recovered_from_rows_whose_throughput_it_made(rows, fitted):
    """Throughputs rewritten so that the measured W is the model's W at sigma 0.6: the refit's 10 parameters are
    bit-identical (the throughput is no latency target) and its sigma is 0.6."""
    base, stall = _parts(fitted, rows)
    w = base + 0.6 * stall
    made = rows.assign(token_throughput_tok_s=rows["batch_size"] * rows["output_tokens"] / w)
    np.testing.assert_allclose(measured_time_in_system(made), w, rtol=1e-12)
    again = LatencyModel(bootstrap=0).fit(made)
    np.testing.assert_array_equal(again.theta, fitted.theta)
    assert again.prefill_stall == pytest.approx(0.6, abs=1e-6) and again.prefill_stall_rows == len(rows)
    assert "prefill_stall 0.600 fitted on 356 rows" in again.describe_prefill_stall()


def test_without_a_measured_throughput_sigma_stays_at_its_start_and_is_said_not_identified(rows, fitted):
    bare = LatencyModel(bootstrap=0).fit(rows.drop(columns=["token_throughput_tok_s"]))
    np.testing.assert_array_equal(bare.theta, fitted.theta)
    assert (bare.prefill_stall, bare.prefill_stall_rows) == (1.0, 0)
    assert "prefill_stall not identified" in bare.describe_prefill_stall()


def test_predict_adds_the_time_in_system_and_keeps_ttft_and_tpot_bit_for_bit(rows, fitted):
    pred = fitted.predict(rows, check_range=False)
    assert list(pred.columns) == ["ttft_s_pred", "tpot_s_pred", "time_in_system_s_pred"]
    ttft, tpot = fitted._outputs(rows, 1 << 16, False, "test")  # the evaluation predict made before the term
    np.testing.assert_array_equal(pred["ttft_s_pred"].to_numpy(), ttft)
    np.testing.assert_array_equal(pred["tpot_s_pred"].to_numpy(), tpot)
    base, stall = _parts(fitted, rows)
    np.testing.assert_allclose(pred["time_in_system_s_pred"].to_numpy(), base + fitted.prefill_stall * stall,
                               rtol=1e-9)
    _, _, native_stall, lo = stall_outputs(fitted, rows, 1 << 16, False, "test")
    np.testing.assert_allclose(native_stall, stall, rtol=1e-9)
    np.testing.assert_array_equal(lo, rows["output_tokens"].to_numpy(dtype=float))


def test_sigma_round_trips_and_an_older_file_reads_as_one(rows, fitted, tmp_path):
    path = tmp_path / "m.json"
    fitted.save(path)
    back = LatencyModel.load(path)
    assert (back.prefill_stall, back.prefill_stall_rows) == (fitted.prefill_stall, fitted.prefill_stall_rows)
    doc = json.loads(path.read_text())
    del doc["latency"]["prefill_stall"]
    path.write_text(json.dumps(doc))
    old = LatencyModel.load(path)
    assert (old.prefill_stall, old.prefill_stall_rows) == (1.0, None)
    pred, now = old.predict(rows, check_range=False), fitted.predict(rows, check_range=False)
    pd.testing.assert_frame_equal(pred[["ttft_s_pred", "tpot_s_pred"]], now[["ttft_s_pred", "tpot_s_pred"]])
    base, stall = _parts(old, rows)
    np.testing.assert_allclose(pred["time_in_system_s_pred"].to_numpy(), base + stall, rtol=1e-9)


@pytest.mark.parametrize("entry", [{"sigma": 2.5, "rows": 3}, {"sigma": "1", "rows": 3}, {"sigma": 1.0},
                                   {"sigma": 1.0, "rows": -1}, 1.0])
def test_an_edited_prefill_stall_entry_is_refused_naming_it(fitted, tmp_path, entry):
    path = tmp_path / "m.json"
    fitted.save(path)
    doc = json.loads(path.read_text())
    doc["latency"]["prefill_stall"] = entry
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"m.json: latency 'prefill_stall' must be"):
        LatencyModel.load(path)
