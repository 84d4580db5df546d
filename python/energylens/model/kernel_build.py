"""Compiling, caching and loading the kernels generated per expression (``kernel_source``).

Owns the run-time build: which C++ compiler (``$CXX``, else ``c++``, ``g++``, ``clang++`` on ``PATH``), its
flags (``-O3 -march=native -ffp-contract=off -fno-math-errno -fopenmp-simd``: no FMA contraction, so the
kernel's bits equal the interpreter's), the per-user cache (``$ENERGYLENS_CACHE_DIR``, else
``$XDG_CACHE_HOME/energylens/kernels``, else ``~/.cache/energylens/kernels``) keyed by a hash of the source,
the compiler's version, the flags and the CPU, created private to the user (a library another user owns is
never loaded), written atomically (a temporary file renamed into place, so
processes building the same kernel at once never see a partial file), and loading it into the core
(``_core.ExpressionKernel``, which checks the kernel was made for the program). Every failure (no compiler,
a compile error, an unloadable or corrupt cache file: removed and built again once) is returned as a reason,
never raised: the caller keeps the interpreter. ``ENERGYLENS_JIT=0`` turns generated kernels off.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from energylens import _core
from energylens.model.kernel_source import kernel_source

__all__ = ["KernelBuild", "KernelSlot", "JIT_MIN_ROWS", "build_kernel", "cache_dir", "describe", "find_compiler", "jit_disabled_reason", "STATS",
           "COMPILE_FLAGS"]

#: Flags of every kernel build (part of the cache key). -fopenmp-simd honours the row loop's
#: ``#pragma omp simd`` without linking OpenMP.
COMPILE_FLAGS = ("-std=c++20", "-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fopenmp-simd",
                 "-fPIC", "-shared", "-w")

#: Seconds a compile may take before it counts as failed.
COMPILE_TIMEOUT_S = 120.0

_LOCK = threading.Lock()


@dataclass
class KernelStats:
    """What this process did: compiles run, cache hits (a kernel loaded from the cache), failures."""

    compiles: int = 0
    cache_hits: int = 0
    failures: int = 0


#: Counters of this process (tests read them: a second use must be a cache hit, not a compile).
STATS = KernelStats()


@dataclass(frozen=True)
class KernelBuild:
    """The outcome of :func:`build_kernel`: ``kernel`` (None on failure), ``reason`` (why not, or how it
    was obtained), ``path`` of the library, ``compile_s`` (0 on a cache hit) and ``load_s``."""

    kernel: object | None
    reason: str
    path: Path | None = None
    compile_s: float = 0.0
    load_s: float = 0.0
    cache_hit: bool = False


def jit_disabled_reason() -> str | None:
    """Why generated kernels are off by the user's choice (``ENERGYLENS_JIT=0``), else None."""
    v = os.environ.get("ENERGYLENS_JIT", "").strip().lower()
    return "ENERGYLENS_JIT=0 turns generated kernels off" if v in ("0", "off", "false", "no") else None


def find_compiler() -> tuple[list[str] | None, str]:
    """The compiler command (``$CXX`` split as a shell would, else c++/g++/clang++ on PATH) and a reason."""
    cxx = os.environ.get("CXX", "").strip()
    if cxx:
        cmd = shlex.split(cxx)
        exe = shutil.which(cmd[0])
        if exe is None:
            return None, f"CXX={cxx!r} is not an executable on PATH"
        return [exe, *cmd[1:]], f"CXX={cxx!r}"
    for name in ("c++", "g++", "clang++"):
        exe = shutil.which(name)
        if exe is not None:
            return [exe], f"{name} on PATH"
    return None, "no C++ compiler: set CXX or put c++, g++ or clang++ on PATH"


@functools.lru_cache(maxsize=8)
def _compiler_version(cmd: tuple[str, ...]) -> str:
    out = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


