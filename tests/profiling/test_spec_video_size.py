"""The pixels of one generated video (num_frames x width x height) have a bound of their own: each side and the
frame count had one, but num_frames = 1024 with image_size = [8192, 8192] passed, a video of 68.7 G pixels (206 GB
a prompt, and a batch holds dp x max_num_seqs of them). The bound is refused naming the spec file, the line and
sweep.num_frames, and applies only where the grid has video units (no other prompt reads num_frames)."""

from __future__ import annotations

import pytest

from energylens.profiling import SweepSpecError, load_spec, parse_spec
from energylens.profiling.spec_values import MAX_VIDEO_PIXELS

GRID = "models = ['m']\nmax_num_seqs = [1]\ninput_len = [8]\noutput_len = [4]\n"


def _write(tmp_path, sweep: str, modality: str):
    p = tmp_path / "s.toml"
    p.write_text(f"[sweep]\nbackend = 'vllm'\n{sweep}\n[grid]\n{GRID}modality = {modality}\n")
    return p


def test_a_video_of_more_pixels_than_the_bound_is_refused_naming_file_line_and_key(tmp_path):
    p = _write(tmp_path, "image_size = [4096, 4096]\nnum_frames = 64", "['text', 'video']")
    with pytest.raises(SweepSpecError) as info:
        load_spec(p)
    assert info.value.key == "sweep.num_frames" and info.value.line == 4
    text = str(info.value)
    assert text.startswith(f"{p}:4: key 'sweep.num_frames': ")
    assert "64 frames x 4,096 x 4,096 pixels = 1,073,741,824 pixels" in text
    assert f"{MAX_VIDEO_PIXELS:,}" in text and "image_size" in text


def test_the_bound_passes_what_video_models_take_and_ignores_sweeps_without_video(tmp_path):
    # Qwen2.5-VL's processor: at most 768 frames of 768 x 28 x 28 pixels (~776 x 776), 90,316,800 pixels in all
    parse_spec({"sweep": {"backend": "vllm", "image_size": [448, 448], "num_frames": 512},
                "grid": {"models": ["m"], "max_num_seqs": [1], "input_len": [8], "output_len": [4],
                         "modality": ["video"]}})
    load_spec(_write(tmp_path, "image_size = [4096, 4096]\nnum_frames = 64", "['text', 'image']"))
    with pytest.raises(SweepSpecError, match="sweep.num_frames"):
        load_spec(_write(tmp_path, f"image_size = [8192, 8192]\nnum_frames = {MAX_VIDEO_PIXELS // 8192**2 + 1}",
                         "['video']"))


def test_a_spec_that_leaves_num_frames_at_its_default_is_told_at_image_size(tmp_path):
    """image_size = [8192, 8192] with the default 8 frames named 'sweep.num_frames' at the [sweep] header's line,
    a key the spec does not write; it names image_size where it is written."""
    p = _write(tmp_path, "gpu = 'H100'\nimage_size = [8192, 8192]", "['video']")
    with pytest.raises(SweepSpecError) as info:
        load_spec(p)
    assert info.value.key == "sweep.image_size" and info.value.line == 4
    assert "8 frames (num_frames' default) x 8,192 x 8,192 pixels" in str(info.value)
