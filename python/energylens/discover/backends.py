"""Symbolic-regression backends: which one runs (``auto`` says why), and running it to a Pareto front.

pyoperon (C++ GP, pip-installable) is the default; PySR (the paper's tool) is used when it is installed
*and* a Julia runtime is already present. PySR's import pulls in juliacall, which downloads Julia when it
finds none, so detection never imports either: it looks for the modules' specs and a Julia executable.
A backend returns the front as (complexity, SymPy expression over the variable names) pairs.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import sympy as sp
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from energylens.discover.select import (
    OPERON_INSTALL,
    PYSR_INSTALL,
    BackendChoice,
    BackendUnavailable,
    julia_executable,
    select_backend,
)
from energylens.signal_handlers import handlers_set

__all__ = ["BackendUnavailable", "BackendChoice", "select_backend", "julia_executable", "run_backend",
           "check_search_settings", "OPERON_INSTALL", "PYSR_INSTALL", "SearchInterrupted"]

#: Operators offered to the search (all run in the native engine).
OPERON_SYMBOLS = "add,sub,mul,div,constant,variable,sqrt,log,exp,square"


def _parse(text: str, names: Sequence[str]) -> sp.Expr:
    local: dict[str, object] = {n: sp.Symbol(n, positive=True) for n in names}
    # Operator names the backends print that SymPy does not know.
    local.update(square=lambda a: a**2, cube=lambda a: a**3, neg=lambda a: -a, inv=lambda a: 1 / a)
    return parse_expr(text.replace("^", "**"), local_dict=local,
                      transformations=(*standard_transformations, convert_xor))


def _progress(line: str, enabled: bool) -> None:
    if enabled:
        print(line, file=sys.stderr, flush=True)


#: Nodes operon's linear scaling adds to every expression of its front (c + s x: two constants, + and *).
OPERON_SCALING_NODES = 4
#: The shortest tree length operon builds a front with (pyoperon 0.6).
OPERON_MIN_LENGTH = 3
#: Search settings are below this: pyoperon takes 64-bit sizes, PySR Julia's Int64.
SETTING_LIMIT = 2**63
#: The smallest ``maxsize`` PySR accepts ("PySR requires a maxsize of at least 7").
PYSR_MIN_MAXSIZE = 7


def _backend_class(backend: str, module: str, name: str, install: str) -> type:
    """The backend's regressor class; :class:`BackendUnavailable` naming the install when the module, found by
    detection (which does not import it), fails to import (a wheel built against another NumPy, say): that was
    a traceback, after the template fit."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise BackendUnavailable(f"backend {backend!r}: {module} is installed but does not import ({exc}); "
                                 f"reinstall it: {install}") from None


def _whole_seconds(left: float) -> int:
    """operon's time limit for a round: whole seconds, at least 1; an infinite budget is ~30 years (int(inf)
    raised OverflowError)."""
    return max(1, int(min(left, 1e9)))


def _fit_round(reg, X: np.ndarray, y: np.ndarray, round_no: int, population: int) -> None:
    """One round of operon; a clear error where pyoperon cannot score its own front. pyoperon 0.6 computes each
    front tree's squared error with scikit-learn, which raises "Input contains NaN" when a tree has no finite
    value on some training row (a log of a negative, an exp that overflows): seen with tiny populations."""
    try:
        reg.fit(X, y)
    except MemoryError:  # (std::bad_alloc was a traceback, after the template fit)
        raise ValueError(f"operon ran out of memory for a population of {population} (--population): each "
                         "individual takes a few kB; give a smaller population") from None
    except ValueError as exc:
        if "NaN" not in str(exc) and "infinity" not in str(exc):
            raise
        raise ValueError(f"operon, round {round_no}: an expression of its front has no finite value on some "
                         f"training rows, and pyoperon cannot score it ({exc}). A larger --population (now "
                         f"{population}) or another --seed avoids it") from None


