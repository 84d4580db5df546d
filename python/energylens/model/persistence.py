"""The model file: a versioned JSON document written by ``EnergyModel.save`` / ``LatencyModel.save`` and
read back by ``load`` / :func:`energylens.model.load_model`, plus the hash that ties a fit to its data.

Layout: ``format`` (``"energylens.model"``), ``version`` (:data:`MODEL_FILE_VERSION`), ``energylens_version``,
``created_unix_s``, then ``energy`` and ``latency`` (each a model's state or null).

Version 2 (energylens 0.2) stores a fixed-size sorted sample of the training residuals
(``residual_sample``, at most 2048 values, and ``residual_count``) instead of one residual per training row
(``train_residuals``, which made a fit on 5M rows write 244 MB), and each feature's training range
(``train_ranges``, for the extrapolation check). Version 1 files still load: their per-row residuals are
summarised on load, and without ``train_ranges`` no row is flagged as extrapolated.

A model with two fitted outputs (a LatencyModel: TTFT and TPOT) writes one sample and count per output
(``residual_samples``, ``residual_counts``) in place of ``residual_sample`` / ``residual_count``; a latency
file written before that holds one sample mixing both outputs' residuals and loads as before (both
outputs draw from it: refit for per-output intervals).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import warnings
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from energylens import __version__
from energylens.errors import ModelFileError, NewerModelFileWarning, OutputError, user_stacklevel
from energylens.model.intervals import RESIDUAL_SAMPLE_SIZE, residual_sample
from energylens.outputs import atomic_file, energylens_json

__all__ = ["EXPRESSION_MODEL_ID", "MODEL_FILE_VERSION", "FILE_KEYS", "STATE_KEYS", "OPTION_KEYS", "data_hash", "read_model_file",
           "write_model_file", "check_keys", "checked_params", "read_state_arrays", "summary_fields", "check_state_types",
           "residual_state", "require_fit", "check_param_units"]

#: Template id written to model files for expression models (``EnergyModel.from_expression``).
EXPRESSION_MODEL_ID = "energylens.expression.v1"

#: Version of the JSON model file written by ``save``; ``load`` refuses newer ones.
MODEL_FILE_VERSION = 2
_FORMAT = "energylens.model"


#: Keys a model file may hold, at the top and per model; anything else is refused on load.
FILE_KEYS = frozenset({"format", "version", "energylens_version", "created_unix_s", "energy", "latency"})
STATE_KEYS = frozenset({"template", "params", "param_units", "options", "bootstrap_replicates",
                         "bootstrap_params", "train_residuals", "residual_sample", "residual_count",
                         "residual_samples", "residual_counts",
                         "train_ranges", "fit", "calibration", "measured_rows", "latency_calibration_by",
                         "prefill_stall"})
OPTION_KEYS = frozenset({"residual", "loss", "loss_scale", "n_starts", "start_spread", "seed", "max_iterations",
                          "tpot_weight", "prior", "prior_weight"})


def check_keys(doc: Any, known: frozenset[str], where: str) -> None:
    if not isinstance(doc, dict):
        raise ModelFileError(f"{where}: expected an object, got {type(doc).__name__}")
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ModelFileError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)} (was the file edited, or "
                             "written by a newer energylens?)")


def _whole(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def check_state_types(state: Any, where: str) -> None:
    """ModelFileError naming the key when a model state's top-level values have the wrong type (a
    hand-edited file): ``template`` a string, ``params`` / ``options`` objects, ``bootstrap_replicates`` a whole
    number >= 0, ``fit`` the fit summary (:func:`require_fit`), and a prior in ``options`` a list of numbers (a
    name such as "bundled" would refit the bundled data on every load)."""
    check_keys(state, STATE_KEYS, where)
    require_fit(state, where)
    for key, kind, ok in (("template", "a string", lambda v: isinstance(v, str)),
                          ("params", "an object of name -> value", lambda v: isinstance(v, dict)),
                          ("options", "an object", lambda v: isinstance(v, dict)),
                          ("bootstrap_replicates", "a whole number >= 0", lambda v: _whole(v, 0)),
                          ("fit", "the fit summary (an object)", lambda v: isinstance(v, dict))):
        if key in state and not ok(state[key]):
            raise ModelFileError(f"{where} {key} = {state[key]!r} must be {kind}")
    prior = (state.get("options") or {}).get("prior")
    if prior is not None and (not isinstance(prior, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in prior)):
        raise ModelFileError(f"{where} options.prior = {prior!r} must be null or the prior's parameter values "
                             "(a list of numbers, as fit writes it)")


def require_fit(state: dict[str, Any], where: str) -> None:
    """ModelFileError when a model state has no fit summary (``fit`` null or absent): energylens saves only a
    fitted model (an unfitted one's save is refused), and the checks of the residual counts, measured rows and
    bootstrap rows rest on the summary, so such a file was edited or assembled by hand."""
    if state.get("fit") is None:
        raise ModelFileError(f"{where} fit is {'null' if 'fit' in state else 'missing'}: a model file holds a "
                             "fitted model and its fit summary (energylens fit -o, or save() after fit()), which "
                             "the checks of its residuals rest on; the file was edited or assembled by hand: refit")


def check_param_units(state: dict[str, Any], desc: Any, added: Collection[str], where: str) -> None:
    """ModelFileError unless the state's ``param_units`` give each parameter of ``desc`` the template's own unit
    (``added``: parameters an upgrade from an older template added, which its file has no unit for): a unit
    edited to another one would be printed beside a value that does not mean it."""
    units = state.get("param_units", ...)
    if units is ...:
        raise ModelFileError(f"{where}: key 'param_units' missing")
    if not isinstance(units, dict):
        raise ModelFileError(f"{where} param_units = {units!r} must be an object of parameter name -> unit")
    names = list(desc.param_names)
    unknown = [n for n in units if n not in names]
    if unknown:
        raise ModelFileError(f"{where} param_units names {unknown}, which are not parameters of {desc.id} "
                             f"(known: {names})")
    missing = [n for n in names if n not in units and n not in added]
    if missing:
        raise ModelFileError(f"{where} param_units lacks {missing} (every parameter's unit is written: the file "
                             "was edited)")
    for name, unit in zip(names, desc.param_units, strict=True):
        if name in units and units[name] != unit:
            raise ModelFileError(f"{where} param_units {name} = {units[name]!r} is not this template's unit "
                                 f"{unit!r}; the unit is the template's, not the file's: refit instead of editing "
                                 "the file")


def checked_params(params: Any, desc: Any, where: str) -> np.ndarray:
    """The parameter vector of a model file, each a finite number within the template's bounds."""
    if not isinstance(params, dict):
        raise ModelFileError(f"{where}s: expected an object of name -> value")
    names = list(desc.param_names)
    missing = [n for n in names if n not in params]
    if missing:
        raise ModelFileError(f"{where}s {missing} missing")
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ModelFileError(f"{where}s {unknown} are not parameters of {desc.id} (known: {names})")
    theta = np.empty(len(names))
    for j, name in enumerate(names):
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelFileError(f"{where} {name} = {value!r} is not a finite number")
        lo, hi = float(desc.lower[j]), float(desc.upper[j])
        if not lo <= value <= hi:
            raise ModelFileError(f"{where} {name} = {value!r} is outside its bounds [{lo:g}, {hi:g}]; refit "
                                 "instead of editing the file")
        theta[j] = float(value)
    return theta


def _numbers(value: Any, where: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelFileError(f"{where} is not a {'list' if ndim == 1 else 'table'} of numbers") from None
    if arr.size and (arr.ndim != ndim or not np.isfinite(arr).all()):
        raise ModelFileError(f"{where} must be a {'list' if ndim == 1 else 'table'} of finite numbers "
                             f"(got shape {arr.shape})")
    return arr


def _ranges(value: Any, desc: Any, where: str) -> dict[str, list[float]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: expected an object of feature -> [min, max]")
    unknown = sorted(set(value) - set(desc.feature_names))
    if unknown:
        raise ModelFileError(f"{where}: {unknown} are not features of {desc.id}")
    out = {}
    for name, pair in value.items():
        arr = _numbers(pair, f"{where} {name}", 1)
        if arr.shape != (2,) or arr[0] > arr[1]:
            raise ModelFileError(f"{where} {name} = {pair!r} is not a [min, max] pair")
        out[name] = [float(arr[0]), float(arr[1])]
    return out


def residual_state(samples: Sequence[np.ndarray], counts: Sequence[int]) -> dict[str, Any]:
    """The file's keys of a model's residual samples, one per fitted output: ``residual_sample`` /
    ``residual_count`` for one output (as version 2 always wrote), ``residual_samples`` / ``residual_counts``
    for several."""
    if len(samples) == 1:
        return {"residual_sample": samples[0].tolist(), "residual_count": int(counts[0])}
    return {"residual_samples": [s.tolist() for s in samples], "residual_counts": [int(c) for c in counts]}


def _read_sample(values: Any, count: Any, where: str, name: str, count_name: str) -> tuple[np.ndarray, int]:
    """One sorted residual sample and its count (``name``, ``count_name``: their keys, for the messages)."""
    sample = np.sort(_numbers(values, f"{where} {name}", 1))
    _check_residuals(sample, f"{where} {name}")
    count = len(sample) if count is ... else count  # (...: the key is absent)
    if isinstance(count, bool) or not isinstance(count, int) or count < len(sample):
        raise ModelFileError(f"{where} {count_name} = {count!r} must be an integer >= the sample's length "
                             f"({len(sample)})")
    if (count > 0) != (len(sample) > 0) or len(sample) > RESIDUAL_SAMPLE_SIZE:
        raise ModelFileError(f"{where} {name} holds {len(sample)} values for {count_name} {count}: "
                             f"a fit keeps min(count, {RESIDUAL_SAMPLE_SIZE}) of them (the intervals use them)")
    return sample, int(count)


def _read_samples(state: dict[str, Any], outputs: int, where: str) -> tuple[list[np.ndarray], list[int]]:
    """The residual samples and counts of a model state: one per output from ``residual_samples``, else
    the one sample of ``residual_sample`` (or a version-1 file's ``train_residuals``) that every output
    draws from: a latency file written before per-output samples mixes TTFT and TPOT residuals in it, and
    its intervals stay as they were."""
    if "residual_samples" in state:
        samples, counts = state["residual_samples"], state.get("residual_counts")
        if {"residual_sample", "residual_count", "train_residuals"} & set(state):
            raise ModelFileError(f"{where} holds residual_samples and a single residual_sample / train_residuals: "
                                 "keep one (the file was edited: refit the model)")
        if not isinstance(samples, list) or len(samples) != outputs:
            raise ModelFileError(f"{where} residual_samples must be a list of {outputs} residual lists (one per "
                                 "output)")
        if not isinstance(counts, list) or len(counts) != outputs:
            raise ModelFileError(f"{where} residual_counts = {counts!r} must be a list of {outputs} counts")
        read = [_read_sample(s, c, where, f"residual_samples[{k}]", f"residual_counts[{k}]")
                for k, (s, c) in enumerate(zip(samples, counts, strict=True))]
        return [s for s, _ in read], [c for _, c in read]
    if "train_residuals" in state:  # version 1: one residual per training row
        rows = _numbers(state["train_residuals"], f"{where} train_residuals", 1)
        sample = residual_sample(rows)
        _check_residuals(sample, f"{where} train_residuals")
        return [sample], [len(rows)]
    sample, count = _read_sample(state.get("residual_sample", []), state.get("residual_count", ...), where,
                                 "residual_sample", "residual_count")
    return [sample], [count]


def read_state_arrays(state: dict[str, Any], desc: Any, where: str, outputs: int = 1
                      ) -> tuple[np.ndarray | None, list[np.ndarray], list[int], dict[str, list[float]] | None]:
    """(bootstrap parameters or None, sorted residual samples, residual counts, training ranges or None) of
    one model's state with ``outputs`` fitted outputs (:func:`_read_samples`: a file with one sample gives
    one, that every output draws from); a version-1 file's per-row ``train_residuals`` are summarised here."""
    boot = _numbers(state.get("bootstrap_params", []), f"{where} bootstrap_params", 2)
    if boot.size and boot.shape[1] != len(desc.param_names):
        raise ModelFileError(f"{where} bootstrap_params has {boot.shape[1]} columns, expected "
                             f"{len(desc.param_names)}")
    if boot.size:
        outside = (boot < np.asarray(desc.lower)) | (boot > np.asarray(desc.upper))
        if outside.any():
            row, col = (int(i) for i in np.argwhere(outside)[0])
            raise ModelFileError(f"{where} bootstrap_params row {row + 1}: {desc.param_names[col]} = "
                                 f"{float(boot[row, col])!r} is outside its bounds [{desc.lower[col]:g}, "
                                 f"{desc.upper[col]:g}]; refit instead of editing the file")
    samples, counts = _read_samples(state, outputs, where)
    _check_bootstrap_rows(state, len(boot) if boot.size else 0, where)
    return (boot if boot.size else None), samples, counts, _ranges(state.get("train_ranges"), desc,
                                                                   f"{where} train_ranges")


def _check_residuals(sorted_sample: np.ndarray, where: str) -> None:
    """A residual predicted / measured - 1 of positive energies is above -1."""
    if len(sorted_sample) and not sorted_sample[0] > -1.0:
        raise ModelFileError(f"{where} holds {float(sorted_sample[0])!r}, but a residual predicted / measured - 1 "
                             "must be above -1 (the file was edited: refit the model)")


def _check_bootstrap_rows(state: dict[str, Any], rows: int, where: str) -> None:
    """The bootstrap table holds the converged refits: no more than ``bootstrap_replicates``, and as many as
    the fit summary's ``bootstrap_converged`` where the file has one."""
    replicates = state.get("bootstrap_replicates", 0)
    converged = (state.get("fit") or {}).get("bootstrap_converged")
    if isinstance(replicates, int) and rows > replicates:
        raise ModelFileError(f"{where} bootstrap_params has {rows} rows but bootstrap_replicates is {replicates}")
    if isinstance(converged, int) and not isinstance(converged, bool) and rows != converged:
        raise ModelFileError(f"{where} bootstrap_params has {rows} rows but the fit summary counts {converged} "
                             "converged refits (the file was edited or truncated: refit the model)")


def upgraded_state(state: dict[str, Any], template_id: str, names: tuple[str, ...] | list[str],
                   upgradable: dict[str, dict[str, float]]) -> dict[str, Any]:
    """A model state of an older template that ``template_id`` contains, rewritten to ``template_id``: each
    parameter the old one lacks at its neutral value (``upgradable[old id]``), in the parameters and as a
    column of the bootstrap refits. Any other state is returned as it is (and checked by the caller)."""
    added = upgradable.get(state.get("template"))  # type: ignore[arg-type]
    if added is None or not isinstance(state.get("params"), dict):
        return state
    state = {**state, "template": template_id, "params": {**state["params"], **added}}
    boot, old = state.get("bootstrap_params"), [n for n in names if n not in added]
    if isinstance(boot, list) and all(isinstance(r, list) and len(r) == len(old) for r in boot):
        state["bootstrap_params"] = [[dict(zip(old, r, strict=True)).get(n, added.get(n)) for n in names]
                                     for r in boot]
    return state


def data_hash(columns: list[np.ndarray], targets: list[np.ndarray]) -> str:
    """A short SHA-256 of the feature columns and targets a model was fitted on."""
    h = hashlib.sha256()
    for a in [*columns, *targets]:
        h.update(np.ascontiguousarray(a, dtype=np.float64))  # its buffer, no bytes copy
    return "sha256:" + h.hexdigest()[:32]


#: Whether a file is a model file energylens wrote (``"format": "energylens.model"`` at its top).
_MODEL_JSON = energylens_json(_FORMAT)


def write_model_file(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (the energy and latency states) as a model file at ``path``, atomically. An existing file
    is replaced only when it is a model file or empty: any other (the user's measurements, a discovery result) is an
    OutputError, the file untouched, as ``energylens fit -o`` refuses it (save replaced it without a word)."""
    p = Path(path)
    if p.is_dir():  # (it was 'could not write (Is a directory)')
        raise OutputError(f"{p}: is a folder; give a file path (such as {p / 'model.json'})")
    if not p.parent.is_dir():  # (it was 'cannot write here (No such file or directory)')
        raise OutputError(f"{p}: folder {p.parent} " + ("is a file, not a folder" if p.parent.exists() else
                                                        "does not exist; create it first") + " (the model is not written)")
    if p.is_file() and p.stat().st_size and not _MODEL_JSON(p):
        raise OutputError(f"{p}: exists and is not an energylens model file; refusing to replace it (remove it "
                          "first, or save the model to another path)")
    doc = {"format": _FORMAT, "version": MODEL_FILE_VERSION, "energylens_version": __version__,
           "created_unix_s": time.time(), **payload}
    text = json.dumps(doc, indent=1, allow_nan=True)
    with atomic_file(path) as tmp:  # a model file is whole or absent, even if killed mid-write
        tmp.write_text(text)


#: The magic numbers of compressed files a model file is not: (first bytes, compression, the command that undoes it).
_COMPRESSED = ((b"\x1f\x8b", "gzip", "gunzip"), (b"\x28\xb5\x2f\xfd", "zstandard", "zstd -d"),
               (b"BZh", "bzip2", "bunzip2"), (b"\xfd7zXZ\x00", "xz", "unxz"))


def read_model_file(path: str | Path) -> dict[str, Any]:
    """The document of a model file; ModelFileError naming the path when it is missing, not JSON, not a
    model file, of an unsupported version, or holds keys this version does not know."""
    p = Path(path)
    if p.is_dir():
        raise ModelFileError(f"{p}: is a folder, not a model file (a model file is the JSON that energylens fit -o "
                             "or save() writes)")
    if not p.is_file():
        raise ModelFileError(f"{p}: no such model file")
    try:
        raw = p.read_bytes()
    except OSError as exc:  # unreadable (permissions), or a read error
        raise ModelFileError(f"{p}: cannot read the model file ({exc.strerror or exc})") from None
    packed = next(((what, fix) for magic, what, fix in _COMPRESSED if raw.startswith(magic)), None)
    if packed is not None:  # (the others were "not a JSON model file ('utf-8' codec can't decode byte 0xb5 ...)")
        raise ModelFileError(f"{p}: is {packed[0]}-compressed; a model file is plain JSON ({packed[1]} it first)")
    try:
        text = raw.decode("utf-8-sig")  # (a byte-order mark, as Windows editors save a hand-edited file)
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{p}: not a JSON model file ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{p}: not a JSON model file ({exc})") from None
    except RecursionError:  # arrays nested thousands deep: no model file's shape
        raise ModelFileError(f"{p}: not a model file (its JSON nests too deep to read)") from None
    if isinstance(doc, dict) and doc.get("format") == "energylens.discovery":  # (what a user gives predict first)
        raise ModelFileError(f"{p}: is a discovery result (energylens discover -o), not a model file; make a model "
                             f"of its chosen expression with `energylens fit PROFILES --expression {p} -o model.json` "
                             "(--pick INDEX for another front expression), or in Python: "
                             f"energylens.discover.expression_model(load_discovery('{p}')) predicts with the constants "
                             "the run scored; .fit(profiles).save('model.json') refits them and writes a model file "
                             "(docs/discover.md)")
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        kind = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(doc), "null")
        held = (f"a JSON {kind}, not a model file's object"
                if not isinstance(doc, dict) else "a JSON object without a \"format\" key" if "format" not in doc
                else f"its \"format\" is {doc['format']!r}")
        raise ModelFileError(f"{p}: not an energylens model file ({held}; a model file is the JSON object with "
                             f"\"format\": \"{_FORMAT}\" that save() or energylens fit -o writes)")
    version = doc.get("version")
    if "version" not in doc or not _whole(version, -(2**63)):  # (it said 'version None is not supported')
        raise ModelFileError(f"{p}: " + ("has no 'version'" if "version" not in doc else
                                         f"version {version!r} must be a whole number") +
                             f" (every model file energylens writes has one, {MODEL_FILE_VERSION} today): was it "
                             "edited? refit the model to write it again")
    if not 1 <= version <= MODEL_FILE_VERSION:
        raise ModelFileError(f"{p}: model file version {version!r} is not supported (this energylens reads "
                             f"versions 1..{MODEL_FILE_VERSION}); upgrade energylens or refit")
    check_keys(doc, FILE_KEYS, f"{p}")
    _check_writer_fields(doc, p)
    for key in ("energy", "latency"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise ModelFileError(f"{p}: {key} = {doc[key]!r} must be a model's state (an object) or null")
    return doc


def _check_writer_fields(doc: dict[str, Any], p: Path) -> None:
    """ModelFileError unless ``created_unix_s`` is a time and ``energylens_version`` text where the file has
    them (records of who wrote it and when: a file assembled without them loads). A version newer than this
    energylens is not refused (the file's ``version`` says whether it is read, and a change of a template
    changes its id, which load checks) but warned about: the GPU and model tables a prediction reads, and
    fixes outside the templates, are this version's, so predictions can differ from the writer's."""
    created, version = doc.get("created_unix_s", 0.0), doc.get("energylens_version", "?")
    if isinstance(created, bool) or not isinstance(created, (int, float)) or not 0 <= created < math.inf:
        raise ModelFileError(f"{p}: created_unix_s = {created!r} must be the time the file was written (seconds "
                             "since 1970, a finite number >= 0)")
    if not isinstance(version, str) or not version.strip():
        raise ModelFileError(f"{p}: energylens_version = {version!r} must be the version text of the energylens "
                             "that wrote the file (such as '0.1.0')")
    if _release(version) > _release(__version__) > (0, 0, 0):  # ("0.0.0+unknown": a source tree never installed)
        warnings.warn(f"{p}: written by energylens {version}, newer than the installed {__version__}: it loads (its "
                      f"file format, version {doc['version']}, is one this energylens reads), but the GPU and model "
                      "tables and the fixes of the newer release are not here, so its predictions can differ from "
                      "those it gives there: upgrade energylens to predict as it does", NewerModelFileWarning,
                      stacklevel=user_stacklevel())


def _release(version: str) -> tuple[int, int, int]:
    """The release numbers (major, minor, micro) a version text starts with; (0, 0, 0) where it starts with none."""
    m = re.match(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    return (int(m[1]), int(m[2]), int(m[3] or 0)) if m else (0, 0, 0)


def summary_fields(fit: Mapping[str, Any], param_names: Sequence[str]) -> dict[str, Any]:
    """A file's fit summary as ``FitSummary`` fields: ``unidentified`` (absent before it was recorded) must
    list parameter names, and becomes a tuple. TypeError (the caller's "not valid") otherwise."""
    out = dict(fit)
    for key in ("n_rows", "n_measurements", "iterations", "starts", "starts_converged", "bootstrap_replicates",
                "bootstrap_converged", "n_distinct_rows", "n_distinct_configs"):
        low = 1 if key == "n_rows" else 0
        if key in out and not (_whole(out[key], low) or (out[key] is None and key.startswith("n_distinct"))):
            raise TypeError(f"{key} = {out[key]!r} must be a whole number >= {low}")
    for key in ("identifiable", "converged"):
        if key in out and not isinstance(out[key], bool):
            raise TypeError(f"{key} = {out[key]!r} must be true or false")
    for key in ("status", "data_hash"):
        if key in out and not isinstance(out[key], str):
            raise TypeError(f"{key} = {out[key]!r} must be a string")
    for key in ("cost", "train_mape", "fit_seconds"):
        if key in out and (isinstance(out[key], bool) or not isinstance(out[key], (int, float))):
            raise TypeError(f"{key} = {out[key]!r} must be a number")
    _check_summary_counts(out)
    unset = out.get("unidentified", ())
    if isinstance(unset, str) or not isinstance(unset, (list, tuple)) or not set(unset) <= set(param_names):
        raise TypeError(f"unidentified must list parameter names, got {unset!r}")
    out["unidentified"] = tuple(unset)
    moving = out.get("undetermined", ())  # (absent before 2026-12-07)
    if isinstance(moving, str) or not isinstance(moving, (list, tuple)) or not set(moving) <= set(unset):
        raise TypeError(f"undetermined must list parameter names among unidentified, got {moving!r}")
    out["undetermined"] = tuple(moving)
    gpus = out.get("gpus", ())  # (absent before 2026-12-07)
    if isinstance(gpus, str) or not isinstance(gpus, (list, tuple)) or not all(isinstance(g, str) for g in gpus):
        raise TypeError(f"gpus must list the GPU names the model was fitted on, got {gpus!r}")
    out["gpus"] = tuple(gpus)
    rows = out.get("gpu_rows", ())  # (absent before 2026-12-07)
    if (isinstance(rows, str) or not isinstance(rows, (list, tuple)) or not all(_whole(n, 1) for n in rows)
            or len(rows) not in (0, len(gpus))):
        raise TypeError(f"gpu_rows must give a row count >= 1 for each of the {len(gpus)} GPUs in gpus, got {rows!r}")
    if isinstance(out.get("n_rows"), int) and sum(rows) > out["n_rows"]:
        raise TypeError(f"gpu_rows {list(rows)!r} add up to {sum(rows)}, more than n_rows = {out['n_rows']} (the summary "
                        "was edited: refit the model)")
    out["gpu_rows"] = tuple(int(n) for n in rows)
    return out


def _check_summary_counts(fit: Mapping[str, Any]) -> None:
    """TypeError naming the first count of a fit summary larger than the count it is part of (a fit writes
    n_distinct_configs <= n_distinct_rows <= n_rows, starts_converged <= starts, bootstrap_converged <=
    bootstrap_replicates): such a summary was edited, and the intervals would use the edited sample size."""
    for part, whole in (("n_distinct_rows", "n_rows"), ("n_distinct_configs", "n_distinct_rows"),
                        ("n_distinct_configs", "n_rows"), ("starts_converged", "starts"),
                        ("bootstrap_converged", "bootstrap_replicates")):
        if fit.get(part) is not None and fit.get(whole) is not None and fit[part] > fit[whole]:
            raise TypeError(f"{part} = {fit[part]!r} exceeds {whole} = {fit[whole]!r} (a fit counts {part} "
                            f"among the {whole}; the summary was edited: refit the model)")
