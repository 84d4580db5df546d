"""`.csv.zst` profile tables, which docs/profile-schema.md lists beside .csv.gz.

Without the zstandard package (pandas reads .zst with it; energylens does not require it) `energylens fit / predict
/ evaluate runs.csv.zst` ended in pandas' ImportError traceback (exit 1); it is an error naming the file and the
fix (exit 2). With zstandard every check of a plain or gzip CSV was skipped for a .zst one, the file's text never
opened by energylens: a row with a value left out was read with its later values shifted a column left (batch_size
512, output_tokens 59.67) and fitted, predicted or scored without a word; it is refused naming the file, the line
and the data row, as in a .csv. The zstandard tests run where it is installed (not a dependency of the [test]
extra; checked here with it on PYTHONPATH). A GPU or model table (``--gpu-table`` / ``--model-table``) .csv.zst cut
short between two rows read short without a word; it is refused as a profile table so cut is."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

import energylens
from energylens.cli.main import main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table
from energylens.profiles.model_table import ModelTableError, load_model_table

try:
    import zstandard
except ImportError:
    zstandard = None

needs_zstandard = pytest.mark.skipif(zstandard is None, reason="zstandard is not installed (pandas' .zst reader)")

HEADER = "model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,energy_j,ttft_s"
ROWS = [f"meta-llama/Llama-3.1-8B-Instruct,8.03,H100,{tp},1,{b},512,256,{40 + tp * 9 + b / 3:.2f},0.05"
        for tp in (1, 2, 4, 8) for b in (4, 8, 16, 32)]


def _short(row: str) -> str:
    cells = row.split(",")
    del cells[HEADER.split(",").index("batch_size")]
    return ",".join(cells)


def _zst(path, lines):
    path.write_bytes(zstandard.ZstdCompressor().compress(("\n".join(lines) + "\n").encode()))
    return path


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_without_zstandard_the_file_and_the_fix_are_named(command, tmp_path, monkeypatch, capsys, small_model_file):
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import zstandard: ImportError, as where it is absent
    path = tmp_path / "runs.csv.zst"
    path.write_bytes(b"(a zstd frame)")
    argv = {"fit": ["fit", str(path), "-o", str(tmp_path / "m.json")],
            "predict": ["predict", str(small_model_file), str(path), "-o", str(tmp_path / "p.csv")],
            "evaluate": ["evaluate", str(path), "--no-progress"]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{path}: a .csv.zst file is read with the zstandard package, which is not installed" in err, err
    assert "pip install zstandard" in err and f"zstd -d {path}" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv.zst"]


@needs_zstandard
def test_a_short_row_is_named_as_in_a_plain_csv(tmp_path):
    path = _zst(tmp_path / "runs.csv.zst", [HEADER, *ROWS[:3], _short(ROWS[3]), *ROWS[4:]])
    with pytest.raises(ProfileSchemaError, match=r"runs\.csv\.zst: line 5 \(data row 4\) has 9 field\(s\) where "
                                                 r"the header has 10: a value left out\?") as info:
        load_profiles(path)
    assert info.value.rows == [3]


@needs_zstandard
@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_every_command_refuses_the_short_row(command, tmp_path, capsys, small_model_file):
    path = _zst(tmp_path / "runs.csv.zst", [HEADER, *ROWS[:3], _short(ROWS[3]), *ROWS[4:]])
    argv = {"fit": ["fit", str(path), "-o", str(tmp_path / "m.json")],
            "predict": ["predict", str(small_model_file), str(path), "-o", str(tmp_path / "p.csv")],
            "evaluate": ["evaluate", str(path), "--no-progress", "--train-size", "12", "--repeats", "1",
                         "--splits", "random", "--methods", "energylens"]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "line 5 (data row 4) has 9 field(s) where the header has 10" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv.zst"]


@needs_zstandard
def test_the_sniff_checks_apply(tmp_path):
    """A ';'-separated .csv.zst (Excel's) is named as a .csv one is, not read as one column."""
    path = _zst(tmp_path / "runs.csv.zst", [HEADER.replace(",", ";"), *(r.replace(",", ";") for r in ROWS)])
    with pytest.raises(ProfileSchemaError, match="separated by semicolons"):
        load_profiles(path)


@needs_zstandard
def test_a_good_file_reads_and_a_damaged_one_is_named(tmp_path):
    path = _zst(tmp_path / "runs.csv.zst", [HEADER, *ROWS])
    assert len(load_profiles(path)) == len(ROWS)
    path.write_bytes(b"not zstd at all, but long enough to be read as a frame")
    with pytest.raises(ProfileSchemaError, match=r"runs\.csv\.zst"):
        load_profiles(path)


@needs_zstandard
def test_a_gpu_table_short_row_too(tmp_path):
    path = _zst(tmp_path / "gpus.csv.zst", ["name,memory_gb,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs",
                                             "MyGPU,48,960,180,300,64", "Other,80,2000,700,450"])
    with pytest.raises(GpuTableError, match=r"line 3 \(data row 2\) has 5 field\(s\)"):
        load_gpu_table(path)


@needs_zstandard
@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_file_cut_short_is_named_not_read_to_the_cut(cut, tmp_path, monkeypatch):
    """pandas' .zst read ended at the cut without a word (6,322 of 16,200 rows of a file cut half-way); a cut at a
    row's end then left a shorter valid table. Now the error of a .gz cut short. Large-file reads too."""
    lines = [HEADER, *(ROWS[i % len(ROWS)].replace(",0.05", f",{0.05 + i * 1e-6:.6f}") for i in range(6000))]
    path = _zst(tmp_path / "runs.csv.zst", lines)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)])
    for large in (False, True):
        if large:
            monkeypatch.setattr("energylens.profiles.files.LARGE_COMPRESSED_BYTES", 1)
        with pytest.raises(ProfileSchemaError, match=r"runs\.csv\.zst: .*the compressed file ends early"):
            load_profiles(path)


