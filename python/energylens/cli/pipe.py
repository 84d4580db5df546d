"""Standard output and error that outlive their reader: ``energylens fit ... | head`` (and ``2>&1 | head``,
``|& head``) must still write the model file.

A command prints its report and writes its files; when the reader of a pipe (``head``, ``less`` quit early)
goes away, the next write raises ``BrokenPipeError`` and, unhandled, would end the command with a traceback
before its outputs were written. On stderr it is worse: the error handler's own line breaks again and the
command ends with status 1, its outputs unwritten. :func:`pipe_safe_output` wraps ``sys.stdout`` and
``sys.stderr`` for the run of a command: a stream's first broken-pipe error points its file descriptor at
``/dev/null`` (as the Python docs advise for SIGPIPE, so neither later writes nor the interpreter's last flush
fail) and the command runs to its end.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["pipe_safe_output"]


class _PipeSafe:
    """``stream`` whose writes and flushes survive the reader closing the pipe (later output is dropped)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def _drop_output(self) -> None:
        self.reader_gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop_output()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop_output()
            with contextlib.suppress(BrokenPipeError):
                self._stream.flush()  # the buffered rest now goes to /dev/null

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _has_descriptor(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # pytest's capture, io.StringIO: no pipe to lose
        return False
    return True


@contextlib.contextmanager
def pipe_safe_output() -> Iterator[None]:
    """Wrap ``sys.stdout`` and ``sys.stderr`` for the block (each that is a real file descriptor); flush them
    before restoring."""
    wrapped: dict[str, tuple[Any, _PipeSafe]] = {}
    for name in ("stdout", "stderr"):
        original = getattr(sys, name)
        if original is not None and _has_descriptor(original):
            wrapped[name] = (original, _PipeSafe(original))
            setattr(sys, name, wrapped[name][1])
    try:
        yield
    finally:
        for name, (original, safe) in wrapped.items():
            safe.flush()
            if getattr(sys, name) is safe:
                setattr(sys, name, original)
