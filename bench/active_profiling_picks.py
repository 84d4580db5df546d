"""Which rows the active chooser measures, and where the held-out error sits (diagnosis for issue 15's
active profiling; bench/active_profiling.py counts the measurements, this says why).

For each information criterion (``--information``, default both) the chooser of
bench/active_profiling.py runs ``--seeds`` times up to ``--n-max`` rows; a uniform random draw of the
same size per seed is the reference. Printed and written (bench/results/active_profiling_picks_<data>.json):

* **picks**: the share of rows per slice (task, GPU, TP, PP, model size, batch quartile) among the
  start design (rows 1-15), among the active rows ``--late`` (default 20-42, where the D-optimal term's
  MAPE stalled on v2), in the random draws, and in the whole data set;
* **error**: per slice, at ``--at`` rows, the mean absolute percentage error and the mean signed
  ``log(pred / measured)`` on the rows not measured, for each criterion and for random; overall also
  the MAPE on the measured rows (the bench's MAPE leaves them out);
* **score parts** of the late picks: the mean of ``ActiveChooser.last_scores``' two parts at the chosen
  row (the p_opt terms, "optimum", and the weighted information gain);
* **full fit**: Top-1 and in-sample MAPE of the template fitted on every row (what a fully
  representative sample tends to).

    python bench/active_profiling_picks.py --data v2 --seeds 10
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from active_profiling import GROUP_BY, RESULTS, load
from energylens.compare.metrics import top1_hit
from energylens.model import EnergyModel
from energylens.profiling import ActiveChooser
from energylens.profiling.active import INFORMATION


def slices(df: pd.DataFrame) -> pd.DataFrame:
    """The attributes the picks are broken down by (one column each, as text)."""
    size = pd.cut(df["params_b"], [0, 5, 10, 20, 50, np.inf], labels=["<5B", "5-10B", "10-20B", "20-50B", ">50B"])
    batch = pd.qcut(df["batch_size"].rank(method="first"), 4, labels=["q1", "q2", "q3", "q4"])
    return pd.DataFrame({"task": df["task"], "gpu": df["gpu"], "tp": df["tp"].astype(str),
                         "pp": df["pp"].astype(str), "model_size": size.astype(str),
                         "batch_quartile": batch.astype(str)})


def shares(sl: pd.DataFrame, rows: list[list[int]]) -> dict:
    idx = np.concatenate([np.asarray(r, dtype=int) for r in rows]) if rows else np.arange(len(sl))
    return {c: sl[c].iloc[idx].value_counts(normalize=True).round(3).to_dict() for c in sl}


def errors(df: pd.DataFrame, sl: pd.DataFrame, chosen: list[list[int]], seeds: list[int]) -> dict:
    """Per slice: mean over seeds of held-out APE and signed log error of a fit on each seed's rows;
    overall also the MAPE on the measured rows themselves."""
    meas = df["energy_j"].to_numpy()
    parts, on_chosen = [], []
    for rows, seed in zip(chosen, seeds, strict=True):
        pred = EnergyModel(bootstrap=0, n_starts=3, seed=seed).fit(df.iloc[rows], latency=False).predict(df)
        rest = np.setdiff1d(np.arange(len(df)), rows)
        on_chosen.append(float(np.mean(np.abs(pred[rows] / meas[rows] - 1.0))))
        parts.append(pd.DataFrame({"ape": np.abs(pred[rest] / meas[rest] - 1.0),
                                   "log_bias": np.log(pred[rest] / meas[rest]), "seed": seed})
                     .join(sl.iloc[rest].reset_index(drop=True)))
    allp = pd.concat(parts, ignore_index=True)
    out = {"all": {"mape": float(allp.groupby("seed")["ape"].mean().mean()), "mape_measured_rows": float(np.mean(on_chosen))}}
    for c in sl:
        g = allp.groupby(["seed", c])[["ape", "log_bias"]].mean().groupby(level=1).mean()
        out[c] = {k: {"mape": round(float(v.ape), 4), "log_bias": round(float(v.log_bias), 4)} for k, v in g.iterrows()}
    return out


def run_chooser(df: pd.DataFrame, seed: int, n_max: int, information: str,
                late: tuple[int, int]) -> tuple[list[int], list[tuple[float, float]]]:
    """The chosen rows in order, and the (optimum, information) score parts of each late pick."""
    chooser = ActiveChooser(df.drop(columns=["energy_j"]), group_by=GROUP_BY, seed=seed, information=information)
    energy = df["energy_j"].to_numpy()
    measured: dict[int, float] = {}
    parts = []
    while len(measured) < n_max:
        chooser.last_scores = None
        i = chooser.next_index(measured)
        measured[i] = float(energy[i])
        if late[0] <= len(measured) <= late[1] and chooser.last_scores is not None:
            parts.append((float(chooser.last_scores["optimum"][i]), float(chooser.last_scores["information"][i])))
    return list(measured), parts


def full_fit(df: pd.DataFrame) -> dict:
    pred = EnergyModel(bootstrap=0, n_starts=3, seed=0).fit(df, latency=False).predict(df)
    meas = df["energy_j"].to_numpy()
    hits = [top1_hit(pred[idx], meas[idx]) for idx in df.groupby(list(GROUP_BY)).indices.values() if len(idx) >= 2]
    return {"top1": float(np.mean(hits)), "mape_in_sample": float(np.mean(np.abs(pred / meas - 1.0)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("v2", "v3"), default="v2")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--n-max", type=int, default=50)
    ap.add_argument("--late", type=int, nargs=2, default=(20, 42), help="first and last active row counted as late")
    ap.add_argument("--at", type=int, default=30, help="rows measured when the error is broken down")
    ap.add_argument("--information", choices=INFORMATION, nargs="+", default=list(INFORMATION))
    ap.add_argument("--out", default=None, help="JSON path (default bench/results/active_profiling_picks_<data>.json)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    df = load(args.data).reset_index(drop=True)
    sl = slices(df)
    seeds = list(range(args.seeds))
    t0 = time.perf_counter()
    rand = [np.random.default_rng(1000 + s).choice(len(df), args.n_max, replace=False).tolist() for s in seeds]
    out = {"data": args.data, "seeds": args.seeds, "late": list(args.late), "at": args.at,
           "picks": {"data_set": shares(sl, []), "random": shares(sl, rand)},
           "error": {"random": errors(df, sl, [r[:args.at] for r in rand], seeds)}, "score_parts": {},
           "full_fit": full_fit(df)}
    for info in args.information:
        runs = [run_chooser(df, s, args.n_max, info, tuple(args.late)) for s in seeds]
        orders = [o for o, _ in runs]
        parts = np.array([p for _, ps in runs for p in ps])
        out["score_parts"][info] = {"optimum": float(parts[:, 0].mean()), "information": float(parts[:, 1].mean()),
                                    "share_information_larger": float((parts[:, 1] > parts[:, 0]).mean())}
        out["picks"][f"{info} start 1-15"] = shares(sl, [o[:15] for o in orders])
        out["picks"][f"{info} rows {args.late[0]}-{args.late[1]}"] = shares(sl, [o[args.late[0] - 1:args.late[1]]
                                                                              for o in orders])
        out["error"][info] = errors(df, sl, [o[:args.at] for o in orders], seeds)
        print(f"{info}: done ({time.perf_counter() - t0:.0f} s)", flush=True)
    for c in sl:
        print(f"\npicks by {c}:")
        print(pd.DataFrame({k: v[c] for k, v in out["picks"].items()}).fillna(0.0).to_string())
        print(f"held-out MAPE / mean log(pred/measured) by {c} at {args.at} rows:")
        print(pd.DataFrame({k: {s: f"{e['mape']:.3f} / {e['log_bias']:+.3f}" for s, e in v[c].items()}
                            for k, v in out["error"].items()}).to_string())
    print("\nMAPE at", args.at, "rows, held out / measured rows:",
          {k: f"{v['all']['mape']:.4f} / {v['all']['mape_measured_rows']:.4f}" for k, v in out["error"].items()})
    print("score parts of the late picks:", {k: {p: round(x, 3) for p, x in v.items()} for k, v in out["score_parts"].items()})
    print("fit on every row:", {k: round(v, 4) for k, v in out["full_fit"].items()})
    out["seconds"] = time.perf_counter() - t0
    path = Path(args.out) if args.out else RESULTS / f"active_profiling_picks_{args.data}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"{out['seconds']:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