@needs_zstandard
def test_frames_one_after_another_read_as_one_text(tmp_path, monkeypatch):
    """`cat a.zst b.zst` (what zstd writes for a stream in parts) is one text, as zstd -d reads it."""
    c = zstandard.ZstdCompressor()
    path = tmp_path / "runs.csv.zst"
    path.write_bytes(c.compress(("\n".join([HEADER, *ROWS[:5]]) + "\n").encode())
                     + c.compress(("\n".join(ROWS[5:]) + "\n").encode()))
    assert len(load_profiles(path)) == len(ROWS)
    monkeypatch.setattr("energylens.profiles.files.LARGE_COMPRESSED_BYTES", 1)
    assert len(load_profiles(path)) == len(ROWS)


def _cut_at_line_end(text: str, keep_lines: int) -> bytes:
    """``text`` zstd-compressed a block per line (as a stream flushed line by line is), cut after ``keep_lines``
    lines: what is left decompresses to whole lines, and the frame never ends."""
    c = zstandard.ZstdCompressor().compressobj()
    out = b""
    for line in text.splitlines(keepends=True)[:keep_lines]:
        out += c.compress(line.encode()) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    return out


#: A user model table of 30 models (the bundled models.csv holds per-checkpoint cells a user table does not take).
MODELS_TEXT = "\n".join(["name,architecture,params_b,active_params_b,n_layers,d_model,n_heads,n_kv_heads,head_dim,"
                         "n_experts,experts_per_token",
                         *(f"acme/Coder-{n}B,dense,{n}.0,{n}.0,40,5120,40,8,128,1,1" for n in range(1, 31))]) + "\n"


def _table_text(table: str) -> str:
    if table == "models":
        return MODELS_TEXT
    return (Path(energylens.__file__).parent / "data" / "gpus.csv").read_text(encoding="utf-8")


@needs_zstandard
@pytest.mark.parametrize("table", ["gpus", "models"])
def test_a_table_cut_at_a_line_end_is_named_not_read_short(table, tmp_path):
    """A GPU or model table .csv.zst cut between two rows loaded the rows before the cut (9 of the bundled table's
    31 GPUs) without a word, where a profile table so cut is refused; now the same error, naming the file."""
    text = _table_text(table)
    path = tmp_path / f"my_{table}.csv.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    load, error = (load_gpu_table, GpuTableError) if table == "gpus" else (load_model_table, ModelTableError)
    assert len(load(path)) == len(pd.read_csv(io.StringIO(text)))  # the whole file reads
    whole = path.read_bytes()
    for cut in (_cut_at_line_end(text, 10), whole[:len(whole) // 2], whole[:20]):  # one block cut: was "No columns"
        path.write_bytes(cut)
        with pytest.raises(error, match=rf"my_{table}\.csv\.zst: could not read the .*the compressed file ends early"):
            load(path)


@needs_zstandard
def test_predict_with_a_cut_gpu_table_exits_naming_it(tmp_path, capsys, small_model_file):
    table = tmp_path / "gpus.csv.zst"
    table.write_bytes(_cut_at_line_end(_table_text("gpus"), 10))
    runs = tmp_path / "runs.csv"
    runs.write_text("\n".join([HEADER, *ROWS]) + "\n")
    assert main(["predict", str(small_model_file), str(runs), "-o", str(tmp_path / "p.csv"),
                 "--gpu-table", str(table)]) == 2
    err = capsys.readouterr().err
    assert f"{table}: could not read the GPU table" in err and "ends early" in err, err
