"""``energylens evaluate PROFILES --expression DISCOVERY.json [--pick chosen|INDEX[,INDEX...]|all]``: a discovered
expression scored as one more method row, beside ``energylens``, on the same splits: each split's fit is
:class:`energylens.discover.method.DiscoveredExpression`'s, the Python route (docs/discover.md), refitted on that
split's training rows. Imported by :mod:`energylens.cli.evaluate` only when ``--expression`` is given: it loads
SymPy (the ``sr`` extra), which an evaluation without it never needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from energylens.cli.options import read_discovery
from energylens.discover.adopt import expression_model, no_expression
from energylens.discover.method import DiscoveredExpression, expression_method_name
from energylens.discover.result import DiscoveryResult

__all__ = ["expression_methods", "with_convergence", "picked_indices", "expression_legend"]


def picked_indices(result: DiscoveryResult, pick: str | None, path: str) -> list[int]:
    """The front indices ``--pick`` names: ``chosen`` (the default), an index, indices separated by commas, or
    ``all``; a ValueError naming the option, the file and the front's range otherwise."""
    n = len(result.front)
    if not n:  # the words of fit --expression: found none, why, what to rerun (whatever --pick says)
        raise ValueError(f"--expression {path}: {no_expression(result)}")
    where = (f"--pick {pick}: {path}'s front holds {n} expression(s), index 0..{n - 1} (the first column of "
             "discover's table), 'chosen' or 'all'")
    if pick is not None and pick.strip() == "all":
        return list(range(n))
    out: list[int] = []
    for item in (x.strip() for x in ("chosen" if pick is None else pick).split(",")):
        if item == "chosen":  # (alone or in a list: --pick chosen,3)
            if result.chosen is None:
                raise ValueError(f"--expression {path}: this discovery result has no scored expression (its run was "
                                 "interrupted before one was scored): rerun the discovery, or --pick a front index")
            item = str(result.chosen)
        try:
            index = int(item)
        except ValueError:
            index = -1
        if not 0 <= index < n:
            raise ValueError(where + (f" ({item!r} is not one)" if "," in pick else ""))
        if index in out:
            raise ValueError(f"--pick {pick}: names index {index} more than once ('chosen' is {result.chosen}); name "
                             "each once")
        out.append(index)
    return out


def expression_methods(args: argparse.Namespace) -> tuple[dict[str, Callable[[int, object], Any]], list[dict], str]:
    """``--expression``'s methods (name -> factory(seed, gpu_spec)), one description per method (name, file,
    index, complexity, chosen, target, expression) for ``--json`` and the legend under the table (:func:`expression_legend`
    of them); checked before any work: the file
    is a discovery result, ``--pick`` in its front, its target energy or residual, each formula readable."""
    path = args.expression
    result = read_discovery(path)
    same = _note_same_profiles(result, args.profiles, path)
    out: dict[str, Callable[[int, object], Any]] = {}
    about: list[dict] = []
    for index in picked_indices(result, args.pick, path):
        try:
            method = DiscoveredExpression(result, index)
            if result.target == "energy":  # compiled once here: a symbol that is no feature is said before the run
                expression_model(result, index)
        except ValueError as exc:
            raise ValueError(f"--expression {path}: {exc}") from None
        name = expression_method_name(result, index)
        out[name] = lambda seed, _gpu, index=index: DiscoveredExpression(result, index, seed=seed)
        about.append({"method": name, "file": str(path), "index": index, "complexity": method.complexity,
                      "chosen": index == result.chosen, "target": result.target, "expression": method.expression,
                      "same_profiles": same})  # (the report and --json did not say it: only stderr)
    return out, about, expression_legend(about)


def _note_same_profiles(result: DiscoveryResult, profiles: str, path: str) -> bool:
    """Whether the discovery was run on the profiles evaluated here: it chose its structure seeing rows the splits
    hold out (its constants are refitted per split, its form is not), said on stderr, since its row then reads
    better than on profiles it has not seen."""
    same = result.profiles == profiles or (os.path.isfile(profiles) and os.path.isfile(result.profiles)
                                           and os.path.samefile(profiles, result.profiles))
    if same:
        print(f"energylens evaluate: note: {path} was discovered on {profiles}, the profiles evaluated here: its "
              "expression's form was chosen seeing rows the splits hold out (only its constants are refitted per "
              "split), so its rows are optimistic against the other methods'; for an unbiased figure, discover on "
              "other rows than those you evaluate on", file=sys.stderr)
    return bool(same)


def expression_legend(about: list[dict]) -> str:
    """What each expression row is, printed under the table: its front entry, complexity and expression."""
    lines = []
    for a in about:
        chosen = ", the discovery's chosen one" if a["chosen"] else ""
        what = "template x exp(g), g = " if a["target"] == "residual" else ""
        lines.append(f"{a['method']}: front entry {a['index']} of {a['file']} (complexity {a['complexity']}{chosen}), "
                     f"refitted on each split's training rows: energy_j = {what}{a['expression']}")
    return "\n".join(lines)


def with_convergence(about: list[dict], info: dict) -> list[dict]:
    """``about`` with ``converged`` (split family -> share of the method's fits that converged, from its
    ``run_notes``) per entry; where some did not, a note on stderr: those fits' predictions are scored as they are
    (as the template's are), so the row mixes converged and unconverged fits."""
    out = []
    for a in about:
        shares = dict(info.get("notes", {}).get(a["method"], {}).get("converged", {}))
        short = {split: share for split, share in shares.items() if share < 1.0}
        if short:
            where = ", ".join(f"{1 - share:.0%} of its {split} fits" for split, share in short.items())
            print(f"energylens evaluate: note: {a['method']}: {where} stopped before converging; their predictions "
                  "are scored as they are (as the template's are); another front entry (--pick), or in Python "
                  "DiscoveredExpression(..., max_iterations=3000), may converge", file=sys.stderr)
        out.append({**a, "converged": shares})
    return out
