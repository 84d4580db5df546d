"""Where the native least-squares fit stops when the data or the constants change units (docs/model.md section 5,
"Stopping rule"); prints tables, writes nothing.

1. A synthetic fit y = a x0 + d sqrt(x2) (60 rows, 5 % log-normal noise) with x0 in units `unit` times larger and
   x2 in unit^2 (a and d `unit` times larger, started so): status, iterations, the constants (converted back)
   and the cost against a fit to tight tolerances (ftol = xtol = 1e-15, gtol = 0) in the original units.
2. The template's fits (EnergyModel, bootstrap 0, energy and latency) on the bundled and, where present, the
   v3 H100 rows: all rows and 20 random 50-row draws, the default fit's cost against the tight one's.
3. Expressions whose constants start f = 1e-9 .. 1e9 times their values (80 bundled rows): status, iterations and
   cost against the start at f = 1; ``--written-start`` fits from the constants as written (before 2026-12-07).

    python bench/fit_scale_invariance.py [--core OTHER_CORE.so] [--v3 CSV] [--written-start]

``--core`` loads another build of the native module as ``energylens._core`` first (a copy of the installed one
kept before a C++ change: ``bench/ab_core_builds.py`` says how), so the same script shows before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from pathlib import Path

TIGHT = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 0.0, "max_iterations": 20000}
V3 = "/work/shared/data/mlenergy-v3-h100/llm_configs_h100.csv"


def _load(so: str) -> None:
    spec = importlib.util.spec_from_file_location("energylens._core", so)
    module = importlib.util.module_from_spec(spec)
    sys.modules["energylens._core"] = module
    spec.loader.exec_module(module)


def synthetic_units() -> None:
    """Table 1: the synthetic fit in other units."""
    import numpy as np

    from energylens import _core
    from energylens.model.compile import compile_expression

    rng = np.random.default_rng(0)
    x0, x2 = rng.uniform(1, 10, 60), rng.uniform(1, 100, 60)
    y = (2.0 * x0 + 0.3 * np.sqrt(x2)) * np.exp(0.05 * rng.normal(size=60))
    program = compile_expression("a*x0 + d*sqrt(x2)", ["x0", "x2"], {"a": 1.0, "d": 1.0}, jit="off").program
    start = np.array([1.0, 1.0])
    print("residual  unit   status              iterations  max |constant / tight - 1|  cost / tight - 1")
    for residual in ("log", "absolute"):
        ref = _core.fit_expression(program, [x0, x2], y, start, None, None, {**TIGHT, "residual": residual})
        for unit in (1.0, 1e3, 1e6, 1e9, 1e12):
            fit = _core.fit_expression(program, [x0 / unit, x2 / unit**2], y, start * unit, None, None,
                                       {"residual": residual})
            err = np.max(np.abs(np.asarray(fit.params) / unit / np.asarray(ref.params) - 1.0))
            print(f"{residual:9s} {unit:5.0e}  {fit.status:18s}  {fit.iterations:10d}  {err:26.1e}  "
                  f"{fit.cost / ref.cost - 1.0:16.1e}")


def template_fits(v3: str) -> None:
    """Table 2: the template's default fits against tight ones."""
    import numpy as np
    import pandas as pd

    from energylens.model.closed_form import EnergyModel, LatencyModel
    from energylens.profiles.datasets import load_profiles_or_bundled

    print("\ndata     model    fits  statuses                             max cost / tight - 1  fits above 1e-8")
    for name in ["bundled"] + ([v3] if Path(v3).is_file() else []):
        rows = load_profiles_or_bundled(name)
        rng = np.random.default_rng(0)
        draws: list[pd.DataFrame] = [rows] + [rows.iloc[rng.choice(len(rows), 50, replace=False)] for _ in range(20)]
        for cls, kw in ((EnergyModel, {"latency": False}), (LatencyModel, {})):
            gaps, statuses = [], {}
            for frame in draws:
                fit = cls(bootstrap=0).fit(frame, **kw)
                tight = cls(bootstrap=0)
                tight.options.update(TIGHT)
                tight.fit(frame, **kw)
                gaps.append(fit.summary.cost / tight.summary.cost - 1.0)
                statuses[fit.summary.status] = statuses.get(fit.summary.status, 0) + 1
            text = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
            label = "bundled" if name == "bundled" else "v3 H100"
            print(f"{label:8s} {cls.__name__[:-5].lower():8s} {len(draws):4d}  {text:35s}  {max(gaps):20.1e}  "
                  f"{sum(g > 1e-8 for g in gaps):15d}")


def far_starts(written: bool) -> None:
    """Table 3: expressions whose constants start f times their values at f = 1 (log and relative residuals, 80
    bundled rows, the default fit), the cost against the start at f = 1's; ``written``: the fit starts at the
    constants as written (before 2026-12-07), not at their optimal overall scale (``scaled_start``)."""
    from energylens.model import EnergyModel, expression_fit
    from energylens.profiles.datasets import mlenergy_v2

    if written:
        expression_fit.scaled_start = lambda model, columns, y: model.compiled.start
    rows = mlenergy_v2().sample(80, random_state=0)
    shapes = {"linear": lambda f: f"{1.68 * f}*E_comp + {1.47 * f}*E_mem*pp + {2.31 * f}*E_pf + {141.7 * f}*E_seq + "
                                  f"{0.59 * f}",
              "power": lambda f: f"{1.0 * f}*(tp*tdp_w*output_tokens/batch_size)**0.9 + {5.0 * f}"}
    print(f"\nstart x f ({'as written' if written else 'scaled start'})\nexpression  residual  f      status"
          "              iterations  cost / cost at f=1 - 1")
    for name, shape in shapes.items():
        for residual in ("log", "relative"):
            ref = EnergyModel.from_expression(shape(1.0), bootstrap=0, residual=residual).fit(rows).summary.cost
            for f in (1e3, 1e6, 1e7, 1e9, 1e-6, 1e-9):
                s = EnergyModel.from_expression(shape(f), bootstrap=0, residual=residual).fit(rows).summary
                print(f"{name:10s}  {residual:8s}  {f:5.0e}  {s.status:18s}  {s.iterations:10d}  {s.cost / ref - 1.0:22.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--core", help="another build of the native module to load first")
    ap.add_argument("--v3", default=V3, help="the ML.ENERGY v3 H100 CSV (skipped where absent)")
    ap.add_argument("--written-start", action="store_true",
                    help="table 3: fit expressions from their constants as written (before 2026-12-07)")
    args = ap.parse_args()
    if args.core:
        _load(args.core)
    warnings.simplefilter("ignore")
    synthetic_units()
    template_fits(args.v3)
    far_starts(args.written_start)


if __name__ == "__main__":
    main()
