"""Profiling sweeps: run serving configurations, measure energy and time per request (prefill and
decode apart), and store schema-v1 rows crash-safely (docs/profiling.md).

- :mod:`~energylens.profiling.spec`: the TOML sweep spec, validated whole before anything runs.
- :mod:`~energylens.profiling.runner`: :func:`run_sweep` (resume, budget, grid/random/active, Ray), :func:`plan_sweep` (``--dry-run``).
- :mod:`~energylens.profiling.store`: atomic Parquet part files; ``load_profiles(DIR)`` reads them.
- backends: transformers/torch (:mod:`~energylens.profiling.backend_transformers`) and vLLM
  (:mod:`~energylens.profiling.backend_vllm`), each unit optionally in a fresh subprocess.
- :mod:`~energylens.profiling.active`: choosing what to measure next from the bootstrap;
  :mod:`~energylens.profiling.active_sweep` runs it in a sweep, :mod:`~energylens.profiling.active_known` says when
  the model is known (``--stop known``).
"""

from energylens.profiling.active import ActiveChooser, acquisition_scores
from energylens.profiling.meter import Meter, Span, make_sampler, parse_power_source
from energylens.profiling.runner import STRATEGIES, SweepPlan, SweepResult, plan_sweep, run_sweep
from energylens.profiling.spec import LengthSpec, RunConfig, SweepSpec, SweepSpecError, load_spec, parse_spec
from energylens.profiling.store import Store

__all__ = [
    "ActiveChooser", "acquisition_scores", "Meter", "Span", "make_sampler", "parse_power_source", "STRATEGIES",
    "SweepResult", "SweepPlan", "run_sweep", "plan_sweep", "LengthSpec", "RunConfig", "SweepSpec", "SweepSpecError", "load_spec",
    "parse_spec", "Store",
]
