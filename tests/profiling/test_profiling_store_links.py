"""A store reached through symbolic links: ``-o results`` where results -> /scratch/results (made yet or not), a
part file that is a link (rows shared with another store). Writes go through the links, as the CLI's outputs
do (energylens.outputs.atomic_file), instead of replacing a link with a regular file."""

from __future__ import annotations

import io
import os

import pandas as pd

from energylens.cli.main import main as cli_main
from energylens.profiling import Store, parse_spec, run_sweep
from energylens.profiling.store import atomic_write_bytes
from energylens.profiling.worker import base_row

SPEC = {"sweep": {"backend": "vllm", "gpu": "H100"},
        "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "max_num_seqs": [1, 4], "input_len": [128],
                 "output_len": [64]}}


def _ok(cfg, src):
    return base_row(cfg, src) | {"status": "ok", "error": "", "energy_j": 1.0, "energy_measured": True}


def _failed(cfg, src):
    return base_row(cfg, src) | {"error": "CUDA out of memory (test)"}


def test_an_atomic_write_through_a_link_replaces_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "x.bin"
    target.write_bytes(b"old")
    os.symlink(target, tmp_path / "x.bin")
    atomic_write_bytes(tmp_path / "x.bin", b"new")
    assert (tmp_path / "x.bin").is_symlink() and target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared", "x.bin"]  # no temporary left beside the link


def test_a_retried_part_that_is_a_link_is_written_through_it(tmp_path):
    """A store whose parts link to another store's files: --resume --retry-failed replaced each link with a
    regular file, leaving the linked row (still 'failed') as it was."""
    spec, store = parse_spec(SPEC), tmp_path / "s"
    run_sweep(spec, str(store), power_source="synthetic:200", run_one=_failed, out=io.StringIO())
    shared = tmp_path / "shared"
    shared.mkdir()
    for part in (store / "parts").iterdir():
        os.replace(part, shared / part.name)
        os.symlink(shared / part.name, part)
    run_sweep(spec, str(store), resume=True, retry_failed=True, power_source="synthetic:200", run_one=_ok,
              out=io.StringIO())
    assert all(p.is_symlink() for p in (store / "parts").iterdir())
    assert [pd.read_parquet(p)["status"].iloc[0] for p in shared.iterdir()] == ["ok", "ok"]
    assert set(Store(store).statuses().values()) == {"ok"}


def test_a_store_at_a_link_to_a_folder_not_made_yet_is_made_there(tmp_path, capsys):
    """-o results, where results -> /scratch/results does not exist yet: the sweep stopped on
    '[Errno 17] File exists: results' (mkdir of the link itself) after its checks."""
    os.symlink(tmp_path / "scratch" / "results", tmp_path / "results")
    run_sweep(parse_spec(SPEC), str(tmp_path / "results"), power_source="synthetic:200", run_one=_ok,
              out=io.StringIO())
    assert (tmp_path / "results").is_symlink()
    assert len(list((tmp_path / "scratch" / "results" / "parts").glob("*.parquet"))) == 2
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1]\ninput_len = [8]\n'
                    'output_len = [4]\n')
    os.symlink(tmp_path / "no" / "such" / "place", tmp_path / "bad")
    (tmp_path / "no").write_text("a file")
    assert cli_main(["profile", str(spec), "-o", str(tmp_path / "bad"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and str(tmp_path / "no") in err, err
