"""An active sweep reads each stored part once, not once per unit measured after it.

Before 2026-12-06 the active loop re-read every part file of the store after each unit (its statuses, the
measured energies, the candidates' model facts: three full reads), so a sweep of n units read O(n^2) files:
in one 13 s test 1763 file reads took 7.1 s of the sweep's 10.2 s. The store now keeps the rows it has read
and reads a part again only when its file changed (added, replaced, by this process or another)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from energylens.profiling import Store, parse_spec, run_sweep
from energylens.profiling.worker import base_row


def _spec():
    return parse_spec({"sweep": {"backend": "vllm", "gpu": "H100", "seed": 2},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "tp": [1, 4],
                                "max_num_seqs": [1, 4, 16, 64], "input_len": [128, 1024], "output_len": [64, 512]}})


def _row(cfg, energy):
    return base_row(cfg, "synthetic:200") | {"status": "ok", "error": "", "energy_j": energy,
                                              "energy_measured": True, "gpu": "H100", "params_b": 8.0}


def _stand_in(log):
    """A worker whose energy follows a smooth law."""
    def run_one(cfg, src):
        log.append(cfg)
        return _row(cfg, (1 + 0.3 * cfg.tp) * (0.01 * cfg.input_len.value + cfg.output_len.value)
                    / cfg.full_batch ** 0.5)
    return run_one


def _count_reads(monkeypatch) -> list[str]:
    read, calls = pd.read_parquet, []

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return read(path, *args, **kwargs)
    monkeypatch.setattr(pd, "read_parquet", counting)
    return calls


@pytest.mark.parametrize("budget", [6, 24])
def test_an_active_sweep_reads_each_part_a_bounded_number_of_times(tmp_path, monkeypatch, budget):
    calls, log = _count_reads(monkeypatch), []
    run_sweep(_spec(), str(tmp_path / "s"), power_source="synthetic:200", budget=budget,
              strategy="active", run_one=_stand_in(log), stop="budget")
    assert len(log) == budget
    # once when written (read back by the next choice) and at most once more: linear, not budget^2 / 2
    assert len(calls) <= 2 * budget, f"{len(calls)} part reads for {budget} units"


@pytest.mark.parametrize("stop", ["budget", "known"])
def test_an_active_sweep_lists_the_store_once_per_unit(tmp_path, monkeypatch, stop):
    """Each listing stats every part and joins their rows (0.11-0.13 s for 2000 parts here); until 2026-12-06 the
    loop listed the store three times per unit (the measured energies, the statuses, the candidates' model facts;
    four with the stop rule's reading), so a long sweep spent that many times the listing on every unit."""
    listings, parts = [], Store._parts

    def counting(self):
        listings.append(1)
        return parts(self)
    monkeypatch.setattr(Store, "_parts", counting)
    log = []
    run_sweep(_spec(), str(tmp_path / "s"), power_source="synthetic:200", budget=20, strategy="active",
              run_one=_stand_in(log), stop=stop)
    assert len(log) == 20
    assert len(listings) <= len(log) + 3, f"{len(listings)} listings of the store for {len(log)} units"
    store = Store(tmp_path / "s")  # what the loop reads is what statuses() and rows() give
    store.write("failed-one", {"config_id": "failed-one", "status": "failed", "error": "x"})
    statuses, rows = store.snapshot()
    assert statuses == store.statuses() and "failed-one" in statuses and rows.equals(store.rows())


def test_the_store_reads_parts_added_replaced_or_removed_by_another_writer(tmp_path, monkeypatch):
    """The rows kept in memory never hide a change on disk: a part another process (or a hand copy) adds,
    one it replaces and one it removes are each seen by the next read, and an unchanged part is not read."""
    cfgs = _spec().configs()[:3]
    store, other = Store(tmp_path / "s"), Store(tmp_path / "s")  # (another writer: its own object)
    store.parts.mkdir(parents=True)
    store.write(cfgs[0].config_id, _row(cfgs[0], 1.0))
    assert list(store.rows()["energy_j"]) == [1.0]
    calls = _count_reads(monkeypatch)
    assert store.statuses() == {cfgs[0].config_id: "ok"} and list(store.rows()["energy_j"]) == [1.0]
    assert calls == []  # unchanged: from memory
    other.write(cfgs[1].config_id, _row(cfgs[1], 2.0))
    other.write(cfgs[0].config_id, _row(cfgs[0], 3.0))  # replaced
    got = store.rows().set_index("config_id")["energy_j"].to_dict()
    assert got == {cfgs[0].config_id: 3.0, cfgs[1].config_id: 2.0} and len(calls) == 2
    elsewhere = Store(tmp_path / "elsewhere")  # (a part copied in by hand under its unit's name, as a rescued one)
    elsewhere.parts.mkdir(parents=True)
    shutil.copy(elsewhere.write(cfgs[2].config_id, _row(cfgs[2], 4.0)), store.parts)
    store.part_path(cfgs[0].config_id).unlink()
    assert sorted(store.statuses()) == sorted([cfgs[1].config_id, cfgs[2].config_id]) and len(calls) == 3
    assert store.rows(include_failed=True).equals(Store(tmp_path / "s").rows(include_failed=True))
