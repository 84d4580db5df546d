"""A model given as a relative path is the folder under the directory `energylens profile` runs in, for every unit
wherever it runs (a Ray worker may have another working directory: tests/profiling/test_profiling_ray.py), and
resolving it changes no unit's config_id, so stores written before still resume."""

from __future__ import annotations

import pytest

from energylens.profiling import parse_spec, worker


def _spec(models, backend="transformers"):
    return parse_spec({"sweep": {"backend": backend, "warmup": 0},
                       "grid": {"models": models, "precision": ["fp32"], "max_num_seqs": [1], "input_len": [8],
                                "output_len": [3]}})


def test_local_models_get_their_absolute_folder_and_keep_their_config_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "tiny2").mkdir(parents=True)
    units = _spec(["./models/tiny", "models/tiny2", "/abs/x", "org/name"]).configs()
    assert [u.options.get("model_path") for u in units] == [str(tmp_path / "models" / "tiny"),
                                                          str(tmp_path / "models" / "tiny2"), "/abs/x", None]
    assert [u.model_path for u in units] == [str(tmp_path / "models" / "tiny"), str(tmp_path / "models" / "tiny2"),
                                             "/abs/x", "org/name"]
    # the ids energylens gave these units before model_path existed (computed with the code of 9a881a1)
    assert [u.config_id for u in units] == ["2da748985b1c6942", "6ad80b996caaf731", "18ed6b8d3bc0ad67",
                                            "c83730e2a127b83f"]
    row = worker.base_row(units[0], "none")
    assert row["model"] == "./models/tiny" and row["model_path"] == str(tmp_path / "models" / "tiny")
    assert worker.base_row(units[3], "none")["model_path"] == ""


@pytest.mark.torch
def test_a_unit_run_from_another_directory_loads_the_sweeps_folder(tiny_model, tmp_path, monkeypatch):
    """What a Ray worker with its own working directory does, in one process: the unit is made where the sweep
    runs and measured elsewhere. Before, the worker read ./models/tiny against its own directory and failed."""
    (tmp_path / "work" / "models").mkdir(parents=True)
    (tmp_path / "work" / "models" / "tiny").symlink_to(tiny_model)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    unit = _spec(["./models/tiny"]).configs()[0]
    monkeypatch.chdir(tmp_path / "elsewhere")
    row = worker.execute(unit, "synthetic:100")
    assert row["status"] == "ok", row["error"]
    assert row["model_path"] == str(tmp_path / "work" / "models" / "tiny") and row["params_b"] > 0
