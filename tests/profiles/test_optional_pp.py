"""``pp`` is optional in schema v1 (2026-12-06): a table or a request without it, or a row with a blank ``pp`` cell,
is pipeline-parallel degree 1 (vLLM's ``--pipeline-parallel-size`` default), as a blank ``dp`` is its default. Every
entry path (the schema pass, the light path, the native row features, a mapping or a list of mappings, a file read
back) must give what ``pp = 1`` gives, bit for bit; the GPU-count rule still checks the default; a column named as
pp otherwise is an error, not an ignored column. Before, each of these raised "missing required column(s) 'pp'"."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel, LatencyModel
from energylens.profiles import load_profiles, read_profiles
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import FEATURE_NAMES, build_features, features_of
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import feature_rows
from energylens.profiles.schema import DroppedRowsWarning, as_profiles

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"
REQUEST = {"model": LLAMA, "params_b": 8.03, "gpu": "H100", "tp": 2, "batch_size": 64.0, "input_tokens": 512.0,
           "output_tokens": 256.0}
PP_HINT = "(pp is not given on this row, so it is 1, the default: give pp for a pipeline-parallel deployment)"
HINT = re.escape(PP_HINT)


def table(n: int = 4, **extra) -> pd.DataFrame:
    """A plain raw table without pp (light-path material: every model and GPU known, no blanks)."""
    return pd.DataFrame({"model": [LLAMA] * n, "params_b": [8.03] * n, "gpu": ["NVIDIA H100 80GB HBM3"] * n,
                         "tp": [1, 2, 4, 8][:n], "batch_size": [16.0 * (i + 1) for i in range(n)],
                         "input_tokens": [200.0] * n, "output_tokens": [300.0] * n,
                         "energy_j": [50.0 + i for i in range(n)], **extra})


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = mlenergy_v2()
        return EnergyModel(bootstrap=0, n_starts=1).fit(data), LatencyModel().fit(data), data


# --------------------------------------------------------------------------------------------------
# the schema pass
# --------------------------------------------------------------------------------------------------

def test_a_table_without_pp_loads_as_pp_1_in_the_same_layout(tmp_path):
    without = table()
    got = load_profiles(without)
    same_frame(got, load_profiles(without.assign(pp=1)))
    assert got["pp"].dtype == np.int64 and got["pp"].tolist() == [1, 1, 1, 1]
    assert list(got.columns[3:6]) == ["tp", "pp", "batch_size"]  # where pp stood while it was required
    assert got["n_gpus"].tolist() == got["tp"].tolist() and got["dp"].tolist() == [1, 1, 1, 1]
    path = tmp_path / "no_pp.csv"
    without.to_csv(path, index=False)
    same_frame(load_profiles(path), load_profiles(without.assign(pp=1), source=str(path)))
    configs = without.drop(columns=["energy_j"])  # a table of configurations to predict
    assert load_profiles(configs, require_energy=False)["pp"].tolist() == [1, 1, 1, 1]


def test_a_blank_pp_cell_is_the_default_as_a_blank_dp_cell_is():
    frame = table(pp=[2, None, np.nan, ""], dp=[1, None, 1, 1], n_gpus=[2, 4, np.nan, np.nan])
    got = load_profiles(frame)
    assert got["pp"].tolist() == [2, 1, 1, 1]
    assert got["dp"].tolist() == [1, 2, 1, 1]  # row 2: dp blank too, derived as n_gpus / (tp * pp) = 4 / 2
    assert got["n_gpus"].tolist() == [2, 4, 4, 8]


def test_an_n_gpus_mismatch_with_the_default_pp_names_the_row_and_says_pp_was_not_given():
    frame = table(pp=[2, None, 1, 1], dp=[1, 1, 1, 1], n_gpus=[4, 4, 4, 8])  # rows 1 (pp 2) and 2 (pp blank)
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(frame)
    text = str(ei.value)
    assert ei.value.column == "n_gpus" and ei.value.rows == [0]
    assert "column 'n_gpus': must equal tp * pp * dp in data row 1 " in text  # pp given: the message as before
    assert f"column 'n_gpus': must equal tp * pp * dp {PP_HINT} in data row 2 " in text
    no_column = table(dp=[1, 1, 1, 1], n_gpus=[1, 4, 4, 8])  # no pp column: row 2 (tp 2) runs pp 2 on 4 GPUs
    with pytest.raises(ProfileSchemaError, match=rf"must equal tp \* pp \* dp {HINT} in data row 2 ") as ei:
        load_profiles(no_column)
    assert ei.value.column == "n_gpus" and ei.value.rows == [1]
    with pytest.raises(ProfileSchemaError, match=r"must be a multiple of tp \* pp \(n_gpus = tp \* pp \* dp\) "
                                                 rf"{HINT} in data row 3 "):
        load_profiles(table(n_gpus=[1, 2, 6, 8]))  # no dp: tp 4 x pp 1 on 6 GPUs is no whole replica count
    with pytest.warns(DroppedRowsWarning, match=re.escape(f"n_gpus: must equal tp * pp * dp {PP_HINT}: 1 row")):
        dropped = load_profiles(no_column, drop_invalid=True).attrs["dropped"]
    assert dropped["row"].tolist() == [2] and PP_HINT in dropped["reason"].iloc[0]


def test_a_bad_pp_cell_is_named_as_bad_not_as_not_given():
    frame = table(pp=[1, "two", 1, 1], dp=[1, 1, 1, 1], n_gpus=[1, 4, 4, 8]).astype({"pp": object})
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(frame)
    assert ei.value.column == "pp" and ei.value.rows == [1] and "non-numeric value" in str(ei.value)
    assert PP_HINT not in str(ei.value)


@pytest.mark.parametrize("name", ["pipeline_parallel_size", "pipeline_parallel", "pp_size"])
def test_a_column_named_as_pp_otherwise_is_an_error_not_an_ignored_column(tmp_path, name):
    frame = table(**{name: [2, 2, 2, 2]})
    with pytest.raises(ProfileSchemaError, match=rf"column '{name}' looks like the pipeline-parallel degree.*"
                                                 "rename it to 'pp'") as ei:
        load_profiles(frame)
    assert ei.value.column == name and ei.value.rows == []
    assert light_profiles(frame, require_energy=True) is None  # the light path leaves it to that error
    kept = load_profiles(frame.assign(pp=2))  # beside a pp column it is one of the table's own columns
    assert kept["pp"].tolist() == [2, 2, 2, 2] and kept[name].tolist() == [2, 2, 2, 2]


def test_a_validated_frame_written_out_carries_pp_and_reads_back_the_same(tmp_path):
    got = load_profiles(table())
    path = tmp_path / "out.csv"
    got.to_csv(path, index=False)
    assert pd.read_csv(path)["pp"].tolist() == [1, 1, 1, 1]  # explicit in the file, not left for the default
    again = read_profiles(str(path))
    same_frame(again.reset_index(drop=True), got.reset_index(drop=True).assign(
        **{c: again[c] for c in ("task",)}))  # (an empty task reads back as NaN -> "", as it did)
    parquet = tmp_path / "out.parquet"
    got.to_parquet(parquet, index=False)
    same_frame(load_profiles(parquet), load_profiles(got.drop(columns=["pp"]), source=str(parquet)))


def test_a_validated_frame_that_lost_its_pp_column_is_validated_again_with_the_default():
    got = load_profiles(table().assign(pp=1))
    edited = got.drop(columns=["pp"])
    again = as_profiles(edited)
    assert again is not edited and again["pp"].tolist() == [1, 1, 1, 1]
    same_frame(again[got.columns], got)


# --------------------------------------------------------------------------------------------------
# the light path and the native row features
# --------------------------------------------------------------------------------------------------

def test_the_light_path_takes_a_table_without_pp_with_the_features_of_pp_1():
    without, with_pp = table(), table(pp=[1, 1, 1, 1])
    light = light_profiles(without, require_energy=True)
    assert light is not None and light["pp"].tolist() == [1.0] * 4
    expected = build_features(with_pp)  # the full path on an explicit pp = 1
    got = features_of(light, light.gpu_specs, light.model_specs)
    for name in FEATURE_NAMES:
        assert got[name].tobytes() == expected[name].tobytes(), name
    assert np.array_equal(build_features(without)["pp"], expected["pp"])  # the full path on the same table
    rows = feature_rows(light)  # the native pass
    assert rows is not None
    assert rows.tobytes() == np.stack([expected[n] for n in FEATURE_NAMES]).tobytes()


def test_a_blank_pp_cell_leaves_the_light_path_and_the_full_path_gives_pp_1():
    blank = table(pp=[1.0, np.nan, 1.0, 1.0])
    assert light_profiles(blank, require_energy=True) is None
    expected = build_features(table(pp=[1, 1, 1, 1]))
    got = build_features(blank)
    for name in FEATURE_NAMES:
        assert got[name].tobytes() == expected[name].tobytes(), name


# --------------------------------------------------------------------------------------------------
# predictions: every entry path, the bundled data
# --------------------------------------------------------------------------------------------------

def test_a_request_without_pp_predicts_as_pp_1_on_every_path(fitted):
    energy, latency, _ = fitted
    frame = pd.DataFrame([REQUEST])
    reference = energy.predict(pd.DataFrame([{**REQUEST, "pp": 1}]))
    for configs in (REQUEST, [REQUEST], frame, load_profiles(frame, require_energy=False),
                    pd.DataFrame([{**REQUEST, "pp": np.nan}])):  # dict, list, raw (light), validated, blank (full)
        assert np.asarray(energy.predict(configs)).tobytes() == np.asarray(reference).tobytes()
    assert np.array_equal(np.asarray(latency.predict(REQUEST)), np.asarray(latency.predict({**REQUEST, "pp": 1})))
    mixed = [REQUEST, {**REQUEST, "pp": 2}]  # a list whose mappings differ: the absent one is a blank cell
    explicit = [{**REQUEST, "pp": 1}, {**REQUEST, "pp": 2}]
    assert np.asarray(energy.predict(mixed)).tobytes() == np.asarray(energy.predict(explicit)).tobytes()
    with pytest.raises(ProfileSchemaError, match=rf"must equal tp \* pp \* dp {HINT}"):
        energy.predict({**REQUEST, "n_gpus": 4, "dp": 1})


def test_bundled_rows_without_their_pp_1_column_predict_bit_for_bit_as_with_it(fitted):
    energy, _, data = fitted
    one = data[data["pp"] == 1]
    columns = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]
    raw = pd.DataFrame({c: one[c].to_numpy() for c in columns})
    reference = np.asarray(energy.predict(raw))
    assert np.asarray(energy.predict(raw.drop(columns=["pp"]))).tobytes() == reference.tobytes()
    validated = np.asarray(energy.predict(one))  # (its modality, task ... columns: not the raw rows' prediction)
    assert np.asarray(energy.predict(one.drop(columns=["pp"]))).tobytes() == validated.tobytes()
    records = raw.drop(columns=["pp"]).iloc[:40].to_dict("records")
    assert np.asarray(energy.predict(records)).tobytes() == reference[:40].tobytes()


def test_a_fit_on_a_table_without_pp_is_the_fit_on_pp_1():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = mlenergy_v2()
        one = data[data["pp"] == 1]
        columns = ["model", "params_b", "gpu", "tp", "batch_size", "input_tokens", "output_tokens", "energy_j"]
        raw = pd.DataFrame({c: one[c].to_numpy() for c in columns})
        a = EnergyModel(bootstrap=0, n_starts=1).fit(raw)
        b = EnergyModel(bootstrap=0, n_starts=1).fit(raw.assign(pp=1))
    assert np.asarray(a.predict(raw)).tobytes() == np.asarray(b.predict(raw)).tobytes()
