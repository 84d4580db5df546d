"""A local model folder with config.json but no weights (a folder of configs copied alone) or with Git LFS pointer
files in place of them (a clone made without git-lfs: model.safetensors of ~130 bytes of text) passed the sweep's
checks, and every unit of it failed one by one (transformers: "SafetensorError: Error while deserializing header:
header too large"; vLLM: a minute's engine start each). Both now stop the sweep and its --dry-run before the store is
written, naming the file, line and key, and what to do."""

from __future__ import annotations

import pytest

from energylens.cli.main import main

LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 1343568\n"


def _spec(tmp_path, weights: dict[str, bytes]):
    model = tmp_path / "llama"
    model.mkdir()
    (model / "config.json").write_text('{"num_attention_heads": 2}')
    (model / "tokenizer.json").write_text("{}")
    for name, data in weights.items():
        (model / name).write_bytes(data)
    p = tmp_path / "sweep.toml"
    p.write_text(f'[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["{model}"]\nmax_num_seqs = [1]\n'
                 'input_len = [8]\noutput_len = [4]\n')
    return p, model


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize(("weights", "says"), [
    ({}, "holds no weights (no .safetensors, .bin, .pt or .pth file)"),
    ({"model.safetensors": LFS}, "model.safetensors is a Git LFS pointer (130 bytes), not the weights: run "
                                 "`git lfs pull` in the folder"),
    ({"model-00001-of-00002.safetensors": b"\0" * 2048, "model-00002-of-00002.safetensors": LFS},
     "model-00002-of-00002.safetensors is a Git LFS pointer"),
])
def test_a_folder_without_its_weights_stops_the_sweep(tmp_path, capsys, weights, says, dry_run):
    spec, model = _spec(tmp_path, weights)
    says = says.replace("(130 bytes)", f"({len(LFS)} bytes)")
    rc = main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"] + ["--dry-run"] * dry_run)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"{spec}:5: key 'grid.models[0]': the model folder '{model}' " in err and says in err, err
    assert not (tmp_path / "runs").exists()


def test_a_folder_with_its_weights_passes(tmp_path, capsys):
    spec, _ = _spec(tmp_path, {"model.safetensors": b"\0" * 2048})
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none", "--dry-run"]) == 0
