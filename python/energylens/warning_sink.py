"""Warnings collected per thread: what a call validating a table in chunks uses to show each warning once.

``warnings.catch_warnings`` swaps process-wide state (the module's ``showwarning`` hook and filters); two
threads inside it at once leave the hook pointing at one call's list for good, after which every warning
of the process is appended there unseen. Code that a chunked call runs warns through :func:`warn`: inside
:func:`collected` on the same thread the warning is kept for the caller, elsewhere it is an ordinary
``warnings.warn``.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collected", "warn"]

_local = threading.local()


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
        warnings.warn(message, category, stacklevel=stacklevel + 1)
