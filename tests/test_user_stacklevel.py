"""A package warning names the user's line (errors.user_stacklevel), also where it is raised inside a generator-based
context manager of the package: the frames contextlib runs between the package and the user (its ``__enter__``,
an ExitStack) are stdlib frames, not the user's. The store lock's warning on a file system without locks
(profiling.store.Store.lock, a @contextlib.contextmanager) pointed at energylens/profiling/runner.py under
run_sweep (a fixed stacklevel=3: contextlib's frame, then the package's ``with``); it names the caller's line."""

from __future__ import annotations

import contextlib
import errno
import sys
import warnings

import pytest

from energylens.errors import user_stacklevel
from energylens.profiling import parse_spec, run_sweep
from energylens.profiling import store as store_module

ROW = {"config_id": "abc", "status": "ok", "error": "", "model": "meta-llama/Llama-3.1-8B-Instruct",
       "params_b": 8.03, "gpu": "H100", "tp": 1, "pp": 1, "batch_size": 4.0, "input_tokens": 100.0,
       "output_tokens": 50.0, "energy_j": 120.0}


def _fake(cfg, power_source):
    return {**ROW, "config_id": cfg.config_id}


@pytest.fixture
def no_locks(monkeypatch):
    def refuse(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    if store_module.fcntl is None:
        pytest.skip("no fcntl (Windows): the store takes no lock")
    monkeypatch.setattr(store_module.fcntl, "flock", refuse)


def _one_warning(got) -> warnings.WarningMessage:
    said = [w for w in got if "cannot lock the store" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in got]
    return said[0]


def test_run_sweeps_lock_warning_names_the_callers_line(no_locks, tmp_path):
    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1], "input_len": [8], "output_len": [4]}})
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        line = _line() + 1
        run_sweep(spec, str(tmp_path / "s"), power_source="none", run_one=_fake)
    w = _one_warning(got)
    assert (w.filename, w.lineno) == (__file__, line)


@pytest.mark.parametrize("how", ["with", "exit-stack"])
def test_a_package_context_managers_warning_names_the_with_line(no_locks, tmp_path, how):
    store = store_module.Store(tmp_path / "s")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        if how == "with":
            line = _line() + 1
            with store.lock():
                pass
        else:
            with contextlib.ExitStack() as stack:
                line = _line() + 1
                stack.enter_context(store.lock())
    w = _one_warning(got)
    assert (w.filename, w.lineno) == (__file__, line)


def test_outside_the_package_it_is_the_caller():
    # called from this file (not the package): stacklevel 1, the warn call itself
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        line = _line() + 1
        warnings.warn("here", UserWarning, stacklevel=user_stacklevel())
    assert (got[0].filename, got[0].lineno) == (__file__, line)


def _line() -> int:
    """The line number of the caller's call of this function."""
    return sys._getframe(1).f_lineno
