"""The sweep spec: a TOML file that names what to profile, validated whole before anything runs.

:func:`load_spec` reads a file (or :func:`parse_spec` a mapping), checks every key and value and
raises :class:`SweepSpecError` naming the file, the key and the problem; :meth:`SweepSpec.configs`
expands the grid into :class:`RunConfig` units (one per configuration and repetition), each with a
stable ``config_id`` so a store can tell what is done. The format is documented in docs/profiling.md.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from energylens.profiles import limits
from energylens.profiling.model_paths import is_local_path, load_path
from energylens.profiling.spec_values import (
    MAX_PAUSE_S,
    MAX_UNITS,
    VLLM_SEED_MAX,
    SweepSpecError,
    check_media_size,
    check_unit_count,
    check_video_size,
)
from energylens.profiling.spec_values import choice as _choice
from energylens.profiling.spec_values import fail as _fail
from energylens.profiling.spec_values import integer as _int
from energylens.profiling.spec_values import number as _number
from energylens.profiling.unit_ids import MEDIA_DEFAULTS, id_options

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser as the tomli package
    import tomli as tomllib

__all__ = ["SweepSpecError", "LengthSpec", "RunConfig", "SweepSpec", "load_spec", "parse_spec",
           "spec_error", "is_local_path", "load_path", "MAX_UNITS", "BACKENDS", "MODES", "PRECISIONS", "KV_CACHE_DTYPES", "MODALITIES"]

BACKENDS = ("transformers", "vllm")
MODES = ("offline", "server")
#: Weight precision / quantisation names the spec accepts (vLLM: dtype or --quantization).
PRECISIONS = ("fp32", "fp16", "bf16", "fp8", "int8", "awq", "gptq")
KV_CACHE_DTYPES = ("auto", "fp8", "fp8_e4m3", "fp8_e5m2")
MODALITIES = ("text", "image", "video")
DISTRIBUTIONS = ("fixed", "uniform", "normal", "lognormal")

_SWEEP_KEYS = {"name", "backend", "mode", "repetitions", "warmup", "cooldown_s", "seed", "timeout_s", "gpu",
               "isolation", "min_window_s", "image_size", "num_frames", "server_requests", "server_port",
               "gpu_memory_utilization"}
_GRID_KEYS = {"models", "tp", "pp", "dp", "ep", "precision", "kv_cache_dtype", "max_num_seqs", "input_len",
              "output_len", "modality"}
_GRID_DEFAULTS: dict[str, list[Any]] = {"tp": [1], "pp": [1], "dp": [1], "ep": [1], "precision": ["bf16"],
                                        "kv_cache_dtype": ["auto"], "modality": ["text"]}


@dataclass(frozen=True)
class LengthSpec:
    """A token length: ``fixed`` (``value``) or drawn per request from a distribution.

    ``uniform``: integers in [low, high]; ``normal`` / ``lognormal``: mean and std of the length,
    clipped to [low, high] (defaults 1 and 1e6)."""

    distribution: str = "fixed"
    value: int = 0
    mean: float = math.nan
    std: float = math.nan
    low: int = 1
    high: int = 1_000_000

    def label(self) -> str:
        if self.distribution == "fixed":
            return str(self.value)
        if self.distribution == "uniform":
            return f"uniform({self.low},{self.high})"
        return f"{self.distribution}({self.mean:g},{self.std:g})"

    def draw(self, n: int, rng) -> list[int]:
        """``n`` lengths (the same ``rng`` and spec give the same lengths)."""
        import numpy as np

        if self.distribution == "fixed":
            return [self.value] * n
        if self.distribution == "uniform":
            x = rng.integers(self.low, self.high + 1, size=n)
        elif self.distribution == "normal":
            x = np.rint(rng.normal(self.mean, self.std, size=n))
        else:  # lognormal with the given mean and std of the length itself
            s2 = math.log1p((self.std / self.mean) ** 2)
            x = np.rint(rng.lognormal(math.log(self.mean) - s2 / 2, math.sqrt(s2), size=n))
        return [int(v) for v in np.clip(x, self.low, self.high)]


@dataclass(frozen=True)
class RunConfig:
    """One unit of work: a configuration and a repetition index. ``config_id`` is stable across runs."""

    model: str
    backend: str
    mode: str
    tp: int
    pp: int
    dp: int
    ep: int
    precision: str
    kv_cache_dtype: str
    max_num_seqs: int
    input_len: LengthSpec
    output_len: LengthSpec
    modality: str
    repetition: int
    seed: int
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_gpus(self) -> int:
        """GPUs one instance of this configuration reserves (tp x pp x dp)."""
        return self.tp * self.pp * self.dp

    @property
    def full_batch(self) -> int:
        """Requests the running batch holds when every data-parallel rank is full: dp x max_num_seqs. vLLM's
        max_num_seqs is per engine (with data_parallel_size = dp each of the dp engine cores schedules up to
        max_num_seqs), so a unit keeps this many requests in flight (server) or sends this many prompts
        (offline); its row records max_num_seqs per rank and batch_size the measured total."""
        return self.dp * self.max_num_seqs

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["options"] = dict(self.options)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        d = dict(d)
        d["input_len"] = LengthSpec(**d["input_len"])
        d["output_len"] = LengthSpec(**d["output_len"])
        return cls(**d)

    @property
    def model_path(self) -> str:
        """The model as the backends load it: a local folder's absolute path (:meth:`SweepSpec.configs` resolves
        it where the sweep runs, for Ray workers elsewhere too), else a Hub id as written."""
        return str(self.options.get("model_path") or load_path(self.model))

    @cached_property
    def config_id(self) -> str:
        """sha1 of the configuration (all fields but the options that do not change what is measured; the
        resolved model_path neither: the model as the spec writes it is the configuration's; media settings the
        modality does not read at their defaults, :func:`unit_ids.id_options`). Computed once per unit (a plan asks
        it ~9 times a unit: a 20,000-unit --dry-run spent 45 of its 49 s here)."""
        d = self.to_dict()
        d["options"] = {k: v for k, v in sorted(id_options(d["options"], self.modality).items())
                        if k not in ("timeout_s", "isolation", "model_path")}
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """One progress line; with dp > 1 the batch reads ``bs{per rank}x{dp}`` so the line shows both the
        max_num_seqs vLLM is given (per rank) and the dp x max_num_seqs requests the unit keeps in flight."""
        batch = f"bs{self.max_num_seqs}" if self.dp == 1 else f"bs{self.max_num_seqs}x{self.dp}"
        return (f"{Path(self.model).name if is_local_path(self.model) else self.model} {self.backend}/{self.mode} "
                f"tp{self.tp} pp{self.pp} dp{self.dp} ep{self.ep} {self.precision} kv={self.kv_cache_dtype} "
                f"{batch} in={self.input_len.label()} out={self.output_len.label()} "
                f"{self.modality} rep{self.repetition}")


@dataclass(frozen=True)
class SweepSpec:
    """A validated spec: the ``[sweep]`` settings and the ``[grid]`` lists."""

    source: str
    sweep: Mapping[str, Any]
    grid: Mapping[str, list[Any]]

    @property
    def backend(self) -> str:
        return self.sweep["backend"]

    def configs(self) -> list[RunConfig]:
        """Every (configuration, repetition) of the grid, in a fixed order (local models: ``model_path``)."""
        s, g = self.sweep, self.grid
        options = {k: s[k] for k in ("warmup", "cooldown_s", "timeout_s", "gpu", "isolation", "min_window_s",
                                     "image_size", "num_frames", "server_requests", "server_port",
                                     "gpu_memory_utilization")}
        out = []
        keys = ("models", "tp", "pp", "dp", "ep", "precision", "kv_cache_dtype", "max_num_seqs", "input_len",
                "output_len", "modality")
        for combo in itertools.product(*(g[k] for k in keys)):
            m, tp, pp, dp, ep, prec, kv, bs, inp, outp, mod = combo
            local = {"model_path": os.path.abspath(load_path(m))} if is_local_path(m) else {}
            out.extend(RunConfig(model=m, backend=s["backend"], mode=s["mode"], tp=tp, pp=pp, dp=dp, ep=ep,
                                 precision=prec, kv_cache_dtype=kv, max_num_seqs=bs, input_len=inp, output_len=outp,
                                 modality=mod, repetition=rep, seed=s["seed"], options=options | local)
                       for rep in range(s["repetitions"]))
        return out


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a TOML sweep spec (:class:`SweepSpecError` names the key at fault)."""
    p = Path(path)
    if not p.is_file():  # a folder or a device exists: "does not exist" sent users looking for a typo
        what, err = ("does not exist", FileNotFoundError) if not p.exists() else (
            ("is a folder", IsADirectoryError) if p.is_dir() else ("is not a regular file", OSError))
        raise err(f"sweep spec {p} {what}; a sweep spec is a TOML file (docs/profiling.md)")
    data = p.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):  # ("Invalid statement (at line 1, column 1)" from tomllib)
        raise SweepSpecError("starts with a UTF-8 byte-order mark (bytes EF BB BF, which some editors write as "
                             "'UTF-8 with BOM'), which TOML does not allow: save the file as UTF-8 without it", str(p))
    try:
        raw = tomllib.loads(data.decode("utf-8"))  # TOML is UTF-8, whatever the locale says
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SweepSpecError(f"not UTF-8 text (a TOML file is UTF-8): byte 0x{data[exc.start]:02x} at byte "
                             f"position {exc.start} (line {line}, column {column}): {exc.reason}; save the file "
                             "as UTF-8", str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepSpecError(f"not valid TOML: {exc}", str(p)) from None
    try:
        return parse_spec(raw, source=str(p))
    except SweepSpecError as exc:
        line = _line_of(data.decode("utf-8"), exc.key)
        if not line:
            raise
        raise SweepSpecError(exc.message, exc.source, exc.key, line) from None


def _line_of(text: str, key: str) -> int:
    """The line (1-based) where the dotted ``key`` of an error (``grid.tp[1]``, ``grid.input_len[0].mean``) is
    written: its assignment in its table, else the table's header; 0 when neither is found."""
    table, _, rest = key.partition(".")
    name = rest.split("[", 1)[0].split(".", 1)[0]
    current, header = "", 0
    for i, raw in enumerate(text.splitlines(), 1):
        stripped = raw.split("#", 1)[0].strip()
        if stripped.startswith("["):  # a table's header ([[grid]] too); [grid.extra] is the line of key grid.extra
            current = stripped.strip("[] \t")
            if current == f"{table}.{name}" and name:
                return i
            header = i if current == table and not header else header
            continue
        lhs = stripped.split("=", 1)[0].strip().replace('"', "").replace("'", "") if "=" in stripped else ""
        if not current and lhs == (f"{table}.{name}" if name else table) or name and current == table and lhs == name:
            return i
    return header


def spec_error(spec: SweepSpec, key: str, problem: str) -> SweepSpecError:
    """The error of a check made after loading (a model folder on this machine): it names the file and the line
    of ``key`` as :func:`load_spec`'s own errors do (the line is 0 where the file cannot be read again)."""
    try:
        line = _line_of(Path(spec.source).read_text(encoding="utf-8"), key)
    except (OSError, UnicodeDecodeError):
        line = 0
    return SweepSpecError(f"key {key!r}: {problem}", spec.source, key, line)


def _unknown(src: str, key: str, allowed: set[str], what: str = "key") -> SweepSpecError:
    """An unknown key, with the table it belongs to (``sweep.tp``: ``[grid]``; a key above every table header too)
    or the allowed key it is a close spelling of first (``repetitons``: ``repetitions``)."""
    table, name = key.rsplit(".", 1) if "." in key else ("", key)
    other = next(((t, keys) for t, keys in (("grid", _GRID_KEYS), ("sweep", _SWEEP_KEYS)) if t != table and
                  name in keys and what == "key"), None)
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = (f"{name!r} is a key of [{other[0]}], " + (f"not [{table}]; " if table else "written above every table "
            f"header: move it under [{other[0]}]; ") if other else f"did you mean {close[0]!r}? " if close else "")
    return _fail(src, key, f"unknown {what} ({hint}allowed: {', '.join(sorted(allowed))})")


#: The longest prompt or output a spec may ask for, and the largest max_num_seqs (beyond any served model): the
#: profile schema's plausibility limits (energylens.profiles.limits), so that every row a sweep records loads.
MAX_TOKENS = limits.MAX_TOKENS
MAX_NUM_SEQS = limits.MAX_NUM_SEQS

#: The keys each length distribution reads (any other is refused: it would be silently ignored).
_LENGTH_KEYS = {"fixed": {"value"}, "uniform": {"low", "high"}, "normal": {"mean", "std", "low", "high"},
                "lognormal": {"mean", "std", "low", "high"}}


def _length(src: str, key: str, v: Any) -> LengthSpec:
    if not isinstance(v, Mapping):
        return LengthSpec("fixed", value=_int(src, key, v, 1, MAX_TOKENS))
    unknown = set(v) - {"distribution", "value", "mean", "std", "low", "high"}
    if unknown:
        raise _unknown(src, f"{key}.{sorted(unknown)[0]}", {"distribution", "value", "mean", "std", "low", "high"})
    dist = _choice(src, f"{key}.distribution", v.get("distribution", "fixed"), DISTRIBUTIONS)
    unused = set(v) - {"distribution"} - _LENGTH_KEYS[dist]
    if unused:
        raise _fail(src, f"{key}.{sorted(unused)[0]}", f"not used by a {dist} length (it reads "
                    f"{', '.join(sorted(_LENGTH_KEYS[dist]))})")
    needs = {"fixed": ("value",), "uniform": ("low", "high")}.get(dist, ("mean", "std"))
    if any(k not in v for k in needs):  # (not "must be an integer, got None")
        raise _fail(src, key, f"a {dist} distribution needs {' and '.join(needs)}" + (
            " (or write the length as an integer: input_len = [512])" if dist == "fixed" else ""))
    if dist == "fixed":
        return LengthSpec("fixed", value=_int(src, f"{key}.value", v.get("value"), 1, MAX_TOKENS))
    low = _int(src, f"{key}.low", v.get("low", 1), 1, MAX_TOKENS)
    high = _int(src, f"{key}.high", v.get("high", 1_000_000), low, MAX_TOKENS)
    if dist == "uniform":
        if low == high:
            raise _fail(src, key, f"uniform with low = high is the fixed length {low}: write {low}")
        return LengthSpec(dist, low=low, high=high)
    mean = _number(src, f"{key}.mean", v["mean"], 1.0)
    std = _number(src, f"{key}.std", v["std"], 0.0)
    if std == 0:
        raise _fail(src, f"{key}.std", f"a {dist} length with std 0 is the fixed length {mean:g}: write it as one")
    if not low <= mean <= high:
        raise _fail(src, f"{key}.mean", f"{mean:g} lies outside [low, high] = [{low}, {high}]: nearly every draw "
                    "would be clipped to a bound")
    return LengthSpec(dist, mean=mean, std=std, low=low, high=high)


def _grid_list(src: str, key: str, v: Any) -> list[Any]:
    if v == []:
        raise _fail(src, key, "must not be an empty list")
    return v if isinstance(v, list) else [v]


_NON_NEG = {"warmup": 0, "repetitions": 1, "seed": 0, "server_requests": 0,  # 0: 4 x dp x max_num_seqs
             "num_frames": 1, "server_port": 0}


def _parse_sweep(src: str, s: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(s) - _SWEEP_KEYS
    if unknown:
        raise _unknown(src, f"sweep.{sorted(unknown)[0]}", _SWEEP_KEYS)
    name = s.get("name", Path(src).stem if src else "sweep")
    if not isinstance(name, str) or not name.strip():
        raise _fail(src, "sweep.name", f"must be a non-empty string, got {name!r}")
    out: dict[str, Any] = {"name": name}
    if "backend" not in s:
        raise _fail(src, "sweep.backend", f"missing (one of {', '.join(BACKENDS)})")
    out["backend"] = _choice(src, "sweep.backend", s["backend"], BACKENDS)
    out["mode"] = _choice(src, "sweep.mode", s.get("mode", "offline"), MODES)
    defaults = {"warmup": 1, "repetitions": 1, "seed": 0, "server_requests": 0, "server_port": 0,
                "num_frames": MEDIA_DEFAULTS["num_frames"]}
    for k, lo in _NON_NEG.items():
        out[k] = _int(src, f"sweep.{k}", s.get(k, defaults[k]), lo) if k in s else defaults[k]
    for k in ("cooldown_s", "min_window_s"):
        out[k] = _number(src, f"sweep.{k}", s.get(k, 0.0), 0.0, MAX_PAUSE_S, " (a day)")
    out["timeout_s"] = _number(src, "sweep.timeout_s", s.get("timeout_s", 1800.0), 1e-3)
    out["gpu_memory_utilization"] = _number(src, "sweep.gpu_memory_utilization",
                                            s.get("gpu_memory_utilization", 0.9), 0.01)
    if out["gpu_memory_utilization"] > 1:
        raise _fail(src, "sweep.gpu_memory_utilization", f"must be <= 1, got {out['gpu_memory_utilization']}")
    gpu = s.get("gpu", "")
    if not isinstance(gpu, str):
        raise _fail(src, "sweep.gpu", f"must be a string (a GPU name to record), got {gpu!r}")
    out["gpu"] = gpu
    iso_default = "process" if out["backend"] == "vllm" else "none"
    out["isolation"] = _choice(src, "sweep.isolation", s.get("isolation", iso_default), ("process", "none"))
    if out["backend"] == "vllm" and out["isolation"] != "process":
        raise _fail(src, "sweep.isolation", "the vllm backend runs each configuration in a fresh subprocess; "
                    "only 'process' is allowed")
    if "timeout_s" in s and out["isolation"] != "process":
        raise _fail(src, "sweep.timeout_s", "a unit run inside the sweep's own process cannot be stopped, so the "
                    "timeout would be ignored: set sweep.isolation = \"process\" (a fresh subprocess per unit, "
                    "killed after timeout_s) or remove timeout_s")
    size = s.get("image_size", MEDIA_DEFAULTS["image_size"])
    if not (isinstance(size, list) and len(size) == 2):
        raise _fail(src, "sweep.image_size", f"must be [width, height], got {size!r}")
    out["image_size"] = [_int(src, f"sweep.image_size[{i}]", x, 1) for i, x in enumerate(size)]
    check_media_size(src, out["image_size"], out["num_frames"])
    if out["mode"] == "server" and out["backend"] != "vllm":
        raise _fail(src, "sweep.mode", "mode 'server' needs backend 'vllm' (vllm serve)")
    if out["backend"] == "vllm" and out["seed"] > VLLM_SEED_MAX:  # (its workers' np.random.seed(seed))
        raise _fail(src, "sweep.seed", f"vLLM seeds numpy's generator with it, which takes at most "
                    f"{VLLM_SEED_MAX:,} (2**32 - 1), got {out['seed']:,}: every unit's engine start would fail")
    if out["server_port"] > 65535:
        raise _fail(src, "sweep.server_port", f"must be a TCP port <= 65535 (0: any free one), got {out['server_port']}")
    for k in ("server_requests", "server_port"):
        if k in s and out["mode"] != "server":
            raise _fail(src, f"sweep.{k}", "is read in mode 'server' only (vllm serve); this sweep is offline")
    if "gpu_memory_utilization" in s and out["backend"] != "vllm":
        raise _fail(src, "sweep.gpu_memory_utilization", "is vLLM's setting; the transformers backend does not read it")
    return out


def _parse_grid(src: str, g: Mapping[str, Any], sweep: Mapping[str, Any]) -> dict[str, list[Any]]:
    if set(g) - _GRID_KEYS:
        raise _unknown(src, f"grid.{sorted(set(g) - _GRID_KEYS)[0]}", _GRID_KEYS)
    for k in ("models", "max_num_seqs", "input_len", "output_len"):
        if k not in g:
            raise _fail(src, f"grid.{k}", "missing (required)")
    out: dict[str, list[Any]] = {}
    for k in sorted(_GRID_KEYS):
        vals = _grid_list(src, f"grid.{k}", g.get(k, _GRID_DEFAULTS.get(k)))
        keyed = [(f"grid.{k}[{i}]", v) for i, v in enumerate(vals)]
        if k == "models":
            for key, v in keyed:
                if not isinstance(v, str) or not v.strip():
                    raise _fail(src, key, f"must be a Hugging Face id or a local path, got {v!r}")
            out[k] = [str(v) for v in vals]
            _check_same_models(src, out[k])
        elif k in ("tp", "pp", "dp", "ep", "max_num_seqs"):
            out[k] = [_int(src, key, v, 1, MAX_NUM_SEQS if k == "max_num_seqs" else None) for key, v in keyed]
        elif k in ("input_len", "output_len"):
            out[k] = [_length(src, key, v) for key, v in keyed]
        else:
            allowed = {"precision": PRECISIONS, "kv_cache_dtype": KV_CACHE_DTYPES, "modality": MODALITIES}[k]
            out[k] = [_choice(src, key, v, allowed) for key, v in keyed]
        if len(set(map(repr, out[k]))) != len(out[k]):
            raise _fail(src, f"grid.{k}", f"lists a value twice: {vals!r}")
    _check_backend(src, out, sweep)
    return out


def _check_same_models(src: str, models: list[str]) -> None:
    """Two spellings of one local folder ("/m/x/", "./x" and its absolute path, a symlink: resolved here) or of one Hub
    id ("Org/M", "org/m": the Hub ignores the case of ids) would measure one model twice, as two configurations."""
    seen: dict[str, int] = {}
    for j, m in enumerate(models):
        i = seen.setdefault(os.path.realpath(load_path(m)) if is_local_path(m) else "hub:" + m.lower(), j)
        if i != j:
            raise _fail(src, "grid.models", f"lists one model twice: {models[i]!r} (grid.models[{i}]) and {m!r} "
                        f"(grid.models[{j}]) " + ("are the same path" if is_local_path(m) else "name the same "
                        "Hugging Face repository (the Hub ignores the case of ids), so both would be measured as "
                        "different configurations") + "; keep one spelling")


def _check_backend(src: str, g: Mapping[str, list[Any]], sweep: Mapping[str, Any]) -> None:
    """What a backend cannot do is refused here, before anything runs."""
    if sweep["backend"] == "transformers":
        for k in ("tp", "pp", "dp", "ep"):
            if g[k] != [1]:
                raise _fail(src, f"grid.{k}", f"the transformers backend runs on one device; {k} > 1 needs "
                            "backend 'vllm'" + (" in mode 'server'" if k == "dp" else ""))
        for i, p in enumerate(g["precision"]):
            if p not in ("fp32", "fp16", "bf16"):
                raise _fail(src, f"grid.precision[{i}]", f"{p!r} needs backend 'vllm' (transformers: fp32, fp16, bf16)")
        for i, kv in enumerate(g["kv_cache_dtype"]):
            if kv != "auto":
                raise _fail(src, f"grid.kv_cache_dtype[{i}]", f"{kv!r} needs backend 'vllm' (transformers: auto)")
        for i, m in enumerate(g["modality"]):
            if m != "text":
                raise _fail(src, f"grid.modality[{i}]", f"{m!r} inputs: needs backend 'vllm' (transformers: text)")
    if sweep["backend"] == "vllm" and sweep["mode"] == "offline":
        for i, dp in enumerate(g["dp"]):
            if dp > 1:  # vllm.LLM in one process: ValueError since vllm#27282, a hang before
                raise _fail(src, f"grid.dp[{i}]", f"dp = {dp}: vLLM's offline engine (vllm.LLM) does not run data "
                            "parallel in one process (vLLM refuses LLM(data_parallel_size > 1)); profile dp > 1 "
                            "with sweep.mode = 'server' (vllm serve --data-parallel-size)")
    _check_server_requests(src, g, sweep)
    for i, ep in enumerate(g["ep"]):
        if ep > 1 and any(ep != tp * dp for tp in g["tp"] for dp in g["dp"]):
            raise _fail(src, f"grid.ep[{i}]", f"expert parallelism in vLLM spans tp x dp GPUs; ep={ep} must "
                        f"equal tp*dp for every tp {g['tp']} and dp {g['dp']} (sweep ep in its own spec)")


def _check_server_requests(src: str, g: Mapping[str, list[Any]], sweep: Mapping[str, Any]) -> None:
    """The steady-state window runs from the batch's filling to the last request sent: with no more requests
    than the full batch (dp x max_num_seqs, every rank's max_num_seqs) it is empty, and the load generator would
    fail every such unit."""
    dp, bs = max(g["dp"]), max(g["max_num_seqs"])
    if sweep["mode"] != "server" or not 0 < sweep["server_requests"] <= dp * bs:
        return
    n = sweep["server_requests"]
    if dp == 1:
        raise _fail(src, "sweep.server_requests", f"{n} requests leave no steady state for grid.max_num_seqs = {bs}: "
                    f"it must exceed every max_num_seqs of the sweep (> {bs}; 0: 4 x max_num_seqs)")
    raise _fail(src, "sweep.server_requests", f"{n} requests leave no steady state for dp x max_num_seqs = {dp} x "
                f"{bs} = {dp * bs} (vLLM's max_num_seqs is per data-parallel rank, so a unit keeps dp x max_num_seqs "
                f"requests in flight): it must exceed every dp x max_num_seqs of the sweep (> {dp * bs}; "
                "0: 4 x dp x max_num_seqs)")


#: TOML's names of the types a value of a spec can have (an error says what was written).
_TOML_TYPES = {str: "string", int: "integer", float: "float", bool: "boolean", list: "array"}


def parse_spec(raw: Mapping[str, Any], *, source: str = "<spec>") -> SweepSpec:
    """Validate a spec already parsed from TOML (``{"sweep": {...}, "grid": {...}}``)."""
    for k in sorted(set(raw) - {"sweep", "grid"})[:1]:  # a table, or a key written above every table header
        raise _unknown(source, k, {"sweep", "grid"}, "table" if isinstance(raw[k], Mapping) else "key")
    for t in ("sweep", "grid"):
        v = raw.get(t)
        if isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):  # [[grid]]
            raise _fail(source, t, f"is written [[{t}]] (an array of tables); write [{t}]")
        if t in raw and not isinstance(v, Mapping):
            raise _fail(source, t, f"is a {_TOML_TYPES.get(type(v), type(v).__name__)} ({v!r}), not a table: write "
                        f"[{t}] with its keys on the lines under it")
        if not isinstance(v, Mapping):
            raise _fail(source, t, f"missing table [{t}]")
    sweep = _parse_sweep(source, raw["sweep"])
    grid = _parse_grid(source, raw["grid"], sweep)
    check_unit_count(source, grid, sweep["repetitions"])  # (before configs() expands them: 10^8 units hung)
    if "video" in grid["modality"]:  # (named at num_frames where the spec writes it, else at image_size)
        check_video_size(source, sweep["image_size"], sweep["num_frames"], "num_frames" in raw["sweep"])
    return SweepSpec(source=source, sweep=sweep, grid=grid)
