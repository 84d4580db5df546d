"""``energylens evaluate``'s lines on stderr after a method failed: which, and what to do (:mod:`energylens.cli.evaluate`)."""

from __future__ import annotations

import sys

from energylens.compare.report_tables import OURS
from energylens.model import EnergyModel

__all__ = ["PARTIAL", "few_rows_hint", "print_failures"]

#: How :func:`energylens.cli.evaluate.failed_methods` begins the message of a method whose fit failed in only
#: some units.
PARTIAL = "failed in "

def few_rows_hint(table, failed: dict[str, str], splits: list[str], prior: str = "--prior bundled|MODEL.json") -> None:
    """A variant of ours that failed in folds training on fewer rows than its parameters (a GPU of 3 rows: unseen_gpu
    trains on them alone at k=0): which folds, and what to do. The error said only '3 measurements for 12
    parameters ... or a prior (EnergyModel(prior=...), fit --prior)', naming neither the fold nor an evaluate option.
    ``splits``: those that ran (a split the data could not give is not advised); ``prior``: the option to advise."""
    n_params = len(EnergyModel().param_names)
    scored = table[["top1", "pairs_concordant", "ape_sum"]].notna().any(axis=1)
    bad = table[~scored & table["method"].isin([m for m in failed if m.startswith(OURS) and "prior" not in m])
                & (table["train_size"].astype(float) < n_params)]
    if bad.empty:
        return
    sizes = sorted({int(v) for v in bad["train_size"]})
    folds = sorted({f"{r.split}{' ' + r.variant if r.variant else ''}{': ' + r.detail if r.detail else ''}"
                    for r in bad[["split", "variant", "detail"]].drop_duplicates().itertuples()})
    others = ",".join(x for x in splits if x not in set(bad["split"]))
    print(f"energylens evaluate: note: {', '.join(dict.fromkeys(bad['method']))} failed where a split trains on "
          f"{'-'.join(map(str, dict.fromkeys([sizes[0], sizes[-1]])))} rows, fewer than the {n_params} parameters "
          f"of the energylens model ({'; '.join(folds[:6])}{' ...' if len(folds) > 6 else ''}): measure more rows "
          f"of what they train on, add {prior} to also score energylens+prior (which fits on fewer rows), or "
          + (f"leave the split out (--splits {others})" if others else "run other splits (--splits)"), file=sys.stderr)


def print_failures(failed: dict[str, str]) -> None:
    """One line per failed method: one that failed in some of its fits ("failed in 1 of 29 folds of
    unseen_model", its figures shown) is not said to have produced no score (as it was)."""
    for name, why in failed.items():
        if why.startswith(PARTIAL):
            print(f"energylens evaluate: error: method {name} {why} (its figures average the fits that succeeded, "
                  "so they are not comparable with a method scored in every one)", file=sys.stderr)
        else:
            print(f"energylens evaluate: error: method {name} produced no score on the headline split (random; "
                  f"every split when random is not run): {why}", file=sys.stderr)
