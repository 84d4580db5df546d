"""A compressed table cut short where the cut falls between two rows (a stream written and flushed line by line,
then an interrupted copy): what is left decompresses to whole rows, a shorter table that looks valid. Every
reader energylens opens a compressed CSV with (profile tables, ML.ENERGY v3 exports, GPU and model tables) must
refuse it, naming the file and that it ends early: nothing read short without a word. .gz / .bz2 / .xz are cut
inside the second of two streams (``cat a.gz b.gz``, which each tool reads as one text); .zst, where zstandard is
installed (pandas' own .zst read ended at such a cut silently), inside its one frame, flushed a block per line."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from pathlib import Path

import pytest

import energylens
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table

try:
    import zstandard
except ImportError:
    zstandard = None

HEADER = "model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,energy_j,ttft_s\n"
ROWS = [f"meta-llama/Llama-3.1-8B-Instruct,8.03,H100,{tp},1,{b},512,256,{40 + tp * 9 + b / 3:.2f},0.05\n"
        for tp in (1, 2, 4, 8) for b in (4, 8, 16, 32)]
GPUS = (Path(energylens.__file__).parent / "data" / "gpus.csv").read_text(encoding="utf-8")


def _gz_at_line_end(lines: list[str]) -> bytes:
    c = zlib.compressobj(wbits=31)  # gzip, flushed at each line end: the cut leaves whole lines
    return b"".join(c.compress(line.encode()) + c.flush(zlib.Z_SYNC_FLUSH) for line in lines)


def _cut(kind: str, text: str) -> bytes:
    """``text`` compressed as ``kind`` and cut after its first ten lines (.zst) or in its second stream."""
    lines = text.splitlines(keepends=True)
    first, second = "".join(lines[:6]).encode(), "".join(lines[6:]).encode()
    if kind == "gz":
        return gzip.compress(first) + _gz_at_line_end(lines[6:10])
    if kind == "bz2":
        return bz2.compress(first) + bz2.compress(second)[:-20]
    if kind == "xz":
        return lzma.compress(first) + lzma.compress(second)[:-20]
    c = zstandard.ZstdCompressor().compressobj()
    return b"".join(c.compress(line.encode()) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for line in lines[:10])


KINDS = ["gz", "bz2", "xz", pytest.param("zst", marks=pytest.mark.skipif(
    zstandard is None, reason="zstandard is not installed (pandas' .zst reader)"))]


@pytest.mark.parametrize("kind", KINDS)
def test_a_profile_table_cut_between_rows_is_refused(kind, tmp_path):
    path = tmp_path / f"runs.csv.{kind}"
    path.write_bytes(_cut(kind, HEADER + "".join(ROWS)))
    with pytest.raises(ProfileSchemaError, match=rf"runs\.csv\.{kind}: could not read .*the compressed file ends early"):
        load_profiles(path)


@pytest.mark.parametrize("kind", KINDS)
def test_an_mlenergy_v3_export_cut_between_rows_is_refused(kind, tmp_path):
    """Hand-made rows in the export's columns (not rows of the export). A cut the header's read reaches is told as
    a CSV file's (the export not recognised), one past it as the export's: the file and the cut named either way."""
    header = ("model_id,nickname,architecture,total_params_billions,activated_params_billions,weight_precision,"
              "gpu_model,num_gpus,tensor_parallel,expert_parallel,data_parallel,max_num_seqs,avg_batch_size,"
              "avg_output_len,energy_per_request_joules,energy_per_token_joules,avg_power_watts,"
              "output_throughput_tokens_per_sec,median_itl_ms,p90_itl_ms,p95_itl_ms,p99_itl_ms,task\n")
    rows = [f"acme/Model-{i}B,Model {i}B,Dense Transformer,{i},{i},bfloat16,H100,1,1,1,1,{8 * (i % 4 + 1)},"
            f"{6 * (i % 4 + 1)},500,{100 + i},{0.2 + i / 100},{400 + i},{1000 + i},20,22,23,25,lm-arena-chat\n"
            for i in range(1, 17)]
    path = tmp_path / f"export.csv.{kind}"
    path.write_bytes(_cut(kind, header + "".join(rows)))
    with pytest.raises(ProfileSchemaError, match=rf"export\.csv\.{kind}: could not read the "
                                                 r"(CSV file|ML\.ENERGY v3 export): .*ends early"):
        load_profiles(path)


@pytest.mark.parametrize("kind", KINDS)
def test_a_gpu_table_cut_between_rows_is_refused(kind, tmp_path):
    path = tmp_path / f"gpus.csv.{kind}"
    path.write_bytes(_cut(kind, GPUS))
    with pytest.raises(GpuTableError, match=rf"gpus\.csv\.{kind}: could not read the GPU table .*ends early"):
        load_gpu_table(path)
