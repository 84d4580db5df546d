"""The fit error "the model's predictions are not finite for N of M rows (...)" (model.domain._where) named the
rows of a frame read from a file as positions of "a DataFrame read from FILE" whatever had happened to it: a
frame whose values were edited after reading was still "read from FILE", and one as read was not named by the
file's data rows. It now names rows as the schema's other messages do (profiles.row_names.RowNames, 197bf81):
the file's data row for a frame as read, "<DataFrame edited after it was read from FILE>" for an edited one.
Plausibility limits keep such predictions out of reach of a public fit, so the message is built directly."""

from __future__ import annotations

import numpy as np
import pytest

from energylens.model.configs import fit_input
from energylens.model.domain import FeatureTable, non_finite_fit_error
from energylens.profiles import load_profiles

HEADER = "model,gpu,tp,batch_size,input_tokens,output_tokens,energy_j,params_b\n"
ROW = "meta-llama/Meta-Llama-3.1-8B-Instruct,NVIDIA H100 80GB HBM3,{tp},{bs},100,100,{e},8\n"


@pytest.fixture()
def read(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "".join(ROW.format(tp=t, bs=b, e=5 + t + b) for t in (1, 2, 4) for b in (8, 16, 32, 64)))
    return path, load_profiles(path)


def _message(frame) -> str:
    validated = fit_input(frame, require_energy=True)
    table = FeatureTable(("batch_size",), [validated["batch_size"].to_numpy(dtype=float)])
    bad = np.zeros(len(frame))
    bad[2] = np.inf
    return str(non_finite_fit_error("EnergyModel", table, [bad], validated))


def test_an_edited_frame_is_named_edited(read):
    path, frame = read
    edited = frame.copy()
    edited.loc[2, "energy_j"] = 99.0
    text = _message(edited)
    assert f"<DataFrame edited after it was read from {path}>: data row 3 of the DataFrame" in text, text
    assert f"a DataFrame read from {path}" not in text


def test_a_frame_as_read_names_the_files_rows(read):
    path, frame = read
    text = _message(frame.iloc[1:])  # filtered, not edited: its third row is the file's data row 4
    assert f"({path}: data row 4 (1-based, header not counted))" in text, text
