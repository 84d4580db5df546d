"""Running a sweep's units on a Ray cluster: one task per configuration, its GPUs reserved.

Each unit becomes a Ray task with ``num_gpus = tp x pp x dp`` (``reserve_gpus=False`` reserves none,
for CPU clusters and tests) that runs :func:`energylens.profiling.worker.execute` on whichever node
Ray places it and returns the row; the driver writes each row into the store as soon as it arrives
(so a killed driver loses only rows still in flight, which ``--resume`` runs again).
``address="local"`` starts a local cluster; anything else is passed to ``ray.init(address=...)``.
"""

from __future__ import annotations

import platform
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from energylens.profiling.requirements import check_ray
from energylens.profiling.spec import RunConfig
from energylens.profiling.worker import base_row, error_text, execute

__all__ = ["run_on_ray", "gpu_shortage"]


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


def _task(cfg_dict: dict[str, Any], power_source: str) -> dict[str, Any]:
    row = execute(RunConfig.from_dict(cfg_dict), power_source)
    row["ray_node"] = platform.node()
    return row


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
               record: Callable[[RunConfig, dict[str, Any]], None], *, reserve_gpus: bool = True) -> None:
    """Run ``configs`` as Ray tasks; ``record(cfg, row)`` is called on the driver for each result."""
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
        remote = ray.remote(_task)
        pending = {}
        for cfg in configs:
            opts = {"num_gpus": cfg.n_gpus if reserve_gpus else 0, "num_cpus": 1, "max_retries": 0}
            pending[remote.options(**opts).remote(cfg.to_dict(), power_source)] = cfg
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cfg = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a lost node or worker is a failed unit
                    row = base_row(cfg, power_source)
                    row["error"] = error_text(f"ray task failed: {type(exc).__name__}: {exc}", "")
                record(cfg, row)
    finally:
        if started_here:
            ray.shutdown()
