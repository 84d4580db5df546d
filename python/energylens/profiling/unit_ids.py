"""What a unit's ``config_id`` holds of the generated media, and the ids a store written before 2026-12-07 gave.

``sweep.image_size`` is read by image and video prompts, ``sweep.num_frames`` by video prompts only. A unit's id
holds the value of each media setting its modality reads and the setting's default for the others
(:func:`id_options`), so editing ``image_size`` renames no text unit; the defaults keep the ids of stores written
before, when every unit's id held both settings as the spec gave them. A store of that time whose sweep set either to
another value named its text (and image) units with it: :func:`named_as_store` gives the units the ids that store
holds, so ``--resume`` goes on under them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

__all__ = ["MEDIA_DEFAULTS", "MEDIA_READ_BY", "ID_MEDIA", "id_options", "named_as_store"]

#: The [sweep] settings of generated media and their defaults.
MEDIA_DEFAULTS: dict[str, Any] = {"image_size": [224, 224], "num_frames": 8}
#: The modalities whose prompts read each media setting.
MEDIA_READ_BY: dict[str, tuple[str, ...]] = {"image_size": ("image", "video"), "num_frames": ("video",)}
#: The option that carries the media values a unit's id holds for the settings its modality does not read (a store's
#: of before 2026-12-07; absent: :data:`MEDIA_DEFAULTS`). Not itself part of the id.
ID_MEDIA = "id_media"


def id_options(options: Mapping[str, Any], modality: str) -> dict[str, Any]:
    """``options`` as a unit's id holds them: each media setting its ``modality`` does not read at the default (or
    at the store's value, :data:`ID_MEDIA`), the settings it reads as given."""
    unread = options.get(ID_MEDIA) or MEDIA_DEFAULTS
    out = {k: v for k, v in options.items() if k != ID_MEDIA}
    for key, readers in MEDIA_READ_BY.items():
        if key in out and modality not in readers:
            out[key] = unread[key]
    return out


def named_as_store(configs: list, store: Any, manifest_of: Callable[[list], Mapping[str, Any]]) -> list:
    """``configs`` under the ids ``store`` (a :class:`~energylens.profiling.store.Store`) gives them: as they are
    where it holds no store or lists them so (``manifest_of(configs)``'s ``units_hash``, older ``spec_hash``, equal
    to the store's), else with the media values of the store's sweep for the settings a unit's modality does not
    read, where that makes the store's units (a store written before 2026-12-07 with another image_size or
    num_frames); else as they are (the store's check then refuses another spec)."""
    old = store.manifest() if store.exists() else {}
    key = "units_hash" if "units_hash" in old else "spec_hash"
    sweep = old.get("sweep")
    if not isinstance(sweep, Mapping) or manifest_of(configs)[key] == old.get(key):
        return configs
    media = {k: sweep.get(k, v) for k, v in MEDIA_DEFAULTS.items()}
    if media == MEDIA_DEFAULTS:
        return configs
    named = [replace(c, options={**c.options, ID_MEDIA: media}) for c in configs]
    return named if manifest_of(named)[key] == old.get(key) else configs
