"""How an empty result's remedy reads in a search of explicit candidates (:func:`candidate_wording`): the options
an axis search is told name the candidate table's columns. Moved out of :mod:`.remedies` (which re-exports it) on
2026-12-07 to keep that module within 500 lines. And which latency limits an empty result says to raise
(:func:`unmet_raise`, out of :mod:`.result` for the same reason)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["candidate_wording", "unmet_raise"]

#: The axis options whose values a candidate table gives in its columns (the limits, --node-size and --gpus-free
#: wording stay): :func:`candidate_wording` names the column instead.
_AXIS_OPTION = re.compile(r"--(tp|pp|dp|ep|precision|max-num-seqs|kv-cache-dtype|input-tokens|output-tokens)\b")


def candidate_wording(text: str, settings: dict[str, Any]) -> str:
    """An empty result's remedy as a search of explicit candidates (``settings["explicit_candidates"]``) can follow
    it: the axis options cannot be combined with --candidates, so each names the table's column ("--tp 1,2,4,8
    do" -> "tp 1,2,4,8 do", "--max-num-seqs" -> "max_num_seqs") and the remedy says to change the rejected rows.
    ``text`` unchanged in an axis search. (Before 2026-12-07 a table was told options the command then refused.)"""
    if not settings.get("explicit_candidates"):
        return text
    text = text.replace("to widen the space:", "to find one, change the rejected rows of the candidate table (its "
                        "columns):").replace("or widen the axes that shorten it", "or change the candidate table's "
                                                                                 "columns that shorten it")
    return _AXIS_OPTION.sub(lambda m: m.group(1).replace("-", "_"), text)


def unmet_raise(closest: dict[str, Any], needed: Callable[..., str], said: str) -> str:
    """The limits an empty result says to raise where some are unmet by every candidate (``closest``: api._closest's
    record; ``needed(name, value, key="")``: "--NAME-limit to at least V s" for the given limit whose applied value
    admits ``value``; ``said``: "predicted", or measured-or-predicted): each unmet limit to its lowest value; two
    reached by two configurations, a pair per configuration; one unmet beside a met one whose lowest value's
    configuration breaks the met limit, its lowest among the candidates meeting that limit, or both limits to the
    lowest's own pair (until 2026-12-07 the lowest alone: 70B on H100 at 1024 / 256 tokens, TPOT <= 0.089 s and TTFT
    <= 0.125 s, read "raise --ttft-limit to at least 0.1376 s", TP8 B1's TTFT, whose TPOT 0.0913 s breaks 0.089; a
    measured-latency search's record gives each value's given limit under its key, ``measured.closest``)."""
    unmet = closest["unmet"]
    if len(unmet) == 2 and "min_tpot_ttft_s" in closest and closest["min_tpot_config"] != closest["min_ttft_config"]:
        return " or ".join(f"{needed(n, closest[f'min_{n}_s'], f'min_{n}')} and "
                           f"{needed(o, closest[f'min_{n}_{o}_s'], f'min_{n}_{o}')} ({closest[f'min_{n}_config']})"
                           for n, o in (("tpot", "ttft"), ("ttft", "tpot")))
    if len(unmet) == 1:
        n, o = unmet[0], "tpot" if unmet[0] == "ttft" else "ttft"
        at = closest.get(f"min_{n}_at_{o}_limit_s")
        if at is not None and closest.get(f"min_{n}_at_{o}_limit_config") != closest[f"min_{n}_config"]:
            return (f"{needed(n, at, f'min_{n}_at_{o}_limit')} (the lowest {said} {n.upper()} among the candidates that "
                    f"meet the {o.upper()} limit, {closest[f'min_{n}_at_{o}_limit_config']}), or "
                    f"{needed(n, closest[f'min_{n}_s'], f'min_{n}')} and "
                    f"{needed(o, closest[f'min_{n}_{o}_s'], f'min_{n}_{o}')} ({closest[f'min_{n}_config']})")
    return " and ".join(needed(n, closest[f"min_{n}_s"]) for n in unmet)
