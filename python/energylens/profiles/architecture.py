"""Model facts taken from the model table (:mod:`energylens.profiles.tables`), in one place.

:func:`fill_architecture` fills the architecture cells of schema-v1 rows that a profile left empty
(:func:`energylens.profiles.load_profiles` calls it); :func:`vision_encoders` gives the vision-encoder
size and tokens per image of image/video rows (:func:`energylens.profiles.features.build_features` calls
it). Unknown models are estimated from ``params_b`` (:func:`energylens.profiles.tables.estimate_architecture`)
with one :class:`~energylens.profiles.tables.EstimatedArchitectureWarning` naming them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from energylens.profiles import cells, tables

__all__ = ["fill_architecture", "vision_encoders", "DEFAULT_VISION_PARAMS_B"]

#: Default vision-encoder size (billions) when an image model's table row has none (CLIP ViT-L ~0.3B).
DEFAULT_VISION_PARAMS_B = 0.3

# Columns that do not make a row "need" the table: an image count is only meaningful for image rows.
_NOT_REQUIRED = ("image_tokens_per_image",)


def fill_architecture(models: np.ndarray, params_b: np.ndarray, arch: dict[str, np.ndarray],
                      architecture: np.ndarray, active_params_b: np.ndarray, *, source: str) -> None:
    """Fill, in place, NaN cells of ``arch`` (architecture column -> float array), blank cells of
    ``architecture`` and NaN cells of ``active_params_b`` from the model table, one lookup per
    (model, params_b). Models not in the table get an estimated architecture (and no architecture kind
    or active ratio), listed in one warning that names ``source``."""
    need_arch = np.zeros(len(models), dtype=bool)
    for c, values in arch.items():
        if c not in _NOT_REQUIRED:
            need_arch |= np.isnan(values)
    need_meta = cells.is_missing(architecture) | np.isnan(active_params_b)
    estimated: list[tuple[int, str, float]] = []  # (first row needing it, model, params_b)
    for (name, p), rows in cells.key_groups(models, params_b, rows=np.flatnonzero(need_arch | need_meta)):
        name, p = str(name), float(p)
        arch_rows = rows[need_arch[rows]]
        spec = tables.find_model(name)
        if spec is None:
            if not len(arch_rows):
                continue
            spec = tables.model_spec(name, p, warn=False)  # estimated: fills no architecture kind / ratio
            estimated.append((int(arch_rows[0]), name, p))
        for c, values in arch.items():
            sub = values[arch_rows]
            nan = np.isnan(sub)
            if nan.any():
                values[arch_rows] = np.where(nan, float(getattr(spec, c)), sub)
        if not spec.estimated:
            architecture[rows[cells.is_missing(architecture[rows])]] = spec.architecture
            fill = rows[np.isnan(active_params_b[rows])] if spec.params_b > 0 else rows[:0]
            active_params_b[fill] = params_b[fill] * spec.active_params_b / spec.params_b
    if estimated:
        first: dict[str, float] = {}
        for _, name, p in sorted(estimated):
            first.setdefault(name, p)
        _warn_estimated(first, source)


def _warn_estimated(estimated: dict[str, float], source: str) -> None:
    listed = []
    for name, p in estimated.items():
        close = tables._close_matches(name, tables._model_frame(), n=3)
        listed.append(f"{name!r} ({p:g}B" + (f"; close: {', '.join(close)})" if close else ")"))
    warnings.warn(
        f"{source}: {len(estimated)} model(s) not in the model table; their architecture columns were "
        f"estimated from params_b (energylens.profiles.tables.estimate_architecture): {'; '.join(listed)}",
        tables.EstimatedArchitectureWarning, stacklevel=5)  # the caller of load_profiles


def vision_encoders(models: np.ndarray, params_b: np.ndarray, is_image: np.ndarray,
                    image_tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vision-encoder parameters in billions, tokens per image) for every row: for image/video rows the
    model table's encoder (else :data:`DEFAULT_VISION_PARAMS_B`) and, where ``image_tokens`` is NaN, its
    tokens per image; 0 and ``image_tokens`` unchanged elsewhere. One lookup per (model, params_b)."""
    vision_b = np.zeros(len(models))
    tokens = image_tokens.copy()
    if not is_image.any():
        return vision_b, tokens
    for (name, _), idx in cells.key_groups(models, params_b, rows=np.flatnonzero(is_image)):
        spec = tables.find_model(str(name))
        vb = None if spec is None else spec.vision_params_b
        vision_b[idx] = vb if (vb is not None and math.isfinite(vb)) else DEFAULT_VISION_PARAMS_B
        it = None if spec is None else spec.image_tokens_per_image
        if it is not None and math.isfinite(it):
            tokens[idx] = np.where(np.isfinite(tokens[idx]), tokens[idx], float(it))
    return vision_b, tokens
