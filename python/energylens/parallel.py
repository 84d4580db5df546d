"""Threads and instruction-set level of the native loops, process-wide.

``set_num_threads(n)`` caps every native loop (fit, bootstrap, evaluate, search); by default they use
the CPUs this process may run on (its affinity mask, as ``os.sched_getaffinity``), never more, and one
thread for small inputs. ``threads(n)`` caps the calls the current Python thread makes inside a ``with``
block (other threads are not affected), and the public calls that take ``n_threads=`` use it. ``isa()`` tells which vectorised build of the evaluator runs (avx512, avx2 or
baseline); ``use_isa(name)`` picks a lower one, for tests and benchmarks.

A foundation module: imports only the native core.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import operator
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from energylens import _core

__all__ = ["num_threads", "set_num_threads", "threads", "honours_n_threads", "isa", "supported_isas", "use_isa",
           "once", "MAX_THREADS"]

#: Largest thread count the native loops take (a C ``int``); they never run more threads than the CPUs
#: this process may use, so any larger cap means "all of them".
MAX_THREADS = 2**31 - 1

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")


def num_threads() -> int:
    """Threads the native loops may use now."""
    return int(_core.max_threads())


def set_num_threads(n_threads: int) -> None:
    """Cap the native loops' threads; 0 restores the default (the CPUs this process may use)."""
    n = _whole(n_threads)
    if n is None:
        raise TypeError(f"n_threads must be an integer (int or NumPy integer), got {type(n_threads).__name__}")
    _core.set_max_threads(_in_range(n, 0, "0 restores the default"))


@contextlib.contextmanager
def threads(n_threads: int | None) -> Iterator[None]:
    """Cap the threads of the native loops this Python thread runs inside the block (``None``: leave the
    setting as it is). Other threads' calls keep their own setting, so concurrent calls with different
    ``n_threads=`` neither see nor undo each other's cap."""
    if n_threads is None:
        yield
        return
    n = _whole(n_threads)
    if n is None:
        raise ValueError(f"n_threads must be an integer >= 1 (or None), got {n_threads!r}")
    n = _in_range(n, 1, "or None: the process-wide setting")
    before = _core.thread_max_threads()
    _core.set_thread_max_threads(n)
    try:
        yield
    finally:
        _core.set_thread_max_threads(before)


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is an integer (int or NumPy integer, not a bool), else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _in_range(n: int, low: int, note: str) -> int:
    """``n`` when ``low <= n <= MAX_THREADS``; ValueError naming n_threads and the range otherwise."""
    if not low <= n <= MAX_THREADS:
        raise ValueError(f"n_threads must be >= {low} and <= {MAX_THREADS} (2**31 - 1; {note}), got {n}")
    return n


def honours_n_threads(fn: _F) -> _F:
    """Give ``fn`` a keyword ``n_threads`` (int >= 1 or None) that caps the native loops it runs, via
    :func:`threads`; for public functions whose native calls sit deep in helpers."""
    @functools.wraps(fn)
    def wrapper(*args: Any, n_threads: int | None = None, **kwargs: Any) -> Any:
        with threads(n_threads):
            return fn(*args, **kwargs)
    # help() / IDEs read the wrapped function's signature (functools.wraps): add n_threads, before any **kwargs
    params = list(inspect.signature(fn).parameters.values())
    at = len(params) - 1 if params and params[-1].kind is inspect.Parameter.VAR_KEYWORD else len(params)
    params.insert(at, inspect.Parameter("n_threads", inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation="int | None"))
    wrapper.__signature__ = inspect.signature(fn).replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def isa() -> str:
    """Instruction-set level the evaluator runs at: "avx512", "avx2" or "baseline"."""
    return str(_core.active_isa())


def supported_isas() -> list[str]:
    """Levels this CPU supports, lowest first."""
    return [str(x) for x in _core.supported_isas()]


@contextlib.contextmanager
def use_isa(name: str) -> Iterator[None]:
    """Run the evaluator at ``name`` (a level this CPU supports) inside the block."""
    before = _core.active_isa()
    _core.set_isa(name)
    try:
        yield
    finally:
        _core.set_isa(before)


def once(fn: Callable[[], _T]) -> Callable[[], _T]:
    """A function of no arguments computed once per process, its value kept: threads that call it while the
    first call runs wait for that call (``functools.cache`` would run it once per waiting thread: four
    threads' first searches each fitted the bundled model). ``.cache_clear()`` forgets the value."""
    lock = threading.Lock()
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def wrapper() -> _T:
        with lock:
            return cached()

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper
