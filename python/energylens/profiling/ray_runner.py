"""Running a sweep's units on a Ray cluster: one task per configuration, its GPUs reserved.

Each unit becomes a Ray task with ``num_gpus = tp x pp x dp`` (``reserve_gpus=False`` reserves none,
for CPU clusters and tests) that runs :func:`energylens.profiling.worker.measure` and the cooldown on whichever
node Ray places it and returns the row; the driver writes each row into the store as soon as it arrives
(so a killed driver loses only rows still in flight, which ``--resume`` runs again).
``address="local"`` starts a local cluster; anything else is passed to ``ray.init(address=...)``.

A part that cannot be written (:class:`~energylens.profiling.store.PartNotWrittenError`: a full disk, a
read-only store; its row is rescued) stops the sweep without losing the units running on the cluster: each
task passes a :class:`_Gate` (a Ray actor) before it measures anything, the driver closes it, so no queued
unit starts, cancels the queued ones, waits for the units the gate had let in and keeps their rows as the
first one's (written, else rescued), then raises one error naming them all (:func:`_drained_error`).
"""

from __future__ import annotations

import contextlib
import logging
import platform
import signal
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

from energylens.outputs import plural
from energylens.profiling.requirements import check_ray
from energylens.profiling.spec import RunConfig
from energylens.profiling.store import PartNotWrittenError
from energylens.profiling.worker import STOP_GRACE_S, WAIT_SLICE_S, base_row, cooldown, error_text, measure

__all__ = ["run_on_ray", "gpu_shortage"]

#: Ray (2.5x) starting a local cluster with RAY_AUTH_MODE unset turns token authentication on and says so on stderr
#: (a warning of this logger, through Python's last-resort handler: ray.init runs with configure_logging=False).
_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"
_TOKEN_NOTICE = "Token authentication is enabled for this Ray cluster."


def gpu_shortage(configs: list[RunConfig], cluster_gpus: float, address: str) -> str:
    """Why units reserving ``tp x pp x dp`` GPUs each can never start on a cluster of ``cluster_gpus`` GPUs in
    all, or ``""``: Ray keeps such a task pending without an error, so the sweep waited forever, silently (a
    CPU machine's ``--ray local`` without ``--ray-no-gpus``)."""
    need = max((c.n_gpus for c in configs), default=0)
    if need <= cluster_gpus:
        return ""
    n = sum(c.n_gpus > cluster_gpus for c in configs)
    return (f"{n} of the {len(configs)} units reserve more GPUs (tp x pp x dp, up to {need}) than the Ray cluster "
            f"at {address} has in all ({cluster_gpus:g}), so Ray would keep them waiting; on a cluster without GPUs "
            "add --ray-no-gpus")


class _Gate:
    """Lets units start until the driver closes it (a Ray actor: its calls run one at a time, so a unit is
    either let in before the close, and the driver waits for it, or turned away after it, and never measures)."""

    def __init__(self) -> None:
        self.open, self.started = True, []

    def admit(self, config_id: str) -> bool:
        if self.open:
            self.started.append(config_id)
        return self.open

    def close(self) -> list[str]:
        """Let no more units start; returns the ids of those let in."""
        self.open = False
        return list(self.started)


def _task(cfg_dict: dict[str, Any], power_source: str, gate: Any = None) -> dict[str, Any] | None:
    """Run one unit and return its row, or ``None`` where the gate is closed (the sweep stopped before it
    started). An unreachable gate lets the unit run: its row is still collected."""
    cfg = RunConfig.from_dict(cfg_dict)
    if gate is not None and not admitted(check_ray(), gate, cfg.config_id):
        return None
    row = measure(cfg, power_source)
    row["ray_node"] = platform.node()
    try:  # (here, so the unit's GPUs stay reserved while they cool)
        cooldown(cfg, slice_s=WAIT_SLICE_S)
    except KeyboardInterrupt:  # the sweep stopped in the pause (Ray's cancellation): the measured row still goes back
        pass
    return row


def admitted(ray: Any, gate: Any, config_id: str) -> bool:
    """Whether ``gate`` lets the unit ``config_id`` start (an unreachable gate does: the unit's row is still
    collected). The answer is awaited on a helper thread: a task blocked in ``ray.get`` (or ``ray.wait``) on
    its main thread hands its CPU back to Ray, which starts another queued unit on it meanwhile, and both then
    measure at once (3 units on a 2-CPU cluster with ``--ray-no-gpus``, until 2026-12-07); Ray releases
    nothing for a call on another thread."""
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="energylens-gate") as pool:
            return bool(pool.submit(ray.get, gate.admit.remote(config_id)).result())
    except Exception:  # noqa: BLE001 - the gate's actor lost: measure as before there was a gate
        return True


def _drop_token_notice(record: logging.LogRecord) -> bool:
    """False for Ray's notice that the local cluster it starts uses token authentication (:data:`_TOKEN_NOTICE`)."""
    return not record.getMessage().startswith(_TOKEN_NOTICE)


@contextlib.contextmanager
def _no_token_notice() -> Any:
    """Ray's token-authentication notice dropped while ``--ray local`` starts the sweep's own cluster (it printed
    'Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out. ...' on every
    such sweep until 2026-12-07); Ray's other messages, of that logger too, are kept."""
    logger = logging.getLogger(_TOKEN_LOGGER)
    logger.addFilter(_drop_token_notice)
    try:
        yield
    finally:
        logger.removeFilter(_drop_token_notice)


def _init_keeping_sigterm(ray: Any, address: str) -> None:
    """``ray.init`` with the caller's SIGTERM handler in force throughout, also while it starts.

    ray.init (and the local node it starts) installs its own handlers (``sys.exit(15)``; kill the node's
    processes and exit 1 after a C++ stack dump) through ``ray._private.utils.set_sigterm_handler``: that
    setter is silenced during the call and the caller's handler put back after it, whatever happens, so
    ``energylens profile`` stops its workers and exits 143 even when the signal comes during start-up.
    A start that fails or is interrupted shuts down what it had started.
    """
    on_term = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    setter = getattr(utils, "set_sigterm_handler", None) if on_term is not None else None
    if setter is not None:
        utils.set_sigterm_handler = lambda handler: None
    try:
        if address == "local":
            with _no_token_notice():
                ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except BaseException:
        try:
            ray.shutdown()
        except Exception:  # noqa: BLE001 - the start's own error is the one to report
            pass
        raise
    finally:
        if setter is not None:
            utils.set_sigterm_handler = setter
        if on_term is not None:
            signal.signal(signal.SIGTERM, on_term)


def run_on_ray(configs: list[RunConfig], power_source: str, address: str,
               record: Callable[[RunConfig, dict[str, Any]], None], *, reserve_gpus: bool = True,
               out=None) -> None:
    """Run ``configs`` as Ray tasks; ``record(cfg, row)`` is called on the driver for each result. Where it
    raises :class:`PartNotWrittenError`, the units in flight are collected first (see the module docstring;
    ``out`` says that the sweep waits for them)."""
    ray = check_ray()
    started_here = False
    if not ray.is_initialized():
        _init_keeping_sigterm(ray, address)
        started_here = True
    try:
        shortage = gpu_shortage(configs, ray.cluster_resources().get("GPU", 0), address) if reserve_gpus else ""
        if shortage and address == "local":  # nothing will add GPUs to this machine
            raise ValueError(f"{shortage}; the store is kept: rerun with --resume")
        if shortage:  # an autoscaler may yet add GPU nodes: say why the units wait
            print(f"energylens profile: warning: {shortage}, unless the cluster's autoscaler adds GPU nodes",
                  file=sys.stderr, flush=True)
        gate = ray.remote(num_cpus=0)(_Gate).remote()
        remote = ray.remote(_task)
        pending = {}
        try:
            for cfg in configs:
                opts = {"num_gpus": cfg.n_gpus if reserve_gpus else 0, "num_cpus": 1, "max_retries": 0}
                pending[remote.options(**opts).remote(cfg.to_dict(), power_source, gate)] = cfg
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    cfg = pending.pop(ref)
                    try:
                        record(cfg, _result(ray, ref, cfg, power_source))
                    except PartNotWrittenError as exc:
                        _drain(ray, gate, pending, power_source, record, exc, out or sys.stdout)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the command line's Terminated)
            _stop_units(ray, gate, pending, record)
            raise
    finally:
        if started_here:
            ray.shutdown()


def _stop_units(ray: Any, gate: Any, pending: dict[Any, RunConfig],
                record: Callable[[RunConfig, dict[str, Any]], None], grace_s: float = STOP_GRACE_S + 5.0) -> None:
    """On Ctrl-C or SIGTERM of the sweep, before Ray is shut down (which kills each task's processes at once,
    leaving an isolated unit's energylens-worker-* folder behind): no queued unit starts (the gate closes, the
    queued tasks are cancelled), and each running one is stopped as a local sweep stops its one (the task's
    cancellation is a KeyboardInterrupt in it: its worker's process group ended, the folder removed), waited for
    up to ``grace_s``. A unit stopped while it measured has no row (``--resume`` runs it); one stopped in its
    cooldown returns the row it measured, which is recorded, as a local sweep keeps it (until 2026-12-07 the pause
    ignored the cancellation, and the driver waited ``grace_s`` for nothing). A second interrupt cuts the wait
    short."""
    refs = list(pending)
    try:
        ray.get(gate.close.remote(), timeout=5)
    except Exception:  # noqa: BLE001 - the gate's actor lost: the cancellations below still stop every unit
        pass
    for ref in refs:
        try:
            ray.cancel(ref)
        except Exception:  # noqa: BLE001 - (finished meanwhile) nothing to stop
            pass
    if refs:
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=grace_s)
        for ref in ready:
            try:
                row = ray.get(ref, timeout=5)
            except Exception:  # noqa: BLE001 - cancelled while it measured: no row
                continue
            try:
                if row is not None:  # (None: turned away by the closed gate)
                    record(pending[ref], row)
            except PartNotWrittenError as exc:  # (the stop goes on: its message says where the row is kept)
                print(f"energylens profile: {exc}", file=sys.stderr, flush=True)


