"""What a search returns: :class:`SearchResult` (top-k, Pareto fronts, rejections) and its views.

Tables are pandas DataFrames, one row per configuration, with the energy split into prefill and decode,
static and dynamic (plus idle headroom in load mode), the term that decides it, and, from the model's
bootstrap replicates, an interval and the probability that the configuration is truly the cheapest of
the top-k. ``to_json`` and ``plot`` write nothing partial (energylens.outputs).
"""

from __future__ import annotations

import decimal
import json
import math
import operator
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from energylens.outputs import (  # plural: re-exported (it lived here)
    atomic_file,
    energylens_json,
    plural,
    replaceable_file,
)
from energylens.profiles import tables
from energylens.search import remedies as remedy_texts
from energylens.search.assumed import assumed_line, remedy_detail
from energylens.search.caps import TIE_RTOL  # re-exported (it lived here)
from energylens.search.confidence import least_given_limit, limits_line, predicted_rows
from energylens.search.deferred import built_on_read
from energylens.search.json_cells import json_cell, json_default
from energylens.search.labels import config_label, config_labels, gpu_labels  # re-exported (they lived here)
from energylens.search.legend import column_legend, ep_tie_sentence, table_columns
from energylens.search.margin import TERM_WORDS as _TERM_WORDS
from energylens.search.margin import TERMS, margin_clause  # TERMS re-exported (it lived here)
from energylens.search.measured import implausible_note
from energylens.search.plot import pareto_plot
from energylens.search.reach import reach_sentence
from energylens.search.remedies import candidate_wording, computed_remedy, model_shape, moe_dp_clause
from energylens.search.remedy_wording import unmet_raise

__all__ = ["REMEDIES", "SearchResult", "TERMS", "TIE_RTOL", "config_label", "gpu_labels", "plural", "ties_by_index"]



def ties_by_index(df: pd.DataFrame) -> pd.DataFrame:
    """A best-first table with each run of tied objectives (within :data:`TIE_RTOL` of the run's first)
    ordered by candidate index, as exact ties are: which of two tied deployments comes first no longer
    depends on how the rounding fell."""
    if len(df) < 2:
        return df
    obj = df["objective"].to_numpy(dtype=float)
    run = np.zeros(len(obj), dtype=np.int64)
    head = obj[0]
    for i in range(1, len(obj)):
        tied = abs(obj[i] - head) <= TIE_RTOL * abs(head)
        run[i] = run[i - 1] + (not tied)
        head = head if tied else obj[i]
    order = np.lexsort((df["index"].to_numpy(), run))
    return df if (order == np.arange(len(df))).all() else df.iloc[order].reset_index(drop=True)

