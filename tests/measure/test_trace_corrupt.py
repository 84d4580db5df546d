"""A trace file damaged after it was written (a flipped bit: a bad disk, a copy gone wrong) was read back with other
values without a word: of 300 single-bit flips of a saved synthetic trace, 82 loaded with changed readings or meta.
Trace.save now writes Parquet page checksums and a CRC-32 of meta in the header; Trace.load checks both and
refuses a file that fails either, naming it as corrupt. Files written before (no checksums) still load."""

import base64
import json
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from energylens.errors import EnergyLensError
from energylens.measure.trace import Trace, synthetic_trace


@pytest.fixture(scope="module")
def trace():
    return synthetic_trace(duration_s=2.0, seed=0)[0]


def _flip(src, dst, pos):
    data = bytearray(src.read_bytes())
    data[pos] ^= 0x01
    dst.write_bytes(bytes(data))


def _chunk_end(path, column):
    """The byte just past ``column``'s chunk (its last data page) in the file's one row group."""
    rg = pq.ParquetFile(path).metadata.row_group(0)
    c = next(rg.column(i) for i in range(rg.num_columns) if rg.column(i).path_in_schema == column)
    return (c.dictionary_page_offset or c.data_page_offset) + c.total_compressed_size


def test_a_flipped_bit_in_the_readings_is_refused_as_corrupt(trace, tmp_path):
    good = tmp_path / "run.parquet"
    trace.save(good)
    bad = tmp_path / "flipped.parquet"
    _flip(good, bad, _chunk_end(good, "power_w") - 10)  # inside power_w's last data page: read as other watts
    with pytest.raises(EnergyLensError, match=r"flipped\.parquet: the file is corrupt: a data page does not match "
                                              r"its checksum"):
        Trace.load(bad)


def test_a_changed_digit_in_meta_is_refused_as_corrupt(trace, tmp_path):
    good = tmp_path / "run.parquet"
    trace.save(good)
    data = good.read_bytes()
    # the header Arrow reads back is the copy inside the file's serialised Arrow schema (base64)
    encoded = pq.ParquetFile(good).metadata.metadata[b"ARROW:schema"]
    period = json.dumps(trace.meta["update_period_s"]).encode()
    decoded = base64.b64decode(encoded)
    assert data.count(encoded) == 1 and decoded.count(period) == 1 and b"0.1" in period
    changed = base64.b64encode(decoded.replace(period, period.replace(b"0.1", b"0.3", 1)))
    bad = tmp_path / "meta.parquet"
    bad.write_bytes(data.replace(encoded, changed))
    with pytest.raises(EnergyLensError, match=r"meta\.parquet: the file is corrupt: the trace header's meta does "
                                              r"not match its checksum"):
        Trace.load(bad)


def test_a_trace_whose_meta_json_reshapes_loads_back(tmp_path):
    """meta_crc32 was the checksum of the trace's meta, the reader's of meta after JSON: a trace whose meta was
    annotated in place with integer keys ({0: .., 10: .., 2: ..}, which sort otherwise as text) was refused as
    corrupt at once. (A Trace made with such meta has it normalised already; the dict itself stays mutable.)"""
    saved = synthetic_trace(duration_s=0.5, seed=0)[0]
    saved.meta["per_gpu"] = {0: "a", 10: "b", 2: "c"}
    saved.meta["span_s"] = (0.0, 1.5)
    saved.save(tmp_path / "t.parquet")
    meta = Trace.load(tmp_path / "t.parquet").meta
    assert meta["per_gpu"] == {"0": "a", "10": "b", "2": "c"} and meta["span_s"] == [0.0, 1.5]


