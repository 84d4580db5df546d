"""Compare: configuration choice scored side by side, ours against the baselines on identical splits.

Owns the metrics (:mod:`.metrics`), the seeded splits (:mod:`.splits`), the :class:`~.methods.Method`
protocol and ours (:mod:`.methods`), the baselines (:mod:`.baselines`) and what they read from a frame
(:mod:`.inputs`), which spellings of a GPU or model are one (:mod:`.names`), the list of methods a run uses (:mod:`.registry`), the runner (:mod:`.runner`), its
result and summaries (:mod:`.result`), and the report (:mod:`.report`, with :mod:`.findings`,
:mod:`.report_tables` and :mod:`.report_plots`). Imports :mod:`energylens.model`, :mod:`energylens.profiles` and
:mod:`energylens.extras`; never the command line. The learned baselines and the plots need the ``compare``
extra.
"""

from energylens.compare.result import EvaluationResult, overview, summarize
from energylens.compare.runner import evaluate, run_evaluation

__all__ = ["evaluate", "run_evaluation", "summarize", "overview", "EvaluationResult"]