@functools.lru_cache(maxsize=1)
def _cpu_id() -> str:
    """The CPU model and feature flags (-march=native builds for them), else the machine name."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine() + " " + platform.processor()
    keep = [line for line in text.splitlines() if line.split(":")[0].strip() in ("model name", "flags")]
    return platform.machine() + "\n" + "\n".join(sorted(set(keep)))


def describe() -> str:
    """One line for ``energylens doctor``: the compiler generated kernels use and the cache, or why none."""
    off = jit_disabled_reason()
    if off:
        return f"off  <- {off}"
    cmd, how = find_compiler()
    if cmd is None:
        return f"no (interpreter only)  <- {how}"
    try:
        version = _compiler_version(tuple(cmd)).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as e:
        return f"no (interpreter only)  <- {cmd[0]} --version failed: {e}"
    problem = _cache_problem(cache_dir())
    if problem:
        return f"no (interpreter only)  <- {problem} (set ENERGYLENS_CACHE_DIR to a folder of your own)"
    return f"yes, {version} ({how}); cache {cache_dir()}"


def _cache_problem(folder: Path) -> str | None:
    """Why kernels cannot be written to ``folder`` (its nearest existing folder is a file or not writable), or
    None; a temporary folder is made and removed there to tell, the cache itself is not created."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"the kernel cache {folder} cannot be created: {existing} is a file"
    try:
        tempfile.TemporaryDirectory(prefix="probe-", dir=existing).cleanup()
    except OSError as e:
        return f"the kernel cache {folder} cannot be written: {e}"
    return None


