"""energylens.signal_handlers.handlers_set: the one way monitor (closing its run, running a command) and discover
(a round of operon) swap signal handlers for a block: set where ``over`` accepts the current handler, put back
however the block ends, nothing set outside the main thread."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from energylens.signal_handlers import handlers_set


def _mine(signum, frame):  # a handler of the test's, to see it set and put back
    raise AssertionError("not to be called")


@pytest.fixture
def restore():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)}
    yield
    for s, h in before.items():
        signal.signal(s, h)


def test_set_for_the_block_and_put_back_even_on_an_error(restore):
    signal.signal(signal.SIGUSR1, _mine)
    heard = []
    with pytest.raises(RuntimeError), handlers_set((signal.SIGUSR1,), lambda s, f: heard.append(s)) as previous:
        assert previous == {signal.SIGUSR1: _mine}
        os.kill(os.getpid(), signal.SIGUSR1)
        raise RuntimeError("the block failed")
    assert heard == [signal.SIGUSR1]
    assert signal.getsignal(signal.SIGUSR1) is _mine


def test_over_picks_the_handlers_to_replace(restore):
    """monitor's forwarding: not over SIG_IGN (a shell's); discover's rounds: only over a Python handler."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGUSR1, _mine)
    signums = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
    with handlers_set(signums, _mine, over=lambda h: h is not signal.SIG_IGN) as previous:
        assert set(previous) == {signal.SIGTERM, signal.SIGUSR1}
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    with handlers_set(signums, lambda s, f: None, over=callable) as previous:
        assert set(previous) == {signal.SIGUSR1}
    with handlers_set(signums, _mine) as previous:  # (monitor's closing: over anything)
        assert set(previous) == set(signums)
    assert [signal.getsignal(s) for s in signums] == [signal.SIG_IGN, signal.SIG_DFL, _mine]


def test_outside_the_main_thread_nothing_is_set(restore):
    seen = []

    def run():
        with handlers_set((signal.SIGUSR1,), _mine) as previous:
            seen.append(previous)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen == [{}]
