"""explain's words on what separates the best configuration from the runner-up (:func:`margin_clause`).

"The runner-up, X, uses 10.9% more energy, mostly in static power during decode (+28.6 J)" named the term that adds most to the
runner-up's objective; where the other terms go the other way that term is larger than the whole difference
(Qwen3-30B-A3B on a B200 against an H100: 28.6 J more static power during decode, 11.4 J less in the other terms,
17.3 J more in all), and "mostly" hid it. Then each term's part is listed, and the parts sum to the difference.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["TERMS", "TERM_WORDS", "margin_clause"]

#: The energy terms a result is explained by (J per request; they sum to energy_j).
TERMS = ("prefill_static_j", "prefill_dynamic_j", "decode_static_j", "decode_dynamic_j", "idle_j")
#: Each term in words.
TERM_WORDS = {"prefill_static_j": "static power during prefill", "prefill_dynamic_j": "prefill compute",
              "decode_static_j": "static power during decode", "decode_dynamic_j": "decode compute and streaming",
              "idle_j": "static power of idle headroom"}

#: A term's part is listed when at least this share of the largest part (smaller ones change no rounded figure).
_LISTED_SHARE = 0.005


def margin_clause(best: pd.Series, second: pd.Series, objective: str, settings: dict) -> str:
    """", mostly in <term> (+x unit)": the energy term that adds most to the runner-up's objective over the best's,
    where the other terms add to it too (or nothing) and it is more than half the difference; where they offset it
    (the term exceeds the whole difference), " (+d unit), the net of +x unit in <term>, -y unit in <term> ...":
    every term's part, largest first, and where it is half the difference or less, the same, "made up of" where
    no part is negative (until 2026-12-07 "mostly in" a term of 39 % of the difference). Each term
    in the objective's own units (per output token, x carbon: a term's share of the objective), so the comparison
    is the one the margin states; empty when no term is higher. ``objective``: the result's, with its unit."""
    def per_objective(row: pd.Series, t: str) -> float:
        e = float(row["energy_j"])
        return float(row[t]) * float(row["objective"]) / e if e > 0 else math.nan

    diffs = {t: per_objective(second, t) - per_objective(best, t) for t in TERMS}
    term = max(diffs, key=lambda t: diffs[t] if math.isfinite(diffs[t]) else -math.inf)
    if not diffs[term] > 0:
        return ""
    unit = objective.split("(", 1)[1].rstrip(")") if "(" in objective else objective
    unit = "J" if settings.get("objective", "energy") == "energy" and not settings.get("per_token") else unit
    total = math.fsum(d for d in diffs.values() if math.isfinite(d))
    if total / 2 < diffs[term] <= total * (1 + 1e-9):  # no term offsets it, and it is more than half the margin
        return f", mostly in {TERM_WORDS[term]} ({diffs[term]:+.3g} {unit})"
    parts = sorted((t for t in TERMS if math.isfinite(diffs[t]) and abs(diffs[t]) >= _LISTED_SHARE * diffs[term]),
                   key=lambda t: -abs(diffs[t]))
    values = [diffs[t] for t in parts]
    listed = [f"{diffs[t]:+.3g} {unit} in {TERM_WORDS[t]}" for t in parts]
    if len(parts) == 1:  # the offsets are each below the listed share: together they are the other part
        values.append(total - diffs[term])
        listed.append(f"{values[-1]:+.3g} {unit} in the other terms")
    made = "the net of" if min(values) < 0 else "made up of"  # parts of one sign add up: no net
    return f" ({total:+.3g} {unit}), {made} {', '.join(listed[:-1])} and {listed[-1]}"
