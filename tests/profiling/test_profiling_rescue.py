"""A part that cannot be written (a full disk, a read-only store) keeps the unit just measured: its row goes
to a rescue folder the error names, and ``--resume`` takes it into the store without measuring it again."""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from energylens.cli.main import main as cli_main
from energylens.profiling import Store, parse_spec, plan_sweep, run_sweep
from energylens.profiling import store as store_module
from energylens.profiling.ray_runner import _drained_error
from energylens.profiling.store import PartNotWrittenError

ROW = {"config_id": "abc", "status": "ok", "error": "", "model": "org/m", "gpu": "H100", "tp": 1, "pp": 1,
       "batch_size": 1.0, "input_tokens": 8.0, "output_tokens": 4.0, "energy_j": 123.5}


def _spec():
    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1, 2], "input_len": [8], "output_len": [4]}})


def _failing_under(monkeypatch, *folders, code=errno.ENOSPC):
    """Writes of part files in ``folders`` fail as a full disk (or read-only folder) fails them (the disk filled
    after the sweep started: its marker was written); others go through."""
    real = store_module.atomic_write_bytes

    def write(path, data):
        if str(path).endswith(".parquet") and any(Path(path).is_relative_to(f) for f in folders):
            raise OSError(code, "No space left on device" if code == errno.ENOSPC else "Read-only file system",
                          str(path))
        return real(path, data)

    monkeypatch.setattr(store_module, "atomic_write_bytes", write)