def _percents(parts) -> list[int]:
    """Whole percentages of ``parts`` (>= 0) that sum to 100, each its share rounded down or up (largest
    remainder): rounded one by one, "prefill 1% + decode 36% + idle headroom 64%" read 101 % (before 2026-12-07)."""
    total = float(sum(parts))
    raw = [100.0 * float(p) / total if total > 0 else 0.0 for p in parts]
    out = [math.floor(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: out[i] - raw[i])[:max(100 - sum(out), 0) if total > 0 else 0]:
        out[i] += 1
    return out


#: Whether a file is a result :meth:`SearchResult.to_json` wrote (``"format": "energylens.search"``).
_SEARCH_JSON = energylens_json("energylens.search")



#: What a user can change when a reason rejects the most candidates (CLI option names; the Python
#: arguments have the same names with underscores).
REMEDIES: dict[str, str] = {
    "tp_heads": "pick --tp values that divide the model's attention heads",
    "tp_node": "keep --tp within one node (--node-size) and add GPUs with --pp or --dp instead",
    "ep_without_moe": "drop --ep > 1 for dense models",
    "ep_experts": "pick --ep values that divide the number of experts",
    "ep_group": "pick --ep values equal to tp x dp (or 1)",
    "fp8_block_shape": ("the fp8 checkpoint's weight blocks do not split over that many GPUs: pick a smaller --tp "
                        "(add GPUs with --pp) or, for MoE models, expert parallelism (--ep equal to tp x dp)"),
    "memory_weights": ("spread the weights over more GPUs (--tp up to the node size, --pp 2,4, for MoE models --dp 2,4: "
                       "the data-parallel ranks share one copy of the experts; --ep only regroups the same GPUs), "
                       "store them in a smaller format (--precision fp8 or int4) or add GPUs with more memory"),
    "context_length": "keep --input-tokens + --output-tokens within the model's context window",
    "memory_kv_cache": "lower --max-num-seqs, store the KV cache in fp8 (--kv-cache-dtype fp8) or add GPUs (--tp, --pp)",
    "ttft_limit": "raise --ttft-limit, or add --tp / smaller --max-num-seqs to shorten prefill",
    "tpot_limit": "raise --tpot-limit, or add --tp / smaller --max-num-seqs to shorten each decode step",
}


@dataclass
class SearchResult:
    """Top-k, Pareto fronts (objective vs TPOT and vs TTFT) and how many candidates each reason rejected.

    Attributes:
        top: the k best feasible configurations, best first (DataFrame).
        pareto_tpot, pareto_ttft: the Pareto fronts, increasing TPOT / TTFT (DataFrames; built at first read).
        rejected: reason -> candidates it rejected (the first failing reason counts).
        candidates, feasible: size of the space and how many passed.
        objective: what was minimised, with its unit (e.g. ``"energy_j per request"``).
        model_source: where the energy/latency model came from.
        seconds: wall time of the search (the engine, plus the latency-quantile pre-pass of a limit_confidence
            other than 0.5: ``settings["limit_confidence_seconds"]``); threads: threads the engine used.
    """

    top: pd.DataFrame
    pareto_tpot: pd.DataFrame
    pareto_ttft: pd.DataFrame
    rejected: dict[str, int]
    candidates: int
    feasible: int
    objective: str
    model_source: str
    seconds: float
    threads: int
    settings: dict[str, Any] = field(default_factory=dict)

    def __getstate__(self) -> dict:  # a pickle or copy holds the tables, not the functions that build them
        return {k: getattr(self, k) for k in self.__dict__}

    @property
    def empty(self) -> bool:
        """True when no candidate passed."""
        return self.feasible == 0

    @property
    def main_rejection(self) -> str | None:
        """The reason that rejected the most candidates (None if nothing was rejected); on a tie, the one the
        engine checks first (``rejected`` is in check order, and only a candidate's first failing reason counts)."""
        if not any(self.rejected.values()):
            return None
        return max(self.rejected, key=lambda k: self.rejected[k])

    def why_empty(self) -> str:
        """One sentence on an empty feasible set: which reason rejected most, and the counts; when latency
        limits left nothing, how close the space comes to them (what passes every other check)."""
        if not self.empty:
            return f"{self.feasible:,} of {plural(self.candidates, 'candidate')} feasible"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items(), key=lambda kv: -kv[1]) if v)
        main = self.main_rejection
        tied = [k for k, v in self.rejected.items() if v == self.rejected[main] and k != main]
        tie = f"tied with {' and '.join(tied)}, {self.rejected[main]:,} each; " if tied else ""
        text = (f"no feasible configuration among {plural(self.candidates, 'candidate')}; most were rejected by {main} "
                f"({tie}{counts})")
        closest = self.settings.get("without_latency_limits")
        if closest and closest["feasible"]:  # the binding reason is the limits, whatever rejected most
            return candidate_wording(text + "; " + self._closest_sentence(closest) + self._confidence_remedy(),
                                     self.settings)
        remedy = f"; to widen the space: {self._remedy_text(main)}" if main in REMEDIES else ""
        for other in (t for t in tied if t in REMEDIES and t not in ("ttft_limit", "tpot_limit")):  # each its own
            said = remedy_texts.layout_room_text(self.settings)  # the weights' layouts, said once (twice until 2026-12-07)
            own = self._remedy_text(other).replace(said, "the layouts named for the weights above hold one", 1) \
                if said and said in remedy else self._remedy_text(other)
            remedy += f"; for the {plural(self.rejected[other], 'candidate')} {other} rejected: {own}"
        return candidate_wording(text + remedy + (self._confidence_remedy() if main in ("ttft_limit", "tpot_limit")
                                                  else ""), self.settings)

    def _remedy_text(self, reason: str) -> str:
        """What to change for the candidates ``reason`` rejected: in this run's numbers where a record was computed
        (:func:`.remedies.computed_remedy`), else :data:`REMEDIES`'."""
        room = remedy_detail(reason, self.settings) + computed_remedy(reason, self.settings)
        return (room + self._remedy(reason, bool(room))).rstrip("; ")

    def _remedy(self, reason: str, computed: bool = False) -> str:
        """:data:`REMEDIES`, with the weights' "smaller format" naming only formats smaller than every one
        searched (DeepSeek-V3 searched in its fp8 was told to try --precision fp8); ``computed``: a remedy in this
        run's numbers precedes it, which replaces the canned axis advice (:mod:`.remedies`)."""
        if reason != "memory_weights" or self.settings.get("layout_room"):  # that record names formats and GPUs
            return "" if computed and reason != "context_length" else REMEDIES[reason]
        searched = [tables.bytes_per_param(p) for p in self.settings.get("precisions") or ["bf16"]]
        smaller = [p for p in ("fp8", "int4") if tables.bytes_per_param(p) < min(searched)]
        fmt = f"store them in a smaller format (--precision {' or '.join(smaller)}) or " if smaller else ""
        return (moe_dp_clause(self.settings) if computed else REMEDIES[reason].split("store them")[0]) + \
            f"{fmt}add GPUs with more memory"

    def _confidence_remedy(self) -> str:
        """", or lower --limit-confidence ..." where a confidence above 0.5 moved a limit ("" otherwise, as for TTFT unfitted)."""
        s = self.settings
        if (p := s.get("limit_confidence", 0.5)) <= 0.5:
            return ""
        applied = [f"the {n.upper()} limit {s[f'{n}_limit_s']:.4g} s applied as {s[f'effective_{n}_limit_s']:.4g} s"
                   for n in ("tpot", "ttft") if predicted_rows(s, n) != 0  # a limit the confidence moved
                   and s.get(f"{n}_limit_s") not in (None, s.get(f"effective_{n}_limit_s"))]
        measured = " (a measured one as given)" if s.get("measured_latency") else ""
        return (f", or lower --limit-confidence (now {p:g}: {' and '.join(applied)} on the predicted value{measured}; "
                "0.5 applies it as given)") if applied else ""

    def _closest_sentence(self, closest: dict[str, Any]) -> str:
        """What the space reaches without its latency limits, against the limits (api._closest's record)."""
        s = self.settings
        said = "measured (where the table gives it) or predicted" if s.get("measured_latency") else "predicted"

        def limit(name: str, source: str | None) -> str:  # source: measured / predicted (measured-latency mode)
            given, applied = s[f"{name}_limit_s"], s.get(f"effective_{name}_limit_s") or s[f"{name}_limit_s"]
            if source == "measured":
                return f"measured; limit {given:.4g} s, checked as given"
            return (f"{source}; " if source else "") + f"limit {given:.4g} s" + (
                f", applied as {applied:.4g} s at confidence {s['limit_confidence']:g}" if applied != given else "")
        head = (f"{plural(closest['feasible'], 'candidate')} {'passes' if closest['feasible'] == 1 else 'pass'} every "
                "other check (memory, layout) but none meets the latency limits: ")
        widen = reach_sentence(s, self.model_source.startswith("fitted on the bundled"))  # this run's axes
        def needed(name: str, value: float, key: str = "") -> str:  # the given limit whose applied value admits it
            fallback = closest.get(f"{name}_limit_needed_s", least_given_limit(s, name, value, closest))
            at_least = closest.get(f"{key}_needed_s", fallback) if key else fallback  # measured: .measured
            return f"--{name}-limit to at least {_round_up(at_least)} s"
        if closest["unmet"]:
            parts = [f"the lowest {said} {n.upper()} is {closest[f'min_{n}_s']:.4g} s ({closest[f'min_{n}_config']}; "
                     f"{limit(n, closest.get(f'min_{n}_source'))})" for n in closest["unmet"]]
            raise_ = unmet_raise(closest, needed, said)
            return head + "; ".join(parts) + f"; to find a configuration: raise {raise_}; {widen}"
        if "min_ttft_at_tpot_limit_s" not in closest:  # not a case the search produces; say what is known
            return head + f"the lowest {said} TPOT is {closest['min_tpot_s']:.4g} s, the lowest TTFT {closest['min_ttft_s']:.4g} s"
        return (head + f"each can be met alone, not both: among the candidates that meet the TPOT limit the lowest "
                f"{said} TTFT is {closest['min_ttft_at_tpot_limit_s']:.4g} s ({closest['min_ttft_at_tpot_limit_config']}; "
                f"{limit('ttft', closest.get('min_ttft_at_tpot_limit_source'))}); to find a configuration: raise {needed('ttft', closest['min_ttft_at_tpot_limit_s'])}, "
                "or raise " + (f"{needed('tpot', closest['min_tpot_at_ttft_limit_s'])} (the lowest {said} TPOT among "
                               f"the candidates that meet the TTFT limit, {closest['min_tpot_at_ttft_limit_config']})"
                               if "min_tpot_at_ttft_limit_s" in closest else "--tpot-limit"))  # measured: one way

    @property
    def _workload_in_label(self) -> bool:
        """The labels name the workload point when the space holds several (not one distribution)."""
        return (self.settings.get("space_shape", {}).get("workloads", 1) > 1
                and self.settings.get("workload_distribution") is None)

    def label(self, row: pd.Series) -> str:
        """The configuration label of a result row (:func:`config_label`, with the workload point when the
        space holds several)."""
        return config_label(row, self._workload_in_label, gpu_labels(self.settings.get("gpus", [])))

    def _labelled(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        gpus = gpu_labels(self.settings.get("gpus", []))  # once, not per row: it looks each GPU up in the table
        out.insert(0, "config", config_labels(out, self._workload_in_label, gpus))  # not row by row: 12,000 rows took 0.7 s
        return out

    def to_frame(self) -> pd.DataFrame:
        """The top-k as a DataFrame (a copy), with a ``config`` label column first."""
        return self._labelled(self.top)

    def explain(self, rank: int = 0) -> str:
        """Why the configuration at ``rank`` costs what it does: phase and static/dynamic split, the
        deciding term, and (for rank 0) what separates it from the runner-up."""
        rank = _rank("rank", rank)
        if not 0 <= rank < max(len(self.top), 1):
            kept = f"0 to {len(self.top) - 1}" if len(self.top) else "none: the result is empty"
            raise IndexError(f"rank {rank}: the result keeps {plural(len(self.top), 'configuration')} (ranks {kept})")
        if self.empty:
            return self.why_empty()
        r = self.top.iloc[rank]
        e = float(r["energy_j"])
        shares = {t: float(r[t]) / e for t in TERMS if e > 0}
        pre, dec, idle = _percents([r["prefill_j"], r["decode_j"], r["idle_j"]])
        static, dynamic = _percents([r["prefill_static_j"] + r["decode_static_j"] + r["idle_j"],
                                     r["prefill_dynamic_j"] + r["decode_dynamic_j"]])
        text = (f"{self.label(r)}: {e:.4g} J/request = prefill {pre}% + decode {dec}%"
                + (f" + idle headroom {idle}%" if r["idle_j"] > 0 else "") + f"; static {static}%, dynamic {dynamic}%. "
                f"Energy decided by {_TERM_WORDS[r['decided_by']]} ({shares.get(r['decided_by'], math.nan):.0%}).")
        text += self._limits_met(r) + ep_tie_sentence(r)
        if rank == 0 and len(self.top) > 1:
            s = self.top.iloc[1]
            margin = float(s["objective"]) / float(r["objective"]) - 1 if r["objective"] > 0 else math.nan
            if not margin > TIE_RTOL:  # a tie (a dense model's dp, or GPU-seconds x price alike)
                text += f" It ties with {self.label(s)} (the same predicted {self.objective.split(' (')[0]})."
            elif self.settings.get("objective") == "cost":
                text += (f" The runner-up, {self.label(s)}, costs {margin:.1%} more: {s['gpu_s_per_request']:.3g} "
                         f"GPU-seconds per request at {s['price_per_gpu_hour']:g} per GPU-hour against this one's "
                         f"{r['gpu_s_per_request']:.3g} at {r['price_per_gpu_hour']:g}.")
            else:
                # (the runner-up's excess over this one: "It beats X by 45.4%" read as "saves 45 %" until 2026-12-07)
                text += (f" The runner-up, {self.label(s)}, uses {margin:.1%} more {self.objective.split(' (')[0]}"
                         + margin_clause(r, s, self.objective, self.settings) + ".")
        return text

    def _limits_met(self, r: pd.Series) -> str:
        """At a confidence other than 0.5: the limits row ``r`` meets at that confidence (given and applied), a
        TTFT limit applied as given where the latency model has no TTFT interval (ttft_limit_confidence_note), and
        a measured value (``*_source``, measured-latency mode) checked against the limit as given."""
        s, p = self.settings, self.settings.get("limit_confidence", 0.5)
        src = {n: r.get(f"{n}_source", "predicted") for n in ("tpot", "ttft") if s.get(f"{n}_limit_s") is not None}
        if p == 0.5 or not src:
            return ""
        as_given = "ttft" if s.get("ttft_limit_confidence_note") else None
        met = [f"{n.upper()} {r[f'{n}_s']:.4g} s predicted (limit {s[f'{n}_limit_s']:.4g} s, applied as "
               f"{s[f'effective_{n}_limit_s']:.4g} s)" for n, how in src.items() if how == "predicted" and n != as_given]
        text = f" Latency limits met with confidence {p:g}: {'; '.join(met)}." if met else ""
        if src.get(as_given) == "predicted":
            text += (f" TTFT {r['ttft_s']:.4g} s predicted meets the limit {s['ttft_limit_s']:.4g} s as given, not at "
                     "a confidence (the latency model saw no measured TTFT: no interval).")
        measured = [f"{n.upper()} {r[f'{n}_s']:.4g} s measured meets the limit {s[f'{n}_limit_s']:.4g} s as given"
                    for n, how in src.items() if how == "measured"]
        return text + (f" {'; '.join(measured)} (a measurement has no prediction interval)." if measured else "")

    def table(self, n: int | None = None) -> str:
        """Plain-text table of the top ``n`` (all kept if None)."""
        df = self.to_frame().head(None if n is None else _rank("n", n, low=0))
        if not len(df):
            return self.why_empty()
        cols = self._columns(df)
        view = df[list(cols)].rename(columns=cols)
        if "cap binds" in view:
            view["cap binds"] = view["cap binds"].map({True: "yes", False: "no"})
        decided = cols.get("decided_by")
        if decided in view:
            view[decided] = view[decided].str.removesuffix("_j")
        return view.to_string(index=False, float_format=lambda v: f"{v:.4g}")

    def _columns(self, df: pd.DataFrame) -> dict[str, str]:
        """Frame column -> header of what :meth:`table` shows of ``df`` (:func:`.legend.table_columns`): the interval
        and P(best) left out where empty; the compute precision where it differs from the label's weight format."""
        cols = table_columns([c for c in df.columns if c not in ("energy_j_lo", "energy_j_hi", "p_best")
                              or not df[c].isna().all()], self.settings, self.objective)
        if "compute_precision" in cols and (df["compute_precision"] == df["precision"]).all():
            del cols["compute_precision"]  # the label's weight format says it (a w8a16 int8 row: bf16 compute)
        return cols

    def legend(self, n: int | None = None) -> str:
        """What each column of :meth:`table` (``n`` rows) means, one line each ("" for an empty result)."""
        df = self.top.head(None if n is None else _rank("n", n, low=0))  # the labels are not needed
        eps, unseen = any(len(e) > 1 for e in df.get("ep_equivalent", [])), bool(any(df.get("unseen_gpu", [])))
        return column_legend(self._columns(df.assign(config="")), self.settings, len(df), self._workload_in_label,
                             eps, unseen) if len(df) else ""

    def summary(self) -> str:
        """Header lines: space size, feasible count, rejections per reason, model source, time."""
        rej = ", ".join(f"{k} {v}" for k, v in self.rejected.items() if v) or "none"
        pre = self.settings.get("limit_confidence_seconds") or 0.0
        took = f"{self.seconds:.3g} s" + (f" ({pre:.3g} s of it the latency quantiles for the confidence)" if pre else "")
        return (f"searched {plural(self.candidates, 'candidate')} in {took} on {self.threads} thread(s): "
                f"{self.feasible:,} feasible; rejected: {rej}\nmodel: {self.model_source}"
                + assumed_line(self.settings, self.objective) + self.limits_line()
                + self._unidentified_line() + self._points_line() + self._dp_line() + self._over_line()
                + self._bootstrap_line()
                + self._extrapolation_line() + self._unseen_gpu_line() + self._headroom_line() + self._precision_line()
                + "".join(f"\nnote: {self.settings[k]}" for k in ("tp_note", "top_note") if self.settings.get(k))
                + implausible_note(self.settings))

    def _bootstrap_line(self) -> str:
        """bootstrap=False with rows listed: their interval and P(best) are NaN (JSON null), the table drops them."""
        if self.settings.get("bootstrap", True) or self.top.empty:
            return ""
        return ("\nnote: bootstrap=False: no energy interval and no P(best) (energy_j_lo, energy_j_hi, p_best are NaN, "
                "null in JSON); bootstrap=True computes them from the model's bootstrap refits")

    def _precision_line(self) -> str:
        """No precision axis given: each model searched in its checkpoint's format, said where one is not bf16."""
        formats = self.settings.get("checkpoint_precisions") or {}
        quantised = {m: f for m, f in formats.items() if f != "bf16"}
        if not quantised:
            return ""
        listed = ", ".join(f"{m} {f}" for m, f in quantised.items())
        return (f"\nprecision: each model in the format its checkpoint is published in ({listed}); --precision "
                "(precision=) searches others")

    def _headroom_line(self) -> str:
        """Load mode at full use: the best deployment's running batch at its cap means its replicas run at
        their throughput limit, where waiting time (not modelled) grows without bound. A row standing for
        several caps (``max_num_seqs_equivalent``) is checked against the largest: run with it, the same
        deployment has room (which of the caps the row keeps is decided by rounding, :mod:`.caps`)."""
        s = self.settings
        if s.get("rate_per_s") is None or s.get("max_utilization") not in (None, 1.0) or self.top.empty:
            return ""
        best = self.top.iloc[0]
        caps = best.get("max_num_seqs_equivalent")
        cap = max(caps) if isinstance(caps, (list, tuple)) and caps else float(best["max_num_seqs"])
        if not best["batch"] >= 0.95 * float(cap):
            return ""
        return (f"\nnote: the best deployment's running batch ({best['batch']:.4g}) is at its max_num_seqs cap, so "
                "its replicas run at about their full throughput, where queueing delay (not in TTFT) grows without "
                "bound; --max-utilization 0.8 (max_utilization=0.8) sizes the replicas with headroom")

    def _extrapolation_line(self) -> str:
        """The top rows whose features lie outside the model's fitted range (``extrapolated``), as predict says."""
        detail = self.settings.get("extrapolation")
        if not detail or "extrapolated" not in self.top:
            return ""
        n = int(self.top["extrapolated"].sum())
        return (f"\nnote: {n} of the {len(self.top)} listed configurations {'lies' if n == 1 else 'lie'} outside "
                f"{detail} (fit on profiles that cover them, e.g. your own sweep, before relying on them)")

    def _unseen_gpu_line(self) -> str:
        """The top rows on GPUs the model was not fitted on (``unseen_gpu``), as predict's UnseenGpuWarning says."""
        detail, n = self.settings.get("unseen_gpu"), int(self.top.get("unseen_gpu", self.top.index[:0]).sum())
        return f"\nnote: {n} of the {len(self.top)} listed configurations {'is' if n == 1 else 'are'} on {detail}" * bool(detail and n)

    def _over_line(self) -> str:
        """Load mode: rows of the top-k or fronts left out for needing more GPUs than energylens counts."""
        n = self.settings.get("over_gpu_count") or 0
        return (f"\nnote: {plural(n, 'configuration')} of the top-k and Pareto fronts would need more than 2**20 GPUs "
                f"at this rate and {'is' if n == 1 else 'are'} left out (small batches at a high rate)") if n else ""

    def _dp_line(self) -> str:
        """Fixed-batch mode with several dp values: each rank of a dense model runs the same batch, so they tie;
        said once. (A MoE's dp ranks share one expert copy and exchange tokens: they do not tie.)"""
        s = self.settings
        if s.get("rate_per_s") is not None or len(s.get("dp") or []) < 2 or s.get("explicit_candidates"):
            return ""
        dense = [m for m in s.get("models", []) if (model_shape(s, m, "n_experts") or 1) <= 1]  # the priced spec's
        if not dense:
            return ""
        which = "" if len(dense) == len(s.get("models", [])) else f" of a dense model ({', '.join(dense)})"
        return (f"\nnote: at a fixed running batch per rank, data parallelism{which} does not change energy or "
                "latency per request (each rank serves the same batch), so dp values tie; give a request rate "
                "(--rate) to size the replicas for a load")

    def _points_line(self) -> str:
        """Several workload points without weights are separate workloads ranked in one list: said once."""
        if not self._workload_in_label:
            return ""
        n = self.settings.get("space_shape", {}).get("workloads", 1)
        weigh = ("; a candidate table's points cannot be weighted (workload weights need --model / --gpus and the "
                 "axes instead of --candidates)" if self.settings.get("explicit_candidates") else
                 ", or give workload weights (--workload-weights) to treat them as one distribution")
        return (f"\nnote: the {n} workload points are separate workloads ranked together by {self.objective}, so "
                "the cheapest point's configurations lead; search one point at a time for the best deployment of "
                f"each{weigh}")

    def _unidentified_line(self) -> str:
        """A note when the model has parameters its training data never exercised ("" otherwise)."""
        unset = self.settings.get("unidentified_params") or {}
        if not unset:
            return ""
        named = "; ".join(f"{kind} model: {', '.join(names)}" for kind, names in unset.items())
        example = " (pp > 1 for pp_bubble)" if any("pp_bubble" in names for names in unset.values()) else ""
        return (f"\nnote: not identified by the model's training data ({named}): no training row depended on "
                f"them, so candidates that do{example} rest on their starting values; measure such configurations "
                "before trusting those candidates")

    def limits_line(self) -> str:
        """The line on latency limits met at a confidence other than 0.5 ("" otherwise): each limit, the
        effective limit the engine applied to the predicted value, and how it was derived (:func:`.confidence.limits_line`)."""
        return limits_line(self.settings)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (records for the tables)."""
        def records(df: pd.DataFrame) -> list[dict]:  # full float precision; NaN (no price given...) as null
            return [{k: json_cell(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]
        return {"format": "energylens.search", "version": 1, "objective": self.objective,
                "model_source": self.model_source, "candidates": self.candidates, "feasible": self.feasible,
                "rejected": self.rejected, "seconds": self.seconds, "threads": self.threads,
                "settings": self.settings, "top": records(self.to_frame()),
                "pareto_tpot": records(self._labelled(self.pareto_tpot)),
                "pareto_ttft": records(self._labelled(self.pareto_ttft)),
                "explanation": self.explain(0), "summary": self.summary(), "legend": self.legend()}

    def to_json(self, path: str | PathLike | None = None) -> str:
        """The result as JSON (:meth:`to_dict`); also written (atomically) to ``path`` when given. An existing
        file there is replaced only when it is a search result or empty; any other (the user's measurements, a
        model file) is an OutputError naming it, the file kept, as is a path that cannot be written."""
        if path is not None:  # before the work: a folder, a missing folder, a file of the user's
            replaceable_file(path, "an energylens search result (to_json)", _SEARCH_JSON)
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False, default=json_default)
        if path is not None:
            with atomic_file(path) as tmp:
                with open(tmp, "w") as fh:
                    fh.write(text)
        return text

    def plot(self, path: str) -> str:
        """Two panels (objective vs TPOT, objective vs TTFT): the top-k and the Pareto fronts, in the format of
        the extension (:func:`energylens.search.plot.check_plot_path`, checked first), written atomically; an
        existing file there is replaced only when it is an image or empty. Returns the path. Raises
        MissingExtraError (no matplotlib: the ``compare`` extra), ValueError (an extension that is no plot
        format), OutputError (the file cannot be written, or is there and is not an image: it is kept)."""
        return pareto_plot(self, path)

SearchResult.pareto_tpot = built_on_read("pareto_tpot")  # the fronts: Deferred until read (.frames)
SearchResult.pareto_ttft = built_on_read("pareto_ttft")


def _round_up(value: float) -> str:
    """``value`` at 4 significant digits, rounded up (a suggested limit: "at least 0.1101 s" for 0.11012 admitted
    nothing, the engine keeping what is <= the limit)."""
    text = f"{value:.4g}"
    if not math.isfinite(value) or float(text) >= value:
        return text
    step = decimal.Decimal(1).scaleb(decimal.Decimal(text).adjusted() - 3)  # one unit in the 4th digit ("0.108": 1e-4)
    return f"{float(decimal.Decimal(text) + step):.4g}"


def _rank(name: str, value, low: int | None = None) -> int:
    """A whole-number argument (``rank``, ``n``); TypeError naming it otherwise (1.0 and "0" included), and
    ValueError below ``low`` when given (``table(-5)`` dropped the last 5 rows: pandas' head)."""
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {value!r}") from None
    if low is not None and out < low:
        raise ValueError(f"{name} must be >= {low}, got {out}")
    return out
