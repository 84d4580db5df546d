"""How an empty result's remedy reads in a search of explicit candidates (:func:`candidate_wording`): the options
an axis search is told name the candidate table's columns. Moved out of :mod:`.remedies` (which re-exports it) on
2026-12-07 to keep that module within 500 lines."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["candidate_wording"]

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
