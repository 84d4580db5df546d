"""The checks of one value of a sweep spec (an integer, a number, a choice) and of the spec's size, with the error
they raise: :class:`SweepSpecError` names the file, the dotted key and the problem (:mod:`energylens.profiling.spec`
adds the line where the key is written)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from energylens.errors import EnergyLensError

__all__ = ["INT64_MAX", "MAX_FRAMES", "MAX_IMAGE_SIDE", "MAX_PAUSE_S", "MAX_UNITS", "MAX_VIDEO_PIXELS", "VLLM_SEED_MAX", "SweepSpecError", "check_media_size", "check_unit_count", "check_video_size", "choice", "fail", "integer", "number"]

#: The largest integer a spec may write: TOML's integers are 64-bit (Python's reader takes larger ones), and so are a
#: row's integer columns (a larger seed ran its unit, then the row's write raised OverflowError and the row was lost).
INT64_MAX = 2**63 - 1

#: The largest seed vLLM takes: its workers seed numpy's global generator with it (vllm/utils/torch_utils.py
#: set_random_seed, vLLM 0.32), and ``np.random.seed`` takes 0 .. 2**32 - 1; a larger one failed each engine start.
VLLM_SEED_MAX = 2**32 - 1

#: The longest ``sweep.cooldown_s`` pause and ``sweep.min_window_s`` window, in seconds (a day): more is a typo
#: (``cooldown_s = 1e300`` crashed the sweep after its first unit with time.sleep's OverflowError, its row lost).
MAX_PAUSE_S = 86_400

#: The largest ``sweep.image_size`` side, in pixels, and the most ``sweep.num_frames``: past what any vision model
#: takes (processors resize an image to at most ~4K a side, e.g. Qwen2.5-VL's max_pixels 12,845,056 ~ 3584 x 3584;
#: video readers sample at most several hundred frames, Qwen2.5-VL's at most 768), with room to spare. Each
#: generated image is held in memory: image_size = [100000, 100000] passed, ~30 GB an image.
MAX_IMAGE_SIDE = 8192
MAX_FRAMES = 1024

#: The most pixels of one generated video, ``num_frames x width x height`` (2**27, ~403 MB a video as generated,
#: RGB bytes; a batch holds dp x max_num_seqs of them at once): the largest budget of a video processor, Qwen3-VL-Plus's
#: VIDEO_TOTAL_PIXELS of 131072 x 32 x 32 pixels over all of a video's frames (Qwen2.5-VL's qwen-vl-utils: 128000 x 28
#: x 28 x 0.9 = 90,316,800); processors resize a larger video down to it. The side and frame bounds alone let
#: num_frames = 1024 at 8192 x 8192 pass, 68.7 G pixels (206 GB) a video.
MAX_VIDEO_PIXELS = 2**27

#: The most units (configurations x repetitions) one spec may make: each is planned, listed and named in the store's
#: manifest before the first runs (``repetitions = 100000000``, a typo, hung a --dry-run until the memory ran out).
MAX_UNITS = 1_000_000

#: The grid's lists in the order their product makes the units (SweepSpec.configs).
_PRODUCT = ("models", "tp", "pp", "dp", "ep", "precision", "kv_cache_dtype", "max_num_seqs", "input_len", "output_len",
            "modality")


class SweepSpecError(EnergyLensError, ValueError):
    """A sweep spec is invalid; ``key`` is the dotted key at fault (``grid.tp[1]``)."""

    def __init__(self, message: str, source: str = "", key: str = "", line: int = 0) -> None:
        where = f"{source}:{line}" if source and line else source
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.key = key
        self.line = line  # where the key is written in the file (0: not known, or not from a file)
        self.message = message


def fail(src: str, key: str, problem: str) -> SweepSpecError:
    """The error of ``key`` in the spec ``src`` (raise it)."""
    return SweepSpecError(f"key {key!r}: {problem}", src, key)


def integer(src: str, key: str, v: Any, lo: int, hi: int | None = None) -> int:
    """``v`` as an integer in ``[lo, hi]`` (and 64-bit), else the error naming ``key``."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise fail(src, key, f"must be an integer, got {v!r}")
    if v < lo:
        raise fail(src, key, f"must be >= {lo}, got {v}")
    if v > INT64_MAX:
        raise fail(src, key, f"must be a 64-bit integer, as TOML's integers are (at most {INT64_MAX:,}), got {v:,}")
    if hi is not None and v > hi:
        raise fail(src, key, f"must be <= {hi:,}, got {v:,}")
    return v


