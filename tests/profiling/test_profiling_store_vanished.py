"""A store folder that vanishes while the sweep runs (moved, deleted, an unmounted disk): the unit measured
then keeps its row outside the store's path, and the error says the folder is gone."""

from __future__ import annotations

import tempfile

import pytest

from energylens.profiling import Store, parse_spec, run_sweep
from energylens.profiling.store import PartNotWrittenError


def _spec():
    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1, 2], "input_len": [8], "output_len": [4]}})


def test_a_store_moved_away_mid_sweep_is_not_made_again_and_resume_takes_the_row_in(tmp_path, monkeypatch):
    """The rescue made DIR/rescued/ with mkdir(parents=True), so a store moved away mid-sweep came back as a
    folder holding rescued/ alone, under the name the user's `mv` back then collided with (`mv runs.moved runs`
    nested it inside), and `--resume` on it started a new store, measuring every unit again. The row is kept in
    the temporary directory's rescue folder of the store's path now, the line says the folder is gone, and
    after the store is put back `--resume` takes the row in."""
    temp = tmp_path / "systemp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    out, moved = tmp_path / "runs", tmp_path / "runs.moved"
    ran = []

    def run_one(cfg, power_source):
        ran.append(cfg.config_id)
        if len(ran) == 2:
            out.rename(moved)  # while the second unit measures
        return {"config_id": cfg.config_id, "status": "ok", "error": "", "model": "org/m", "gpu": "H100",
                "tp": 1, "pp": 1, "batch_size": 1.0, "input_tokens": 8.0, "output_tokens": 4.0, "energy_j": 1.0}

    with pytest.raises(PartNotWrittenError) as err:
        run_sweep(_spec(), str(out), power_source="synthetic:100", run_one=run_one)
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))
    assert err.value.rescued is not None and err.value.rescued.is_relative_to(temp)
    assert f"the store folder {out} is gone" in str(err.value), str(err.value)
    moved.rename(out)  # put back
    res = run_sweep(_spec(), str(out), resume=True, power_source="synthetic:100", run_one=run_one)
    assert res.ran == 0 and len(ran) == 2 and len(Store(out).statuses()) == 2
