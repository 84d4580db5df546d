"""`.csv.zst` profile tables, which docs/profile-schema.md lists beside .csv.gz.

Without the zstandard package (pandas reads .zst with it; energylens does not require it) `energylens fit / predict
/ evaluate runs.csv.zst` ended in pandas' ImportError traceback (exit 1); it is an error naming the file and the
fix (exit 2). With zstandard every check of a plain or gzip CSV was skipped for a .zst one, the file's text never
opened by energylens: a row with a value left out was read with its later values shifted a column left (batch_size
512, output_tokens 59.67) and fitted, predicted or scored without a word; it is refused naming the file, the line
and the data row, as in a .csv. The zstandard tests run where it is installed (not a dependency of the [test]
extra; checked here with it on PYTHONPATH)."""

from __future__ import annotations

import sys

import pytest

from energylens.cli.main import main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table

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
