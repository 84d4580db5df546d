"""Configuration search: how to deploy a model, under memory and latency limits, for a given load.

Call it: ``energylens.search("Qwen/Qwen3-8B", "H100,H200", input_tokens=512, output_tokens=256, tpot_limit_s=0.05)``
returns a :class:`SearchResult` (``print(result.table())``, ``result.explain()``). Every argument, the units, the
return and the errors: FUNCTIONS, ``search`` below (or ``help(energylens.search.search)``).

:func:`search` walks every combination of models, GPUs, TP / PP / DP / EP, max_num_seqs, precisions and
workload points in the native engine (cpp/src/search*.cpp: mixed-radix index, never materialised, the
evaluator's own templates, streaming top-k and Pareto fronts) and returns a :class:`SearchResult`.
:mod:`.space` builds the space, :mod:`.oracle` is the NumPy brute force the engine is tested against,
:mod:`.result` the result's views, :mod:`.confidence` the latency limits met with a stated confidence. Design and
limits: docs/search.md.

This package may import :mod:`energylens.profiles` and :mod:`energylens.model` (not the CLI).
``energylens.search`` is also callable, so ``energylens.search(...)`` works whether the name resolves to
this package or to the function.
"""

from __future__ import annotations

import inspect
import sys
import types

from energylens.search.api import search
from energylens.search.result import SearchResult
from energylens.search.space import SearchSpace, build_space

__all__ = ["search", "SearchResult", "SearchSpace", "build_space"]


class _CallableModule(types.ModuleType):
    """``energylens.search`` the package behaves as ``energylens.search.search`` when called."""

    def __call__(self, *args, **kwargs) -> SearchResult:
        return search(*args, **kwargs)

    __call__.__doc__ = search.__doc__
    __call__.__signature__ = inspect.signature(search).replace(parameters=[  # help() / IDEs: search()'s arguments
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
        *inspect.signature(search).parameters.values()])


sys.modules[__name__].__class__ = _CallableModule
