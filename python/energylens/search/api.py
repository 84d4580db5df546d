"""``energylens.search(...)``: the configuration search from the user's side.

Builds the space (:mod:`.space`, or :mod:`.candidates` for an explicit table of configurations), gets the
energy and latency models (given, read from a model file, or fitted on the bundled data, which the result
says), writes their opt-in calibrations' per-combination factors into the engine's values (latency: TTFT /
TPOT; energy: one factor on the template's per-request energy), with ``limit_confidence`` replaces the latency
limits by the effective limits that make the latency model's upper quantile meet them (:mod:`.confidence`),
runs the native engine with the GIL released, then explains the kept configurations and, from the models'
bootstrap replicates, gives each top candidate an energy interval and the probability that it is truly the
cheapest of the top-k (:mod:`.uncertainty`), and records what it was given and applied (:mod:`.settings_record`;
docs/search.md).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.model import EnergyModel, LatencyModel, load_model
from energylens.model.calibration import row_keys
from energylens.parallel import once
from energylens.profiles.datasets import mlenergy_v2
from energylens.search import measured as measured_mode
from energylens.search.assumed import weights_room
from energylens.search.candidates import candidate_space
from energylens.search.confidence import DEFAULT_CONFIDENCE, confidence_limits
from energylens.search.device import check_device, cuda_errors
from energylens.search.extrapolation import explained
from energylens.search.frames import engine_rows, lowest_row, result_tables, short_top_note
from energylens.search.layout import tp_beyond_domain, tp_limit
from energylens.search.layout_room import ep_room, layout_room
from energylens.search.limit_check import LimitCheck
from energylens.search.options import (
    OBJECTIVES,
    check_call_options,
    checked_options,
    keyword_hints,
    native_options,
    progress_printer,
    refit_printer,
    resolve_objective,
)
from energylens.search.reach import latency_reach
from energylens.search.remedies import fp8_room, kv_room
from energylens.search.result import SearchResult, gpu_labels, ties_by_index
from energylens.search.result import config_label as _config_label
from energylens.search.settings_record import result_settings, ttft_unfitted
from energylens.search.space import COMBO_FIELDS, SearchSpace, build_space
from energylens.search.uncertainty import BOOT_COLUMNS, combo_models, not_identified, replicate_columns

__all__ = ["search", "run_engine", "native_options", "calibrate_latency", "calibrate_energy", "bundled_model",
           "DEFAULT_MAX_NUM_SEQS", "REASONS"]

#: max_num_seqs values searched by default (vLLM's default cap is 256).
DEFAULT_MAX_NUM_SEQS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Rejection reasons, in the order the engine checks them.
REASONS: tuple[str, ...] = tuple(_core.search_reason_names())


@once
def bundled_model() -> EnergyModel:
    """The energy model (with its latency model) fitted on the bundled ML.ENERGY v2 rows, once per process, with
    EnergyModel's default refits, as ``energylens fit bundled`` (200; before 2026-12-06 100, so a search without a
    model file gave other intervals, P(best) and confidence limits than one given that command's file)."""
    return EnergyModel().fit("bundled")


@once
def _bundled_rows() -> int:
    """Rows of the bundled ML.ENERGY v2 data, read once per process (read once per search, it made a
    3.6 ms search of 70B on H100,H200,B200 take 12 ms: docs/performance.md)."""
    return len(mlenergy_v2())


def given_source(model) -> str:
    """What a search given a fitted model object says of it: the data it was fitted on (the bundled ML.ENERGY v2
    rows where its data hash is the bundled model's, else its row count and data hash, which a model file's
    summary records too) and its bootstrap refits, which the intervals, P(best) and confidence limits come from.
    Before 2026-12-06 "the given EnergyModel", whatever the object held. Unfitted: "the given EnergyModel"."""
    name, s = type(model).__name__, getattr(model, "summary", None)
    if s is None:
        return f"the given {name}"
    bundled = (isinstance(model, EnergyModel) and s.n_rows == _bundled_rows()
               and s.data_hash == bundled_model().summary.data_hash)
    data = (f"the bundled ML.ENERGY v2 data ({s.n_rows} rows, vLLM 0.5.4, 2024: the latencies and energies of that "
            "serving stack)" if bundled else f"{s.n_rows} rows (data {s.data_hash[:19]}, its summary.data_hash)")
    refits = (f"{s.bootstrap_converged} converged of {s.bootstrap_replicates}"  # the intervals' and P(best)'s
              if s.bootstrap_converged != s.bootstrap_replicates else f"{s.bootstrap_replicates}")
    return f"the given {name}, fitted on {data} with {refits} bootstrap refits"


