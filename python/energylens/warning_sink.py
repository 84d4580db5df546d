"""Warnings collected per thread: what a call validating a table in chunks uses to show each warning once.

``warnings.catch_warnings`` swaps process-wide state (the module's ``showwarning`` hook and filters); two
threads inside it at once leave the hook pointing at one call's list for good, after which every warning
of the process is appended there unseen. Code that a chunked call runs warns through :func:`warn`: inside
:func:`collected` on the same thread the warning is kept for the caller, elsewhere it is shown as
``warnings.warn`` shows it, through :func:`warn_bounded`.

:func:`warn_bounded` is for warnings whose text changes from call to call (row counts, extreme values,
names from the input). Under Python's default filter action ("show once per location") ``warnings.warn``
remembers every text it has shown in the calling module's ``__warningregistry__``, for the life of the
process: a scheduler predicting each request's rows kept one entry per distinct extrapolation text (3452
entries, 2.2 MB, after 20000 one-request predicts with random prompt lengths and batches, growing without
bound). Here that memory is capped per calling file, so a text shown before shows again once the cap is
passed, which is all Python itself does when the filters change.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collected", "warn", "warn_bounded", "REGISTRY_ENTRIES"]

_local = threading.local()

#: Texts remembered (per calling file) for the "default" / "module" filter actions before that memory is
#: cleared; a long-running process keeps at most this many per file that warns through here.
REGISTRY_ENTRIES = 1024
_registries: dict[str, dict] = {}  # the calling file -> what warnings.warn_explicit remembers for it


@contextmanager
def collected() -> Iterator[list[tuple[str, type[Warning]]]]:
    """(message, category) of every :func:`warn` this thread makes inside the block, instead of showing them."""
    outer = getattr(_local, "items", None)
    _local.items = items = []
    try:
        yield items
    finally:
        _local.items = outer


def warn(message: str, category: type[Warning], stacklevel: int = 1) -> None:
    """``warnings.warn(message, category, stacklevel)`` (counted from the caller of this function), or kept
    for the enclosing :func:`collected` block of this thread."""
    items = getattr(_local, "items", None)
    if items is not None:
        items.append((str(message), category))
    else:
        warn_bounded(message, category, stacklevel + 1)


def warn_bounded(message: str, category: type[Warning], stacklevel: int = 1) -> None:
    """``warnings.warn(message, category, stacklevel)`` (the same location, filters and hooks), except that the
    texts it remembers for "show once" are kept in a registry of at most :data:`REGISTRY_ENTRIES` per
    calling file instead of the caller module's ever-growing ``__warningregistry__``."""
    try:
        frame = sys._getframe(stacklevel)
    except ValueError:  # fewer frames than stacklevel: where warnings.warn puts such a warning
        module_globals, filename, lineno = sys.__dict__, "sys", 1
    else:
        module_globals, filename, lineno = frame.f_globals, frame.f_code.co_filename, frame.f_lineno
    registry = _registries.get(filename)
    if registry is None or len(registry) > REGISTRY_ENTRIES:
        registry = _registries[filename] = {}
    # No module_globals: warnings.warn passes none to the C warn_explicit either, which otherwise asks the
    # module's __loader__ for its source and raises where there is none (`python -c`: the BuiltinImporter's
    # ImportError "'__main__' is not a built-in module" instead of the warning).
    warnings.warn_explicit(message, category, filename, lineno, module_globals.get("__name__", "<string>"), registry)
