"""Latency measured, energy predicted: ``energylens.search(candidates=df, measured_latency=True)``.

Latency benchmarks (``vllm bench serve``: TTFT and TPOT per configuration) need no power meter, so a user often
has them for far more configurations than energy measurements. With ``measured_latency=True`` a candidate table's
``ttft_s`` / ``tpot_s`` cells (the profile schema's columns; an ML.ENERGY v3 export gives ``tpot_s``) replace the
latency model's prediction for that row and quantity: the latency limits are checked against them (as given,
whatever ``limit_confidence``: a measurement has no prediction interval), the result's TTFT / TPOT, the Pareto
fronts and the GPU-seconds (cost objective) are theirs. A blank cell leaves that row's quantity predicted. Energy
stays the energy model's prediction. Fixed-batch mode only: a TPOT measured at one running batch says nothing of
the batch Little's law solves under a request rate (docs/search.md, "Measured latency"). A measured value far
above its row's prediction (a ``vllm bench serve`` column in ms pasted as seconds) is noted, not refused
(:func:`flag_implausible`).

How, without a second engine: each row with a measured value gets a combination of its own (a copy of its
combo's values, :func:`separate`), whose latency-calibration factors are set so that the engine's TTFT / TPOT
equal the measured values (:func:`pinned`: the template's value times the factor; where no double factor gives
the measured value exactly, one ulp off it, and the tables then carry the measured value itself, the fronts
filtered again on it). The limits are
decided here, per row (:func:`reasons`, the engine's comparison ``!(value <= limit)`` in the engine's order,
TTFT first): a measured value against the limit as given, a predicted one against the limit the search applies
(the effective limit at a confidence, computed over the rows whose quantity is predicted,
:func:`confidence`); the engine then ranks the rows that pass every check with no latency limit (:func:`run`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.arguments import flag
from energylens.search.candidates import measured_latencies
from energylens.search.confidence import DEFAULT_CONFIDENCE, check_confidence, confidence_limits
from energylens.search.deferred import Deferred
from energylens.search.space import COMBO_FIELDS, SearchSpace

__all__ = ["MeasuredLatency", "check_measured", "prepare", "separate", "pinned", "reasons", "run", "confidence",
           "annotate", "closest", "IMPLAUSIBLE_RATIO", "IMPLAUSIBLE_BELOW", "flag_implausible", "implausible_note"]

_REASONS: tuple[str, ...] = tuple(_core.search_reason_names())
_NAMES = ("ttft", "tpot")  # the engine's order of the latency checks
_FACTOR = {n: COMBO_FIELDS.index(f"{n}_factor") for n in _NAMES}
_LIMIT = {n: f"{n}_limit_s" for n in _NAMES}
#: A measured TTFT / TPOT this many times above the latency model's prediction for its row is reported as
#: implausible (:func:`flag_implausible`): a column in milliseconds reads 1000x. The bundled (vLLM 0.5.4) model's
#: TPOT is 2.2x to 18x above ML.ENERGY v3's measured TPOT on H100 (402 rows; none above it): a value this many times
#: *below* its prediction is reported only at :data:`IMPLAUSIBLE_BELOW`.
IMPLAUSIBLE_RATIO = 20.0
IMPLAUSIBLE_BELOW = 100.0
#: What the engine's candidates carry that the result tables read (frames._FIELDS).
_FIELDS = ("index", "objective", "energy_j", "prefill_j", "decode_j", "idle_j", "static_j", "ttft_s", "tpot_s", "batch",
           "replicas", "gpus", "gpu_s_per_request", "memory_bytes")


@dataclasses.dataclass
class MeasuredLatency:
    """The candidates' indices (row order, in the space :func:`separate` made), each row's measured TTFT / TPOT
    (``values["ttft"]``, ``values["tpot"]``; NaN: predicted), the latency limits as given (None: none) and the
    combinations the user searched (``combos``: before :func:`separate` gave each measured row its own)."""

    index: np.ndarray
    values: dict[str, np.ndarray]
    limits: dict[str, float | None]
    combos: int
    labels: list = dataclasses.field(default_factory=list)  # each row's candidate label (the table's index)
    implausible: dict | None = None  # :func:`flag_implausible`'s record

    def at(self, idx) -> dict[str, np.ndarray]:
        """The measured values of candidate indices ``idx`` (each one of :attr:`index`)."""
        order = np.argsort(self.index, kind="stable")
        pos = order[np.searchsorted(self.index[order], np.asarray(idx, dtype=np.uint64))]
        return {n: v[pos] for n, v in self.values.items()}

    def counts(self) -> dict[str, int]:
        """Rows whose TTFT / TPOT is measured (the result's ``settings["measured_latency_rows"]``)."""
        return {n: int(np.isfinite(v).sum()) for n, v in self.values.items()}


def check_measured(measured_latency, candidates, rate_per_s) -> bool:
    """``measured_latency`` as a bool; ValueError where it cannot apply: not a boolean, no candidate table (a
    measurement belongs to a table's row), or with a request rate (module docstring)."""
    if not flag("measured_latency", measured_latency):
        return False
    if candidates is None:
        raise ValueError("measured_latency=True (--measured-latency) reads the measured ttft_s / tpot_s of a candidate "
                         "table's rows: give candidates= (--candidates CSV)")
    if rate_per_s is not None:
        raise ValueError("measured_latency=True (--measured-latency) cannot be combined with rate_per_s (--rate): load "
                         "mode sizes replicas by Little's law from TTFT and TPOT at the running batch it solves, and a "
                         "latency measured at one running batch (the row's) says nothing of another. Search the "
                         "measured rows in fixed-batch mode (no rate), or predict their latency (no --measured-latency)")
    return True


def separate(space: SearchSpace, index: np.ndarray, rows: np.ndarray) -> tuple[SearchSpace, np.ndarray]:
    """The space with each of the rows ``rows`` (a mask over ``index``) in a combination of its own (a copy of its
    combo's values, appended), and the rows' candidate indices in it. Combo is the slowest digit, so the other
    rows keep their indices."""
    if not rows.any():
        return space, index
    digits = list(np.unravel_index(np.asarray(index, dtype=np.int64), space.shape))
    own = digits[0][rows]
    extra = space.prefill_extra_flops
    new = dataclasses.replace(
        space, combos=[*space.combos, *(space.combos[c] for c in own)],
        combo_values=np.ascontiguousarray(np.vstack([space.combo_values, space.combo_values[own]])),
        profile_rows=[*space.profile_rows, *(space.profile_rows[c] for c in own)],
        prefill_extra_flops=(extra if not isinstance(extra, np.ndarray) or extra.ndim != 2
                             else np.ascontiguousarray(np.vstack([extra, extra[own]]))))
    digits[0] = digits[0].copy()
    digits[0][rows] = len(space.combos) + np.arange(int(rows.sum()))
    return new, np.ravel_multi_index(tuple(digits), new.shape)


def prepare(space: SearchSpace, index: np.ndarray, candidates: pd.DataFrame, options: dict[str, Any]
            ) -> tuple[SearchSpace, np.ndarray, MeasuredLatency]:
    """The candidate table's measured latencies (:func:`.candidates.measured_latencies`: a bad cell is an error
    naming the file, row and column), the space with each measured row in its own combination
    (:func:`separate`) and the rows' indices in it."""
    values = measured_latencies(candidates)
    rows = np.isfinite(values["ttft"]) | np.isfinite(values["tpot"])
    searched = len(space.combos)
    space, index = separate(space, np.asarray(index), rows)
    limits = {n: options.get(_LIMIT[n]) for n in _NAMES}
    return space, np.asarray(index), MeasuredLatency(np.asarray(index, dtype=np.uint64), values, limits, searched,
                                                     list(candidates.index))


def _free(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in _LIMIT.values()}


def _exact_factor(raw: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Factors f with raw x f == want in double where one exists (the engine's one multiply), else the nearest."""
    f = want / raw
    for _ in range(4):
        got = raw * f
        f = np.where(got < want, np.nextafter(f, np.inf), np.where(got > want, np.nextafter(f, -np.inf), f))
    return f


def pinned(space: SearchSpace, combo_values: np.ndarray, theta, phi, options: dict[str, Any], m: MeasuredLatency,
           idx=None) -> np.ndarray:
    """``combo_values`` (a copy) with the own combination of each measured candidate (of ``idx``; None: all)
    carrying latency factors that make the engine's TTFT / TPOT at latency parameters ``phi`` its measured values;
    a quantity not measured keeps its factor (the latency calibration's, or 1)."""
    idx = m.index if idx is None else np.asarray(idx, dtype=np.uint64)
    at = m.at(idx)
    some = np.isfinite(at["ttft"]) | np.isfinite(at["tpot"])
    out = np.array(combo_values, dtype=np.float64, copy=True)
    if not some.any():
        return out
    idx, at = idx[some], {n: v[some] for n, v in at.items()}
    combo = space.digits(idx.astype(np.int64))[0]
    for n in _NAMES:
        out[combo[np.isfinite(at[n])], _FACTOR[n]] = 1.0
    raw = _core.search_evaluate(out, *space.native_args()[1:], np.asarray(theta, dtype=np.float64),
                                np.asarray(phi, dtype=np.float64), _free(options), idx)
    for n, got in zip(_NAMES, (np.asarray(raw.ttft_s), np.asarray(raw.tpot_s)), strict=True):
        have = np.isfinite(at[n]) & np.isfinite(got) & (got > 0)
        out[combo[have], _FACTOR[n]] = _exact_factor(got[have], at[n][have])
    return out


def reasons(m: MeasuredLatency, idx, cands, options: dict[str, Any]) -> np.ndarray:
    """Each candidate's rejection reason (-1: feasible) from the engine's candidates ``cands`` of ``idx``,
    evaluated without latency limits: a measured TTFT / TPOT against the limit as given, a predicted one against
    ``options``' (the effective limit at a confidence), TTFT first as in the engine."""
    reason = np.array(cands.reason, dtype=np.int64)
    at = m.at(idx)
    open_ = reason < 0
    for n, got in zip(_NAMES, (np.asarray(cands.ttft_s), np.asarray(cands.tpot_s)), strict=True):
        if m.limits[n] is None:
            continue
        measured = np.isfinite(at[n])
        value = np.where(measured, at[n], got)
        limit = np.where(measured, float(m.limits[n]), float(options[_LIMIT[n]]))
        fail = open_ & ~(value <= limit)
        reason[fail] = _REASONS.index(f"{n}_limit")
        open_ &= ~fail
    return reason


def _with_measured(cands, m: MeasuredLatency) -> SimpleNamespace:
    """The engine's candidates with each measured TTFT / TPOT as measured (the engine's may be one ulp off)."""
    out = SimpleNamespace(**{f: np.array(getattr(cands, f)) for f in _FIELDS})
    if len(out.index):
        at = m.at(out.index)
        for n in _NAMES:
            col = getattr(out, f"{n}_s")
            setattr(out, f"{n}_s", np.where(np.isfinite(at[n]), at[n], col))
    return out


def _front(cands: SimpleNamespace, x: str) -> SimpleNamespace:
    """The Pareto front of (``x``, objective) among the engine's front rows with the measured values in (the
    oracle's rule: by x, objective, index; kept where the objective is below every earlier one). Two rows measured at
    one TPOT (a benchmark's rounded 20.0 ms twice) were both on the front where the engine's pinned values of the two
    differed in the last bit, the dearer one first."""
    order = np.lexsort((cands.index, cands.objective, getattr(cands, x)))
    y = cands.objective[order]
    keep = order[y < np.minimum.accumulate(np.r_[np.inf, y[:-1]])]
    return SimpleNamespace(**{f: getattr(cands, f)[keep] for f in _FIELDS})


def run(space: SearchSpace, theta, phi, options: dict[str, Any], m: MeasuredLatency, progress=None) -> SimpleNamespace:
    """The search of the table's rows (:func:`pinned` values in ``space``): the engine's outcome (top-k, fronts)
    over the rows that pass every check, the limits decided by :func:`reasons`; rejection counts of all rows."""
    theta, phi, free = np.asarray(theta, dtype=np.float64), np.asarray(phi, dtype=np.float64), _free(options)
    cands = _core.search_evaluate(*space.native_args(), theta, phi, free, m.index)
    reason = reasons(m, m.index, cands, options)
    keep = np.ascontiguousarray(m.index[reason < 0])
    out = _core.search_run(*space.native_args(), theta, phi, free, None, keep)
    if progress is not None:  # so that a caller's progress bar ends
        progress(len(m.index), len(m.index))
    return SimpleNamespace(candidates=len(m.index), feasible=int((reason < 0).sum()), threads=out.threads,
                           rejected=np.bincount(reason[reason >= 0], minlength=len(_REASONS)),
                           top=_with_measured(out.top, m), front_tpot=_front(_with_measured(out.front_tpot, m), "tpot_s"),
                           front_ttft=_front(_with_measured(out.front_ttft, m), "ttft_s"))


def annotate(df: pd.DataFrame, m: MeasuredLatency) -> pd.DataFrame:
    """A result table with ``ttft_source`` / ``tpot_source`` ("measured" or "predicted") after ``tpot_s``."""
    at = m.at(df["index"].to_numpy()) if len(df) else {n: np.empty(0) for n in _NAMES}
    out = df.copy()
    where = list(out.columns).index("tpot_s") + 1
    for k, n in enumerate(_NAMES):
        out.insert(where + k, f"{n}_source", np.where(np.isfinite(at[n]), "measured", "predicted").astype(object))
    return out


def annotate_fronts(fronts, m: MeasuredLatency) -> tuple:
    """:func:`annotate` on the Pareto fronts, still built at their first read."""
    return tuple(Deferred(lambda f=f: annotate(f.build() if isinstance(f, Deferred) else f, m)) for f in fronts)


def confidence(space: SearchSpace, theta, latency_model, options: dict[str, Any], p, m: MeasuredLatency,
               progress=None) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`~energylens.search.confidence.confidence_limits` for a table with measured rows: each limit's
    effective limit from the rows whose quantity is predicted (a measured one is checked as given, so it has
    no say in the threshold), and the record saying how many rows were checked as measured."""
    p = check_confidence(p)
    limited = [n for n in _NAMES if m.limits[n] is not None]
    if p == DEFAULT_CONFIDENCE or not limited:  # the plain record, or the plain error (no limit to meet)
        return confidence_limits(space, theta, latency_model, options, p, m.index, progress=progress)
    out = dict(options)
    record: dict[str, Any] = {"limit_confidence": p, **{f"effective_{n}_limit_s": m.limits[n] for n in _NAMES}}
    counted, methods = 0, []
    for n in limited:
        rows = m.index[~np.isfinite(m.values[n])]
        if not len(rows):
            continue  # every row's value measured: checked as given
        one = {k: v for k, v in options.items() if k not in _LIMIT.values() or k == _LIMIT[n]}
        got, rec = confidence_limits(space, theta, latency_model, one, p, rows, progress=progress)
        out[_LIMIT[n]] = got[_LIMIT[n]]
        record.update({k: v for k, v in rec.items() if k.startswith((f"effective_{n}", f"{n}_", "limit_confidence"))})
        counted, methods = max(counted, rec["limit_confidence_candidates"]), [*methods, rec["limit_confidence_method"]]
    record["limit_confidence_method"] = " / ".join(dict.fromkeys(methods)) or "none: every limited value measured"
    record["limit_confidence_candidates"] = counted
    record["measured_latency_confidence_note"] = (
        "a measured TTFT / TPOT is checked against its limit as given (a measurement has no prediction interval); "
        "the effective limits apply to the predicted ones")
    return out, record


def _pick(rows: SimpleNamespace, among: np.ndarray, name: str) -> int:
    """The row of ``among`` with the lowest ``name`` (the first of equal ones by objective and index)."""
    pick = np.flatnonzero(among)
    return int(pick[np.lexsort((rows.index[pick], rows.objective[pick], getattr(rows, f"{name}_s")[pick]))[0]])


def _lowest(rows: SimpleNamespace, among: np.ndarray, name: str, key: str, label: Callable, at) -> dict[str, Any]:
    """The row of ``among`` (a mask) with the lowest TTFT / TPOT ``name`` (the first of equal ones by objective and
    index, as the engine's front orders them): ``{key}_s``, ``{key}_config`` (``label`` of the one-row candidates)
    and ``{key}_source``."""
    i = _pick(rows, among, name)
    return {f"{key}_s": float(getattr(rows, f"{name}_s")[i]),
            f"{key}_config": label(SimpleNamespace(**{f: getattr(rows, f)[[i]] for f in _FIELDS})),
            f"{key}_source": "measured" if np.isfinite(at[name][i]) else "predicted"}


def closest(space: SearchSpace, theta, phi, options: dict[str, Any], m: MeasuredLatency, label: Callable
            ) -> dict[str, Any]:
    """An empty result's record of how far its latency limits are (``api._closest``'s) for a table with measured
    rows. Over the rows that pass every other check: the lowest TPOT and TTFT each has (measured, else predicted;
    ``min_*_source`` says which). A limit is unmet when no row meets it on its own terms (a measured value the
    limit as given, a predicted one the applied limit); ``{n}_limit_needed_s`` is then the lowest given limit that
    admits a row: a measured value itself, a predicted one times given / applied (the confidence's shift, as the
    plain search suggests it). With both limits set, per unmet limit n the lowest row's other value and the given
    limits that admit that row (``min_{n}_{o}_s``, ``min_{n}_needed_s``, ``min_{n}_{o}_needed_s``), and where the other
    limit o is met by some rows, the lowest n among them and the n limit that admits it
    (``min_{n}_at_{o}_limit_*``, ``..._needed_s``): what :func:`.remedy_wording.unmet_raise` names, as the plain search
    does (until 2026-12-07 one unmet limit read its lowest value alone, whose row may break the met limit: following it
    found nothing). With both limits each met alone: the lowest TTFT among the rows that meet the TPOT
    limit (``min_ttft_at_tpot_limit_*``) and the TTFT limit that admits one of them. ``label``: the configuration
    label of a one-row set of the engine's candidates."""
    cands = _core.search_evaluate(*space.native_args(), np.asarray(theta, dtype=np.float64),
                                  np.asarray(phi, dtype=np.float64), _free(options), m.index)
    ok, rows, at = np.asarray(cands.reason) < 0, _with_measured(cands, m), m.at(m.index)
    info: dict[str, Any] = {"unmet": [], "feasible": int(ok.sum())}
    if not ok.any():
        return info
    passes, needed = {}, {}
    for n in ("tpot", "ttft"):
        info.update(_lowest(rows, ok, n, f"min_{n}", label, at))
        if m.limits[n] is None:
            continue
        v, measured, given, applied = getattr(rows, f"{n}_s"), np.isfinite(at[n]), float(m.limits[n]), options[_LIMIT[n]]
        passes[n] = ok & (v <= np.where(measured, given, applied))
        needed[n] = np.where(measured, v, v * given / applied)
        if not passes[n].any():
            info["unmet"].append(n)
            info[f"{n}_limit_needed_s"] = float(needed[n][ok].min())
    for n, o in (("tpot", "ttft"), ("ttft", "tpot")) if len(passes) == 2 else ():
        if n not in info["unmet"]:
            continue
        i = _pick(rows, ok, n)  # the lowest's own pair: both limits raised to it admit that row
        info[f"min_{n}_{o}_s"], info[f"min_{n}_needed_s"] = float(getattr(rows, f"{o}_s")[i]), float(needed[n][i])
        info[f"min_{n}_{o}_needed_s"] = float(needed[o][i])
        if o not in info["unmet"]:  # o met by some rows: the lowest n among them, and the n limit that admits it
            info.update(_lowest(rows, passes[o], n, f"min_{n}_at_{o}_limit", label, at))
            info[f"min_{n}_at_{o}_limit_needed_s"] = float(needed[n][_pick(rows, passes[o], n)])
    if not info["unmet"] and len(passes) == 2:  # each limit alone is reachable, not both together
        info.update(_lowest(rows, passes["tpot"], "ttft", "min_ttft_at_tpot_limit", label, at))
        info["ttft_limit_needed_s"] = float(needed["ttft"][passes["tpot"]].min())
    return info


def flag_implausible(space: SearchSpace, combo_values: np.ndarray, theta, phi, options: dict[str, Any],
                     m: MeasuredLatency) -> None:
    """Set ``m.implausible``: per column (``ttft_s``, ``tpot_s``) the measured values more than
    :data:`IMPLAUSIBLE_RATIO` x above or :data:`IMPLAUSIBLE_BELOW` x below the latency model's prediction for their
    row (``combo_values`` before
    :func:`pinned`: the prediction the default search uses), with the count, the median ratio, whether every one
    is within the ratio once divided by 1000 (``milliseconds``: ``vllm bench serve`` prints TTFT / TPOT in ms) and
    up to 3 examples;
    None when every value is within the ratio. The values are searched as given: a measurement is the user's."""
    cands = _core.search_evaluate(np.ascontiguousarray(combo_values, dtype=np.float64), *space.native_args()[1:],
                                  np.asarray(theta, dtype=np.float64), np.asarray(phi, dtype=np.float64),
                                  _free(options), m.index)
    found = {}
    for n, pred in zip(_NAMES, (np.asarray(cands.ttft_s), np.asarray(cands.tpot_s)), strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = m.values[n] / pred
        bad = np.flatnonzero(np.isfinite(ratio) & ((ratio > IMPLAUSIBLE_RATIO) | (ratio < 1.0 / IMPLAUSIBLE_BELOW)))
        if not len(bad):
            continue
        found[f"{n}_s"] = {
            "count": len(bad), "measured_rows": int(np.isfinite(m.values[n]).sum()),
            "median_ratio": float(np.median(ratio[bad])),
            # every one within the ratio once divided by 1000
            "milliseconds": bool(np.all((ratio[bad] > 1e3 / IMPLAUSIBLE_RATIO) & (ratio[bad] < 1e3 * IMPLAUSIBLE_RATIO))),
            "examples": [{"candidate": m.labels[i] if isinstance(m.labels[i], str) else _plain_label(m.labels[i]),
                          "measured_s": float(m.values[n][i]), "predicted_s": float(pred[i])} for i in bad[:3]]}
    m.implausible = {"above": IMPLAUSIBLE_RATIO, "below": IMPLAUSIBLE_BELOW, **found} if found else None


def _plain_label(label):
    """A row label as JSON writes it: a whole number as int, anything else as its text."""
    return int(label) if isinstance(label, (int, np.integer)) else str(label)


def implausible_note(s: dict[str, Any]) -> str:
    """The summary's note on :func:`flag_implausible`'s record in the result's settings ``s`` ("" when none)."""
    record = s.get("measured_latency_implausible")
    if not record:
        return ""
    out = ""
    for col in ("ttft_s", "tpot_s"):
        r = record.get(col)
        if not r:
            continue
        e = r["examples"][0]
        out += (f"\nnote: the measured {col} of {r['count']} of {r['measured_rows']} rows is more than "
                f"{record['above']:g}x above or {record['below']:g}x below the latency model's prediction (median "
                f"x{r['median_ratio']:.3g}; "
                f"candidate {e['candidate']}: {e['measured_s']:.4g} s measured, {e['predicted_s']:.3g} s predicted)"
                + (f"; the column looks like milliseconds (vllm bench serve prints {col[:4].upper()} in ms): divide it "
                   "by 1000" if r["milliseconds"] else "; check its unit (seconds) and the row's configuration")
                + ". The search used the values as given")
    return out