def _is_expression_model(model) -> bool:
    """An ExpressionEnergyModel, told without importing energylens.model.expression (it loads SymPy: ~0.2 s of
    every search): an instance exists only once that module is loaded (load_model / from_expression load it)."""
    module = sys.modules.get("energylens.model.expression")
    return module is not None and isinstance(model, module.ExpressionEnergyModel)


def _models(energy_model, announce: bool = False) -> tuple[EnergyModel, str]:
    if energy_model is None:
        if announce:  # the fit takes seconds: say why the search waits
            print("energylens search: no model file; fitting the model on the bundled ML.ENERGY v2 data",
                  file=sys.stderr)
        model = bundled_model()
        return model, (f"fitted on the bundled ML.ENERGY v2 data ({model.summary.n_rows} rows, vLLM 0.5.4, 2024): the "
                       "latencies and energies of that serving stack; for today's vLLM pass a model file fitted on "
                       "your own profiles or an ML.ENERGY v3 export (docs/search.md, 'The default model')")
    if isinstance(energy_model, (str, os.PathLike)):
        model = load_model(energy_model)
        source = f"model file {os.fspath(energy_model)}"
    elif isinstance(energy_model, LatencyModel | EnergyModel) or _is_expression_model(energy_model):
        model, source = energy_model, given_source(energy_model)
    else:
        raise TypeError("energy_model must be an EnergyModel, a model file's path or None (the bundled model), "
                        f"got {type(energy_model).__name__}")
    if _is_expression_model(model):  # it read "holds only a latency model"
        raise ValueError(f"{source} holds an expression energy model (EnergyModel.from_expression, a formula from "
                         "energylens discover), which the search cannot price configurations with: it evaluates the "
                         "closed-form template and its latency model; pass a model file from energylens fit")
    if not isinstance(model, EnergyModel):
        raise ValueError(f"{source} holds only a latency model; the search needs an energy model")
    if not model.is_fitted:
        raise ValueError(f"{source} is not fitted: call .fit(profiles) first, or pass a model file")
    if model.latency_model is None or not model.latency_model.is_fitted:
        raise ValueError(f"{source} has no latency model (fit on profiles with ttft_s / tpot_s); the search "
                         "needs predicted TTFT and TPOT")
    return model, source


def _combo_labels(space: SearchSpace) -> list[str]:
    """Each combo as the calibration settings name it: "model @ precision @ gpu"."""
    return [f"{c.model} @ {c.precision} @ {c.gpu}" for c in space.combos]


def calibrate_latency(space: SearchSpace, latency_model) -> dict | None:
    """Write the latency model's calibration factors (TTFT, TPOT) of each combo's model into the space's
    engine values (1 where the model is uncalibrated or the combo's model was not seen in its training);
    returns {"by": key, "factors": {"model @ precision @ gpu": [ttft, tpot]}} for the result's settings, or None.
    Also writes the model's prefill_stall sigma (the time in the system's; 1 without one) into every combo."""
    space.combo_values[:, COMBO_FIELDS.index("prefill_stall")] = getattr(latency_model, "prefill_stall", 1.0)
    cal = getattr(latency_model, "calibration", None)
    if cal is None:
        return None
    models = _combo_labels(space)
    f_ttft, f_tpot = cal.factors_of([c.model for c in space.combos], [c.precision for c in space.combos],
                                    [c.gpu for c in space.combos])
    space.combo_values[:, COMBO_FIELDS.index("ttft_factor")] = f_ttft
    space.combo_values[:, COMBO_FIELDS.index("tpot_factor")] = f_tpot
    return {"by": cal.by, "factors": {m: [float(a), float(b)] for m, a, b in zip(models, f_ttft, f_tpot, strict=True)}}


