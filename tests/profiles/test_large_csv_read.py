"""A large CSV profile table (``files.LARGE_CSV_BYTES`` or more) is read from a counting handle: given the path,
pandas parsed it on worker threads and waited for all of them, deaf to Ctrl-C and silent (1e6 rows, 337 MB: 1.6 s
of the ~5 s load_profiles). From the handle the same C parser runs on the calling thread, calls ``read`` every
256 KiB (where Python runs signal handlers) and ``READ_PROGRESS`` hears the bytes read. These tests lower the
threshold so a small file takes that path, and hold it to the frame and the errors of the path's read."""

from __future__ import annotations

import gzip
import zipfile

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import files, load_profiles
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.reading import read_table


@pytest.fixture(scope="module")
def table_text() -> str:
    df = mlenergy_v2()
    return pd.concat([df] * 60).to_csv(index=False)  # ~21,000 rows, 7 MB: several 256 KiB reads


def _both(path, monkeypatch, **kw):
    """(read by path, read from the counting handle, the progress calls of the second)."""
    by_path = files.read_csv_file(path, **kw)
    calls: list[tuple[str, int, int]] = []
    monkeypatch.setattr(files, "LARGE_CSV_BYTES", 0)
    monkeypatch.setattr(files, "LARGE_COMPRESSED_BYTES", 0)
    token = files.READ_PROGRESS.set(lambda src, done, total: calls.append((src, done, total)))
    try:
        counted = files.read_csv_file(path, "the table", **kw)
    finally:
        files.READ_PROGRESS.reset(token)
    return by_path, counted, calls


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.csv.zip"])
def test_the_counting_read_gives_the_paths_frame_and_reports_its_bytes(tmp_path, monkeypatch, table_text, name):
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(table_text.encode()))
    elif name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("t.csv", table_text)
    else:
        path.write_text(table_text)
    by_path, counted, calls = _both(path, monkeypatch, dtype={"model": str, "gpu": str})
    pd.testing.assert_frame_equal(by_path, counted)
    size = path.stat().st_size
    assert calls[0] == ("the table", 0, size) and calls[-1] == ("the table", size, size)
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and all(t == size for _, _, t in calls)
    if name.endswith(".csv"):
        assert len(calls) > 10, calls[:5]  # block by block, not once at the end


def _error(path, monkeypatch, threshold: int) -> str:
    monkeypatch.setattr(files, "LARGE_CSV_BYTES", threshold)
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(path)
    return str(info.value)


@pytest.mark.parametrize("defect", ["extra field", "not utf-8", "text in a number"])
def test_a_bad_row_deep_in_a_large_file_is_named_as_by_the_paths_read(tmp_path, monkeypatch, table_text, defect):
    lines = table_text.splitlines(keepends=True)
    row = 15_000
    if defect == "extra field":
        lines[row] = lines[row].rstrip("\n") + ",1\n"
    elif defect == "not utf-8":
        lines[row] = lines[row].replace(",", ",\udcff", 1)
    else:
        cells = lines[row].split(",")
        cells[5] = "sixteen"  # batch_size
        lines[row] = ",".join(cells)
    path = tmp_path / "bad.csv"
    path.write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
    by_path = _error(path, monkeypatch, 2**62)
    counted = _error(path, monkeypatch, 0)
    assert counted == by_path
    assert str(path) in counted


def test_a_progress_callable_that_raises_stops_the_read(tmp_path, monkeypatch, table_text):
    """As Ctrl-C's KeyboardInterrupt raised in a signal handler between two reads would."""
    path = tmp_path / "t.csv"
    path.write_text(table_text)
    monkeypatch.setattr(files, "LARGE_CSV_BYTES", 0)
    seen: list[int] = []

    class Stop(Exception):
        pass

    def report(src: str, done: int, total: int) -> None:
        seen.append(done)
        if done > 0:
            raise Stop

    token = files.READ_PROGRESS.set(report)
    try:
        with pytest.raises(Stop):
            read_table(path, None, ("model",))
    finally:
        files.READ_PROGRESS.reset(token)
    assert seen[-1] < path.stat().st_size, seen


def test_a_small_file_is_read_by_path_as_before(tmp_path, monkeypatch, table_text):
    path = tmp_path / "t.csv"
    path.write_text(table_text)
    calls = []
    token = files.READ_PROGRESS.set(lambda *a: calls.append(a))
    real = pd.read_csv
    given = []
    monkeypatch.setattr(pd, "read_csv", lambda src, *a, **k: given.append(src) or real(src, *a, **k))
    try:
        files.read_csv_file(path)
    finally:
        files.READ_PROGRESS.reset(token)
    assert calls == [] and given == [path]


def test_a_compressed_file_is_counted_from_its_own_smaller_size(tmp_path, monkeypatch, table_text):
    """A 1e6-row .csv.gz is 40-75 MB, under LARGE_CSV_BYTES, and took 7 s to read without a word: a compressed
    file is counted from LARGE_COMPRESSED_BYTES (pandas read it serially by path as well: no speed is lost)."""
    plain, packed = tmp_path / "t.csv", tmp_path / "t.csv.gz"
    plain.write_text(table_text)
    packed.write_bytes(gzip.compress(table_text.encode()))
    monkeypatch.setattr(files, "LARGE_CSV_BYTES", 2**62)
    monkeypatch.setattr(files, "LARGE_COMPRESSED_BYTES", packed.stat().st_size)
    calls: list[str] = []
    token = files.READ_PROGRESS.set(lambda src, done, total: calls.append(src))
    try:
        files.read_csv_file(plain)
        files.read_csv_file(packed)
    finally:
        files.READ_PROGRESS.reset(token)
    assert calls and set(calls) == {str(packed)}
