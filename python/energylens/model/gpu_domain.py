"""Rows on a GPU the model was not fitted on: flagged per row and named once per prediction call.

A fit records its GPUs (:attr:`energylens.model.fit_summary.FitSummary.gpus`, the GPU table's names). A row on
another GPU is priced through that GPU's specification (peak FLOP/s, memory bandwidth, TDP, link bandwidth): the
fitted parameters are carried to a GPU the data never showed, however close its specification lies to the
fitted GPUs' (an H200 next to an H100 is within the feature ranges' factor, :mod:`energylens.model.domain`, and
was not flagged at all). :class:`GpuCheck` flags such rows and its warning (:class:`UnseenGpuWarning`, an
:class:`~energylens.errors.ExtrapolationWarning`) names each GPU with its rows and which of its specifications lie
outside the fitted GPUs' [min, max] (no factor: the GPU table's values of the fitted GPUs). The template's and the
expression models' fits record them; models whose file records no GPUs (written before 2026-12-07) flag nothing.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from energylens import warning_sink
from energylens.errors import UnseenGpuWarning
from energylens.model.configs import load_configs, mapping_frame
from energylens.model.intervals import few_row_scales
from energylens.profiles.cells import codes
from energylens.profiles.gpu_table import gpu_spec as _gpu_spec
from energylens.profiles.gpu_table import gpu_table_name, user_gpus_generation

__all__ = ["FittedGpus", "GpuCheck", "SPEC_FIELDS", "fitted_gpu_check", "same_hardware", "spec_outside", "transfer_rows",
           "transfer_shares", "unseen_gpu_rows"]

#: The GPU table's fields compared with the fitted GPUs': (field, label, unit). Memory is not a feature of the
#: formulas (it bounds the batch the search allows), but a user choosing a GPU reads it with the others.
SPEC_FIELDS = (("peak_bf16_tflops", "peak bf16", "TFLOP/s"), ("peak_fp8_tflops", "peak fp8", "TFLOP/s"),
               ("hbm_bw_gbs", "memory bandwidth", "GB/s"), ("tdp_w", "TDP", "W"),
               ("interconnect_bw_gbs", "interconnect", "GB/s"), ("memory_gb", "memory", "GB"))


#: A GPU table row's fields that describe its hardware (all but its names and the source it cites).
_HARDWARE_FIELDS = ("vendor", "memory_gb", "hbm_bw_gbs", "peak_fp32_tflops", "peak_fp16_tflops", "peak_bf16_tflops",
                    "peak_fp8_tflops", "peak_int8_tops", "peak_fp4_tflops", "tdp_w", "interconnect_bw_gbs",
                    "scale_up_domain_gpus", "scale_out_bw_gbs")


def _spec(name: str):
    try:
        return _gpu_spec(name)
    except (KeyError, ValueError):  # a GPU described by spec columns in the rows alone, or no longer registered
        return None


def _hardware(spec) -> tuple:
    values = (getattr(spec, field) for field in _HARDWARE_FIELDS)
    return tuple(None if isinstance(v, float) and math.isnan(v) else v for v in values)


def same_hardware(gpu: str, fitted: str) -> bool:
    """``gpu``'s GPU table row equals ``fitted``'s in every field but its names and cited source (memory, bandwidths,
    peak rates, TDP, vendor, scale-up domain): the model cannot tell them apart, so ``gpu`` is ``fitted`` under
    another name, not an unseen GPU (its rows get no flag, warning or GPU transfer factor)."""
    a, b = _spec(gpu), _spec(fitted)
    return a is not None and b is not None and _hardware(a) == _hardware(b)


def spec_outside(gpu: str, fitted: Sequence[str]) -> str:
    """Which of ``gpu``'s specifications (:data:`SPEC_FIELDS`) lie outside the fitted GPUs' [min, max], as
    ``"memory bandwidth 4800 GB/s above the fitted 1555-3350"``, and that the others lie within; what could not be
    compared (a GPU the table does not hold now) said as such."""
    spec, known = _spec(gpu), [s for s in map(_spec, fitted) if s is not None]
    if spec is None or not known:
        missing = gpu if spec is None else ", ".join(fitted)
        return f"its specification cannot be compared: the GPU table does not hold {missing}"
    outside, inside = [], []
    for field, label, unit in SPEC_FIELDS:
        value = getattr(spec, field)
        values = [getattr(s, field) for s in known if math.isfinite(getattr(s, field))]
        if not math.isfinite(value) or not values:
            continue
        lo, hi = min(values), max(values)
        if lo <= value <= hi:
            inside.append(label)
        else:
            span = f"{lo:.4g}" if lo == hi else f"{lo:.4g}-{hi:.4g}"
            outside.append(f"{label} {value:.4g} {unit} {'above' if value > hi else 'below'} the fitted {span}")
    if not outside:
        return "every specification within the fitted GPUs' range (" + ", ".join(inside) + ")"
    return "; ".join(outside) + (f"; {', '.join(inside)} within the fitted range" if inside else "")


#: (user GPU table generation, fitted GPUs, a GPU cell's type, the cell) -> (its table name, on an unseen GPU?), and
#: (generation, fitted GPUs, "spec_outside", table name) -> :func:`spec_outside`'s text: a scheduler prices the same few
#: GPUs call after call, and judging one that is not fitted compares its table row with every fitted GPU's
#: (:func:`same_hardware`) and words the warning from their specifications again. A registration or removal of a user
#: GPU changes the generation, so nothing outlives the table it was made under. Bounded.
_VERDICTS: dict[tuple, object] = {}
_MAX_VERDICTS = 4096


class GpuCheck:
    """Accumulates the rows on GPUs outside ``fitted`` over the chunks of one prediction call. ``scales``: the fitted
    GPUs with a few rows in the fit and the share of the transfer log sd their rows draw
    (:func:`~energylens.model.intervals.few_row_scales`); they are fitted GPUs (no flag, no warning)."""

    def __init__(self, fitted: Sequence[str], scales: dict[str, float] | None = None) -> None:
        self.fitted = tuple(fitted)
        self.scales = dict(scales or {})
        #: Per row of the chunk :meth:`tally` saw last: the share of the GPU transfer log sd its interval draws (1 on
        #: an unseen GPU, :attr:`scales` on a few-row GPU, 0 on the others); None when every row's is 0.
        self.chunk_scales: np.ndarray | None = None
        self._fitted = frozenset(self.fitted)
        self.n_rows = 0
        self.rows: dict[str, int] = {}  # GPU table name -> rows on it (unseen GPUs only)
        self._names: dict[object, str] = {}  # a spelling -> its table name, this call's (:meth:`_verdict`)
        self._twins: dict[object, str | None] = {}  # a spelling -> the fitted GPU it is (:meth:`_verdict`)
        #: Per row of the chunk :meth:`tally` saw last: on an unseen GPU? None when none of its rows is.
        self.chunk_unseen: np.ndarray | None = None

    def _verdict(self, value: object) -> tuple[str, bool]:
        """``value``'s table name and whether it is unseen (:meth:`_unseen`), from :data:`_VERDICTS` after the first
        call that judged it against these fitted GPUs under this user GPU table. Also notes the fitted GPU it is
        (its own name, or the first fitted GPU of the same hardware: its few-row share, :meth:`tally`)."""
        key = (user_gpus_generation(), self.fitted, type(value), value)  # (read before judging: a change meanwhile
        hit = _VERDICTS.get(key)                                         #  files the verdict under a stale key)
        if hit is None:
            name = gpu_table_name(value)
            twin = name if name in self._fitted else next((f for f in self.fitted if same_hardware(name, f)), None)
            hit = (name, twin is None, twin)
            if len(_VERDICTS) >= _MAX_VERDICTS:
                _VERDICTS.clear()
            _VERDICTS[key] = hit
        self._names[value], self._twins[value] = hit[0], hit[2]
        return hit[0], hit[1]

    def _name(self, value: object) -> str:
        name = self._names.get(value)
        return self._verdict(value)[0] if name is None else name

    def _unseen(self, value: object) -> bool:
        """Is ``value``'s GPU neither a fitted GPU nor one whose table row is a fitted GPU's in every hardware field
        (a user's GPU table naming an H100 "Acme-H1": the same silicon under another name, priced and bounded as
        the fitted one; :func:`same_hardware`)?"""
        return self._verdict(value)[1]

    def tally(self, column) -> None:
        """Count a chunk's rows per unseen GPU without the per-row flags (what a prediction call needs): a chunk
        of fitted GPUs is one look-up per distinct GPU and no pass over its rows (a scheduler's request: ~5 us); the
        chunk's rows on unseen GPUs are kept in :attr:`chunk_unseen` (the intervals widen theirs)."""
        code, values = codes(column)
        self.n_rows += len(code)
        self.chunk_unseen = self.chunk_scales = None
        unseen = [k for k, value in enumerate(values) if self._unseen(value)]
        # a few-row GPU's share by the fitted GPU a row is: a user's GPU of its hardware under another name ("Lab-H100"
        # for a fitted H100) draws the H100's share (until 2026-12-07 none: narrower bounds than the H100's own rows)
        few = {k: self.scales[self._twins[v]] for k, v in enumerate(values)
               if k not in unseen and self._twins[v] in self.scales} if self.scales else {}
        if few:
            table = np.zeros(len(values) + 1)  # (the last entry: code -1, a blank GPU)
            table[unseen] = 1.0
            table[list(few)] = list(few.values())
            self.chunk_scales = table[code]
        if not unseen:  # (the usual case: no pass over the rows)
            return
        table = np.zeros(len(values) + 1, dtype=bool)  # (the last entry: code -1, a blank GPU; np.isin: ~20 us)
        table[unseen] = True
        self.chunk_unseen = table[code]
        if self.chunk_scales is None:
            self.chunk_scales = self.chunk_unseen
        per = [int(np.count_nonzero(code >= 0))] if len(values) == 1 else np.bincount(code[code >= 0],
                                                                                       minlength=len(values))
        for k in unseen:
            if per[k]:
                name = self._names[values[k]]
                self.rows[name] = self.rows.get(name, 0) + int(per[k])

    def flags(self, column) -> np.ndarray:
        """Boolean per row of a chunk's ``gpu`` column (a :class:`~energylens.profiles.cells.Coded` or a Series):
        the row's GPU is not one the model was fitted on."""
        code, values = codes(column)
        n = len(code)
        self.n_rows += n
        unseen = np.zeros(len(values) + 1, dtype=bool)  # (the last entry: code -1, a blank GPU: not flagged)
        for k, value in enumerate(values):
            unseen[k] = self._unseen(value)
        if not unseen.any():
            return np.zeros(n, dtype=bool)
        out = unseen[code]
        per = np.bincount(code[out], minlength=len(values))
        for k in np.flatnonzero(per):
            name = self._names[values[k]]
            self.rows[name] = self.rows.get(name, 0) + int(per[k])
        return out

    @property
    def n_flagged(self) -> int:
        return sum(self.rows.values())

    def listing(self) -> str | None:
        """Per unseen GPU its rows and its specifications against the fitted GPUs' (:func:`spec_outside`), joined
        by " | "; None when every row is on a fitted GPU."""
        if not self.rows:
            return None
        return " | ".join(f"{gpu}: {k} row(s); {self._outside(gpu)}" for gpu, k in sorted(self.rows.items()))

    def _outside(self, gpu: str) -> str:
        """:func:`spec_outside` of ``gpu`` against the fitted GPUs, kept as :data:`_VERDICTS` keeps verdicts (each
        prediction call on an unseen GPU says it in its warning, warnings ignored or not)."""
        key = (user_gpus_generation(), self.fitted, "spec_outside", gpu)
        text = _VERDICTS.get(key)
        if text is None:
            text = spec_outside(gpu, self.fitted)
            if len(_VERDICTS) >= _MAX_VERDICTS:
                _VERDICTS.clear()
            _VERDICTS[key] = text
        return text

    def summary(self) -> str | None:
        """:meth:`listing` in the sentence the warning gives; None when every row is on a fitted GPU."""
        if not self.rows:
            return None
        return (f"GPUs the model was not fitted on ({self.listing()}); it was fitted on {', '.join(self.fitted)}: "
                "their predictions carry the fitted parameters to another GPU through its specification (peak "
                "FLOP/s, memory bandwidth, TDP), untested on that GPU; fit on some of its rows to check them")

    def warn(self, call: str) -> None:
        """One UnseenGpuWarning for the whole call naming the GPUs (nothing when every row is on a fitted GPU)."""
        text = self.summary()
        if text is not None:
            warning_sink.warn_bounded(f"{call}: {self.n_flagged} of {self.n_rows} rows are on {text}",
                                      UnseenGpuWarning, stacklevel=5)


def fitted_gpu_check(summary: Any, n_params: int = 0) -> GpuCheck | None:
    """A check of rows' GPUs against those a fit ``summary`` (a FitSummary, or None before a fit) records; None where
    it records none (a model file written before they were recorded): the models' ``_gpu_check``. ``n_params``: the
    model's fitted parameters p, which set each fitted GPU's share of the transfer sd, (1 - w) x min(1, sqrt(p / n))
    for a GPU of n of the fit's rows (w = n / rows), none under 0.25 (:func:`~energylens.model.intervals.few_row_scales`;
    0: no GPU draws one)."""
    gpus = () if summary is None else summary.gpus
    if not gpus:
        return None
    return GpuCheck(gpus, few_row_scales(gpus, getattr(summary, "gpu_rows", ()), n_params))


def unseen_gpu_rows(configs: Any, fitted: Sequence[str]) -> tuple[np.ndarray, str | None]:
    """Per row of ``configs`` (a path, a frame, a mapping or a list of them): is it on a GPU outside ``fitted``?
    And :meth:`GpuCheck.summary` of those rows (None when none is). All False, None, where ``fitted`` is empty (a
    model file written before its GPUs were recorded). Reads the ``gpu`` column alone: the models' ``unseen_gpu``."""
    frame = mapping_frame(configs)
    if not (isinstance(frame, pd.DataFrame) and "gpu" in frame):  # a path, or a frame the schema must name
        frame = load_configs(frame, require_energy=False)
    if not fitted:
        return np.zeros(len(frame), dtype=bool), None
    check = GpuCheck(fitted)
    return check.flags(frame["gpu"]), check.summary()


def transfer_shares(configs: Any, check: GpuCheck | None) -> np.ndarray:
    """Per row of ``configs`` (as :func:`unseen_gpu_rows` reads them: the ``gpu`` column alone): the share of the GPU
    transfer log sd its prediction interval draws under ``check`` (a model's ``_gpu_check()``): 0 on a fitted GPU,
    its share on a few-row GPU ((1 - w) min(1, sqrt(p / n)): :func:`~energylens.model.intervals.few_row_scales`), 1 on
    an unseen GPU; all 0 without a
    check. What a caller reproducing the intervals' draws passes to
    :class:`~energylens.model.intervals.GpuTransfer` (the models' ``transfer_shares``)."""
    frame = mapping_frame(configs)
    if not (isinstance(frame, pd.DataFrame) and "gpu" in frame):
        frame = load_configs(frame, require_energy=False)
    if check is None:
        return np.zeros(len(frame))
    check.tally(frame["gpu"])
    shares = check.chunk_scales
    return np.zeros(len(frame)) if shares is None else shares.astype(np.float64)


def transfer_rows(check: GpuCheck | None, n: int) -> np.ndarray | None:
    """The rows of the chunk of ``n`` rows ``check`` tallied last that draw a GPU transfer factor: booleans (on an
    unseen GPU) where no row is on a few-row GPU, else each row's share of the transfer log sd
    (:attr:`GpuCheck.chunk_scales`); None when no row draws one. What :class:`~energylens.model.intervals.GpuTransfer`
    takes."""
    mask = None if check is None else check.chunk_scales
    return mask if mask is not None and len(mask) == n else None



class FittedGpus:
    """The fitted-GPU methods the template and expression models share (each has ``summary`` and
    ``param_names``): one definition instead of a copy per model class."""

    summary: Any
    param_names: Any

    def _gpu_check(self) -> GpuCheck | None:
        """A check of the rows' GPUs against the fitted ones; None before a fit and where the model records none
        (a file written before they were recorded)."""
        return fitted_gpu_check(self.summary, len(self.param_names))

    def transfer_shares(self, configs: Any) -> np.ndarray:
        """Per row of ``configs`` (the ``gpu`` column alone): the share of the GPU transfer factor's log sd its
        prediction interval draws: 0 on a fitted GPU, (1 - w) min(1, sqrt(p / n)) on a GPU with a few rows in the fit
        (n of them, w their share of the training rows, p parameters; :func:`energylens.model.intervals.few_row_scales`),
        1 on a GPU the model was not fitted on
        (:meth:`unseen_gpu`). For callers reproducing the intervals' draws (:class:`energylens.model.intervals.GpuTransfer`
        takes these); all 0 for a model file that records no GPUs."""
        return transfer_shares(configs, self._gpu_check())
