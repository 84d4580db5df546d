"""SearchResult.to_json(path) and plot(path) in Python replace only a file of their own kind (or an empty one), as
``energylens search --plot`` and a model's ``save`` do (docs/robustness.md): before 2026-12-07 ``r.to_json(
"profiles.csv")`` replaced the user's measurements with the result, and ``r.plot("notes.png")`` a text file
named like an image, without a word."""

import json

import pytest

import energylens
from energylens.errors import OutputError
from energylens.search.api import bundled_model

L70 = "meta-llama/Llama-3.1-70B-Instruct"


@pytest.fixture(scope="module")
def result():
    return energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4], max_num_seqs=[32, 64],
                             rate_per_s=10, energy_model=bundled_model(), bootstrap=False, top=2)


@pytest.mark.parametrize("name, text", [("profiles.csv", "model,gpu,energy_j\nx,H100,1.0\n"),
                                        ("model.json", '{"format": "energylens.model", "version": 1}'),
                                        ("notes.json", '{"a": 1}')])
def test_to_json_keeps_a_file_that_is_not_a_search_result(result, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(OutputError, match=f"{name}: exists and is not an energylens search result"):
        result.to_json(str(path))
    assert path.read_text() == text


def test_to_json_replaces_a_search_result_or_an_empty_file(result, tmp_path):
    path = tmp_path / "r.json"
    path.write_text("")
    result.to_json(str(path))
    first = json.loads(path.read_text())
    assert first["format"] == "energylens.search"
    result.to_json(path)  # a re-run replaces its own result (a PathLike too)
    assert json.loads(path.read_text())["top"] == first["top"]


def test_plot_keeps_a_file_that_is_not_an_image(result, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "notes.png"
    path.write_text("my notes")
    with pytest.raises(OutputError, match="notes.png: exists and is not an image"):
        result.plot(str(path))
    assert path.read_text() == "my notes"
    result.plot(str(tmp_path / "p.png"))
    result.plot(str(tmp_path / "p.png"))  # its own image: replaced
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("write", ["to_json", "plot"])
def test_a_folder_or_a_missing_folder_is_named_before_the_work(result, tmp_path, write):
    """They read '... could not write (Is a directory)' and '... cannot write here (No such file or directory)',
    the plot after drawing the figure."""
    if write == "plot":
        pytest.importorskip("matplotlib")
    (tmp_path / "out.png").mkdir()
    call = getattr(result, write)
    with pytest.raises(OutputError, match="out.png: is a folder; give a file path"):
        call(str(tmp_path / "out.png"))
    with pytest.raises(OutputError, match="folder .*missing does not exist; create it first"):
        call(str(tmp_path / "missing" / "r.png"))
    with pytest.raises(OutputError, match="ends in '/', which names a folder"):
        call(str(tmp_path / "new") + "/")
