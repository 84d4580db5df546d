"""Arguments of the model API that used to be truncated, accepted as NaN or ignored: the fit options are
checked when the model is made, a feature mapping with a key the template does not read is refused, and a
validated table edited afterwards is reported as the edited frame, not as the file it came from."""

import math

import numpy as np
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel, LatencyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.mark.parametrize("cls", [EnergyModel, LatencyModel])
@pytest.mark.parametrize("kw, name", [
    ({"bootstrap": "200"}, "bootstrap"), ({"bootstrap": 2.5}, "bootstrap"), ({"bootstrap": True}, "bootstrap"),
    ({"n_starts": 2.7}, "n_starts"), ({"n_starts": 0}, "n_starts"), ({"max_iterations": 0}, "max_iterations"),
    ({"start_spread": -1}, "start_spread"), ({"start_spread": math.nan}, "start_spread"),
    ({"tpot_weight": math.nan}, "tpot_weight"), ({"loss_scale": math.nan}, "loss_scale"),
    ({"loss_scale": 0}, "loss_scale"),
])
def test_fit_options_are_checked_when_the_model_is_made(cls, kw, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        cls(**kw)


def test_whole_floats_and_numpy_numbers_are_accepted():
    m = EnergyModel(bootstrap=np.int64(20), n_starts=2.0, start_spread=np.float32(0.5), loss_scale=1)
    assert (m.bootstrap_replicates, m.options["n_starts"], m.options["loss_scale"]) == (20, 2, 1.0)


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()
    return data, EnergyModel(bootstrap=0).fit(data.sample(60, random_state=0))


def test_a_misspelt_feature_is_refused_with_the_close_match(fitted):
    data, model = fitted
    specs = {k: v[0] for k, v in build_features(data.iloc[[0]]).items()}
    good = model.predict_features(dict(specs, tp=np.repeat([1, 2], 3), batch_size=np.tile([1, 64, 256], 2)))
    assert len(np.unique(good)) == 6
    with pytest.raises(ValueError, match=r"\['batch_sizes'\] are not features of the template "
                                         r"\('batch_sizes' -> did you mean 'batch_size'\?\)"):
        model.predict_features(dict(specs, tp=np.repeat([1, 2], 3), batch_sizes=np.tile([1, 64, 256], 2)))
    with pytest.raises(ValueError, match="not features of the template"):
        model.evaluate_features(dict(specs, colour=1.0))
    missing = dict(specs)
    del missing["tp"]
    with pytest.raises(ValueError, match=r"features \['tp'\] missing"):
        model.predict_features(missing)


@pytest.mark.parametrize("column, value", [("energy_j", -5.0), ("tpot_s", -1.0), ("ttft_s", 0.0), ("tp", 0)])
def test_an_edited_bundled_table_is_named_as_the_edited_frame(column, value):
    data = mlenergy_v2().sample(50, random_state=0)
    data.iloc[3, data.columns.get_loc(column)] = value
    with pytest.raises(ProfileSchemaError, match=rf"^<DataFrame edited after it was read from .*llm_configs_flat.csv>: "
                                                 rf"profile table violates schema v1: column '{column}'.* data row 4 "):
        EnergyModel(bootstrap=0).fit(data)


def test_a_reordered_subset_of_a_read_file_is_not_named_by_the_files_rows(tmp_path, fitted):
    """The frame's rows are not the file's rows after a sort and reset_index: the error names the frame, its
    position and its index label, not the file (whose data row 5 holds a valid batch size)."""
    data, model = fitted
    path = tmp_path / "profiles.csv"
    data.iloc[:40].to_csv(path, index=False)
    read = load_profiles(path)
    cols = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]
    configs = read[cols].sort_values("batch_size", ascending=False)
    label = configs.index[4]
    configs.loc[label, "batch_size"] = 0.0
    with pytest.raises(ProfileSchemaError, match=rf"^<DataFrame edited after it was read from .*profiles.csv>: .*"
                                                 rf"'batch_size'.* in data row 5 of the DataFrame \(1-based position; "
                                                 rf"index label {label}\)") as err:
        model.predict(configs)
    assert err.value.rows == [4]
    configs = configs.reset_index(drop=True)
    with pytest.raises(ProfileSchemaError, match=r"data row 5 of the DataFrame \(1-based position; index label 4\)"):
        model.predict(configs, chunk_rows=7)
    train = read.sample(20, random_state=1).reset_index(drop=True)
    train.loc[2, "energy_j"] = np.nan  # within the schema's ranges, but fit needs every energy; typed in, not read
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame edited after it was read from .*profiles.csv>: .*'energy_j'.* "
                                                 r"in data row 3 of the DataFrame \(1-based position; index label 2\)"):
        EnergyModel(bootstrap=0).fit(train)


def test_a_file_or_a_new_frame_keeps_its_data_rows(tmp_path):
    path = tmp_path / "profiles.csv"
    frame = mlenergy_v2().iloc[:10].reset_index(drop=True)
    frame.loc[3, "tp"] = 0
    frame.to_csv(path, index=False)
    for source, rows in [(path, r"profiles.csv.*'tp'.* in data row 4 \(1-based, header not counted\)"),
                         (frame, r"<DataFrame>.*'tp'.* in data row 4 of the DataFrame \(1-based position; index label 3\)")]:
        with pytest.raises(ProfileSchemaError, match=rows):
            load_profiles(source)
