"""Which fitted parameters the multi-start's seed moves, and why (docs/model.md section 5, "Uncertainty"); prints a
table, writes nothing.

The template's fits (EnergyModel, bootstrap 0, and its latency model) on all bundled rows and on three random
50-row draws of the v3 H100 rows (where present), seeds 0-7. Per fit: the seeds' spread of the cost (max / min - 1),
the smallest singular value of the column-scaled residual Jacobian over the largest (energylens.model.identify:
below 1.5e-8 a direction is undetermined), ``summary.undetermined``, the spread of the predictions on every row of the
data (energy; the latency model's TPOT), and each parameter whose value differs by more than 1e-6 relative between
seeds: its spread at the default tolerances and in fits to tight ones (ftol = xtol = 1e-15, gtol = 0) from the same
seeds, and the width of its 90 % bootstrap interval (seed 0, 200 refits) over its value. A parameter that moves only at the default tolerances moves within the stopping rule (each start stops where
its cost stops falling by ftol = 1e-8 of it), not along a direction the rows do not see.

    python bench/fit_seed_spread.py [--seeds 8] [--draws 3]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from data_paths import read_v3_rows

TIGHT = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 0.0, "max_iterations": 20000}


def _spread(values: np.ndarray) -> np.ndarray:
    """Per column: max |value / first row's - 1| over the rows (0 where the first row's value is 0)."""
    return np.max(np.abs(values / values[0] - 1.0), axis=0, where=values[0] != 0, initial=0.0)


def _fits(rows, seeds: range, tight: bool) -> dict[str, list]:
    """Per kind (energy, latency): the fit of each seed (the latency model fitted alone, as EnergyModel.fit fits it)."""
    from energylens.model import EnergyModel, LatencyModel

    out: dict[str, list] = {"energy": [], "latency": []}
    for seed in seeds:
        for kind, model in (("energy", EnergyModel(bootstrap=0, seed=seed)),
                            ("latency", LatencyModel(bootstrap=0, seed=seed))):
            if tight:
                model.options.update(TIGHT)
            out[kind].append(model.fit(rows, latency=False) if kind == "energy" else model.fit(rows))
    return out


def _smallest_singular(model, rows) -> float:
    from energylens.model.identify import template_jacobian

    columns, targets = model._columns(rows), model._targets(rows)
    opts = model._native_options(targets)
    jac = template_jacobian(model._template, model._desc, columns, model.theta,
                            targets[:1] if opts.target == "sum" else targets, opts.target, model.options)
    live = jac[:, np.linalg.norm(jac, axis=0) > 0]
    s = np.linalg.svd(live / np.linalg.norm(live, axis=0), compute_uv=False)
    return float(s[-1] / s[0])


def report(label: str, rows, seeds: range) -> None:
    from energylens.model import EnergyModel, LatencyModel

    default, tight = _fits(rows, seeds, False), _fits(rows, seeds, True)
    for kind in ("energy", "latency"):
        models, tights = default[kind], tight[kind]
        costs = np.array([m.summary.cost for m in models])
        if kind == "energy":
            pred = np.array([m.predict(rows, check_range=False) for m in models])
        else:
            pred = np.array([np.asarray(m.predict(rows, check_range=False)["tpot_s_pred"]) for m in models])
        moved, moved_tight = _spread(np.array([m.theta for m in models])), _spread(np.array([m.theta for m in tights]))
        print(f"{label:22s} {kind:8s} cost {costs.max() / costs.min() - 1:.1e}  smallest sv "
              f"{_smallest_singular(models[0], rows):.2e}  undetermined {list(models[0].summary.undetermined) or '-'}"
              f"  predictions {float(np.max(_spread(pred))):.1e}")
        boot = (EnergyModel(seed=0).fit(rows, latency=False) if kind == "energy" else LatencyModel(seed=0).fit(rows))
        for j, name in enumerate(models[0].param_names):
            if moved[j] > 1e-6:
                p = boot.params[name]
                print(f"    {name:24s} default {moved[j]:.1e}  tight {moved_tight[j]:.1e}  90 % interval "
                      f"{(p.ci_high - p.ci_low) / abs(p.value):.1e} of the value")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--draws", type=int, default=3, help="random 50-row draws of the v3 rows")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from energylens.profiles.datasets import mlenergy_v2

    seeds = range(args.seeds)
    print("data                   model    seeds' spreads (max / min - 1): cost, parameters moving > 1e-6 relative")
    report("bundled (356 rows)", mlenergy_v2(), seeds)
    v3 = read_v3_rows("v3 draws skipped")
    for k in range(args.draws if v3 is not None else 0):
        report(f"v3 50 rows (draw {k})", v3.sample(50, random_state=k).reset_index(drop=True), seeds)


if __name__ == "__main__":
    main()