def calibrate_energy(space: SearchSpace, energy_model) -> dict | None:
    """Write the energy model's calibration factor of each combo's model into the space's engine values
    (``energy_factor``: exp(offset) of the combo's key, 1 where the model is uncalibrated or the key was not
    seen in training), so the engine's energies equal ``EnergyModel.predict``; returns {"by": key,
    "factors": {"model @ precision @ gpu": factor}, "keys": {...: key}, "unseen": [...]} for the result's
    settings, or None."""
    cal = getattr(energy_model, "calibration", None)
    if cal is None:
        return None
    frame = combo_models(space)
    factors, seen = cal.factors(frame), cal.seen(frame)
    code, names = row_keys(frame, cal.by)
    space.combo_values[:, COMBO_FIELDS.index("energy_factor")] = factors
    labels = _combo_labels(space)
    return {"by": cal.by, "factors": {m: float(f) for m, f in zip(labels, factors, strict=True)},
            "keys": {m: (names[k] if k >= 0 else None) for m, k in zip(labels, code, strict=True)},
            "unseen": sorted({m for m, s in zip(labels, seen, strict=True) if not s})}


def _calibration_sentences(latency: dict | None, energy: dict | None) -> str:
    """What the model source adds about the calibrations the search applied."""
    text = ""
    if latency is not None:
        moved = sum(f != [1.0, 1.0] for f in latency["factors"].values())
        text += (f"; latency calibrated by {latency['by']} ({moved} of {len(latency['factors'])} "
                 "combinations carry a factor; the others keep the template's TTFT and TPOT)")
    if energy is not None:
        f = np.array([v for k, v in energy["factors"].items() if k not in energy["unseen"]])  # seen keys'
        n, unseen = len(energy["factors"]), len(energy["unseen"])
        span = f", x{f.min():.4g} to x{f.max():.4g}" if len(f) else ""
        text += (f"; energy calibration by {energy['by']} applied ({n - unseen} of {n} combinations' "
                 f"{energy['by']} seen in training carry its factor{span}; {unseen} unseen keep the shared "
                 "template's energy, factor 1)")
    return text


def run_engine(space: SearchSpace, energy_theta, latency_phi, options: dict[str, Any],
               progress: Callable[[int, int], None] | None = None, device: str = "cpu", indices=None):
    """The native search on ``space`` (GIL released): a ``_core.SearchOutcome``; with ``indices`` only those
    candidates. ``device="cuda"`` runs the fixed-batch search on the GPU (CudaUnavailableError without one).
    ``progress(done, total)``: as the engine goes; once, when done, for the GPU and a candidate list."""
    check_device(device, explicit_candidates=indices is not None, probe=False)  # the engine checks options first
    theta = np.asarray(energy_theta, dtype=np.float64)
    phi = np.asarray(latency_phi, dtype=np.float64)
    if device == "cpu" and indices is None:
        return _core.search_run(*space.native_args(), theta, phi, options, progress)
    with cuda_errors():
        out = _core.search_run_device(*space.native_args(), theta, phi, options) if device == "cuda" else \
            _core.search_run(*space.native_args(), theta, phi, options, None, np.ascontiguousarray(indices, np.uint64))
    if progress is not None:  # so that a caller's progress bar ends
        progress(*(2 * [space.size if indices is None else len(indices)]))
    return out


def _timed_run(space: SearchSpace, em: EnergyModel, options: dict[str, Any], p, indices, progress, device: str, labels,
               collapse: bool, measured=None):
    """The confidence pre-pass (:func:`_confidence`) and the engine (:func:`_engine_tables`), timed together: the
    engine options with the effective limits, the limits' record (with ``top_note``: rows the device pass's cap cut,
    :func:`.frames.short_top_note`, also warned), the engine's outcome and tables, the wall time."""
    t0 = time.perf_counter()
    options, limits = _confidence(space, em, options, p, indices, progress is True, measured)
    tables = _engine_tables(space, em, options, progress, device, indices, labels, collapse, measured)
    limits = {**limits, "top_note": short_top_note(space, options["top_k"], len(tables[1]), len(tables[0].top.index),
                                                   labels, device)}
    return options, limits, tables, time.perf_counter() - t0


def _explained_top(space: SearchSpace, top_df: pd.DataFrame, em: EnergyModel, options: dict[str, Any], bootstrap: bool,
                   seed: int, measured=None, given=None) -> tuple[pd.DataFrame, Any, Any]:
    """The top rows' terms, range flags, P(best) (checking the limits as ``given``) and interval (bootstrap off: NaN)
    in one step (~0.2 ms a column; :func:`.extrapolation.explained`), the extrapolation record, the unseen GPUs' text."""
    boot = replicate_columns(space, top_df, em, options, seed, measured, given) if bootstrap else None
    return explained(space, top_df, em, boot or dict.fromkeys(BOOT_COLUMNS, np.nan))


