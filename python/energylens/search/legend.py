"""The printed table's columns (:func:`table_columns`) and what each means (:func:`column_legend`), for the
columns a result shows: ``energylens search`` printed ``lo J/request``, ``domains``, ``P(best)``, ``cap binds``
with no word on them. Its ``lo`` / ``hi`` are ``energylens predict``'s 90 % interval of the same configuration
(:mod:`.predictive`; until 2026-12-07 the energy's spread over the bootstrap refits alone, which the legend had to
tell apart from predict's, several times as wide and wider still on a GPU the fit never saw)."""

from __future__ import annotations

from typing import Any

from energylens.model.intervals import GPU_TRANSFER_LOG_SD, OUT0, OUT1, transfer_sd

__all__ = ["INTERVAL_LEVEL", "INTERVAL_QUANTILES", "column_legend", "ep_tie_sentence", "table_columns"]

#: The level of a result's ``energy_j_lo`` / ``energy_j_hi``: predict_interval's at this level (search.predictive).
INTERVAL_LEVEL = 0.9
#: Its bounds' quantiles of the predictive distribution.
INTERVAL_QUANTILES = (0.05, 0.95)


def table_columns(frame_columns, settings: dict[str, Any], objective: str) -> dict[str, str]:
    """Frame column -> printed header, for the columns the table shows (in order) of a top-k frame with
    ``frame_columns``; ``settings`` and ``objective`` as the result has them."""
    cols = {"config": "configuration", "compute_precision": "compute", "energy_j": "J/request",
            "energy_j_lo": "lo J/request", "energy_j_hi": "hi J/request",  # each quantity with its unit
            "objective": objective, "ttft_s": "TTFT s", "ttft_source": "TTFT is", "tpot_s": "TPOT s",
            "tpot_source": "TPOT is", "replicas": "replicas", "gpus": "GPUs", "domains": "domains",
            "batch": "running batch", "cap_binds": "cap binds", "p_best": "P(best)", "decided_by": "decided by"}
    if settings.get("objective", "energy") == "energy" and not settings.get("per_token"):
        del cols["objective"]  # the same numbers as J/request
    elif settings.get("objective") == "cost":  # GPU-seconds x price decide it; the terms split energy
        cols["decided_by"] = "energy decided by"
    if not settings.get("rate_per_s"):
        del cols["batch"]  # max_num_seqs, in the label
        del cols["replicas"]  # one deployment; its GPUs are tp x pp x dp
    return {c: h for c, h in cols.items() if c in frame_columns}