def cache_dir() -> Path:
    """Where kernels are kept: ``$ENERGYLENS_CACHE_DIR``, else the XDG cache, else ``~/.cache``."""
    if os.environ.get("ENERGYLENS_CACHE_DIR"):
        return Path(os.environ["ENERGYLENS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "energylens" / "kernels"


def include_dir() -> Path:
    """The core's installed headers (energylens/include next to ``_core``)."""
    return Path(_core.__file__).resolve().parent / "include"


def _compile(cmd: list[str], source: str, target: Path) -> str | None:
    """Compiles ``source`` into ``target`` atomically; the compiler's complaint on failure, else None."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # per user: others cannot plant a library
    with tempfile.TemporaryDirectory(prefix="build-", dir=target.parent) as tmp:
        src, lib = Path(tmp) / "kernel.cpp", Path(tmp) / "kernel.so"
        src.write_text(source)
        argv = [*cmd, *COMPILE_FLAGS, "-I", str(include_dir()), str(src), "-o", str(lib)]
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{argv[0]} failed to run: {e}"
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
            return f"{argv[0]} exited with {run.returncode}: " + " | ".join(tail)
        os.replace(lib, target)  # atomic on one file system: readers see the old file or the whole new one
    return None


def _load(path: Path, program) -> tuple[object | None, str]:
    try:
        return _core.ExpressionKernel(str(path), program), ""
    except (RuntimeError, ValueError, OSError) as e:
        return None, str(e)


def build_kernel(program) -> KernelBuild:
    """The generated kernel of ``program``: from the cache, else compiled now; a reason when neither works."""
    off = jit_disabled_reason()
    if off:
        return KernelBuild(None, off)
    if not (include_dir() / "energylens" / "kernel_math.hpp").is_file():
        return KernelBuild(None, f"the core's headers are not installed under {include_dir()} (reinstall energylens)")
    cmd, how = find_compiler()
    if cmd is None:
        return KernelBuild(None, how)
    try:
        version = _compiler_version(tuple(cmd))
    except (OSError, subprocess.SubprocessError) as e:
        return KernelBuild(None, f"{cmd[0]} --version failed ({how}): {e}")
    source = kernel_source(program)
    key = hashlib.sha256("\0".join([source, version, " ".join(COMPILE_FLAGS), _cpu_id(),
                                    str(_core.EXPRESSION_KERNEL_ABI)]).encode()).hexdigest()[:32]
    path = cache_dir() / f"energylens-kernel-{key}.so"
    with _LOCK:  # one build per process at a time (threads evaluating the same expression)
        if path.is_file() and hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
            STATS.failures += 1
            return KernelBuild(None, f"{path} belongs to another user: not loaded (set ENERGYLENS_CACHE_DIR to a "
                                     "directory of your own)", path)
        if path.is_file():
            t0 = time.perf_counter()
            kernel, why = _load(path, program)
            if kernel is not None:
                STATS.cache_hits += 1
                return KernelBuild(kernel, f"cached kernel ({how})", path, 0.0, time.perf_counter() - t0, True)
            path.unlink(missing_ok=True)  # corrupt or foreign: built again below
        t0 = time.perf_counter()
        try:
            err = _compile(cmd, source, path)
        except OSError as e:
            err = f"cannot write the kernel cache {path.parent}: {e}"
        compile_s = time.perf_counter() - t0
        if err is None:
            STATS.compiles += 1
            t1 = time.perf_counter()
            kernel, err = _load(path, program)
            if kernel is not None:
                return KernelBuild(kernel, f"compiled ({how})", path, compile_s, time.perf_counter() - t1)
        STATS.failures += 1
        return KernelBuild(None, err, path, compile_s)


def _min_rows() -> int:
    try:
        return int(os.environ.get("ENERGYLENS_JIT_MIN_ROWS", JIT_MIN_ROWS))
    except ValueError:
        return JIT_MIN_ROWS


#: Rows an expression evaluates (values only, summed over calls) before ``jit="auto"`` mode builds its
#: kernel, in a background thread: the calls go on in the interpreter (same bits) and switch to the kernel
#: once it is loaded, so no call waits for the compiler (~0.3-0.4 s; a cache hit ~1 ms). At ~12 ns a row
#: saved, the rows after the threshold repay the compile's CPU within ~30e6 rows, and one-off small
#: evaluations (discovery scoring a front) never compile. ``ENERGYLENS_JIT_MIN_ROWS`` overrides it.
JIT_MIN_ROWS = 65536

_WARNED: set[str] = set()


class KernelSlot:
    """The generated kernel of one compiled expression, built at most once: ``mode`` "auto" (in the
    background once :data:`JIT_MIN_ROWS` rows were evaluated, or now by :meth:`build`), "off" (never).
    ``reason`` says which backend runs and why; a failed build warns once per reason and process, and is
    not tried again."""

    def __init__(self, mode: str = "auto") -> None:
        if mode not in ("auto", "off"):
            raise ValueError(f"jit must be 'auto' or 'off', got {mode!r}")
        self.mode = mode
        self._lock = threading.Lock()
        self.kernel = None
        self.result: KernelBuild | None = None
        self.rows_seen = 0
        self._thread: threading.Thread | None = None
        self.reason = ("interpreter: jit='off'" if mode == "off" else
                       f"interpreter: no kernel yet (built in the background once {_min_rows()} rows were "
                       "evaluated, or now by compile_kernel())")

    def count(self, rows: int, program) -> None:
        """Records an evaluation of ``rows`` rows; starts the background build when they reach the threshold."""
        if self.mode != "auto" or self.result is not None:
            return
        thread = self._thread
        if thread is not None and (thread.is_alive() or thread.ident is None):
            return  # being built (a thread that ended without a result ran in the parent of a fork)
        self.rows_seen += rows
        if self.rows_seen >= _min_rows():
            self.reason = "interpreter: the kernel is being built in the background"
            # not a daemon: an exiting process waits for the compiler rather than leave its files
            self._thread = threading.Thread(target=self._background, args=(program,), name="energylens-kernel")
            self._thread.start()

    def _background(self, program) -> None:
        try:
            self.build(program)
        except Exception as e:  # noqa: BLE001 - never retried, never raised into the user's calls
            self.result = KernelBuild(None, f"the kernel build raised {e!r}")
            self.reason = f"interpreter: {self.result.reason}"

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for a background build (if one runs); True when the kernel runs from here on."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.kernel is not None

    def build(self, program) -> bool:
        """Builds or loads the kernel now (once; never in mode "off"); True when it runs."""
        if self.mode == "off":
            return False
        with self._lock:  # threads evaluating one expression at once build it once
            return self._build(program)

    def _build(self, program) -> bool:
        if self.result is None:
            result = build_kernel(program)
            self.reason = (f"kernel: {result.reason}" if result.kernel is not None
                           else f"interpreter: {result.reason}")
            self.kernel, self.result = result.kernel, result  # the kernel is published last
            if self.kernel is None and not jit_disabled_reason() and result.reason not in _WARNED:
                _WARNED.add(result.reason)
                warnings.warn(f"energylens: no generated expression kernel ({result.reason}); "
                              "the interpreter runs instead (same values, slower)", RuntimeWarning, stacklevel=3)
        return self.kernel is not None