_AXIS_DEFAULTS = {"tp": None, "pp": (1,), "dp": (1,), "ep": (1,), "max_num_seqs": DEFAULT_MAX_NUM_SEQS,
                  "precision": None, "kv_cache_dtype": "auto"}  # None: each checkpoint's format; tp: axes.default_tp that fit


def _space(model, gpus, input_tokens, output_tokens, axes: dict, workload_weights, candidates, price,
           rate_per_s, measured_latency=False, options=None) -> tuple[SearchSpace, Any, dict | None, Any]:
    """The space, the candidate indices (None: all), their labels, from the axes or a candidate table, and with
    ``measured_latency`` the table's measured latencies, each measured row in a combination of its own
    (:mod:`.measured`)."""
    measured_latency = measured_mode.check_measured(measured_latency, candidates, rate_per_s)
    if workload_weights is not None and rate_per_s is not None:
        raise ValueError("workload_weights (--workload-weights: a workload distribution) runs in fixed-batch mode only, "
                         "not with rate_per_s (--rate): sizing replicas for a mix needs a queueing model of it. With a "
                         "rate, search the distribution's mean input / output tokens (the energy and replicas of the "
                         "mean request) and its longest quantile (whether that one meets the latency limits)")
    if candidates is None:
        if model is None or gpus is None or input_tokens is None or output_tokens is None:
            raise ValueError("search needs model, gpus, input_tokens and output_tokens (or candidates=DataFrame)")
        given = {k: (v if v is not None else _AXIS_DEFAULTS[k]) for k, v in axes.items()}
        space = build_space(model, gpus, input_tokens=input_tokens, output_tokens=output_tokens,
                            price_per_gpu_hour=price, workload_weights=workload_weights,
                            node_size=(options or {}).get("node_size"), **given)
        return space, None, None, None
    clash = [f"{k} (--{k.replace('_', '-')})" for k, v in {"model": model, "gpus": gpus, "input_tokens": input_tokens,
             "output_tokens": output_tokens, "workload_weights": workload_weights, **axes}.items() if v is not None]
    if clash:
        raise ValueError(f"candidates= (--candidates) gives the configurations; do not also pass {', '.join(clash)}")
    if rate_per_s is not None and "batch_size" in candidates.columns:
        raise ValueError("candidates with a 'batch_size' column fix the running batch; load-driven mode "
                         "(rate_per_s) solves it from max_num_seqs: drop one of them")
    space, index = candidate_space(candidates, price)
    space, index, measured = (measured_mode.prepare(space, index, candidates, options) if measured_latency
                              else (space, index, None))
    return space, index, dict(zip(index.tolist(), candidates.index, strict=True)), measured


def _calibrated_models(space: SearchSpace, energy_model, announce: bool = False, measured=None, options=None
                       ) -> tuple[EnergyModel, str, dict | None, dict | None]:
    """The models (:func:`_models`; ``announce``: say so on stderr before fitting the bundled one), their
    calibrations written into the space's engine values (then, with ``measured``, each measured row's own
    combination pinned to its measurements: :func:`.measured.pinned`), the source sentence saying so, and the two
    calibration records."""
    em, source = _models(energy_model, announce)
    calibrated = calibrate_latency(space, em.latency_model)
    energy_calibrated = calibrate_energy(space, em)
    if measured is not None:  # measured values far off the prediction said first (a column in ms)
        measured_mode.flag_implausible(space, space.combo_values, em.theta, em.latency_model.theta, options, measured)
        space.combo_values = measured_mode.pinned(space, space.combo_values, em.theta, em.latency_model.theta, options,
                                                  measured)
    return (em, source + _calibration_sentences(calibrated, energy_calibrated) + _ttft_sentence(em), calibrated,
            energy_calibrated)


def _ttft_sentence(em: EnergyModel) -> str:
    """Said when the latency model never saw a measured TTFT (ML.ENERGY v2 and v3 measure TPOT only): its
    prefill efficiency and batching factor then sit at their start values."""
    if not ttft_unfitted(em):
        return ""
    p = em.latency_model.params  # its own eta_prefill: the energy model's (fitted on energy) is another
    return ("; TTFT not fitted: the latency model saw no measured TTFT, so TTFT is the roofline's prefill with "
            f"the latency model's eta_prefill {p['eta_prefill'].value:.3g} and prefill_batch_factor "
            f"{p['prefill_batch_factor'].value:.3g} at their start values, not the energy model's (a rough estimate: "
            "weigh --ttft-limit with that; fit on profiles with ttft_s, e.g. your own sweep, for a fitted TTFT)")


