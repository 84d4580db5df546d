"""energylens inside a long-running service (a scheduler importing it): a progress callback that raises,
Ctrl-C during a search, fork children after the parent ran the native loops, the thread cap covering the
search, warnings from concurrent predicts, and once-per-process fits (the scheduler audit of 2026-12-04)."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
import threading
import time
import warnings

import pytest

import energylens
from energylens.measure.attribution import attribute
from energylens.parallel import once, threads
from energylens.profiles.datasets import mlenergy_v2
from energylens.search.api import bundled_model

KW = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpus="H100", input_tokens=512, output_tokens=256, top=3,
          bootstrap=False)
BIG = dict(model="meta-llama/Llama-3.1-70B-Instruct,meta-llama/Llama-3.1-8B-Instruct", gpus="H100,H200,A100-80GB",
           input_tokens=[256, 512, 1024, 2048], output_tokens=[128, 256, 512, 1024], tp=[1, 2, 4, 8],
           pp=[1, 2, 4], dp=list(range(1, 33)), max_num_seqs=list(range(1, 257)), rate_per_s=5.0, top=3,
           bootstrap=False)


@pytest.fixture(scope="module")
def model():
    return bundled_model()


def test_an_exception_in_the_progress_callback_reaches_the_caller(model):
    calls = []

    def cb(done, total):
        calls.append(done)
        raise RuntimeError("the caller wants to stop")

    with pytest.raises(RuntimeError, match="the caller wants to stop"):  # not std::terminate
        energylens.search(**KW, energy_model=model, progress=cb)
    assert len(calls) == 1
    assert len(energylens.search(**KW, energy_model=model).top) == 3  # and the process goes on


def test_ctrl_c_stops_a_long_search_without_a_progress_callable(model):
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        energylens.search(**BIG, energy_model=model, threads=1)
    assert time.perf_counter() - t0 < 5.0  # the space takes far longer (a 1.1e8-candidate load-mode search)


def _child_search(q, m):
    q.put(len(energylens.search(**KW, energy_model=m, threads=2).top))


def _child_attribute(q):
    q.put(len(_attribution().classes))


def _attribution():
    trace = energylens.synthetic_trace(duration_s=20.0, seed=1)
    return attribute(trace[0] if isinstance(trace, tuple) else trace, bootstrap=50)


def _in_fork_child(target, *args):
    """(hung, exit code, what the child put on its queue) of ``target(queue, *args)`` in a fork child."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(q, *args))
    p.start()
    p.join(timeout=60)
    hung = p.is_alive()
    if hung:
        p.kill()
        p.join()
    return hung, p.exitcode, None if hung or p.exitcode else q.get(timeout=5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_fork_child_searches_after_the_parent_did(model):
    energylens.search(**KW, energy_model=model, threads=2)  # the parent's native loop ran on 2 threads
    hung, code, rows = _in_fork_child(_child_search, model)
    assert not hung, "the fork child's search hung (an OpenMP team does not survive fork)"
    assert code == 0 and rows == 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_fork_child_attributes_after_the_parent_did():
    n = len(_attribution().classes)  # the parent's bootstrap ran on the native threads
    hung, code, classes = _in_fork_child(_child_attribute)
    assert not hung, "the fork child's attribution hung"
    assert code == 0 and classes == n


def test_the_thread_cap_covers_the_search(model):
    with threads(1):
        assert energylens.search(**KW, energy_model=model).threads == 1


def test_concurrent_predicts_leave_the_warning_machinery_alone():
    d = mlenergy_v2()
    m = energylens.EnergyModel(bootstrap=0).fit(d.sample(50, random_state=0))
    raw = d[["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]].assign(dp=1)
    hook = warnings._showwarnmsg_impl  # what catch_warnings(record=True) swapped process-wide
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda _: m.predict(raw), range(64)))
    assert warnings._showwarnmsg_impl is hook
    with pytest.warns(UserWarning, match="still shown"):
        warnings.warn("still shown", stacklevel=2)


def test_once_runs_a_first_call_once_for_threads_that_race():
    runs = []

    @once
    def slow():
        runs.append(1)
        time.sleep(0.2)
        return object()

    with cf.ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda _: slow(), range(4)))
    assert len(runs) == 1 and all(g is got[0] for g in got)
    slow.cache_clear()
    slow()
    assert len(runs) == 2
