"""input_tokens = 0 cannot be priced (the features need a prompt of at least one token, and the serving
engine refuses an empty prompt), so the schema refuses it: a ProfileSchemaError naming the file, the column
and the 1-based data row, and a non-zero exit from fit, instead of the feature builder's "bad rows (0-based):
[4]" naming no file. The feature builder's own check (a frame edited after validation) names the source and
1-based rows."""

import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles, read_profiles
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features
from energylens.profiles.recheck import still_valid

_COLS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j"]


@pytest.fixture()
def zero_prompt(tmp_path):
    rows = mlenergy_v2()[_COLS].head(60).copy()
    rows.iloc[4, rows.columns.get_loc("input_tokens")] = 0.0
    path = tmp_path / "in0.csv"
    rows.to_csv(path, index=False)
    return path


def test_the_schema_refuses_a_zero_prompt_naming_file_column_and_row(zero_prompt):
    with pytest.raises(ProfileSchemaError) as err:
        read_profiles(str(zero_prompt))
    text = str(err.value)
    assert "in0.csv" in text and "'input_tokens'" in text and "must be > 0" in text and "data row 5" in text


def test_fit_exits_non_zero_naming_the_file(zero_prompt, tmp_path, capsys):
    assert main(["fit", str(zero_prompt), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) != 0
    err = capsys.readouterr().err
    assert "in0.csv" in err and "input_tokens" in err and "data row 5" in err


def test_a_raw_frame_is_refused_as_the_file_is():
    rows = pd.DataFrame(mlenergy_v2()[_COLS].head(20).to_dict("list"))
    rows.loc[2, "input_tokens"] = 0.0
    with pytest.raises(ProfileSchemaError, match=r"'input_tokens': must be > 0 .* data row 3"):
        load_profiles(rows)


def test_the_feature_builders_check_names_the_source_and_1_based_rows(zero_prompt, tmp_path):
    ok = tmp_path / "ok.csv"
    pd.read_csv(zero_prompt).assign(input_tokens=100.0).to_csv(ok, index=False)
    frame = read_profiles(str(ok))
    frame.loc[frame.index[4], "input_tokens"] = 0.0  # edited after validation
    # (the recheck of the edited frame sends it to the schema, whose error names the frame, column and row)
    with pytest.raises(ProfileSchemaError, match=r"edited after it was read from .*ok\.csv.*'input_tokens': must be > 0 "
                                                 r".* data row 5"):
        build_features(frame)


def test_a_validated_frame_edited_to_a_zero_prompt_is_rechecked_by_the_schema(zero_prompt, tmp_path):
    """The recheck of an edited validated frame allowed input_tokens >= 0 until 2026-12-05 (the schema's old rule),
    so the edit reached the feature builder instead of the schema's error naming the frame."""
    ok = tmp_path / "ok.csv"
    pd.read_csv(zero_prompt).assign(input_tokens=100.0).to_csv(ok, index=False)
    frame = read_profiles(str(ok))
    assert still_valid(frame, 1e6)
    frame.loc[frame.index[4], "input_tokens"] = 0.0
    assert not still_valid(frame, 1e6)
    with pytest.raises(ProfileSchemaError, match="input_tokens"):
        load_profiles(frame)
