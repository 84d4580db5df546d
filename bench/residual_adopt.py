"""A residual discovery adopted as a model, over the fronts of ``energylens discover bundled --target residual``
(seeds 0, 1, 2; 5 and 20 generations): how many entries' ``template x exp(g)`` converge when fitted on all rows
with every constant refitted (the rule before 2026-12-07), with g's additive constant dropped, or with the
template held (``expression_model`` now); and the held-out MAPE of the model with the template fitted on the run's
training rows, as loaded and refitted there, against the MAPE the run printed. The figures of docs/discover.md
(**Residual test**). Writes nothing but the discovery files in a temporary folder; about 3 minutes.

    python bench/residual_adopt.py [--generations 5 20] [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import sympy as sp

from energylens.cli import main
from energylens.compare.splits import duplicate_units
from energylens.discover import expression_model, load_discovery
from energylens.discover import search as ds
from energylens.discover.adopt import front_formula
from energylens.model import EnergyModel
from energylens.model.symbolic import feature_symbols
from energylens.profiles.datasets import mlenergy_v2


def _candidates(result, index, template, old_template):
    """(name, unfitted model) of each rule for front entry ``index``."""
    g = front_formula(result.front, index)
    const = sum((a for a in sp.Add.make_args(g) if a.is_number), sp.Integer(0))
    return (("all refitted", lambda: EnergyModel.from_expression(old_template * sp.exp(g), bootstrap=0)),
            ("g's constant dropped", lambda: EnergyModel.from_expression(old_template * sp.exp(g - const),
                                                                         bootstrap=0)),
            ("template held", lambda: expression_model(result, index, template=template, bootstrap=0)))


def _heldout(result, df):
    """Per entry: (|rel. diff| as loaded, |rel. diff| refitted on the training rows, refit status)."""
    train, test = ds._split(len(df), result.settings.get("train_size"), result.seed, duplicate_units(df))
    template = EnergyModel(bootstrap=0, seed=result.seed).fit(df.iloc[train], latency=False)
    y = df["energy_j"].to_numpy(dtype=float)[test]
    out = []
    for index, entry in enumerate(result.front):
        model = expression_model(result, index, template=template, bootstrap=0)
        loaded = np.mean(np.abs(model.predict(df.iloc[test]) / y - 1.0)) * 100 / entry.heldout["mape"] - 1
        model.fit(df.iloc[train])
        refit = np.mean(np.abs(model.predict(df.iloc[test]) / y - 1.0)) * 100 / entry.heldout["mape"] - 1
        out.append((abs(loaded), abs(refit), model.summary.status, model.summary.converged))
    return out


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generations", type=int, nargs="+", default=[5, 20], help="discover --generations (5 20)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="discover --seed values (0 1 2)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    df = mlenergy_v2().reset_index(drop=True)
    template = EnergyModel(bootstrap=0).fit(df, latency=False)
    prefill, decode = template.to_sympy()  # 6 digits, as template x exp(g) was written before 2026-12-07
    old_template = (prefill + decode).xreplace({s: sp.Symbol(n, positive=True) for n, s in feature_symbols().items()})
    counts: dict[str, list[int]] = {}
    held_iters: list[int] = []
    heldout = []
    with tempfile.TemporaryDirectory() as tmp:
        for generations in args.generations:
            for seed in args.seeds:
                path = str(Path(tmp) / f"r_{generations}_{seed}.json")
                assert main(["discover", "bundled", "--target", "residual", "--generations", str(generations),
                             "--seed", str(seed), "-o", path, "--quiet"]) == 0
                result = load_discovery(path)
                for index in range(len(result.front)):
                    for name, make in _candidates(result, index, template, old_template):
                        s = make().fit(df).summary
                        counts.setdefault(name, []).append(int(s.converged))
                        if name == "template held":
                            if s.converged:
                                held_iters.append(s.iterations)
                            else:
                                print(f"  template held, not converged: {generations} generations, seed {seed}, "
                                      f"entry {index}: {result.front[index].expression} ({s.status})")
                heldout += _heldout(result, df)
    for name, ok in counts.items():
        print(f"{name}: converged {sum(ok)} of {len(ok)} on all {len(df)} rows")
    print(f"template held: iterations of the converged, largest {sorted(held_iters)[-3:]}")
    print(f"held-out MAPE as loaded vs the run's: max |rel. diff| {max(h[0] for h in heldout):.2g}")
    conv = [h for h in heldout if h[3]]
    print(f"refitted on the training rows: {len(conv)} of {len(heldout)} converged, max |rel. diff| "
          f"{max(h[1] for h in conv):.2g}; the others: {sorted(h[2] for h in heldout if not h[3])}")


if __name__ == "__main__":
    main_()
