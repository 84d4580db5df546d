"""`energylens profile --dry-run` makes the checks of a local model folder's config.json a run makes (tp against
its attention heads, lengths against its context, image / video on a text-only model): until 2026-12-07 it listed
every unit of such a sweep as `run K`, and the run itself then refused the sweep with exit 2."""

from __future__ import annotations

import json

import pytest

from energylens.cli.main import main

SPEC = ('[sweep]\nbackend = "vllm"\n[grid]\nmodels = ["{model}"]\ntp = {tp}\nmax_num_seqs = [1]\n'
        'input_len = {inputs}\noutput_len = [4]\n')


def _spec(tmp_path, tp="[1]", inputs="[8]", config=True):
    model = tmp_path / "m"
    if config:
        model.mkdir(exist_ok=True)
        (model / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
        (model / "config.json").write_text(json.dumps({"model_type": "llama", "num_attention_heads": 6,
                                                       "max_position_embeddings": 2048}))
    path = tmp_path / "sweep.toml"
    path.write_text(SPEC.format(model=model, tp=tp, inputs=inputs))
    return path


@pytest.mark.parametrize(("tp", "inputs", "where", "says"), [
    ("[1, 4]", "[8]", ":5: key 'grid.tp[1]'", "tp = 4 does not divide the 6 attention heads"),
    ("[1]", "[8, 4000]", ":7: key 'grid.input_len[1]'", "more than the 2048-token context"),
])
def test_a_dry_run_refuses_what_the_run_refuses_from_the_folders_config(tmp_path, capsys, tp, inputs, where, says):
    spec = _spec(tmp_path, tp, inputs)
    argv = ["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"]
    assert main(argv + ["--dry-run"]) == 2
    out, dry = capsys.readouterr()
    assert f"{spec}{where}: " in dry and says in dry, dry
    assert "run 1" not in out and not (tmp_path / "runs").exists()
    assert main(argv) == 2
    assert capsys.readouterr().err == dry  # the same line as the run's


def test_a_dry_run_of_a_folder_this_machine_lacks_still_plans(tmp_path, capsys):
    """A plan may be made for another machine (as the backend's install is not checked): a folder missing here is
    left to the run, which refuses it there if it is missing there too."""
    spec = _spec(tmp_path, "[1, 4]", config=False)
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none", "--dry-run"]) == 0
    assert "a run would measure 2 now" in capsys.readouterr().out


def test_a_dry_run_refuses_images_for_a_text_only_folder(tmp_path, capsys):
    spec = _spec(tmp_path)
    spec.write_text(spec.read_text().replace("[grid]\n", '[grid]\nmodality = ["text", "image"]\n'))
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none", "--dry-run"]) == 2
    assert f"{spec}:4: key 'grid.modality[1]': '{tmp_path / 'm'}' is a text-only model" in capsys.readouterr().err
