"""A Hub id that this machine cannot download (not in the local cache, and HF_HUB_OFFLINE set, huggingface.co not
reachable, or no such repository) is refused before the store is written or any unit starts: until 2026-12-06 each of
its units started vLLM and failed ~30 s later with "We couldn't connect to 'https://huggingface.co'"."""

from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.profiling import load_spec
from energylens.profiling.requirements import check_hub_models

hub = pytest.importorskip("huggingface_hub", reason="checks Hub ids with huggingface_hub")

SPEC = ('[sweep]\nbackend = "transformers"\n[grid]\nmodels = ["/{folder}", "{model}"]\nmax_num_seqs = [1]\n'
        'input_len = [8]\noutput_len = [3]\n')


@pytest.fixture
def hf(tmp_path, monkeypatch):
    """An empty local cache and a Hub endpoint nothing listens on (connection refused: no network here)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return constants


def _spec(tmp_path, model):
    (tmp_path / "m").mkdir(exist_ok=True)
    (tmp_path / "m" / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (tmp_path / "m" / "config.json").write_text('{"num_attention_heads": 2}')
    path = tmp_path / "sweep.toml"
    path.write_text(SPEC.format(folder=str(tmp_path / "m").lstrip("/"), model=model))
    return path


@pytest.mark.parametrize(("offline", "says"), [
    (False, "http://127.0.0.1:9 cannot be reached from here ("),
    (True, "HF_HUB_OFFLINE is set, so no unit can download it: every unit of it would fail"),
])
def test_a_hub_id_that_cannot_be_downloaded_is_refused_before_anything_runs(tmp_path, capsys, hf, monkeypatch,
                                                                            offline, says):
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", offline)
    spec = _spec(tmp_path, "org/not-cached")
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none"]) == 2
    err = capsys.readouterr().err
    assert (f"{spec}:4: key 'grid.models[1]': 'org/not-cached' is not in the local Hugging Face cache "
            f"({tmp_path / 'hub'}) and ") in err and says in err, err
    assert "give its local folder as a path" in err, err
    assert not (tmp_path / "runs").exists()


def test_a_cached_hub_id_a_local_folder_and_a_uri_pass(tmp_path, hf):
    snap = tmp_path / "hub" / "models--org--cached" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (snap / "config.json").write_text("{}")
    (tmp_path / "hub" / "models--org--cached" / "refs").mkdir()
    (tmp_path / "hub" / "models--org--cached" / "refs" / "main").write_text("abc")
    check_hub_models(load_spec(_spec(tmp_path, "org/cached")))
    check_hub_models(load_spec(_spec(tmp_path, "s3://bucket/model")))
