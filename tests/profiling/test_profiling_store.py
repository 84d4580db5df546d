"""The store on its own: atomic parts, temporaries cleaned, statuses, and load_profiles(DIR)."""

from __future__ import annotations

import os

import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiling import Store
from energylens.profiling.store import atomic_write_bytes

ROW = {"config_id": "abc", "status": "ok", "error": "", "model": "meta-llama/Llama-3.1-8B-Instruct",
       "params_b": 8.03, "gpu": "H100", "tp": 1, "pp": 1, "batch_size": 4.0, "input_tokens": 100.0,
       "output_tokens": 50.0, "energy_j": 120.0}


def test_a_failed_write_leaves_no_part_and_no_temporary(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.init({"spec_hash": "h"}, resume=False)
    store.write("abc", ROW)
    before = store.part_path("abc").read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.write("abc", {**ROW, "energy_j": 1.0})
    monkeypatch.undo()
    assert store.part_path("abc").read_bytes() == before  # the old part is untouched
    assert not list(tmp_path.rglob("*.tmp"))


def test_temporaries_of_a_killed_writer_are_removed_on_resume(tmp_path):
    store = Store(tmp_path)
    store.init({"spec_hash": "h"}, resume=False)
    (store.parts / ".x.parquet.123.tmp").write_bytes(b"half")
    Store(tmp_path).init({"spec_hash": "h"}, resume=True)
    assert not list(tmp_path.rglob("*.tmp"))


def test_statuses_done_and_profile_reading(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(ProfileSchemaError, match="no finished"):
        store.init({"spec_hash": "h"}, resume=False)
        load_profiles(tmp_path)
    store.write("abc", ROW)
    store.write("bad", {**ROW, "config_id": "bad", "status": "failed", "error": "out of memory",
                        "energy_j": float("nan")})
    assert store.statuses() == {"abc": "ok", "bad": "failed"}
    assert store.done() == {"abc", "bad"} and store.done(retry_failed=True) == {"abc"}
    df = load_profiles(tmp_path)
    assert list(df["config_id"]) == ["abc"] and df.attrs["schema_version"] == 1
    assert len(store.rows(include_failed=True)) == 2


def test_atomic_write_replaces_whole(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"one")
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two" and [x.name for x in tmp_path.iterdir()] == ["f.bin"]
