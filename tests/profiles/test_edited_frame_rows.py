"""Rows of a DataFrame read from a file and then edited (rows dropped, re-sorted, the index reset, a cell changed),
of a frame built by hand, and of two files concatenated, as the errors of fit / predict name them: a file row only
where the row still is that row of the file as read, else the frame's position and index label, with the frame
named as edited after it was read (profiles/row_names.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens import EnergyModel, ProfileSchemaError, UnknownGpuError
from energylens.profiles import read_profiles

_COLS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    bundled = read_profiles("bundled")
    root = tmp_path_factory.mktemp("edited")
    a, b = root / "a.csv", root / "b.csv"
    bundled[_COLS].iloc[:40].to_csv(a, index=False)
    bundled[_COLS].iloc[100:140].to_csv(b, index=False)
    return a, b


@pytest.fixture(scope="module")
def fitted(files):
    return EnergyModel(bootstrap=0).fit(read_profiles(files[0]))


def _set(frame: pd.DataFrame, label, column: str, value) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[label, column] = value
    return frame


def test_an_unknown_gpu_in_a_frame_with_rows_dropped_is_not_named_as_the_files_row(files, fitted):
    """The row at index label 6 (the file's data row 7) was named 'a.csv: data row 5 (1-based, header not
    counted)': its position after two rows were dropped, given as a row of the file."""
    edited = _set(read_profiles(files[0]).drop(index=[0, 1]), 6, "gpu", "FOO-GPU")
    for call in (lambda: EnergyModel(bootstrap=0).fit(edited), lambda: fitted.predict(edited)):
        with pytest.raises(UnknownGpuError) as err:
            call()
        text = str(err.value)
        assert text.startswith(f"<DataFrame edited after it was read from {files[0]}>: data row 5 of the DataFrame "
                               "(1-based position; index label 6), column 'gpu': unknown GPU 'FOO-GPU'"), text
        assert "data row 5 (1-based, header not counted)" not in text


@pytest.mark.parametrize("how", ["sort_reset", "reverse"])
def test_an_unknown_gpu_in_a_reordered_frame_names_its_position_and_label(files, how):
    read = read_profiles(files[0])
    frame = read.sort_values("energy_j").reset_index(drop=True) if how == "sort_reset" else read.iloc[::-1]
    frame = _set(frame, 4, "gpu", "FOO-GPU")
    position = int(np.flatnonzero(frame.index == 4)[0]) + 1
    with pytest.raises(UnknownGpuError, match=rf"^<DataFrame edited after it was read from .*a\.csv>: data row "
                                              rf"{position} of the DataFrame \(1-based position; index label 4\), "
                                              r"column 'gpu'"):
        EnergyModel(bootstrap=0).fit(frame)


def test_a_row_still_as_read_is_named_as_the_files_row(files, tmp_path):
    """An unknown GPU written in the file, the frame filtered (and predicted in chunks) without touching that row:
    the row is the file's data row 8 as read, and is named so (it was position 6, given as the file's row)."""
    path = tmp_path / "c.csv"
    raw = pd.read_csv(files[0])
    raw.loc[7, "gpu"] = "FOO-GPU"
    raw.to_csv(path, index=False)
    frame = read_profiles(path, require_energy=False).drop(index=[0, 2])
    model = EnergyModel(bootstrap=0).fit(read_profiles(files[0]))
    for call in (lambda: model.predict(frame), lambda: model.predict(frame, chunk_rows=4)):
        with pytest.raises(UnknownGpuError, match=rf"^{path}: data row 8 \(1-based, header not counted\), column "
                                                  r"'gpu': unknown GPU 'FOO-GPU'"):
            call()


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_non_finite_energy_typed_into_a_read_frame_names_it_edited(files, value):
    """A NaN typed into energy_j was named '<DataFrame read from FILE>', as if the file held it."""
    frame = _set(read_profiles(files[0]).sample(20, random_state=1).reset_index(drop=True), 2, "energy_j", value)
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame edited after it was read from .*a\.csv>: .*"
                                                 r"'energy_j'.* in data row 3 of the DataFrame \(1-based position; "
                                                 r"index label 2\)"):
        EnergyModel(bootstrap=0).fit(frame)
    kept = _set(read_profiles(files[0]).drop(index=[0, 1]), 6, "energy_j", value)
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame edited after it was read from .*data row 5 of the "
                                                 r"DataFrame \(1-based position; index label 6\)"):
        EnergyModel(bootstrap=0).fit(kept)


def test_a_nan_energy_the_file_holds_is_named_as_read(files, tmp_path):
    path = tmp_path / "n.csv"
    raw = pd.read_csv(files[0])
    raw.loc[4, "energy_j"] = np.nan
    raw.to_csv(path, index=False)
    frame = read_profiles(path, require_energy=False).drop(index=[0])
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame read from .*n\.csv>: .*'energy_j'.* in data row 4 of "
                                                 r"the DataFrame \(1-based position; index label 4\)"):
        EnergyModel(bootstrap=0).fit(frame)


