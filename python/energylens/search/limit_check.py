"""How an empty result's remedies check a space they widen against the latency limits: the limits as the user gave
them, at the confidence the user gave (:class:`LimitCheck`), from one evaluation of that space without the limits.

The search applies a limit L at a confidence P > 0.5 as an effective limit T on the point prediction, derived from
the searched candidates' quantile ratios (:mod:`.confidence`). A remedy evaluates other candidates (more tp values,
smaller max_num_seqs, other GPUs), whose ratios T says nothing about; and where no searched candidate passed the
other checks (a KV cache that fits nowhere) T is L itself. Until 2026-12-07 the remedies checked their candidates
against the searched space's T: a 70B search at --limit-confidence 0.9 whose KV cache fit at no searched
max_num_seqs was told "--max-num-seqs N finds configurations" from the point prediction against L, and the search
that followed it, which applied its own T below L, found none. Now each widened space gets the limit a search of
that space applies (:func:`.confidence.confidence_limits` from L and P over its candidates that pass the other
checks), so a remedy's "within the limits" is the promise the followed search keeps. At P = 0.5 that is L, and the
check is the engine's own (``kernel::limit_reason``: value <= limit, a NaN fails).

Each widened space is evaluated once, without the limits (``reason < 0``: passes every other check), and the
limits are checked on its TTFT / TPOT here; until 2026-12-07 the remedies evaluated each space a second time with
the limits to learn the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from energylens.search.confidence import DEFAULT_CONFIDENCE, confidence_limits
from energylens.search.space import SearchSpace

__all__ = ["LimitCheck"]

_NAMES = ("ttft", "tpot")


@dataclass(frozen=True)
class LimitCheck:
    """The latency limits as given (``limits``: "ttft" / "tpot" -> seconds, only those set) and the confidence ``p``
    to meet them at; ``energy_model`` (an EnergyModel: its theta, and its latency model with the bootstrap refits)
    prices a confidence other than 0.5. ``options``: the engine options the remedies evaluate with (their limits are
    not read)."""

    limits: dict[str, float] = field(default_factory=dict)
    p: float = DEFAULT_CONFIDENCE
    energy_model: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, options: dict[str, Any], given: dict[str, Any] | None = None, p: float = DEFAULT_CONFIDENCE,
           energy_model=None) -> LimitCheck:
        """The check of a search run with engine ``options``: the limits of ``given`` (the search's options as the
        user gave them; None: those of ``options``, which are then the given ones), ``p`` its limit_confidence,
        ``energy_model`` the fitted EnergyModel (its latency model's refits price p != 0.5)."""
        source = options if given is None else given
        limits = {n: float(source[f"{n}_limit_s"]) for n in _NAMES if source.get(f"{n}_limit_s") is not None}
        return cls(limits, float(p), energy_model, options)

    def applied(self, sub: SearchSpace, ev) -> dict[str, float]:
        """Per given limit, the limit a search of ``sub`` (evaluated by the engine without the limits: ``ev``) applies
        to the point prediction: as given at p = 0.5, else the effective limit of p a search of ``sub`` applies
        (:func:`.confidence.confidence_limits` over it: each candidate's own quantile, or a sample's ratio; its
        quantiles are drawn by position in the space, so the whole space is passed). As given too where that cannot
        change what passes: no candidate passes the other checks, or (p > 0.5, where the effective limit is at most
        the given one) none predicted within a given limit does (the pass costs a bootstrap refit's evaluation of
        the space per refit: 0.3 s for 70B on five GPUs at --rate 20, every limit out of reach)."""
        ok = np.asarray(ev.reason) < 0
        if self.p == DEFAULT_CONFIDENCE or not self.limits or not ok.any():
            return dict(self.limits)
        if self.p > DEFAULT_CONFIDENCE and not any((ok & (np.asarray(getattr(ev, f"{n}_s")) <= v)).any()
                                                   for n, v in self.limits.items()):
            return dict(self.limits)
        opts = {k: v for k, v in self.options.items() if k not in ("ttft_limit_s", "tpot_limit_s")}
        opts |= {f"{n}_limit_s": v for n, v in self.limits.items()}
        em = self.energy_model
        _, record = confidence_limits(sub, np.asarray(em.theta, dtype=np.float64), em.latency_model, opts, self.p)
        return {n: float(record[f"effective_{n}_limit_s"]) for n in self.limits}

    def within(self, sub: SearchSpace, ev) -> tuple[np.ndarray | None, dict[str, float]]:
        """Per candidate of ``sub``, evaluated by the engine without the limits (``ev``), whether it passes every
        check with the limits as :meth:`applied` to ``sub`` (None where the search has no limit), and those limits."""
        if not self.limits:
            return None, {}
        limits = self.applied(sub, ev)
        meets = np.asarray(ev.reason) < 0
        for n, v in limits.items():
            meets &= np.asarray(getattr(ev, f"{n}_s")) <= v
        return meets, limits
