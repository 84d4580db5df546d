"""The result's ``settings``: the record of what a search was given (limits, options, objective and its inputs),
what it searched (the space's shape and axes, enough to search it again; :func:`space_settings`), and what it
applied or found (the effective limits, the calibrations, the parameters no training row identified that a
searched candidate depends on, the notes of an empty result). :func:`result_settings` assembles it in the order
the JSON output and the summary read it (docs/search.md, "What a result says").
"""

from __future__ import annotations

from typing import Any

from energylens.model import EnergyModel, LatencyModel
from energylens.search.remedies import model_shapes
from energylens.search.space import SearchSpace

__all__ = ["ttft_unfitted", "unidentified", "space_settings", "result_settings"]

#: Parameters that only act on candidates with one of these axes above 1 (else every candidate uses them).
_ACTS_ON = {"pp_bubble": "pp", "allreduce_latency_us": "tp", "tp_sync_us": "tp"}


def ttft_unfitted(em: EnergyModel) -> bool:
    """The latency model never saw a measured TTFT (ML.ENERGY v2 and v3 measure TPOT only)."""
    return em.latency_model is not None and em.latency_model.ttft_fitted is False


def unidentified(space: SearchSpace, em: EnergyModel) -> dict[str, list[str]]:
    """The parameters of the energy and latency models that no training row depended on (fit summaries)
    and some searched candidate does."""
    out = {}
    for kind, m in (("energy", em), ("latency", em.latency_model)):
        names = list(getattr(getattr(m, "summary", None), "unidentified", ()) or ())
        if kind == "latency" and ttft_unfitted(em):  # the TTFT ones are said by the model line already
            names = [n for n in names if n not in LatencyModel.TTFT_PARAMS]
        names = [n for n in names if n not in _ACTS_ON or int(getattr(space, _ACTS_ON[n]).max()) > 1]
        if names:
            out[kind] = names
    return out


def space_settings(space: SearchSpace, indices, measured=None) -> dict[str, Any]:
    """The result's record of the space: shape and axes (enough to search it again), workloads, candidates. With
    measured latency (``measured``) the shape's ``combos`` are the user's model x GPU x format combinations, and
    ``measured_latency_engine_combos`` counts those the engine ran (one more per row with a measured value)."""
    def names(field: str) -> list[str]:
        return list(dict.fromkeys(getattr(c, field) for c in space.combos))
    shape = dict(zip(("combos", "tp", "pp", "dp", "ep", "max_num_seqs", "workloads"), space.point_shape, strict=True))
    engine = {} if measured is None else {"measured_latency_engine_combos": shape["combos"],
                                          "measured_latency_implausible": measured.implausible}  # .measured
    shape["combos"] = shape["combos"] if measured is None else measured.combos  # the user's, not the per-row copies
    return {"space_shape": shape,
            "models": names("model"), "model_names_given": dict(space.given_names) or None,  # the remedies name these
            "gpus": names("gpu"), "precisions": names("precision"),
            "kv_cache_dtypes": names("kv_cache_dtype"),
            **{a: getattr(space, a).astype(int).tolist() for a in ("tp", "pp", "dp", "ep")},
            # whole on the axes; a candidate table's measured running batch may be fractional (31.92)
            "max_num_seqs": [int(v) if float(v).is_integer() else float(v) for v in space.max_num_seqs],
            "input_tokens": space.workloads[:, 0].tolist(), "output_tokens": space.workloads[:, 1].tolist(),
            "workload_distribution": None if not space.distribution else space.workload_weights.tolist(),
            # the same under the argument's name, so the settings rerun the search (a distribution, not 3 points)
            "workload_weights": None if not space.distribution else space.workload_weights.tolist(),
            "explicit_candidates": None if indices is None else len(indices),
            "checkpoint_precisions": space.checkpoint_precisions, "tp_note": space.tp_note or None,
            "model_shapes": model_shapes(space),  # heads, experts, window of the priced specs (the remedies read them)
            "measured_latency": measured is not None,  # rows whose TTFT / TPOT is measured (.measured)
            "measured_latency_rows": None if measured is None else measured.counts(),
            # the combinations the engine ran: the searched ones and one per row with a measured value (.measured)
            **engine}


def result_settings(given: dict[str, Any], limits: dict[str, Any], *, objective: str, price_per_gpu_hour,
                    bootstrap: bool, bootstrap_seed: int, space: SearchSpace, indices, measured, em: EnergyModel,
                    calibrations: tuple[dict | None, dict | None], over, extrapolation, empty_notes: dict,
                    intervals_unavailable: str | None, unseen_gpu: str | None = None) -> dict[str, Any]:
    """The settings record: the options as given, the limits as applied (:mod:`.confidence`), the objective,
    the space (:func:`space_settings`), the latency / energy calibration records, the unidentified parameters
    (:func:`unidentified`), the rows left out past 2**20 GPUs, the extrapolation flags, the listed rows' GPUs the
    model was not fitted on (``unseen_gpu``: GpuCheck.summary, or None), an empty result's notes and why there is
    no interval (None: there is, or bootstrap off)."""
    return {**given, **limits, "objective": objective, "price_per_gpu_hour": price_per_gpu_hour,
            "bootstrap": bool(bootstrap), "bootstrap_seed": int(bootstrap_seed),
            **space_settings(space, indices, measured),
            "latency_calibration": calibrations[0], "energy_calibration": calibrations[1],
            "unidentified_params": unidentified(space, em), "over_gpu_count": over, "extrapolation": extrapolation,
            "unseen_gpu": unseen_gpu, **empty_notes, "intervals_unavailable": intervals_unavailable}
