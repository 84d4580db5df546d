"""A model given as a path that is not a model folder here stops the sweep before anything is written, naming
the spec file, its line and ``grid.models[i]``; it used to fail every unit of it late, with transformers'
Hub-id message ("Repo id must be in the form ...", cut off mid-sentence in the progress line)."""

from __future__ import annotations

import json
import re
import shutil
import textwrap

import pytest

from energylens.cli import main
from energylens.profiling import Store, SweepSpecError, load_spec, parse_spec, run_sweep
from energylens.profiling.requirements import check_local_models
from energylens.profiling.spec import is_local_path
from energylens.profiling.worker import base_row


def _spec_file(tmp_path, models: list[str], backend: str = "transformers"):
    p = tmp_path / "sweep.toml"
    listed = ", ".join(f'"{m}"' for m in models)
    extra = 'gpu_memory_utilization = 0.1\n' if backend == "vllm" else ""
    p.write_text(textwrap.dedent(f"""\
        [sweep]
        backend = "{backend}"
        """) + extra + textwrap.dedent(f"""\
        [grid]
        models = [{listed}]
        max_num_seqs = [2]
        input_len = [8]
        output_len = [4]
        """))
    return p


def _model_folder(path):
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (path / "config.json").write_text("{}")
    return str(path)


@pytest.mark.parametrize("make, problem", [
    (lambda d: str(d / "nope"), r"the model folder '.*nope' does not exist"),
    (lambda d: str((d / "empty").mkdir() or d / "empty"), r"the folder '.*empty' holds no config.json"),
    (lambda d: str((d / "w.bin").write_text("") * 0 or d / "w.bin"), r"'.*w.bin' is a file"),
])
def test_a_model_path_that_is_no_model_folder_stops_the_sweep_naming_file_line_and_entry(tmp_path, capsys, make,
                                                                                          problem):
    spec = _spec_file(tmp_path, [_model_folder(tmp_path / "good"), make(tmp_path)])
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "synthetic:100"]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:4: key 'grid.models[1]': " in err
    assert len(err.strip().splitlines()) == 1 and re.search(problem, err), err
    assert not (tmp_path / "runs").exists()                   # nothing was written


def test_a_relative_path_that_does_not_exist_names_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = load_spec(_spec_file(tmp_path, ["./typo"]))
    with pytest.raises(SweepSpecError, match=r"'./typo' does not exist \(relative to the working directory "):
        run_sweep(spec, str(tmp_path / "runs"), power_source="synthetic:100")


def test_hub_ids_model_folders_and_vllm_gguf_files_pass_without_touching_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "m.gguf").write_text("")
    good = _model_folder(tmp_path / "good")
    mistral = tmp_path / "mistral"
    mistral.mkdir()
    (mistral / "params.json").write_text("{}")
    (mistral / "consolidated.safetensors").write_bytes(bytes(8))  # (Mistral's own format: its weights file)
    check_local_models(load_spec(_spec_file(tmp_path, [good, "org/not-cached-anywhere", "gpt2"])))
    check_local_models(load_spec(_spec_file(tmp_path, [good, str(tmp_path / "m.gguf"), str(mistral)], "vllm")))
    with pytest.raises(SweepSpecError, match=r"'.*m.gguf' is a file; .* config.json and the weights$"):
        check_local_models(load_spec(_spec_file(tmp_path, [str(tmp_path / "m.gguf")])))  # transformers: no gguf


def test_an_injected_runner_or_a_remote_ray_cluster_is_not_checked(tmp_path):
    """A test's runner measures nothing from the folder; a Ray cluster's nodes may mount folders the driver lacks."""
    spec = load_spec(_spec_file(tmp_path, ["/no/such/model"]))
    res = run_sweep(spec, str(tmp_path / "runs"), power_source="synthetic:100",
                    run_one=lambda c, p: {"config_id": c.config_id, "status": "ok", "wall_s": 0.0})
    assert res.ok == 1


# A bare name that is a folder here: vLLM (Path(model).exists(), transformers_utils/repo_utils.py) and transformers
# (os.path.isdir) load that folder, relative to the working directory, before they try the Hub.