class _Measure:
    """A run_one that records which units it measured (each one minutes of GPU time in a real sweep)."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, cfg, power_source):
        self.ran.append(cfg.config_id)
        return {**ROW, "config_id": cfg.config_id, "energy_j": 100.0 + cfg.max_num_seqs}


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """The system's temporary directory, here a folder of the test's own."""
    t = tmp_path / "systemp"
    t.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(t))
    return t


def test_a_full_disk_keeps_the_measured_row_and_resume_takes_it_in(tmp_path, temp_dir, monkeypatch, capsys):
    out_dir = tmp_path / "s"
    measure = _Measure()
    _failing_under(monkeypatch, out_dir)  # the whole store's disk is full: parts/ and DIR/rescued/ alike
    with pytest.raises(PartNotWrittenError) as err:
        run_sweep(_spec(), str(out_dir), power_source="none", run_one=measure)
    first = measure.ran[0]
    kept = err.value.rescued
    assert kept is not None and kept.is_file() and kept.is_relative_to(temp_dir)
    message = str(err.value)
    assert str(kept) in message and "--resume" in message and "No space left on device" in message
    assert str(out_dir / "parts" / f"{first}.parquet") in message and "\n" not in message
    assert pd.read_parquet(kept)["energy_j"].iloc[0] == 100.0 + 1

    monkeypatch.undo()  # room made on the disk
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    capsys.readouterr()
    again = _Measure()
    res = run_sweep(_spec(), str(out_dir), resume=True, power_source="none", run_one=again)
    assert first not in again.ran and res.ran == 1 and res.skipped == 1  # not measured again
    assert f"took in 1 row kept aside when a part could not be written ({first})" in capsys.readouterr().out
    part = pd.read_parquet(out_dir / "parts" / f"{first}.parquet")
    assert part["energy_j"].iloc[0] == 101.0 and not kept.exists()
    assert len(Store(out_dir).rows()) == 2
    assert not kept.parent.exists()  # the emptied rescue folder in the temp dir went too (one per store)


def test_a_read_only_parts_folder_keeps_the_row_in_the_store(tmp_path, temp_dir, monkeypatch):
    out_dir = tmp_path / "s"
    _failing_under(monkeypatch, out_dir / "parts", code=errno.EROFS)
    with pytest.raises(PartNotWrittenError, match="Read-only file system") as err:
        run_sweep(_spec(), str(out_dir), power_source="none", run_one=_Measure())
    assert err.value.rescued.parent == out_dir / "rescued" and str(err.value.rescued) in str(err.value)
    assert not list(temp_dir.rglob("*.parquet"))


def test_a_dry_run_counts_rescued_rows_as_done(tmp_path, temp_dir, monkeypatch):
    out_dir = tmp_path / "s"
    _failing_under(monkeypatch, out_dir / "parts")
    with pytest.raises(PartNotWrittenError):
        run_sweep(_spec(), str(out_dir), power_source="none", run_one=_Measure())
    monkeypatch.undo()
    plan = plan_sweep(_spec(), str(out_dir), resume=True, power_source="none")
    assert plan.n_run == 1 and plan.skipped == 1 and sorted(s for _, s in plan.units) == ["", "ok"]


def test_nowhere_to_keep_the_row_puts_it_in_the_error(tmp_path, temp_dir, monkeypatch):
    out_dir = tmp_path / "s"
    _failing_under(monkeypatch, out_dir, temp_dir)
    with pytest.raises(PartNotWrittenError) as err:
        run_sweep(_spec(), str(out_dir), power_source="none", run_one=_Measure())
    message = str(err.value)
    assert err.value.rescued is None and str(out_dir / "rescued") in message and str(temp_dir) in message
    row = json.loads(message.split("the row, as JSON: ", 1)[1])
    assert row["energy_j"] == 101.0 and row["status"] == "ok"


def test_a_rescue_folder_that_could_not_take_the_row_is_not_left_behind(tmp_path, temp_dir, monkeypatch):
    out_dir = tmp_path / "s"
    _failing_under(monkeypatch, out_dir)  # DIR/rescued/ is made, then its write fails: the temp dir keeps the row
    with pytest.raises(PartNotWrittenError) as err:
        run_sweep(_spec(), str(out_dir), power_source="none", run_one=_Measure())
    assert err.value.rescued.is_relative_to(temp_dir) and not (out_dir / "rescued").exists()

    out_dir = tmp_path / "t"
    _failing_under(monkeypatch, out_dir, temp_dir)  # nowhere: no empty folder left in either place
    with pytest.raises(PartNotWrittenError) as err:
        run_sweep(_spec(), str(out_dir), power_source="none", run_one=_Measure())
    assert err.value.rescued is None and not (out_dir / "rescued").exists()
    assert not Store(out_dir).rescue_dirs()[1].exists()


def test_rescued_rows_of_other_units_are_left_and_named(tmp_path, temp_dir, monkeypatch, capsys):
    out_dir = tmp_path / "s"
    run_sweep(_spec(), str(out_dir), power_source="none", run_one=_Measure())
    stray = out_dir / "rescued" / "0123456789abcdef.parquet"
    stray.parent.mkdir()
    pd.DataFrame([{**ROW, "config_id": stray.stem}]).to_parquet(stray)
    capsys.readouterr()
    run_sweep(_spec(), str(out_dir), resume=True, power_source="none", run_one=_Measure())
    assert f"1 rescued row of units not in this sweep left where it is: {stray}" in capsys.readouterr().out
    assert stray.exists() and not (out_dir / "parts" / stray.name).exists()


@pytest.mark.torch
def test_the_command_exits_2_with_one_line_naming_the_rescued_row_and_resume_takes_it(tiny_model, tmp_path,
                                                                                         temp_dir, monkeypatch, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text(f'[sweep]\nbackend = "transformers"\nwarmup = 0\n[grid]\nmodels = ["{tiny_model}"]\n'
                    'precision = ["fp32"]\nmax_num_seqs = [1]\ninput_len = [4]\noutput_len = [2]\n')
    out_dir = tmp_path / "runs"
    argv = ["profile", str(spec), "-o", str(out_dir), "--power-source", "none"]
    _failing_under(monkeypatch, out_dir / "parts")
    assert cli_main(argv) == 2
    stderr = capsys.readouterr().err  # (transformers' loading bars come first)
    ours = [line for line in stderr.splitlines() if line.startswith("energylens profile")]
    assert len(ours) == 1 and "Traceback" not in stderr
    kept = next((out_dir / "rescued").glob("*.parquet"))
    assert ours[0].startswith("energylens profile: error: ") and f"its row is kept in {kept}" in ours[0]
    monkeypatch.undo()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    assert cli_main(argv + ["--resume"]) == 0
    printed = capsys.readouterr().out
    assert f"took in 1 row kept aside when a part could not be written ({kept.stem})" in printed
    assert "1 done already, running 0" in printed and not kept.exists()
    assert (out_dir / "parts" / kept.name).is_file()


def test_a_ray_sweeps_line_names_every_unit_that_was_in_flight(tmp_path, temp_dir, monkeypatch):
    """The Ray driver's one line after it waited for the units in flight: where each row is (rescued, in
    parts/ after all, or as JSON where nothing took it) and the units it did not start."""
    store = Store(tmp_path / "s")
    store.parts.mkdir(parents=True)
    _failing_under(monkeypatch, store.parts)
    errors = []
    for cid in ("aaaa", "bbbb"):
        with pytest.raises(PartNotWrittenError) as err:
            store.write(cid, {**ROW, "config_id": cid})
        errors.append(err.value)
    monkeypatch.undo()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    _failing_under(monkeypatch, store.dir, temp_dir)
    with pytest.raises(PartNotWrittenError) as err:
        store.write("cccc", {**ROW, "config_id": "cccc", "energy_j": 7.5})
    errors.append(err.value)
    line = str(_drained_error(errors[0], errors[1:], ["dddd"], ["eeee", "ffff"]))
    assert line.startswith(errors[0].message) and "\n" not in line
    assert "the 3 other units then running on the Ray cluster finished (no new unit started)" in line
    assert f"in all 2 measured units' rows are kept in {store.dir / 'rescued'} (aaaa, bbbb)" in line
    assert "1 part written after all (dddd)" in line and "2 units not started (eeee, ffff): --resume runs them" in line
    assert json.loads(line.split("the rows kept nowhere, as JSON: cccc: ", 1)[1].split("; ")[0])["energy_j"] == 7.5
    one = str(_drained_error(errors[0], errors[2:], [], []))  # one row rescued (aaaa), one kept nowhere
    assert (f"in all 1 measured unit's row is kept in {store.dir / 'rescued'} (aaaa): --resume takes it in "
            "without measuring it again;") in one
    alone = _drained_error(errors[0], [], [], ["eeee"])
    assert str(alone) == f"{errors[0].message}; 1 unit not started (eeee): --resume runs it"
    assert alone.rescued == errors[0].rescued and alone.config_id == "aaaa"
