"""Command-line tests run with Python's own SIGINT handler, however pytest was started.

A shell starts background jobs (``cmd &``, ``nohup``) with SIGINT ignored, and ``energylens`` then leaves
SIGINT alone on purpose (cli/main.py: "not where the shell ignores it"); the interrupt tests check the
handler a foreground command installs and restores, so each test here gets the default handler and the
previous disposition back afterwards."""

from __future__ import annotations

import signal
import threading

import pytest


@pytest.fixture(autouse=True)
def python_sigint_handler():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
