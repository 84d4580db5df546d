"""Profile files the reader cannot read to the end, through the Python API (load_profiles, read_profiles):

* a .csv.gz cut short (an interrupted copy) raised a bare EOFError ("Compressed file ended before the
  end-of-stream marker was reached"), naming no file;
* an unterminated quote raised pandas' bare ParserError from read_profiles ("EOF inside string starting at
  row 1", no file), and load_profiles said pandas' words only;
* a file that is not UTF-8 said "byte 300", not the line, and not that it is Windows-1252 text;
* a ``# comment`` first line said "data row 1 has more fields than the header's 1 columns".

Each is now a ProfileSchemaError naming the file and the line (data row, column where known)."""

from __future__ import annotations

import gzip

import pytest

import energylens
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles, read_profiles
from energylens.profiles.datasets import mlenergy_v2

HEADER = "model,gpu,tp,batch_size,input_tokens,output_tokens,energy_j,params_b\n"
ROW = "meta-llama/Meta-Llama-3.1-8B-Instruct,NVIDIA H100 80GB HBM3,{tp},{bs},100,100,{e},8\n"
ROWS = "".join(ROW.format(tp=t, bs=b, e=5 + t + b) for t in (1, 2, 4) for b in (8, 16, 32, 64))  # 12 rows

READERS = [load_profiles, read_profiles, energylens.load_profiles]


def _raises(reader, path) -> ProfileSchemaError:
    with pytest.raises(ProfileSchemaError) as info:
        reader(path)
    assert info.value.source == str(path)
    return info.value


@pytest.mark.parametrize("reader", READERS)
def test_a_truncated_csv_gz_names_the_file(tmp_path, reader):
    data = gzip.compress(mlenergy_v2().head(40).to_csv(index=False).encode())
    path = tmp_path / "p.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    err = _raises(reader, path)
    assert str(err).startswith(f"{path}: could not read the CSV file: the compressed file ends early"), err
    assert isinstance(err.__cause__, EOFError)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("text", "line", "row"), [
    (HEADER + '"unterminated,NVIDIA H100 80GB HBM3,1,8,100,100,5,8\n', 2, 1),
    (HEADER + ROWS + "\n" + 'meta,H100,1,8,"100,100,5,8\n' + ROWS, 15, 13),  # a blank line is no data row
    (HEADER + '"two\nlines",H100,1,8,100,100,5,8\n' + 'x,"H100,1,8,100,100,5,8\n', 4, 2),
])
def test_an_unterminated_quote_names_the_file_and_its_line(tmp_path, reader, text, line, row):
    path = tmp_path / "p.csv"
    path.write_text(text)
    err = _raises(reader, path)
    assert f"{path}: could not read the CSV file: line {line} (data row {row}) opens a quoted field" in str(err), err
    assert "never closed" in str(err) and err.rows == [row - 1]


def _cp1252_file(tmp_path, name="p.csv"):
    path = tmp_path / name
    path.write_bytes((HEADER + ROWS).encode() + "\u201cLlama-3.1-8B\u201d,NVIDIA H100 80GB HBM3,1,8,100,100,5,8\n"
                     .encode("cp1252"))
    return path


@pytest.mark.parametrize("reader", READERS)
def test_a_windows_1252_file_names_the_line_column_and_the_conversion(tmp_path, reader):
    path = _cp1252_file(tmp_path)
    err = _raises(reader, path)
    assert f"{path}: not UTF-8 text: line 14 (data row 13), column 'model', character 1: byte 0x93" in str(err), err
    assert "Windows-1252" in str(err) and f"iconv -f cp1252 -t utf-8 {path} >" in str(err), err
    assert "byte 1" not in str(err).split("0x93")[0]  # no byte offset
    assert err.column == "model" and err.rows == [12]


def test_a_bad_byte_past_the_first_64_kib_is_located_too(tmp_path):
    path = tmp_path / "p.csv"
    many = ROWS * 150  # 1800 rows, > 64 KiB
    path.write_bytes((HEADER + many).encode() + "x,caf\xe9,1,8,100,100,5,8\n".encode("latin-1"))
    err = _raises(load_profiles, path)
    assert f"line {1802} (data row 1801), column 'gpu', character 6: byte 0xE9" in str(err), err
    assert "'é' in Windows-1252" in str(err)


def test_a_file_mixing_utf8_and_cp1252_is_not_told_to_convert_it_whole(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes((HEADER + "caf\u00e9" + ROWS[4:]).encode() + "x,caf\xe9,1,8,100,100,5,8\n".encode("latin-1"))
    err = _raises(load_profiles, path)
    assert "line 14 (data row 13), column 'gpu'" in str(err) and "iconv" not in str(err), err
    assert "already UTF-8" in str(err), err


def test_a_byte_no_single_byte_code_page_explains_gets_no_conversion(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes((HEADER + ROWS).encode() + b"x\x81,H100,1,8,100,100,5,8\n")
    err = _raises(load_profiles, path)
    assert "line 14 (data row 13), column 'model', character 2: byte 0x81" in str(err) and "iconv" not in str(err)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("lead", "said"), [
    ("# measured on 2026-12-01\n", "line 1 is a comment"),
    ("# measured on 2026-12-01\n#by me, on node 3\n", "lines 1-2 are comments"),
])
def test_a_comment_line_is_refused_as_such(tmp_path, reader, lead, said):
    path = tmp_path / "p.csv"
    path.write_text(lead + HEADER + ROWS)
    err = _raises(reader, path)
    assert f"{path}: {said} ('# measured on 2026-12-01')" in str(err), err
    assert "comment lines are not supported" in str(err) and "more fields" not in str(err)


def test_the_same_files_without_the_defect_read(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + ROWS.replace("meta-llama/Meta", "meta-llama/Meta", 1))
    assert len(load_profiles(path)) == 12 and len(read_profiles(str(path))) == 12
    gz = tmp_path / "p.csv.gz"
    gz.write_bytes(gzip.compress((HEADER + ROWS).encode()))
    assert len(load_profiles(gz)) == 12
    hashed = tmp_path / "h.csv"  # a '#' inside a cell of the header's line is no comment
    hashed.write_text(HEADER.replace("params_b", "params_b,note") + ROWS.replace(",8\n", ",8,#1\n"))
    assert len(load_profiles(hashed)) == 12


def test_the_character_named_is_the_bad_bytes_own_after_utf8_on_its_line(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes((HEADER + ROWS).encode() + "x\u00e9\u00e9,".encode() + "caf\xe9,1,8,100,100,5,8\n".encode("latin-1"))
    err = _raises(load_profiles, path)
    assert "line 14 (data row 13), column 'gpu', character 8: byte 0xE9 ('é' in Windows-1252)" in str(err), err