@pytest.mark.parametrize(("column", "value", "named"), [
    ("batch_size", -1.0, "batch_size"), ("input_tokens", 0.0, "input_tokens"), ("dp", 3, "n_gpus"), ("ep", 3, "ep"),
    ("params_b", np.nan, "params_b")])
def test_every_schema_error_of_an_edited_frame_names_position_and_label(files, fitted, column, value, named):
    frame = _set(read_profiles(files[0]).drop(index=[0, 1]), 6, column, value)
    if column == "params_b":
        frame.loc[6, "model"] = "acme/unknown-model"
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame edited after it was read from .*data row 5 of the "
                                                 r"DataFrame \(1-based position; index label 6\)") as err:
        fitted.predict(frame)
    assert err.value.column == named


def test_a_frame_built_by_hand_names_its_rows_by_index_label(files):
    """A frame with its own index (text labels, or rows dropped from pandas.read_csv) was named by position
    only, 'data row 5 (1-based, header not counted)', with no label to find the row by."""
    raw = pd.read_csv(files[0])
    labelled = raw.set_axis([f"r{i}" for i in range(len(raw))])
    with pytest.raises(UnknownGpuError, match=r"^<DataFrame>: data row 5 of the DataFrame \(1-based position; "
                                              r"index label 'r4'\), column 'gpu'"):
        EnergyModel(bootstrap=0).fit(_set(labelled, "r4", "gpu", "FOO-GPU"))
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame>: .*'energy_j'.* in data row 5 of the DataFrame "
                                                 r"\(1-based position; index label 6\)"):
        EnergyModel(bootstrap=0).fit(_set(raw.drop(index=[0, 1]), 6, "energy_j", np.nan))
    # the default index: its label too, what df.loc takes (tests/profiles/test_default_index_rows.py)
    with pytest.raises(UnknownGpuError, match=r"^<DataFrame>: data row 5 of the DataFrame \(1-based position; "
                                              r"index label 4\)"):
        EnergyModel(bootstrap=0).fit(_set(raw, 4, "gpu", "FOO-GPU"))


def test_two_files_concatenated_name_the_file_each_row_was_read_from(files, tmp_path):
    """pandas drops attrs (the file's name) when concatenating frames read from two files: the row was named
    'data row 46 (1-based, header not counted)' of '<DataFrame>', no file. Now its position and label, and the
    file and data row it was read from where its values are that row's (and no other read row's)."""
    path = tmp_path / "b2.csv"
    raw = pd.read_csv(files[1])
    raw.loc[5, "gpu"] = "FOO-GPU"
    raw.loc[9, "energy_j"] = np.nan
    raw.to_csv(path, index=False)
    both = pd.concat([read_profiles(files[0]), read_profiles(path, require_energy=False)])
    assert both.attrs == {}
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame>: .*'energy_j'.* in data row 50 of the DataFrame "
                                                 r"\(1-based position; index label 9\), which is data row 10 of "
                                                 rf"{path} \(1-based, header not counted\)"):
        EnergyModel(bootstrap=0).fit(both)
    both = both[both["energy_j"].notna()]
    with pytest.raises(UnknownGpuError, match=r"^<DataFrame>: data row 46 of the DataFrame \(1-based position; index "
                                              rf"label 5\), which is data row 6 of {path} \(1-based, header not "
                                              r"counted\), column 'gpu'"):
        EnergyModel(bootstrap=0).fit(both)
    keyed = pd.concat([read_profiles(files[0]), read_profiles(files[1])], keys=["a", "b"])
    with pytest.raises(ProfileSchemaError, match=r"data row 46 of the DataFrame \(1-based position; index label "
                                                 r"\('b', 5\)\); value"):
        EnergyModel(bootstrap=0).fit(_set(keyed, ("b", 5), "energy_j", np.nan))


def test_one_file_concatenated_with_itself_is_not_named_by_the_files_rows(files):
    """pandas keeps attrs when both frames have the same: the concatenation still names the file, but its
    index repeats, so a row is named by position and label, and the frame as edited."""
    read = read_profiles(files[0])
    twice = pd.concat([read, read])
    twice.iloc[45, twice.columns.get_loc("gpu")] = "FOO-GPU"
    with pytest.raises(UnknownGpuError, match=r"^<DataFrame edited after it was read from .*a\.csv>: data row 46 of "
                                              r"the DataFrame \(1-based position; index label 5\)"):
        EnergyModel(bootstrap=0).fit(twice)


def test_a_row_found_by_its_values_after_the_index_was_reset_is_named_as_the_files_row(files, tmp_path):
    """discover and compare reset the index of the frame they are given (as a user may after a sort): a row
    still as read, found by its values where no other row of the file holds the same, is the file's row."""
    path = tmp_path / "d.csv"
    raw = pd.read_csv(files[0])
    raw.loc[7, "gpu"] = "FOO-GPU"
    raw.to_csv(path, index=False)
    frame = read_profiles(path).sort_values("energy_j").reset_index(drop=True)
    with pytest.raises(UnknownGpuError, match=rf"^{path}: data row 8 \(1-based, header not counted\), column 'gpu'"):
        EnergyModel(bootstrap=0).fit(frame)