def column_legend(headers: dict[str, str], settings: dict[str, Any], rows: int, workload: bool = False,
                  ep_pairs: bool = False, unseen_gpu: bool = False) -> str:
    """One line per shown column (``headers``: :func:`table_columns`, as the table shows them; ``rows``: the
    rows listed; ``workload``: the labels name the workload point; ``ep_pairs``: a listed row stands for a
    deployment with and without EP, ``EP1/8``; ``unseen_gpu``: a listed row is on a GPU the fit never saw, whose
    lo / hi and P(best) draw the GPU transfer factor), starting "columns:"."""
    load = bool(settings.get("rate_per_s"))
    mix = bool(settings.get("workload_distribution"))  # energy its expected value, latency at its worst point
    label_ends = ("; in / out: the workload point's input / output tokens" if workload else "") + (
        "; (candidate N): the candidate table's row" if settings.get("explicit_candidates") else "") + (
        "; EP1/N: a MoE deployment with expert parallelism (EP N = tp x dp) or without it, priced alike (explain "
        "says why)" if ep_pairs else "")
    lo, hi = (f"{100 * q:g}th" for q in INTERVAL_QUANTILES)
    says = {
        "config": "model, GPU, weight format, tensor / pipeline / data(/ expert)-parallel degrees, B = vLLM's "
                  "max_num_seqs" + (" (B64/128, B1..256 (9 caps): caps that give the same deployment; DP1/2: dp values that "
                  "give the same fleet, the same GPUs running dp x replicas ranks at one batch, replicas and "
                  "running batch given at the first)" if load else "") + label_ends,
        "compute_precision": "the GEMM precision priced (the label names the weights' format)",
        "energy_j": "predicted energy per request, all GPUs of a deployment" + (", idle headroom included" if load else "")
                    + (", the expected value over the workload distribution" if mix else ""),
        "energy_j_lo": f"the {lo} / {hi} percentiles of what one measurement of the row may read: the model's bootstrap "
                       "refits times the scatter of its training residuals" + (
                           f", and on a GPU the fit never saw a GPU transfer factor, log sd {GPU_TRANSFER_LOG_SD:g} "
                           "(wider there)" if unseen_gpu else "") + (
                           "; the bounds energylens predict gives the configuration alone (energy_j_lo / energy_j_hi)"
                           if not (load or mix) else "; the draws of energylens predict's 90 % interval, around "
                           + ("the energy with idle headroom" if load else "the expected energy") + ", which predict "
                           "does not price"),
        "objective": "what is minimised; rows are in its order",
        "ttft_s": "time to first token, seconds" + ("" if "ttft_source" in headers else ", predicted")
                  + (" at the distribution's worst point" if mix else ""),
        "ttft_source": "whether TTFT / TPOT is the row's measured value or predicted",
        "tpot_s": "time per output token after the first, seconds" + ("" if "tpot_source" in headers else ", predicted")
                  + (" at the distribution's worst point" if mix else ""),
        "replicas": "deployments the rate needs",
        "gpus": "GPUs of all replicas" if load else "GPUs of one deployment (TP x PP x DP)",
        "domains": "scale-up domains (NVLink servers) one deployment spans; above 1 its pipeline stages or "
                   "expert group cross the scale-out network",
        "batch": "mean sequences running at once per data-parallel rank (Little's law)",
        "cap_binds": "yes: max_num_seqs limits the deployment (it sized the replicas, or the batch reaches it)",
        "p_best": f"share of the model's bootstrap refits in which the row passes every check (the latency limits "
                  f"too, as given: not as a --limit-confidence applied them) and is the cheapest of the {rows} listed that "
                  "do (by the objective); the shares sum to 1 "
                  "less the refits in which none passes" + (
                      f"; each refit also draws one GPU transfer factor per GPU the fit never saw, of its energy (log "
                      f"sd {GPU_TRANSFER_LOG_SD:g}), TPOT ({transfer_sd('latency', OUT1):g}) and TTFT "
                      f"({transfer_sd('latency', OUT0):g}; none where the latency model saw no measured TTFT), the "
                      "latency limits checked on the drawn TTFT / TPOT: its rows move together, two such GPUs' apart"
                      if unseen_gpu else ""),
        "decided_by": "the largest energy term: prefill or decode, static (the power each GPU draws for the "
                      "whole time) or dynamic (compute, memory traffic); idle: the static power of idle headroom",
    }
    named: dict[str, str] = {}  # a pair (lo / hi, TTFT is / TPOT is) on one line, said once
    for c, h in headers.items():
        key = _PAIRED.get(c, c)
        named[key] = f"{named[key]} / {h}" if key in named else h
    width = max(len(h) for h in named.values())
    return "columns:\n" + "\n".join(f"  {h:<{width}}  {says[c]}" for c, h in named.items())


def ep_tie_sentence(row) -> str:
    """explain's words on a row that stands for a MoE deployment with and without expert parallelism
    (``ep_equivalent``, :func:`.frames.merge_ep`): why the two are priced alike and what the model leaves out
    ("" for any other row)."""
    eps = row.get("ep_equivalent")
    if not isinstance(eps, list) or len(eps) < 2:
        return ""
    g, dp = max(eps), int(row["dp"])
    meet = ("the experts' outputs are summed in the same TP all-reduce" if dp == 1 else
            f"the {dp} data-parallel ranks exchange their tokens per MoE layer")
    return (f" Priced alike with expert parallelism (vLLM's --enable-expert-parallel: EP {g} = tp x dp) and without "
            f"it: either way each of the {g} GPUs holds 1/{g} of the expert weights (whole experts, or a 1/{g} slice "
            f"of each) and {meet}; the model does not price what differs (the expert kernels' shapes, EP's uneven "
            "load over the GPUs), so measure both to choose.")


#: Columns said on the line of another: the interval's bounds, the latencies' sources.
_PAIRED = {"energy_j_hi": "energy_j_lo", "tpot_source": "ttft_source"}
