"""``-o DIR`` naming a folder that holds other files and no sweep store was taken: the store's marker, lock and
parts/ went in among them (``-o .`` in a project folder, ``-o ~/data``), and a later ``rm -r DIR`` of the store took
them too. Such a folder is now refused before anything is written, naming what is in it; an empty folder, a store
(with --resume), or a folder holding only what a sweep of it leaves (its lock, an empty parts/) is taken."""

from __future__ import annotations

import io

import pytest

from energylens.cli.main import main
from energylens.profiling import Store, parse_spec, run_sweep

ROW = {"status": "ok", "error": "", "model": "org/m", "params_b": 8.0, "gpu": "H100", "tp": 1, "pp": 1,
       "batch_size": 1.0, "input_tokens": 8.0, "output_tokens": 4.0, "energy_j": 10.0}


def _spec():
    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1], "input_len": [8], "output_len": [4]}})


def _fake(cfg, power_source):
    return {**ROW, "config_id": cfg.config_id}


@pytest.mark.parametrize("resume", [False, True])
def test_a_folder_of_other_files_is_refused_naming_them_and_left_as_it_was(tmp_path, resume):
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    (folder / ".git").mkdir()
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ValueError) as err:
        run_sweep(_spec(), str(folder), resume=resume, power_source="none", run_one=_fake, out=io.StringIO())
    text = str(err.value)
    assert str(folder) in text and "3 entries" in text and ".git/, data/, notes.txt" in text
    assert "choose a new or empty directory" in text
    assert sorted(p.name for p in folder.iterdir()) == before  # no lock, no marker, no parts/


def test_the_command_line_refuses_it_with_exit_2_and_dry_run_too(tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text("[sweep]\nbackend = 'transformers'\n[grid]\nmodels = ['org/m']\nmax_num_seqs = [1]\n"
                    "input_len = [8]\noutput_len = [4]\n")
    for extra in ([], ["--dry-run"]):
        assert main(["profile", str(spec), "-o", str(tmp_path), "--power-source", "none", *extra]) == 2
        err = capsys.readouterr().err
        assert "holds 1 entry and no sweep store (sweep.toml)" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.toml"]


def test_an_empty_folder_a_store_and_a_folder_a_sweep_left_are_taken(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_sweep(_spec(), str(empty), power_source="none", run_one=_fake, out=io.StringIO()).ok == 1
    assert run_sweep(_spec(), str(empty), resume=True, power_source="none", run_one=_fake,
                     out=io.StringIO()).skipped == 1
    left = tmp_path / "left"  # a sweep stopped before it wrote its marker: its lock and an empty parts/
    (left / "parts").mkdir(parents=True)
    (left / ".energylens-store.lock").write_text("pid 1 on host")
    assert run_sweep(_spec(), str(left), power_source="none", run_one=_fake, out=io.StringIO()).ok == 1
    assert Store(left).exists()


@pytest.mark.parametrize("placeholder", [".DS_Store", ".gitkeep", "Thumbs.db"])
def test_a_folder_holding_only_an_os_or_version_control_placeholder_is_taken(tmp_path, placeholder):
    folder = tmp_path / "results"  # a folder made in Finder (.DS_Store) or kept in git (.gitkeep)
    folder.mkdir()
    (folder / placeholder).write_text("")
    assert run_sweep(_spec(), str(folder), power_source="none", run_one=_fake, out=io.StringIO()).ok == 1
    assert Store(folder).exists() and (folder / placeholder).exists()


def test_a_placeholder_beside_a_user_file_is_refused_naming_only_the_user_file(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".DS_Store").write_text("")
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds 1 entry and no sweep store \(notes\.txt\)"):
        run_sweep(_spec(), str(folder), power_source="none", run_one=_fake, out=io.StringIO())
    assert sorted(p.name for p in folder.iterdir()) == [".DS_Store", "notes.txt"]
