"""The parser of ``energylens profile SPEC.toml -o DIR``; the command itself is :mod:`energylens.cli.profile`
(this module stays light: :mod:`energylens.cli.parsers`)."""

from __future__ import annotations

import argparse

from energylens.cli.parsers import Run
from energylens.cli.parsers.common import path

__all__ = ["add_parser"]

#: energylens.profiling's STRATEGIES (runner), STOPS and WIDTH (active_known) and CHANGED_ENGINE_ARGS
#: (engine_resume), copied: the profiling package loads pandas and the sampler.
STRATEGIES = ("grid", "random", "active")
STOPS = ("known", "budget")
WIDTH = 0.20  #: default target of the median relative 90 % interval width
CHANGED_ENGINE_ARGS = ("remeasure", "keep")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _width(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be a relative width in (0, 1] (0.2: 20 %), got {text}")
    return v


def _ray_address(text: str) -> str:
    """A Ray address: not empty nor blank (``--ray "$RAY_ADDRESS"`` with it unset went to ``ray.init``'s auto)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a Ray address (host:port, ray://..., or local), got {text!r}: "
                                         "an empty string (an unset shell variable?)")
    return text


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens profile``; its exit statuses are in its --help (3, failed units, was said nowhere)."""
    p = sub.add_parser("profile", help="run a profiling sweep (vLLM or transformers) into a crash-safe store",
                       description="Exit status: 0 when every unit this run measured finished, 3 when some failed "
                                   "(each recorded in the store with its error; --resume --retry-failed runs them "
                                   "again), 2 for a bad spec, option or store (before anything runs), or for a store that cannot "
                                   "be written mid-sweep (full disk, read-only: the line names where the "
                                   "unit's row was rescued; --resume takes it in), 130 / 143 on SIGINT / "
                                   "SIGTERM.")
    p.add_argument("spec", metavar="SPEC.toml", type=path, help="sweep spec (docs/profiling.md)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", type=path,
                   help="store directory (Parquet part files): a new or empty one, or a store to --resume")
    p.add_argument("--resume", action="store_true", help="continue the store in DIR, skipping finished units")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run failed units again")
    p.add_argument("--changed-engine-args", choices=CHANGED_ENGINE_ARGS, default=None,
                   help="with --resume, for vLLM rows measured with other engine arguments than this energylens gives "
                        "(they are not part of a unit's id; without this option such a store is refused): remeasure "
                        "(their rows move to DIR/superseded/) or keep them as done")
    p.add_argument("--ray", metavar="ADDRESS", default=None, type=_ray_address,
                   help="run on a Ray cluster (one task per configuration, its GPUs reserved); 'local' starts one")
    p.add_argument("--ray-no-gpus", action="store_true", help="reserve no GPUs for Ray tasks (CPU clusters, tests)")
    p.add_argument("--power-source", default="nvml", metavar="SOURCE",
                   help="nvml (default; time only where NVML is absent), none, synthetic[:WATTS], replay:FILE")
    p.add_argument("--budget", type=_positive_int, default=None, metavar="N",
                   help="measure at most N units in all, failed ones included (default: every unit)")
    p.add_argument("--strategy", choices=STRATEGIES, default="grid",
                   help="grid order, seeded random order (sweep.seed), or active choice (a seeded start design, "
                        "then where the fitted model is least sure; it stops as --stop says) (default: grid)")
    p.add_argument("--stop", choices=STOPS, default=None,
                   help="with --strategy active: known (the default) stops before --budget once the model is known: "
                        "every group's predicted cheapest unit unchanged over 3 fits, each with p_opt >= 0.9 and "
                        "the median 90 %% interval of the unmeasured units' predicted energy within --known-width; "
                        "budget measures to --budget (docs/profiling.md)")
    p.add_argument("--known-width", type=_width, default=None, metavar="W",
                   help=f"with --stop known: the relative interval width that counts as known (default: {WIDTH:g})")
    p.add_argument("--dry-run", action="store_true",
                   help="check the spec, power source, store and local model folders' config.json (tp against heads, "
                        "context, image input) as a run would, list every unit with its state in "
                        "DIR and the units a run would measure now, in order (active: those it would measure first, "
                        "the start design; later ones depend on the energies measured); run and write nothing")
    p.set_defaults(func=Run("profile", "run"))