def test_a_file_without_checksums_still_loads(trace, tmp_path):
    """A file of before the checksums: pages without a CRC, a header without meta_crc32."""
    good = tmp_path / "run.parquet"
    trace.save(good)
    table = pq.read_table(good)
    header = json.loads(table.schema.metadata[b"energylens.trace"])
    assert "meta_crc32" in header
    del header["meta_crc32"]
    old = tmp_path / "old.parquet"
    pq.write_table(table.replace_schema_metadata({b"energylens.trace": json.dumps(header).encode()}), old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = Trace.load(old)
    assert back.samples.equals(trace.samples) and back.meta == trace.meta
    again = Trace.load(good)
    assert again.samples.equals(trace.samples) and again.meta == trace.meta


def test_rows_lost_from_a_table_are_refused_as_corrupt(trace, tmp_path):
    """A flipped bit in the file's footer dropped the last 4 of 47 kernel rows without a word (1 of the 300 flips
    that page checksums and meta_crc32 do not catch): the header now counts each table's rows."""
    good = tmp_path / "run.parquet"
    trace.save(good)
    table = pq.read_table(good)
    assert len(trace.kernels) > 4 and table.column("table")[-1].as_py() == "kernels"
    short = tmp_path / "short.parquet"
    pq.write_table(table.slice(0, table.num_rows - 4), short)  # the same header, 4 kernel rows gone
    with pytest.raises(EnergyLensError, match=rf"short\.parquet: the file is corrupt: table 'kernels' has "
                                              rf"{len(trace.kernels) - 4} rows where the trace header says "
                                              rf"{len(trace.kernels)}"):
        Trace.load(short)


def test_no_single_bit_flip_of_a_saved_trace_loads_as_other_values(trace, tmp_path):
    """200 seeded single-bit flips anywhere in the file: each is refused or reads back the trace as saved (a flip
    in bytes nothing reads, statistics or padding). Before the checksums 56 of these 200 loaded changed."""
    good = tmp_path / "run.parquet"
    trace.save(good)
    data = good.read_bytes()
    rng = np.random.default_rng(7)
    changed, refused = [], 0
    for _ in range(200):
        pos, bit = int(rng.integers(4, len(data) - 8)), int(rng.integers(0, 8))
        flipped = bytearray(data)
        flipped[pos] ^= 1 << bit
        bad = tmp_path / "flip.parquet"
        bad.write_bytes(bytes(flipped))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (a flip may make a UnitsWarning before the refusal)
                back = Trace.load(bad)
        except EnergyLensError:
            refused += 1
            continue
        if not (back.samples.equals(trace.samples) and back.marks.equals(trace.marks)
                and back.kernels.equals(trace.kernels) and back.meta == trace.meta):
            changed.append(pos)
    assert not changed, f"{len(changed)} of 200 flips loaded as other values (bytes {changed[:10]})"
    assert refused > 100


def test_a_text_column_that_is_not_utf8_is_refused_naming_it(trace, tmp_path):
    """A file without page checksums (another tool's, or of before) whose text holds a byte that is no UTF-8 raised
    a bare UnicodeDecodeError from inside Trace.load, naming neither the file nor the column."""
    good = tmp_path / "run.parquet"
    trace.with_marks({"t_ns": [1, 2], "label": ["a", "b"]}).save(good)
    table = pq.read_table(good)
    i = table.column_names.index("label")
    labels = table.column(i).to_pylist()
    at = labels.index("b")
    raw = [None if v is None else v.encode() for v in labels]
    raw[at] = b"\xf3"
    bad = tmp_path / "text.parquet"
    pq.write_table(table.set_column(i, "label", pa.array(raw, pa.binary()).view(pa.string())), bad)
    with pytest.raises(EnergyLensError, match=r"text\.parquet: table 'marks' column 'label' holds bytes that are "
                                              r"not UTF-8 text"):
        Trace.load(bad)


def test_a_csv_and_a_cut_short_file_say_what_they_are(trace, tmp_path):
    """Trace.load of another tool's CSV of NVML polls, or of a trace cut short (a copy interrupted), said only
    'Parquet magic bytes not found in footer'; it now says it is text and how polls become a trace, or that the
    file's end is missing."""
    csv = tmp_path / "polls.csv"
    csv.write_text("t_s,power_usage_mw,energy_mj,field_instant_mw,field_average_mw\n0.000329,89583,4003033,119163,89583\n")
    with pytest.raises(EnergyLensError, match=r"polls\.csv: not a readable Parquet trace file .*; it is text \(a "
                                              r"CSV\?\): another tool's NVML polls become a Trace through its "
                                              r"constructor \(docs/measuring\.md section 3"):
        Trace.load(csv)
    good = tmp_path / "run.parquet"
    trace.save(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(EnergyLensError, match=r"cut\.parquet: not a readable Parquet trace file .*; it begins as "
                                              r"Parquet but its end is missing: a write or copy cut short"):
        Trace.load(cut)

