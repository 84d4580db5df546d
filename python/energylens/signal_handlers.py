"""Signal handlers swapped for the span of a ``with`` block and put back after it.

A foundation module: imports nothing of energylens. Used where a command holds back or redirects Ctrl-C /
SIGTERM for a while (``monitor`` closing its run, or running a command; ``discover``'s rounds of operon).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["handlers_set"]


@contextlib.contextmanager
def handlers_set(signums: Iterable[int], handler: Callable[[int, Any], Any], *,
                 over: Callable[[Any], bool] = lambda previous: True) -> Iterator[dict[int, Any]]:
    """Set ``handler`` for each of ``signums`` whose current handler ``over`` accepts (``over=callable``: only
    over a Python handler, not SIG_DFL or SIG_IGN; ``over=lambda h: h is not signal.SIG_IGN``: not where a shell
    ignores it), and put the previous handlers back when the block ends, however it ends. Yields {signal: its
    previous handler} for those set. Python sets handlers only in the main thread: elsewhere nothing is set (and
    the dict is empty); nor over a handler set outside Python (``getsignal`` None), which could not be put back."""
    previous: dict[int, Any] = {}
    try:
        if threading.current_thread() is threading.main_thread():
            for s in signums:
                current = signal.getsignal(s)
                if current is not None and over(current):
                    previous[s] = signal.signal(s, handler)
        yield previous
    finally:
        for s, before in previous.items():
            signal.signal(s, before)
