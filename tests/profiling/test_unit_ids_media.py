"""A unit's id holds the media settings its modality reads, and only those: ``sweep.image_size`` and
``sweep.num_frames`` were part of every unit's id, so a text-only sweep resumed after either was edited (an
irrelevant field: no text prompt carries an image) was refused as another spec, every unit measured again in a new
store. The ids of stores written before stay what they were: the pinned ids below are those of the release before
the change, and a store whose text units were named with another image_size is resumed under its own ids."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from energylens.profiling import Store, load_spec, parse_spec, plan_sweep, run_sweep

GRID = {"models": ["org/m"], "max_num_seqs": [4], "input_len": [64], "output_len": [8]}

#: (modality, sweep settings) -> the unit's id as the release before this change computed it.
BEFORE = {("text", ()): "4c5c89dc29e5ef0d", ("image", ()): "cc49fb672c00becf", ("video", ()): "af193b871f03b8f6",
          ("image", ("image_size", (448, 448))): "b883f4ca50b66257",
          ("video", ("image_size", (448, 448))): "bb96ac0d26a64819",
          ("video", ("num_frames", 16)): "e3ea1c1ee7c4e8ec"}


def _ids(**sweep) -> dict[str, str]:
    spec = parse_spec({"sweep": {"backend": "vllm", **sweep}, "grid": {**GRID, "modality": ["text", "image", "video"]}})
    return {c.modality: c.config_id for c in spec.configs()}


def test_a_units_id_changes_only_with_the_media_settings_its_modality_reads():
    default = _ids()
    assert default == {m: BEFORE[(m, ())] for m in ("text", "image", "video")}  # stores written before: same ids
    size, frames = _ids(image_size=[448, 448]), _ids(num_frames=16)
    assert size["text"] == frames["text"] == default["text"]
    assert frames["image"] == default["image"]
    assert size["image"] == BEFORE[("image", ("image_size", (448, 448)))]
    assert size["video"] == BEFORE[("video", ("image_size", (448, 448)))]
    assert frames["video"] == BEFORE[("video", ("num_frames", 16))]


ROW = {"status": "ok", "error": "", "model": "org/m", "params_b": 8.0, "gpu": "H100", "tp": 1, "pp": 1,
       "batch_size": 1.0, "input_tokens": 8.0, "output_tokens": 4.0, "energy_j": 10.0}


def _fake(cfg, power_source):
    return {**ROW, "config_id": cfg.config_id}


def _text_spec(tmp_path: Path, sweep: str):
    path = tmp_path / "sweep.toml"
    path.write_text(f'[sweep]\nbackend = "transformers"\ngpu = "H100"\n{sweep}\n[grid]\nmodels = ["org/m"]\n'
                    "max_num_seqs = [1, 2]\ninput_len = [8]\noutput_len = [4]\n")
    return load_spec(path)


def test_a_text_sweep_resumes_after_image_size_or_num_frames_changed(tmp_path):
    store = str(tmp_path / "s")
    run_sweep(_text_spec(tmp_path, ""), store, power_source="none", run_one=_fake, out=io.StringIO())
    edited = _text_spec(tmp_path, "image_size = [448, 448]\nnum_frames = 16")
    assert plan_sweep(edited, store, resume=True, power_source="none").n_run == 0
    res = run_sweep(edited, store, resume=True, power_source="none", run_one=_fake, out=io.StringIO())
    assert (res.ran, res.skipped) == (0, 2)


def _as_before(store: Path, old_ids: dict[str, str]) -> None:
    """Rename the store's units to the ids the release before this change gave them (``old_ids``: new -> old)."""
    manifest = json.loads((store / "energylens-store.json").read_text())
    ids = [old_ids[i] for i in manifest["config_ids"]]
    manifest["config_ids"] = ids
    manifest["spec_hash"] = hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]
    manifest["units_hash"] = hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()[:16]
    (store / "energylens-store.json").write_text(json.dumps(manifest))
    for new, old in old_ids.items():
        part = store / "parts" / f"{new}.parquet"
        if part.is_file():
            frame = pd.read_parquet(part).assign(config_id=old)
            part.unlink()
            frame.to_parquet(store / "parts" / f"{old}.parquet", index=False)


@pytest.mark.parametrize("resumed_with", [{"image_size": [448, 448]}, {"image_size": [512, 512], "num_frames": 4}, {}])
def test_a_store_whose_text_units_were_named_with_another_image_size_resumes_under_its_own_ids(tmp_path,
                                                                                              resumed_with):
    """Before the change a text unit's id held image_size: a store made with image_size = [448, 448] names its
    units so. Resumed (with that image_size, another, or none), it goes on under the ids it holds: the done unit
    is skipped and the other is measured and written under the store's own id."""
    grid = {**GRID, "max_num_seqs": [4, 8]}
    spec = parse_spec({"sweep": {"backend": "vllm", "image_size": [448, 448]}, "grid": grid})
    old = {4: "920df645b985d562", 8: "78dec2c645935934"}  # the text units' ids before the change
    store = tmp_path / "s"
    run_sweep(spec, str(store), power_source="none", run_one=_fake, budget=1, out=io.StringIO())
    _as_before(store, {c.config_id: old[c.max_num_seqs] for c in spec.configs()})
    assert Store(store).statuses() == {old[4]: "ok"}
    again = parse_spec({"sweep": {"backend": "vllm", **resumed_with}, "grid": grid})
    plan = plan_sweep(again, str(store), resume=True, power_source="none")
    assert (plan.n_run, plan.skipped) == (1, 1)
    res = run_sweep(again, str(store), resume=True, power_source="none", run_one=_fake, out=io.StringIO())
    assert (res.ran, res.skipped) == (1, 1)
    assert Store(store).statuses() == {old[4]: "ok", old[8]: "ok"}
    assert set(json.loads((store / "energylens-store.json").read_text())["config_ids"]) == {old[4], old[8]}


def test_the_refusal_of_another_spec_does_not_name_media_settings_no_unit_reads(tmp_path):
    """A text sweep resumed with another max_num_seqs and another image_size is another spec: the refusal named
    both as what differs, though image_size renames no text unit."""
    store = str(tmp_path / "s")
    run_sweep(_text_spec(tmp_path, ""), store, power_source="none", run_one=_fake, out=io.StringIO())
    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "image_size": [448, 448]},
                       "grid": {**GRID, "max_num_seqs": [1, 3], "input_len": [8], "output_len": [4]}})
    with pytest.raises(ValueError, match="another spec") as err:
        run_sweep(spec, store, resume=True, power_source="none", run_one=_fake, out=io.StringIO())
    assert "grid.max_num_seqs" in str(err.value) and "image_size" not in str(err.value)
