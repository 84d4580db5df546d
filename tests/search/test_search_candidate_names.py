"""A candidate table's blank or unknown model / GPU cell is an error naming the file, its 1-based data row and
the column (it read "unknown GPU nan" with neither), and with several workload points the note no longer
advises --workload-weights, which --candidates refuses."""

import pandas as pd
import pytest

import energylens
from energylens.cli.main import main
from energylens.errors import UnknownGpuError, UnknownModelError
from energylens.search.api import bundled_model

ROW = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, batch_size=8, input_tokens=512,
           output_tokens=256)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "m.json"
    bundled_model().save(path)
    return str(path)


@pytest.mark.parametrize("column, value, message", [
    ("gpu", "", "column 'gpu' data row 2 is blank; every candidate names its GPU"),
    ("gpu", None, "column 'gpu' data row 2 is blank; every candidate names its GPU"),
    ("model", "  ", "column 'model' data row 2 is blank; every candidate names its model"),
    ("gpu", "H1OO", "column 'gpu' data row 2: unknown GPU 'H1OO'"),
    ("model", "foo/bar", "column 'model' data row 2: unknown model 'foo/bar'"),
])
def test_blank_or_unknown_name_cells_are_named(model_file, tmp_path, capsys, column, value, message):
    path = tmp_path / "cands.csv"
    pd.DataFrame([ROW, {**ROW, column: value, "tp": 2}]).to_csv(path, index=False)
    assert main(["search", "--candidates", str(path), "--model-file", model_file]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {message}" in err and "nan" not in err.split("Known GPUs")[0]


def test_dataframe_rows_are_named_by_position():
    with pytest.raises(ValueError, match=r"^candidates: column 'gpu' row 1 \(0-based\) is blank"):
        energylens.search(candidates=pd.DataFrame([ROW, {**ROW, "gpu": None}]), energy_model=bundled_model())
    with pytest.raises(UnknownGpuError, match=r"^candidates: column 'gpu' row 0 \(0-based\): unknown GPU 'X9'"):
        energylens.search(candidates=pd.DataFrame([{**ROW, "gpu": "X9"}]), energy_model=bundled_model())
    with pytest.raises(UnknownModelError, match=r"candidates: column 'model' row 0 \(0-based\): unknown model"):
        energylens.search(candidates=pd.DataFrame([{**ROW, "model": "foo/bar"}]), energy_model=bundled_model())


def test_points_note_does_not_advise_workload_weights_for_candidates():
    df = pd.DataFrame([ROW, {**ROW, "input_tokens": 1024}])
    r = energylens.search(candidates=df, energy_model=bundled_model(), bootstrap=False)
    assert "the 2 workload points are separate workloads" in r.summary()
    assert "--workload-weights)" not in r.summary() and "cannot be weighted" in r.summary()
    axes = energylens.search(model=ROW["model"], gpus="H100", tp=[1], max_num_seqs=[8], input_tokens=[512, 1024],
                             output_tokens=256, energy_model=bundled_model(), bootstrap=False)
    assert "or give workload weights (--workload-weights) to treat them as one distribution" in axes.summary()