def _closest(space: SearchSpace, em: EnergyModel, options: dict[str, Any], out, indices, labels, measured=None
             ) -> dict | None:
    """When latency limits left nothing (None otherwise): how far they are from what the space can do.

    The space is searched again without them: how many candidates pass every other check, and among them
    the lowest predicted TPOT and TTFT with the configurations that reach them. A limit is ``unmet`` when even
    that lowest value breaks it (as applied, i.e. the effective limit under a confidence). Where each limit alone
    or only one can be met, each met limit's ``min_{n}_at_{o}_limit_*``: the lowest n among the candidates meeting o.
    ``measured``: the rows' measured values decide, each against its own limit (:func:`.measured.closest`)."""
    if out.feasible or not any(out.rejected[REASONS.index(f"{n}_limit")] for n in ("tpot", "ttft")):
        return None

    def config_label(row):  # the result's label: with the workload point when the space holds several
        return _config_label(row, len(space.workloads) > 1 and not space.distribution,
                             gpu_labels(c.gpu for c in space.combos))
    if measured is not None:
        return measured_mode.closest(space, em.theta, em.latency_model.theta, options, measured,
                                     lambda one: config_label(lowest_row(space, one, "tpot_s", labels).iloc[0]))
    limits = {n: options[f"{n}_limit_s"] for n in ("tpot", "ttft") if f"{n}_limit_s" in options}
    free = {k: v for k, v in options.items() if k not in ("tpot_limit_s", "ttft_limit_s")} | {"top_k": 1}

    def lowest(opts, names):
        res = run_engine(space, em.theta, em.latency_model.theta, opts, None, "cpu", indices)
        fronts = [lowest_row(space, getattr(res, f"front_{n}"), f"{n}_s", labels, (em.theta, em.latency_model.theta,
                                                                                  opts)) for n in names] if res.feasible else []
        return int(res.feasible), [f.iloc[0] for f in fronts if len(f)]

    info: dict[str, Any] = {"unmet": []}
    info["feasible"], rows = lowest(free, ("tpot", "ttft"))
    for (name, other), best in zip((("tpot", "ttft"), ("ttft", "tpot")), rows, strict=False):
        info[f"min_{name}_s"], info[f"min_{name}_config"] = float(best[f"{name}_s"]), config_label(best)
        info[f"min_{name}_{other}_s"] = float(best[f"{other}_s"])  # that configuration's other one: what admits it
        if name in limits and info[f"min_{name}_s"] > limits[name]:
            info["unmet"].append(name)
    for n, o in (("ttft", "tpot"), ("tpot", "ttft")) if rows and len(info["unmet"]) < 2 and len(limits) == 2 else ():
        for best in lowest(free | {f"{o}_limit_s": limits[o]}, (n,))[1] if o not in info["unmet"] else ():  # o met
            info[f"min_{n}_at_{o}_limit_s"], info[f"min_{n}_at_{o}_limit_config"] = float(best[f"{n}_s"]), config_label(best)
    return info


def _default_tp_skipped(space: SearchSpace, options: dict[str, Any], default: bool) -> tuple[int, str]:
    """Candidates at a default TP value (``default``: --tp not given) beyond their GPU's NVLink domain, and the
    note that says which: the default axis runs to the largest domain searched (:func:`.axes.default_tp`: to 64
    beside GB200 NVL72), which an 8-GPU server's combos never asked for. The engine and the oracle evaluate them
    alike (tp_node); the result counts them neither as candidates nor as rejections, so an empty search does
    not blame tp values the user never gave (:func:`.layout.tp_beyond_domain`; a given --tp stays tp_node)."""
    v, f = space.combo_values, COMBO_FIELDS.index
    if not default or space.tp.max() <= tp_limit(v[:, f("scale_up_domain_gpus")], options["node_size"]).min():
        return 0, ""  # every combo takes every tp value (one domain size searched: the usual case)
    skip = tp_beyond_domain(v[:, f("n_heads")], v[:, f("n_kv_heads")], v[:, f("scale_up_domain_gpus")], space.tp,
                            options["node_size"])
    if not skip.any():
        return 0, ""
    per_pair = space.size // skip.size  # the candidates of one (combo, tp)
    by_gpu: dict[str, set[int]] = {}
    for c, t in zip(*np.nonzero(skip), strict=True):
        by_gpu.setdefault(space.combos[c].gpu, set()).add(int(space.tp[t]))
    groups: dict[str, list[str]] = {}
    for gpu, values in sorted(by_gpu.items()):
        groups.setdefault(",".join(map(str, sorted(values))), []).append(gpu)
    n = int(skip.sum()) * per_pair
    said = "; ".join(f"tp {values} on {', '.join(gpus)}" for values, gpus in groups.items())
    return n, (f"default TP values beyond a GPU's NVLink domain, skipped (not counted as candidates): {said} "
               f"({n:,} candidate{'s' if n != 1 else ''})")


