"""A path that is not a readable model file is a ModelFileError naming the path and what it is (a folder, an
unreadable file, a gzip / zstandard / bzip2 / xz file, JSON nested too deep for the parser), exit 2 in the CLI, never a traceback;
and a fit summary's text fields must be text."""

import bz2
import copy
import gzip
import json
import lzma
import pathlib

import pytest

from energylens.cli import main
from energylens.errors import ModelFileError
from energylens.model.closed_form import load_model
from energylens.profiles.datasets import load_profiles_or_bundled


def test_a_folder_is_named_as_a_folder(tmp_path):
    folder = tmp_path / "model.json"
    folder.mkdir()
    with pytest.raises(ModelFileError, match=r"model\.json: is a folder, not a model file"):
        load_model(folder)


def test_an_unreadable_file_is_a_model_file_error(small_model_file, monkeypatch):
    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "read_bytes", denied)  # (chmod 0 does not stop root, who runs the CI)
    with pytest.raises(ModelFileError, match=r"m\.json: cannot read the model file \(Permission denied\)"):
        load_model(small_model_file)


def test_a_gzip_file_says_so(small_model_file, tmp_path):
    path = tmp_path / "m.json.gz"
    path.write_bytes(gzip.compress(small_model_file.read_bytes()))
    with pytest.raises(ModelFileError, match=r"m\.json\.gz: is gzip-compressed"):
        load_model(path)


#: A zstandard frame's magic number; the test needs no zstandard package (read_model_file only looks at it).
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@pytest.mark.parametrize(("suffix", "compress", "said"), [
    ("zst", lambda raw: _ZSTD_MAGIC + raw[:40], r"is zstandard-compressed; .*\(zstd -d it first\)"),
    ("bz2", lambda raw: bz2.compress(raw)[:200], r"is bzip2-compressed; .*\(bunzip2 it first\)"),
    ("xz", lambda raw: lzma.compress(raw)[:200], r"is xz-compressed; .*\(unxz it first\)")])
def test_another_compressed_file_says_so(suffix, compress, said, small_model_file, tmp_path):
    """A model.json.zst / .bz2 / .xz (cut short here too) was 'not a JSON model file ('utf-8' codec can't decode
    byte 0xb5 ...)'; now the compression and the fix are named, as for a .gz."""
    path = tmp_path / f"m.json.{suffix}"
    path.write_bytes(compress(small_model_file.read_bytes()))
    with pytest.raises(ModelFileError, match=rf"m\.json\.{suffix}: {said}"):
        load_model(path)


def test_deeply_nested_json_exits_2_without_traceback(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match=r"deep\.json: not a model file \(its JSON nests too deep"):
        load_model(path)
    data = tmp_path / "p.csv"
    load_profiles_or_bundled("bundled").head(2).to_csv(data, index=False)
    assert main(["predict", str(path), str(data), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "deep.json: not a model file" in err and "Traceback" not in err


@pytest.mark.parametrize("key,value", [("status", [1]), ("data_hash", 5)])
def test_fit_summary_text_fields_must_be_text(small_model_file, tmp_path, key, value):
    doc = copy.deepcopy(json.loads(small_model_file.read_text()))
    doc["energy"]["fit"][key] = value
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=rf"edited\.json: energy fit summary is not valid \({key} = "):
        load_model(path)


def test_a_file_saved_with_a_byte_order_mark_loads(small_model_file, tmp_path):
    """A model file opened and saved in a Windows editor starts with a UTF-8 BOM: it was "not a JSON model
    file (Unexpected UTF-8 BOM ...)"."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + small_model_file.read_bytes().replace(b"\n", b"\r\n"))
    assert (load_model(path).theta == load_model(small_model_file).theta).all()


@pytest.mark.parametrize("doc, said", [
    ([1, 2], "a JSON array, not a model file's object"),
    ("model", "a JSON string, not a model file's object"),
    (None, "a JSON null, not a model file's object"),
    ({"rows": 3}, "a JSON object without a \"format\" key"),
    ({"format": "something"}, "its \"format\" is 'something'"),
])
def test_other_json_says_what_it_is_and_what_a_model_file_is(tmp_path, doc, said):
    """Another JSON file (a report, a search's output, a hand-made list) said only "not an energylens model file
    (format None)"; it now says what the file holds and what writes a model file."""
    path = tmp_path / "other.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError) as exc:
        load_model(path)
    text = str(exc.value)
    assert text.startswith(f"{path}: not an energylens model file") and said in text, text
    assert "\"format\": \"energylens.model\"" in text and "save() or energylens fit -o" in text, text