def _result(ray: Any, ref: Any, cfg: RunConfig, power_source: str) -> dict[str, Any] | None:
    """A task's row (``None``: turned away by the closed gate); a task that failed is a failed row."""
    try:
        return ray.get(ref)
    except Exception as exc:  # noqa: BLE001 - a lost node or worker is a failed unit
        row = base_row(cfg, power_source)
        row["error"] = error_text(f"ray task failed: {type(exc).__name__}: {exc}", "")
        return row


def _drain(ray: Any, gate: Any, pending: dict[Any, RunConfig], power_source: str,
           record: Callable[[RunConfig, dict[str, Any]], None], first: PartNotWrittenError, out) -> NoReturn:
    """After ``first``, a part not written: start no more units, collect those already running (each row
    written, else rescued, by ``record``), then raise one error that names where every row is."""
    try:
        started: set[str] | None = set(ray.get(gate.close.remote(), timeout=60))
    except Exception:  # noqa: BLE001 - no gate (its actor lost): wait for every unit, none is turned away
        started = None
    running = {ref: cfg for ref, cfg in pending.items() if started is None or cfg.config_id in started}
    not_started = [cfg.config_id for ref, cfg in pending.items() if ref not in running]
    for ref in pending.keys() - running.keys():
        ray.cancel(ref)  # queued: the gate would turn it away anyway; --resume runs it
    if running:
        print(f"energylens profile: {first.config_id or 'a unit'}: its part could not be written; waiting for "
              f"the {plural(len(running), 'unit')} still running on the Ray cluster to finish, to keep "
              f"{'its row' if len(running) == 1 else 'their rows'} (no other unit starts)", file=out, flush=True)
    kept: list[PartNotWrittenError] = []
    written: list[str] = []
    while running:
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            cfg = running.pop(ref)
            row = _result(ray, ref, cfg, power_source)
            if row is None:  # (turned away: only where the gate's answer was lost)
                not_started.append(cfg.config_id)
                continue
            try:
                record(cfg, row)
                written.append(cfg.config_id)
            except PartNotWrittenError as exc:
                kept.append(exc)
    raise _drained_error(first, kept, written, not_started)


def _drained_error(first: PartNotWrittenError, kept: list[PartNotWrittenError], written: list[str],
                   not_started: list[str]) -> PartNotWrittenError:
    """``first``'s error, its line extended by the units that were running when it happened (their rows
    ``kept`` aside, or ``written`` into parts/ after all) and by those that had not started."""
    clauses = []
    folders: dict[str, list[str]] = defaultdict(list)
    for exc in (first, *kept):
        if exc.rescued is not None:
            folders[str(exc.rescued.parent)].append(exc.config_id)
    lost = [exc for exc in kept if exc.rescued is None]
    if kept or written:
        clauses.append(f"the {plural(len(kept) + len(written), 'other unit')} then running on the Ray cluster "
                       "finished (no new unit started)")
    if kept and folders:
        where = " and ".join(f"{folder} ({', '.join(ids)})" for folder, ids in folders.items())
        n = sum(map(len, folders.values()))
        clauses.append(f"in all {n} measured " + (f"unit's row is kept in {where}: --resume takes it in without "
                       "measuring it again" if n == 1 else f"units' rows are kept in {where}: --resume takes them "
                       "in without measuring them again"))
    if written:
        clauses.append(f"{plural(len(written), 'part')} written after all ({', '.join(written)})")
    if lost:
        clauses.append("the rows kept nowhere, as JSON: " + ", ".join(f"{e.config_id}: {e.row_json}" for e in lost))
    if not_started:
        clauses.append(f"{plural(len(not_started), 'unit')} not started ({', '.join(not_started)}): --resume "
                       f"runs {'it' if len(not_started) == 1 else 'them'}")
    message = "; ".join([first.message, *clauses])
    return PartNotWrittenError(first.errno, message, first.rescued, config_id=first.config_id,
                               row_json=first.row_json)