def _shown_rejections(space: SearchSpace, options: dict[str, Any], out, default: bool) -> tuple[dict, int, str]:
    """The rejection counts a result shows: the engine's, less the default TP values skipped beyond their GPU's
    domain (:func:`_default_tp_skipped`), with that count and its note."""
    skipped, note = _default_tp_skipped(space, options, default)
    rejected = dict(zip(REASONS, map(int, out.rejected), strict=True))
    rejected["tp_node"] -= skipped
    return rejected, skipped, note


def _empty_notes(space: SearchSpace, em: EnergyModel, options: dict[str, Any], out, indices, labels, measured,
                 rejected: dict[str, int], check: LimitCheck) -> dict:
    """An empty result's settings: how far the latency limits are from what the space can do (:func:`_closest`), the
    GPUs the weights need (:func:`.assumed.weights_room`), what the widened spaces of :mod:`.remedies` reach, their
    limits as given by ``check`` (:mod:`.limit_check`). ``rejected``: the counts the result shows."""
    closest = _closest(space, em, options, out, indices, labels, measured)
    theta, phi = em.theta, em.latency_model.theta  # what else would reach them, in the engine's own checks (.remedies)
    return {"without_latency_limits": closest, "weights_room": weights_room(space, theta, phi, options, rejected, int(out.feasible), indices),
            "kv_room": kv_room(space, theta, phi, options, rejected, int(out.feasible), indices, check),
            "fp8_room": fp8_room(space, theta, phi, options, rejected, int(out.feasible), indices, check),
            "latency_reach": latency_reach(space, theta, phi, options, closest, indices, check),
            "layout_room": layout_room(space, theta, phi, options, rejected, int(out.feasible), indices),
            "ep_room": ep_room(space, theta, phi, options, rejected, int(out.feasible), indices, check)}


def _confidence(space: SearchSpace, em: EnergyModel, options: dict[str, Any], p, indices, progress: bool, measured=None):
    """:func:`confidence_limits` (progress lines on stderr once its pre-pass runs a second; with ``measured``,
    over the rows whose value is predicted: :func:`.measured.confidence`), its wall time added to the record
    (``limit_confidence_seconds``; None at 0.5, where nothing runs)."""
    t0 = time.perf_counter()
    printer = refit_printer() if progress else None
    options, limits = (confidence_limits(space, em.theta, em.latency_model, options, p, indices, progress=printer)
                       if measured is None else
                       measured_mode.confidence(space, em.theta, em.latency_model, options, p, measured, printer))
    limits["limit_confidence_seconds"] = time.perf_counter() - t0 if limits["limit_confidence"] != 0.5 else None
    return options, limits


def _engine_tables(space: SearchSpace, em: EnergyModel, options: dict[str, Any], progress, device: str, indices,
                   labels, collapse: bool, measured=None):
    """The engine's outcome on the space, and its top-k and Pareto fronts as tables. ``collapse`` (load mode on
    the axes): the engine is asked for enough rows, and candidates that differ only in a max_num_seqs cap that
    does not bind become one row listing the caps (:mod:`.caps`); and how many rows were left out for needing
    more than 2**20 GPUs (load mode). The fronts are built when first read (:func:`.frames.result_tables`).
    ``measured``: the rows' latency limits decided on their measurements (:func:`.measured.run`), the tables
    saying per row whether its TTFT / TPOT is measured or predicted (``ttft_source``, ``tpot_source``)."""
    callback = progress_printer(space.size) if progress is True else (progress or None)
    opts = dict(options, top_k=engine_rows(space, options["top_k"], collapse, labels, device))
    out = (run_engine(space, em.theta, em.latency_model.theta, opts, callback, device, indices) if measured is None
           else measured_mode.run(space, em.theta, em.latency_model.theta, opts, measured, callback))
    top, fronts, over = result_tables(space, out, em.theta, em.latency_model.theta, options, labels, collapse)
    if measured is not None:
        top, fronts = measured_mode.annotate(top, measured), measured_mode.annotate_fronts(fronts, measured)
    return out, ties_by_index(top), fronts, over