def number(src: str, key: str, v: Any, lo: float, hi: float | None = None, why: str = "") -> float:
    """``v`` as a finite float in ``[lo, hi]``, else the error naming ``key`` (``why``: the bound's reason)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise fail(src, key, f"must be a finite number, got {v!r}")
    if v < lo:
        raise fail(src, key, f"must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise fail(src, key, f"must be <= {hi:,g}{why}, got {v:,g}")
    return float(v)


def choice(src: str, key: str, v: Any, allowed: tuple[str, ...]) -> str:
    """``v`` lower-cased, one of ``allowed``, else the error naming ``key``."""
    if not isinstance(v, str) or v.lower() not in allowed:
        raise fail(src, key, f"must be one of {', '.join(allowed)}, got {v!r}")
    return v.lower()


def check_unit_count(src: str, grid: Mapping[str, list[Any]], repetitions: int) -> None:
    """Refuse a spec of more than :data:`MAX_UNITS` units, naming ``sweep.repetitions`` where the grid alone fits
    (else ``grid``) and the product that makes the count, before anything expands them."""
    sizes = [(k, len(grid[k])) for k in _PRODUCT if k in grid]
    configs = math.prod(n for _, n in sizes)
    if configs * repetitions <= MAX_UNITS:
        return
    product = " x ".join(f"{k} {n:,}" for k, n in sizes if n > 1)
    grid_part = f"{product} = {configs:,} configurations" if product else "1 configuration"
    key = "sweep.repetitions" if configs <= MAX_UNITS else "grid"
    raise fail(src, key, f"the spec makes {configs * repetitions:,} units ({grid_part} x repetitions "
               f"{repetitions:,}), more than the {MAX_UNITS:,} one sweep holds "
               "(each is planned and named in the store before the first runs): "
               + ("lower repetitions" if key == "sweep.repetitions" else "split the grid into several specs (or "
                  "fewer values per list)"))


def check_media_size(src: str, size: list[int], frames: int) -> None:
    """Refuse an ``image_size`` side over :data:`MAX_IMAGE_SIDE` or ``num_frames`` over :data:`MAX_FRAMES`."""
    for i, side in enumerate(size):
        if side > MAX_IMAGE_SIDE:
            raise fail(src, f"sweep.image_size[{i}]", f"must be <= {MAX_IMAGE_SIDE:,} pixels, got {side:,}: no "
                       "vision model's processor takes a larger side (they resize to at most ~4K a side), and a "
                       f"generated {size[0]:,} x {size[1]:,} image would need {size[0] * size[1] * 3 / 1e9:,.1f} GB")
    if frames > MAX_FRAMES:
        raise fail(src, "sweep.num_frames", f"must be <= {MAX_FRAMES:,} frames, got {frames:,}: video models "
                   "sample at most several hundred frames a video, and each frame is generated in memory")


def check_video_size(src: str, size: list[int], frames: int, frames_written: bool = True) -> None:
    """Refuse a generated video of more than :data:`MAX_VIDEO_PIXELS` pixels (``frames`` x ``size``), naming
    ``sweep.num_frames``, or ``sweep.image_size`` where the spec leaves num_frames at its default (call it where the
    grid has video units: no other prompt reads num_frames)."""
    pixels = frames * size[0] * size[1]
    if pixels > MAX_VIDEO_PIXELS:
        key, default = ("sweep.num_frames", "") if frames_written else ("sweep.image_size", " (num_frames' default)")
        raise fail(src, key, f"a generated video of {frames:,} frames{default} x {size[0]:,} x {size[1]:,} pixels "
                   f"= {pixels:,} pixels ({pixels * 3 / 1e9:,.1f} GB, one per prompt of the batch) is more than the "
                   f"{MAX_VIDEO_PIXELS:,} a video may have: no video processor keeps more (Qwen3-VL-Plus's budget, "
                   "the largest, is 131,072 x 32 x 32 pixels over all frames; a larger video is resized down to it); "
                   "lower num_frames or sweep.image_size")