def test_a_bare_name_that_is_a_folder_here_is_a_local_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _model_folder(tmp_path / "llama-8b")
    _model_folder(tmp_path / "org" / "name")
    assert is_local_path("llama-8b") and is_local_path("org/name")
    assert not is_local_path("meta-llama/Llama-3.1-8B") and not is_local_path("gpt2")
    cfg = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": ["org/name"], "max_num_seqs": [1],
                                                            "input_len": [8], "output_len": [4]}}).configs()[0]
    assert cfg.describe().startswith("name vllm/offline ")  # the progress line names the folder, as for ./org/name
    monkeypatch.chdir(tmp_path / "org")
    assert not is_local_path("org/name")  # resolved against the working directory, as vLLM resolves it


def test_a_bare_name_that_is_a_folder_without_config_is_refused_saying_why(tmp_path, monkeypatch, capsys):
    """vLLM would load the folder ./llama-8b (no config.json: every unit fails late); the check says so first."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "llama-8b").mkdir()
    spec = _spec_file(tmp_path, ["llama-8b"], "vllm")
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "synthetic:100"]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:5: key 'grid.models[0]': the folder 'llama-8b' (relative to the working directory {tmp_path})" \
           " holds no config.json" in err
    assert "taken as that local path, not a Hub id, because it exists here" in err
    assert not (tmp_path / "runs").exists()


def test_a_bare_name_and_its_dot_slash_spelling_are_one_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _model_folder(tmp_path / "llama-8b")
    with pytest.raises(SweepSpecError, match=r"'llama-8b' \(grid.models\[0\]\) and './llama-8b' \(grid.models\[1\]\) are the same path"):
        load_spec(_spec_file(tmp_path, ["llama-8b", "./llama-8b"]))


@pytest.mark.parametrize("second", ["{tmp}/llama-8b", "{tmp}/link-8b", "../x/../{name}/llama-8b"])
def test_a_relative_an_absolute_and_a_linked_spelling_are_one_model(tmp_path, monkeypatch, second):
    """'./llama-8b' and its absolute path (or a symlink to the folder) load the same files: until 2026-12-07 the
    sweep measured both, as two configurations of one model."""
    monkeypatch.chdir(tmp_path)
    _model_folder(tmp_path / "llama-8b")
    (tmp_path / "link-8b").symlink_to(tmp_path / "llama-8b")
    other = second.format(tmp=tmp_path, name=tmp_path.name)
    with pytest.raises(SweepSpecError, match=r"'./llama-8b' \(grid.models\[0\]\) and '" + re.escape(other) +
                       r"' \(grid.models\[1\]\) are the same (path|folder)"):
        load_spec(_spec_file(tmp_path, ["./llama-8b", other]))


def test_a_bare_local_folder_records_its_checkpoint_format(tmp_path, monkeypatch):
    """The row's precision comes from the folder's config.json, not the spec or a Hub cache of that name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org" / "name").mkdir(parents=True)
    (tmp_path / "org" / "name" / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (tmp_path / "org" / "name" / "config.json").write_text(json.dumps(
        {"quantization_config": {"quant_method": "awq", "bits": 4}}))
    cfg = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": ["org/name"], "max_num_seqs": [1],
                                                            "input_len": [8], "output_len": [4]}}).configs()[0]
    assert base_row(cfg, "none")["precision"] == "int4" and base_row(cfg, "none")["model"] == "org/name"


@pytest.mark.torch
def test_a_model_under_home_written_with_a_tilde_loads(tiny_model, tmp_path, monkeypatch):
    """Neither vLLM nor transformers expands ``~`` ("~/models/x" read as a malformed Hub id: every unit failed
    with "Repo id must use alphanumeric chars"); the sweep gives them the expanded path."""
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(tiny_model, tmp_path / "models" / "tiny")
    spec = parse_spec({"sweep": {"backend": "transformers", "warmup": 0}, "grid": {
        "models": ["~/models/tiny"], "precision": ["fp32"], "max_num_seqs": [1], "input_len": [4], "output_len": [2]}})
    res = run_sweep(spec, str(tmp_path / "runs"), power_source="none")
    rows = Store(tmp_path / "runs").rows(include_failed=True)
    assert res.ok == 1, rows["error"].tolist()
    assert rows["model"].tolist() == ["~/models/tiny"]  # the row names the model as the spec wrote it
