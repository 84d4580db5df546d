"""``energylens fit -o`` replaces an energylens model file, however it was last saved (a byte-order mark from
a Windows editor, keys reordered by ``jq -S``), and still refuses any other JSON."""

import json

import pytest

from energylens.cli import main
from energylens.model import load_model


def _bom(text):
    return b"\xef\xbb\xbf" + text.encode()


def _sorted(text):
    return json.dumps(json.loads(text), sort_keys=True).encode()


@pytest.mark.parametrize("rewrite", [_bom, _sorted], ids=["byte-order mark", "keys sorted"])
def test_fit_replaces_a_model_file_however_it_was_saved(small_model_file, tmp_path, capsys, rewrite):
    out = tmp_path / "old.json"
    out.write_bytes(rewrite(small_model_file.read_text()))
    load_model(out)  # a model file: load reads it
    assert main(["fit", "bundled", "--bootstrap", "0", "--no-latency", "-o", str(out)]) == 0
    assert f"replaced existing {out}" in capsys.readouterr().err
    assert load_model(out).summary.n_rows == 356


@pytest.mark.parametrize("doc", [{"name": "x", "format": "energylens.discovery"}, {"format": "other"}, [1, 2]])
def test_fit_still_refuses_other_json(tmp_path, capsys, doc):
    out = tmp_path / "theirs.json"
    out.write_text(json.dumps(doc, sort_keys=True))
    before = out.read_bytes()
    assert main(["fit", "bundled", "--bootstrap", "0", "--no-latency", "-o", str(out)]) == 2
    assert "theirs.json: exists and is not an energylens model file" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_an_output_under_a_file_names_the_file(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("a\n1\n")
    assert main(["fit", "bundled", "--bootstrap", "0", "-o", str(tmp_path / "p.csv" / "m.json")]) == 2
    assert f"{tmp_path / 'p.csv'} is a file, not a folder" in capsys.readouterr().err
