"""Where a sweep's model is: a folder on this machine or a Hugging Face id, and how the backends are given it."""

from __future__ import annotations

import os

__all__ = ["is_local_path", "load_path"]


def is_local_path(model: str) -> bool:
    """A model on this machine, not a Hub id: a path ("/m/x", "./x", "~/x") or a name that exists in the working
    directory ("llama-8b", "org/name"), as vLLM (``Path(model).exists()``) and transformers decide."""
    return model.startswith(("/", "./", "../", "~")) or os.path.exists(model)


def load_path(model: str) -> str:
    """``model`` as vLLM / transformers are given it: ``~`` expanded (neither expands it), else as written."""
    return os.path.expanduser(model) if model.startswith("~") else model
