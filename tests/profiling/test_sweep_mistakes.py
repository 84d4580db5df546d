"""A user's sweep spec with mistakes, run as `energylens profile` runs it: every error names the file, the line or
key and what is wrong, exits 2, and leaves the rows already measured where they were."""

from __future__ import annotations

import io
import json

import pytest

from energylens.cli.main import main
from energylens.profiling import Store, load_spec, run_sweep
from energylens.profiling.worker import base_row

HEAD = '[sweep]\nbackend = "{backend}"\n'
GRID = '[grid]\nmodels = ["{model}"]\nmax_num_seqs = [1, 2]\ninput_len = [8]\noutput_len = [3]\n'


def _write(path, backend="transformers", model=None, sweep="", grid=""):
    """The spec; its model by default a local folder beside it (a Hub id not in the cache is checked online)."""
    if model is None:
        (path.parent / "m").mkdir(exist_ok=True)
        (path.parent / "m" / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
        (path.parent / "m" / "config.json").write_text('{"num_attention_heads": 2}')
        model = str(path.parent / "m")
    path.write_text(HEAD.format(backend=backend) + sweep + GRID.format(model=model) + grid)
    return path


def _measured_store(tmp_path):
    """A store of the good spec, measured by a stand-in worker (as tests/profiling/test_profiling_store.py does)."""
    spec = load_spec(_write(tmp_path / "sweep.toml"))
    out = tmp_path / "runs"
    run_sweep(spec, str(out), power_source="none", out=io.StringIO(), run_one=lambda cfg, ps: base_row(cfg, ps) | {
        "config_id": cfg.config_id, "status": "ok", "error": "", "model": cfg.model, "gpu": "H100", "tp": 1, "pp": 1,
        "params_b": 8.0, "batch_size": 1.0, "input_tokens": 8.0, "output_tokens": 3.0, "energy_j": 1.0})
    return out, {p.name: p.read_bytes() for p in (out / "parts").glob("*.parquet")}


@pytest.mark.parametrize(("sweep", "grid", "where", "says"), [
    ("colour = 1\n", "", ":3: key 'sweep.colour'", "unknown key"),
    ("tp = [2]\n", "", ":3: key 'sweep.tp'", "'tp' is a key of [grid], not [sweep]"),
    ("", "warmup = 0\n", ":8: key 'grid.warmup'", "'warmup' is a key of [sweep], not [grid]"),
    ("", "precision = ['fp32', 'fp32']\n", ":8: key 'grid.precision'", "lists a value twice"),
    ("", "modality = ['text', 'TEXT']\n", ":8: key 'grid.modality'", "lists a value twice"),
    ("", "tp = [1, -2]\n", ":8: key 'grid.tp[1]'", "must be >= 1, got -2"),
])
def test_spec_mistakes_name_file_line_key_and_keep_the_store(tmp_path, capsys, sweep, grid, where, says):
    out, before = _measured_store(tmp_path)
    bad = _write(tmp_path / "bad.toml", sweep=sweep, grid=grid)
    assert main(["profile", str(bad), "-o", str(out), "--resume", "--power-source", "none"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad}{where}" in err and says in err, err
    assert {p.name: p.read_bytes() for p in (out / "parts").glob("*.parquet")} == before


def test_negative_lengths_name_their_entry(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(HEAD.format(backend="transformers") + GRID.format(model="org/m").replace(
        "input_len = [8]", "input_len = [{distribution = 'uniform', low = -4, high = 8}]"))
    assert main(["profile", str(bad), "-o", str(tmp_path / "runs"), "--power-source", "none"]) == 2
    assert f"{bad}:6: key 'grid.input_len[0].low': must be >= 1, got -4" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_tp_that_does_not_divide_a_local_models_heads_is_refused_before_anything_runs(tmp_path, capsys):
    """vLLM refuses such a split after loading the model (every unit of it failed, one by one)."""
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (model / "config.json").write_text(json.dumps({"model_type": "llama", "num_attention_heads": 12}))
    spec = _write(tmp_path / "sweep.toml", backend="vllm", model=str(model), grid="tp = [1, 4, 5]\n")
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:8: key 'grid.tp[2]': tp = 5 does not divide the 12 attention heads of '{model}'" in err
    assert "tp must be one of 1, 2, 3, 4, 6, 12" in err and not (tmp_path / "runs").exists()
    (model / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (model / "config.json").write_text(json.dumps({"text_config": {"num_attention_heads": 10}}))  # multimodal
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"]) == 2
    assert "key 'grid.tp[1]': tp = 4 does not divide the 10 attention heads" in capsys.readouterr().err


def test_an_output_directory_under_a_file_is_named(tmp_path, capsys):
    spec = _write(tmp_path / "sweep.toml")
    (tmp_path / "afile").write_text("")
    for argv in ([], ["--dry-run"]):
        assert main(["profile", str(spec), "-o", str(tmp_path / "afile" / "runs"), "--power-source", "none",
                     *argv]) == 2
        err = capsys.readouterr().err
        assert f"{tmp_path / 'afile' / 'runs'}: {tmp_path / 'afile'} is a file, so no store directory" in err, err


def test_a_changed_grid_says_which_units_differ(tmp_path):
    out, before = _measured_store(tmp_path)
    other = _write(tmp_path / "other.toml")
    other.write_text(other.read_text().replace("max_num_seqs = [1, 2]", "max_num_seqs = [1, 3]"))
    changed = load_spec(other)
    with pytest.raises(ValueError, match=r"whose units differ: 1 of the store's 2 are not in it, 1 of its 2 are "
                                         r"not in the store\); this spec differs from the store's in "
                                         r"grid.max_num_seqs \(the store's: 1, 2; this spec's: 1, 3\); write the "
                                         r"changed grid as another spec"):
        run_sweep(changed, str(out), power_source="none", resume=True, run_one=lambda c, p: {})
    assert Store(out).statuses() == dict.fromkeys((p[:-8] for p in before), "ok")


@pytest.mark.parametrize(("sweep", "grid", "says"), [
    ("", "max_num_seqs = [1, 3]", "grid.max_num_seqs (the store's: 1, 2; this spec's: 1, 3)"),
    ("", "input_len = [{distribution = 'uniform', low = 4, high = 12}]",
     "grid.input_len (the store's: 8; this spec's: uniform(4,12))"),
    ("seed = 5\n", "", "sweep.seed (the store's: 0; this spec's: 5)"),
    ("repetitions = 2\nwarmup = 0\n", "",
     "sweep.repetitions (the store's: 1; this spec's: 2) and sweep.warmup (the store's: 1; this spec's: 0)"),
])
def test_resume_with_another_spec_names_the_setting_that_differs(tmp_path, capsys, sweep, grid, says):
    """Until 2026-12-06 a resumed sweep with a changed seed said only that the spec's hash differed and that 2 of the
    store's 2 units were not in it, not which setting made the difference."""
    out, before = _measured_store(tmp_path)
    other = _write(tmp_path / "other.toml", sweep=sweep)
    if grid:
        key = grid.split(" =")[0]
        other.write_text("\n".join(grid if ln.startswith(key + " =") else ln
                                   for ln in other.read_text().splitlines()) + "\n")
    for dry in ([], ["--dry-run"]):
        assert main(["profile", str(other), "-o", str(out), "--power-source", "none", "--resume", *dry]) == 2
        err = capsys.readouterr().err
        assert "--resume needs the same spec" in err and f"; this spec differs from the store's in {says};" in err, err
    assert {p.name: p.read_bytes() for p in (out / "parts").glob("*.parquet")} == before


def test_resume_of_a_store_made_before_its_grid_was_recorded_names_the_grid_list_from_its_rows(tmp_path, capsys):
    """A store's manifest records its grid since 2026-12-06; for one made before, the rows' configurations say
    which values the store measured that the spec no longer lists."""
    out, before = _measured_store(tmp_path)
    marker = out / "energylens-store.json"
    manifest = json.loads(marker.read_text())
    marker.write_text(json.dumps({k: v for k, v in manifest.items() if k != "grid"}))
    other = _write(tmp_path / "other.toml")
    other.write_text(other.read_text().replace("max_num_seqs = [1, 2]", "max_num_seqs = [1, 3]"))
    assert main(["profile", str(other), "-o", str(out), "--power-source", "none", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "; this spec differs from the store's in grid.max_num_seqs (the store's rows: 1, 2; this spec's: 1, 3);" in err
    other.write_text(other.read_text().replace("max_num_seqs = [1, 3]", "max_num_seqs = [1, 2, 3]"))
    assert main(["profile", str(other), "-o", str(out), "--power-source", "none", "--resume"]) == 2
    err = capsys.readouterr().err  # (a value added is not seen in the rows: the counts say it)
    assert "this spec differs" not in err and "0 of the store's 2 are not in it, 1 of its 3 are not in the store" in err


@pytest.mark.parametrize(("model", "says"), [
    ("org/m ", "must use alphanumeric chars"),                       # a trailing space
    ("org/m/x", "must be in the form 'repo_name' or 'namespace/repo_name'"),
    ("org--x/m", "Cannot have -- or .. in repo_id"),
])
def test_a_name_that_is_no_folder_and_no_hub_id_is_refused(tmp_path, capsys, model, says):
    """transformers and vLLM ran huggingface_hub's check in every unit, and every unit failed with it."""
    spec = _write(tmp_path / "sweep.toml", model=model)
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:4: key 'grid.models[0]': {model!r} is no folder here" in err and says in err, err
    assert not (tmp_path / "runs").exists()


def test_hub_ids_and_uris_pass_the_form_check(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from energylens.profiling.requirements import check_local_models

    for model in ("org/m", "gpt2", "Org/M_1.5-x", "s3://bucket/model"):
        check_local_models(load_spec(_write(tmp_path / "sweep.toml", backend="vllm", model=model)))


@pytest.mark.parametrize(("text", "says"), [
    ('backend = "transformers"\n[sweep]\n', ":1: key 'backend': unknown key ('backend' is a key of [sweep], written "
                                           "above every table header: move it under [sweep]; allowed: grid, sweep)"),
    ('tp = [1]\n[sweep]\nbackend = "transformers"\n', ":1: key 'tp': unknown key ('tp' is a key of [grid], written "
                                                     "above every table header: move it under [grid]; "),
    ('[sweep]\nbackend = "transformers"\n[grids]\n', ":3: key 'grids': unknown table (did you mean 'grid'? "),
])
def test_a_key_above_the_tables_is_named_as_a_key_with_its_line(tmp_path, capsys, text, says):
    """A key written before [sweep] read "key 'backend': unknown table (allowed: grid, sweep)", without a line."""
    spec = tmp_path / "sweep.toml"
    spec.write_text(text + GRID.format(model="/m").replace("[grid]\n", "" if "[grids]" in text else "[grid]\n"))
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"]) == 2
    assert f"{spec}{says}" in capsys.readouterr().err
