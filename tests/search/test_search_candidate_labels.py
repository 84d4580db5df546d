"""A candidate table's rows are told apart in the output: two rows that differ only in a column the configuration
label omits (modality, params_b) printed the same label, and the explanation said the best "beats" a row named
as itself. The label now ends with the row's candidate label, and `energylens search --candidates FILE` labels
each row by its 1-based data row, as its error messages count them (it gave the 0-based position)."""

import json

import pandas as pd
import pytest

import energylens
from energylens.cli.main import main
from energylens.search.api import bundled_model

VL = "Qwen/Qwen3-VL-8B-Instruct"
ROW = dict(model=VL, gpu="H100", tp=1, batch_size=8, input_tokens=1000, output_tokens=200)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.json"
    bundled_model().save(path)
    return str(path)


def test_rows_differing_in_an_unlabelled_column_are_told_apart():
    df = pd.DataFrame([dict(ROW, modality="image"), dict(ROW, modality="text")], index=["img", "txt"])
    r = energylens.search(candidates=df, energy_model=bundled_model(), top=2, bootstrap=False)
    labels = r.to_frame()["config"].tolist()
    assert labels == [f"Qwen3-VL-8B-Instruct H100 bf16 TP1 PP1 DP1 B8 (candidate {c})" for c in ("txt", "img")]
    assert "(candidate txt)" in r.explain(0).split(":")[0] and "The runner-up, Qwen3-VL-8B-Instruct H100 bf16 TP1 PP1 DP1 B8 " \
        "(candidate img), uses" in r.explain(0)
    assert all(label in r.table() for label in labels)


def test_the_command_labels_each_row_by_its_data_row(tmp_path, model_file, capsys):
    path = tmp_path / "cands.csv"
    pd.DataFrame([dict(ROW, modality="image"), dict(ROW, modality="text")]).to_csv(path, index=False)
    assert main(["search", "--candidates", str(path), "--model-file", model_file, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [row["candidate"] for row in doc["top"]] == [2, 1]  # the text row (data row 2) is cheaper
    assert main(["search", "--candidates", str(path), "--model-file", model_file]) == 0
    out = capsys.readouterr().out
    assert "B8 (candidate 1)" in out and "B8 (candidate 2)" in out


def test_repeated_row_labels_are_refused_with_the_fix():
    """Two tables joined with pd.concat keep their own 0, 1, ... labels: the result read "(candidate 0)" and
    "(candidate 1)" twice each, with no way to tell which row either was. Now an error naming the labels, their
    positions and the fix; with ignore_index=True the same rows search, labelled 0..3."""
    first = pd.DataFrame([dict(ROW, batch_size=8, model="Llama-3.1-8B"), dict(ROW, batch_size=16, model="Llama-3.1-8B")])
    second = first.assign(batch_size=[32, 64])
    with pytest.raises(ValueError, match=r"row labels \(the DataFrame's index\) repeat: 0 at rows 0, 2; 1 at rows 1, "
                                         r"3 \(0-based positions\).*ignore_index=True.*reset_index\(drop=True\)"):
        energylens.search(candidates=pd.concat([first, second]), energy_model=bundled_model(), top=4, bootstrap=False)
    named = pd.concat([first, second]).set_axis(["a", "b", "a", "c"])
    with pytest.raises(ValueError, match=r"repeat: 'a' at rows 0, 2 \("):
        energylens.search(candidates=named, energy_model=bundled_model(), bootstrap=False)
    r = energylens.search(candidates=pd.concat([first, second], ignore_index=True), energy_model=bundled_model(),
                          top=4, bootstrap=False)
    assert sorted(r.to_frame()["candidate"]) == [0, 1, 2, 3]
