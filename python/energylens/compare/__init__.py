"""Compare: configuration choice scored side by side, ours against the baselines on identical splits.

Owns the metrics (:mod:`.metrics`), the seeded splits (:mod:`.splits`), the methods and their protocol
(:mod:`.methods`), the runner (:mod:`.runner`) and the report (:mod:`.report`). Imports
:mod:`energylens.model` and :mod:`energylens.profiles`; never the command line.
"""

from energylens.compare.runner import EvaluationResult, evaluate, overview, run_evaluation, summarize

__all__ = ["evaluate", "run_evaluation", "summarize", "overview", "EvaluationResult"]