@keyword_hints
def search(model=None, gpus=None, *, input_tokens=None, output_tokens=None, tp=None, pp=None, dp=None, ep=None,
           max_num_seqs=None, precision=None, kv_cache_dtype=None, workload_weights=None, candidates=None, measured_latency=False,
           tpot_limit_s=None, ttft_limit_s=None, limit_confidence=DEFAULT_CONFIDENCE, rate_per_s=None, max_utilization=None,
           objective=None, per_token=False, carbon_g_per_kwh=None, price_per_gpu_hour=None, top=10, energy_model=None,
           gpu_memory_utilization=0.9, node_size=None, runtime_reserve_gib=None, activation_tokens=8192, threads=None, bootstrap=True,
           bootstrap_seed=0, progress: Callable[[int, int], None] | bool | None = None, device: str = "cpu") -> SearchResult:
    """Find the configurations with the lowest energy (or carbon, or cost) per request.

    Args:
        model: model name(s) from the model table (or ``ModelSpec`` objects); comma-separated or a list.
        gpus: GPU name(s) from the GPU table, e.g. ``"H100,H200,B200"``.
        input_tokens, output_tokens: mean tokens per request, or equal-length lists of workload points.
        tp, pp, dp, ep, max_num_seqs, precision, kv_cache_dtype: the axes (scalars or lists; defaults tp 1,2,4,8
            and the powers of two beyond up to the GPUs' largest scale-up domain or node_size (to 64 on GB200
            NVL72; a GPU's values beyond its own domain skipped, ``settings["tp_default_skipped"]``, not rejected),
            less those no model's attention and KV heads take or above node_size, pp/dp/ep 1, max_num_seqs 1..256 in powers of 2, the checkpoint's format, auto).
        workload_weights: None (each workload point is searched on its own), or one weight per point, or
            ``"equal"``: the points are quantiles of one distribution; each configuration is then one candidate
            with the expected energy per request over the points and its TTFT, TPOT and memory at the worst point.
        candidates: instead of the axes, a DataFrame of configurations (one per row: model, gpu, tp, [pp, dp,
            ep, precision, kv_cache_dtype], input_tokens, output_tokens, batch_size or max_num_seqs;
            :mod:`energylens.search.candidates`). Only those are searched; rows carry ``candidate``, its label.
            measured_latency: True: a row's measured ``ttft_s`` / ``tpot_s`` replaces its prediction (:mod:`.measured`).
        tpot_limit_s, ttft_limit_s: limits on the predicted TPOT / TTFT (s). limit_confidence: P in (0, 1): a
            candidate passes a limit only if the upper P-quantile of its TTFT / TPOT (the latency model's
            prediction interval; needs bootstrap replicates) meets it; 0.5: the point prediction decides. ``settings`` records the effective limits (:mod:`energylens.search.confidence`).
        rate_per_s: request rate; switches to load-driven mode (Little's law batch, replicas, idle power).
            Candidates that differ only in a max_num_seqs cap the running batch stays below are one row
            (``max_num_seqs_equivalent`` lists the caps, ``cap_binds`` says whether it binds; :mod:`.caps`).
            ``max_utilization`` (None: 1) sizes the replicas to run at most that share of their throughput.
        objective: ``"energy"`` (J), ``"carbon"`` (g, needs ``carbon_g_per_kwh``) or ``"cost"`` (needs
            ``price_per_gpu_hour``: a number or a dict searched GPU -> price); None: carbon when only
            ``carbon_g_per_kwh`` is given, cost when only ``price_per_gpu_hour`` is, else energy (an input the
            named objective does not use is an error); ``per_token`` divides by output tokens. top: how many to keep.
        energy_model: an :class:`EnergyModel` with its latency model, a model file, or None (fitted on the
            bundled data; the result's ``model_source`` says so). Its opt-in energy and latency calibrations
            are applied (``settings["energy_calibration"]`` / ``["latency_calibration"]``; docs/search.md).
        gpu_memory_utilization, runtime_reserve_gib (None: memory.runtime_reserve; GiB: flat), activation_tokens, threads.
        node_size: None: each GPU's scale-up domain (GPU table ``scale_up_domain_gpus``: 8 on HGX, 72 on GB200
            NVL72); a number overrides it for every GPU. TP stays inside max(8, domain) GPUs or the override
            (``tp_node``); TP, PP and EP traffic leaving a domain pays scale-out bandwidth (docs/search.md).
        bootstrap: compute P(best) and energy intervals from the model's bootstrap replicates; bootstrap_seed:
            seed of P(best)'s draws beyond the refits (calibration offsets, unseen GPUs' transfer factors).
        progress: True for periodic lines on stderr for large spaces, or a callable(done, total).
        device: ``"cpu"`` (the OpenMP engine) or ``"cuda"`` (fixed-batch mode on the GPU, top <= 32).

    Returns: a :class:`SearchResult` (``top``: best first by ``objective``: J, g CO2 or price units per request / token).
    Raises: ValueError (an invalid axis, limit or option, or a clash between them), TypeError (``energy_model`` of
        another type), UnknownGpuError / UnknownModelError (a name the tables lack, close matches listed),
        ModelFileError (an unreadable model file), CudaUnavailableError (``device="cuda"`` without a usable GPU).
    """
    progress = check_call_options(bootstrap=bootstrap, bootstrap_seed=bootstrap_seed, progress=progress)
    check_device(device, explicit_candidates=candidates is not None)  # before the model is fitted
    objective = resolve_objective(objective, carbon_g_per_kwh, price_per_gpu_hour)
    given = dict(tpot_limit_s=tpot_limit_s, ttft_limit_s=ttft_limit_s, rate_per_s=rate_per_s, max_utilization=max_utilization,
                 per_token=per_token, carbon_g_per_kwh=carbon_g_per_kwh, gpu_memory_utilization=gpu_memory_utilization,
                 node_size=node_size, runtime_reserve_gib=runtime_reserve_gib, activation_tokens=activation_tokens)
    options, given = checked_options(given, top=top, objective=objective, threads=threads)
    axes = dict(tp=tp, pp=pp, dp=dp, ep=ep, max_num_seqs=max_num_seqs, precision=precision, kv_cache_dtype=kv_cache_dtype)
    space, indices, labels, measured = _space(model, gpus, input_tokens, output_tokens, axes, workload_weights, candidates,
                                              price_per_gpu_hour, rate_per_s, measured_latency, options)
    space.node_size = options["node_size"]  # point_profiles carries the override to the features
    em, source, calibrated, energy_calibrated = _calibrated_models(space, energy_model, progress is True, measured, options)
    options, limits, (out, top_df, fronts, over), seconds = _timed_run(
        space, em, options, limit_confidence, indices, progress, device, labels,
        rate_per_s is not None and labels is None and device == "cpu", measured)
    top_df, outside, unseen = _explained_top(space, top_df, em, options, bootstrap, int(bootstrap_seed), measured, given)
    rejected, skipped, skip_note = _shown_rejections(space, options, out, tp is None and candidates is None)
    settings = result_settings(given, limits, objective=objective, price_per_gpu_hour=price_per_gpu_hour,
                               bootstrap=bootstrap, bootstrap_seed=bootstrap_seed, space=space, indices=indices,
                               measured=measured, em=em, calibrations=(calibrated, energy_calibrated), over=over,
                               extrapolation=outside, unseen_gpu=unseen,
                               empty_notes=_empty_notes(space, em, options, out, indices, labels, measured, rejected,
                                                        LimitCheck.of(options, given, limit_confidence, em)),
                               intervals_unavailable=not_identified(em) if bootstrap else None)
    settings["tp_default_skipped"], settings["tp_note"] = skipped, "; ".join(filter(None, (settings["tp_note"], skip_note))) or None
    return SearchResult(top=top_df, pareto_tpot=fronts[0], pareto_ttft=fronts[1], feasible=int(out.feasible),
                        rejected=rejected, candidates=int(out.candidates) - skipped, model_source=source,
                        objective=f"{objective} ({OBJECTIVES[objective]} per {'output token' if per_token else 'request'})",
                        seconds=seconds, threads=int(out.threads), settings=settings)
