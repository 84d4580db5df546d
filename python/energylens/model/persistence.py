"""The model file: a versioned JSON document written by ``EnergyModel.save`` / ``LatencyModel.save`` and
read back by ``load`` / :func:`energylens.model.load_model`, plus the hash that ties a fit to its data.

Layout: ``format`` (``"energylens.model"``), ``version`` (:data:`MODEL_FILE_VERSION`), ``energylens_version``,
``created_unix_s``, then ``energy`` and ``latency`` (each a model's state or null).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from energylens import __version__
from energylens.errors import ModelFileError

__all__ = ["MODEL_FILE_VERSION", "data_hash", "read_model_file", "write_model_file"]

#: Version of the JSON model file written by ``save``; ``load`` refuses newer ones.
MODEL_FILE_VERSION = 1
_FORMAT = "energylens.model"


def data_hash(columns: list[np.ndarray], targets: list[np.ndarray]) -> str:
    """A short SHA-256 of the feature columns and targets a model was fitted on."""
    h = hashlib.sha256()
    for a in [*columns, *targets]:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return "sha256:" + h.hexdigest()[:32]


def write_model_file(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (the energy and latency states) as a model file at ``path``."""
    doc = {"format": _FORMAT, "version": MODEL_FILE_VERSION, "energylens_version": __version__,
           "created_unix_s": time.time(), **payload}
    Path(path).write_text(json.dumps(doc, indent=1, allow_nan=True))


def read_model_file(path: str | Path) -> dict[str, Any]:
    """The document of a model file; ModelFileError naming the path when it is missing, not JSON, not a
    model file or of an unsupported version."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such model file")
    try:
        doc = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{p}: not a JSON model file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ModelFileError(f"{p}: not an energylens model file (format {doc.get('format') if isinstance(doc, dict) else None!r})")
    version = doc.get("version")
    if not isinstance(version, int) or version > MODEL_FILE_VERSION or version < 1:
        raise ModelFileError(f"{p}: model file version {version!r} is not supported (this energylens reads "
                             f"versions 1..{MODEL_FILE_VERSION}); upgrade energylens or refit")
    return doc