#: The signals whose handlers are held back while a round of operon runs (the command line raises on SIGTERM too).
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _round_finishes() -> Iterator[None]:
    """Ctrl-C (or SIGTERM) while a round of operon runs, raised when it ends, after its front is stored.

    pyoperon's C++ run does not poll for signals, so a signal in a round is heard when the round returns, and
    the KeyboardInterrupt was then raised in pyoperon's own Python before it stored the round's front: the
    round the user had waited for was lost (in the first round, everything). The signals' Python handlers
    (Python's own, or the command line's) are held back for the round and run once it has returned. Only in
    the main thread, and only over a Python handler (not where a shell ignores SIGINT)."""
    heard: list[int] = []
    previous: dict[int, Any] = {}
    try:
        with handlers_set(DEFERRED_SIGNALS, lambda signum, frame: heard.append(signum), over=callable) as previous:
            yield
    finally:  # (the handlers are back by now)
        for signum in heard[:1]:  # the first signal's handler raises (KeyboardInterrupt, Terminated), also in
            previous[signum](signum, None)  # place of an error of the round: the user asked to stop


def _round_sizes(generations: int) -> tuple[int, Iterator[int]]:
    """(rounds, each round's generations): rounds of 10, a last shorter one for a cap that is not a multiple of 10
    (the cap is the generations run). Lazy: a cap of 1e9 laid out 1e8 sizes (800 MB) before the first round."""
    rounds = -(-generations // 10)
    return rounds, (min(10, generations - 10 * r) for r in range(rounds))


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the search after some rounds: ``front`` is theirs, as :func:`run_backend` returns
    a front; ``info`` says how far the search got (``stopped_by`` "interrupt", ``rounds_run`` of ``rounds``);
    ``cause`` is the interrupt itself (KeyboardInterrupt, or the command line's SIGTERM exception). Before
    2026-12-06 an interrupt lost every round already run."""

    def __init__(self, front: list[tuple[int, sp.Expr]], info: dict[str, Any], cause: BaseException) -> None:
        super().__init__(f"the search was interrupted after {info.get('rounds_run')} of {info.get('rounds')} rounds")
        self.front, self.info, self.cause = front, info, cause


def _operon_rounds(X: np.ndarray, y: np.ndarray, *, max_complexity: int, time_budget_s: float, seed: int,
                   generations: int, population: int, progress: bool, state: dict[str, Any]) -> None:
    """operon's rounds of generations continued with warm_start: progress between rounds and a time check. With a
    fixed number of rounds (the generation cap reached before the time budget) a seed reproduces. ``state`` holds
    the regressor, the front of the last round run (``kept``: an interrupt in a round is heard when pyoperon's C++
    run returns, and that round's front is not kept), ``rounds_run``, ``generations_run`` and ``cut`` (a round that
    operon's time limit ended early)."""
    SymbolicRegressor = _backend_class("operon", "pyoperon.sklearn", "SymbolicRegressor", OPERON_INSTALL)
    rounds, sizes = _round_sizes(generations)
    state.update(reg=None, kept=None, rounds=rounds, rounds_run=0, generations_run=0, cut=False)
    t0 = last = state["t0"] = time.perf_counter()
    for r, size in enumerate(sizes):
        reg, left = state["reg"], time_budget_s - (time.perf_counter() - t0)
        if left <= 0 and reg is not None:  # (the first round always runs: a budget of 1e-300 had no front at all)
            _progress(f"discover: operon time budget {time_budget_s:g} s spent after {r} of {rounds} rounds", progress)
            break
        if reg is None:
            # operon's max_length bounds the tree before its linear scaling (c + s tree, 4 more nodes),
            # while the front's lengths count them: leave room for them so the front stays within the cap.
            # Below 3 operon builds no front at all (pyoperon 0.6: "min() arg is an empty sequence"), so a
            # cap of 5 or 6 asks for trees of 3 and run_backend drops what exceeds the cap.
            reg = state["reg"] = SymbolicRegressor(
                allowed_symbols=OPERON_SYMBOLS, objectives=["r2", "length"],
                max_length=max(OPERON_MIN_LENGTH, max_complexity - OPERON_SCALING_NODES), generations=size,
                population_size=population, random_state=seed, n_threads=1, max_time=_whole_seconds(left),
                warm_start=True)
        else:
            reg.set_params(random_state=seed + r, max_time=_whole_seconds(left), generations=size)
        with _round_finishes():  # an interrupt in the round is raised here, its front stored
            _fit_round(reg, X, y, r + 1, population)
            ran = int(reg.stats_.get("generations", size))  # fewer than size: operon's time limit cut the round
            state.update(kept=reg.pareto_front_, rounds_run=r + 1, generations_run=state["generations_run"] + ran,
                         cut=state["cut"] or ran < size)
        now = time.perf_counter()
        if now - last < 5.0 and r + 1 < rounds:  # a progress line every 5 s
            continue
        last = now
        best = min(p["mean_squared_error"] for p in reg.pareto_front_)
        r2 = 1.0 - best / float(np.var(y)) if np.var(y) > 0 else float("nan")
        budget = f" of the {time_budget_s:g} s time budget" if np.isfinite(time_budget_s) else ""
        _progress(f"discover: operon round {r + 1}/{rounds}, {now - t0:5.1f} s{budget}, "
                  f"front {len(reg.pareto_front_)} expressions, best training R^2 {r2:.5f}", progress)


def _run_operon(X: np.ndarray, y: np.ndarray, names: Sequence[str], *, max_complexity: int, time_budget_s: float,
                seed: int, generations: int, population: int, progress: bool,
                info: dict[str, Any]) -> list[tuple[int, sp.Expr]]:
    state: dict[str, Any] = {}
    try:
        _operon_rounds(X, y, max_complexity=max_complexity, time_budget_s=time_budget_s, seed=seed,
                       generations=generations, population=population, progress=progress, state=state)
        stop: BaseException | None = None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM: keep the front of the rounds already run
        if state.get("kept") is None:
            raise
        stop = exc
    s = state
    stopped_by = "interrupt" if stop else "generations" if s["generations_run"] >= generations else "time budget"
    info.update(generations_run=s["generations_run"], stopped_by=stopped_by, seconds=time.perf_counter() - s["t0"],
                rounds_run=s["rounds_run"], rounds=s["rounds"], round_cut=s["cut"])
    if stop is not None:
        _progress(f"discover: interrupted after {s['rounds_run']} of {s['rounds']} rounds of operon "
                  f"({s['generations_run']} generations); their front is kept", progress)
    front = [(int(p["length"]), _parse(s["reg"].get_model_string(p["tree"], 12, list(names)), names))
             for p in s["kept"]]
    if stop is not None:
        raise SearchInterrupted(front, info, stop)
    return front


def _run_pysr(X: np.ndarray, y: np.ndarray, names: Sequence[str], *, max_complexity: int, time_budget_s: float,
              seed: int, generations: int, population: int, progress: bool,
              info: dict[str, Any]) -> list[tuple[int, sp.Expr]]:
    exe = julia_executable()
    if exe is None:  # (select_backend refuses this; a hand-made BackendChoice does not)
        raise BackendUnavailable(f"backend 'pysr' needs a Julia runtime, none was found: {PYSR_INSTALL}")
    # juliacall >= 0.9 (PySR 1.x) starts the Julia that juliapkg finds: PYTHON_JULIAPKG_EXE, else a `julia`
    # on PATH of a compatible version, else it downloads one. PYTHON_JULIACALL_EXE is read only by older
    # juliacall. Both name the Julia detected, so a Julia found through JULIA_EXE (or off PATH) is the one
    # that runs, and none is downloaded.
    for var in ("PYTHON_JULIAPKG_EXE", "PYTHON_JULIACALL_EXE"):
        os.environ[var] = exe
    PySRRegressor = _backend_class("pysr", "pysr", "PySRRegressor", PYSR_INSTALL)

    reg = PySRRegressor(binary_operators=["+", "-", "*", "/"], unary_operators=["sqrt", "log", "exp", "square"],
                        maxsize=max_complexity, niterations=generations, population_size=population,
                        timeout_in_seconds=time_budget_s, random_state=seed, deterministic=True, parallelism="serial",
                        progress=progress, verbosity=1 if progress else 0)
    t0 = time.perf_counter()
    reg.fit(X, y, variable_names=list(names))
    # (PySR's regressor does not say how many iterations ran, so not which bound stopped it)
    info.update(generations_run=None, stopped_by=None, seconds=time.perf_counter() - t0)
    eqs = reg.equations_
    return [(int(c), _parse(str(e), names)) for c, e in zip(eqs["complexity"], eqs["equation"], strict=True)]


def check_search_settings(backend: str, *, max_complexity: int, time_budget_s: float, seed: int, generations: int,
                          population: int) -> None:
    """The search settings, each named where it is wrong (ValueError): checked by :func:`run_backend` and, before
    the profiles are read and the template fitted, by ``discover``."""
    if isinstance(max_complexity, bool) or not isinstance(max_complexity, (int, np.integer)) \
            or max_complexity < OPERON_SCALING_NODES + 1:
        raise ValueError(f"max_complexity (--max-complexity) must be an integer >= {OPERON_SCALING_NODES + 1} (the "
                         f"smallest expression, c + s x, has that many nodes), got {max_complexity!r}")
    if backend == "pysr" and max_complexity < PYSR_MIN_MAXSIZE:  # PySR refuses it, after starting Julia
        raise ValueError(f"max_complexity (--max-complexity) must be >= {PYSR_MIN_MAXSIZE} for the pysr backend "
                         f"(PySR's smallest maxsize), got {max_complexity}")
    if backend == "pysr" and not 0 <= seed < 2**32:  # PySR seeds NumPy's RandomState with it, after Julia starts
        raise ValueError(f"seed (--seed) must be < 2**32 for the pysr backend (PySR seeds NumPy's RandomState with "
                         f"it), got {seed}")
    if not time_budget_s > 0:  # (NaN too; inf is no budget: the generation cap stops the search)
        raise ValueError(f"time budget must be > 0 s, got {time_budget_s}")
    for what, value in (("generations", generations), ("population", population)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            # (-1 ran 9 generations, 0 ended in a bare AssertionError)
            raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    for what, value in (("max_complexity", max_complexity), ("generations", generations), ("population", population)):
        if value >= SETTING_LIMIT:  # (1e20: pyoperon's pybind11 TypeError, or an OverflowError: tracebacks)
            raise ValueError(f"{what} (--{what.replace('_', '-')}) must be an integer in [1, 2**63) (the backends "
                             f"take 64-bit integers), got {value}")


def run_backend(choice: BackendChoice, X: np.ndarray, y: np.ndarray, names: Sequence[str], *,
                max_complexity: int = 25, time_budget_s: float = 60.0, seed: int = 0, generations: int = 200,
                population: int = 500, progress: bool = True,
                info: dict[str, Any] | None = None) -> list[tuple[int, sp.Expr]]:
    """The backend's Pareto front on (X, y): (complexity, expression over ``names``), simplest first. ``info``, a
    dict, receives how the search went: ``generations_run``, ``stopped_by`` ("generations": the cap, so the seed
    reproduces the front; "time budget"; None where the backend does not say) and ``seconds`` (operon: also
    ``rounds_run`` of ``rounds`` and ``round_cut``, a round its time limit ended early). Ctrl-C (or SIGTERM) after
    operon's first round raises :class:`SearchInterrupted` holding the front of the rounds run
    (``stopped_by`` "interrupt"); in the first round, the interrupt itself."""
    if X.ndim != 2 or X.shape[1] != len(names) or len(y) != X.shape[0]:
        raise ValueError(f"X {X.shape}, y {y.shape} and {len(names)} names do not agree")
    for what, values in (("X", np.asarray(X, dtype=float)), ("y", np.asarray(y, dtype=float))):
        bad = ~np.isfinite(values) if values.ndim == 1 else ~np.isfinite(values).all(axis=1)
        if bad.any():  # (operon's own message blamed the front: "Input y contains NaN.")
            raise ValueError(f"{what} is not finite in {int(bad.sum())} of {len(bad)} rows (0-based: "
                             f"{np.flatnonzero(bad)[:10].tolist()}); the search needs finite inputs")
    check_search_settings(choice.name, max_complexity=max_complexity, time_budget_s=time_budget_s, seed=seed,
                          generations=generations, population=population)
    run = _run_operon if choice.name == "operon" else _run_pysr
    try:
        front = run(np.array(X, dtype=np.float64, order="C"), np.array(y, dtype=np.float64), names,
                    max_complexity=max_complexity, time_budget_s=time_budget_s, seed=seed, generations=generations,
                    population=population, progress=progress, info={} if info is None else info)
    except SearchInterrupted as exc:
        exc.front = _capped(exc.front, max_complexity)
        raise
    return _capped(front, max_complexity)


def _capped(front: list[tuple[int, sp.Expr]], max_complexity: int) -> list[tuple[int, sp.Expr]]:
    return sorted(((c, e) for c, e in front if c <= max_complexity), key=lambda t: t[0])  # a cap is a cap
