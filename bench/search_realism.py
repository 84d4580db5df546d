"""Issue 11 realism target: restricted to the configurations measured in the ML.ENERGY v3 H100 rows, with a
model fitted on 50 of them, is the search's pick under each group's TPOT limit the measured optimum?

Protocol (the evaluation harness's random split, so the figures compare with its "Top-1 under TPOT limit"):
20 seeded repeats of ``energylens.compare.splits.random_splits`` (50 training rows, the other rows held
out), ``EnergyModel(bootstrap=0, seed=repeat)`` fitted on the 50 (as the harness's energylens method);
groups task x model x GPU of the held-out rows; each group's TPOT limit is the median of its measured
TPOT. Per group ``energylens.search(candidates=group_rows, tpot_limit_s=limit, top=1)`` runs the engine on
exactly those configurations (their measured running batch and output length, the task's assumed prompt
length): feasibility (memory) and the limit on the *predicted* TPOT, energy from the fitted model. A hit:
the pick meets the limit when measured and is the cheapest measured row that does.

Also per group, from the same search energies: the pick when the *measured* TPOT decides feasibility (the
harness's ``top1_tpot``), and every miss put down to one cause: the measured optimum rejected by the
memory check, the pick violating the limit when measured, the optimum excluded by its predicted TPOT, or
the energy ranking. Two diagnostics say how much TPOT accuracy the target needs: the pick when the
measured TPOT, multiplied by log-normal noise of sigma 2-15 %, decides feasibility (energies still the
search's), and the pick with the latency model fitted on all v3 rows (in-sample: the template's best
case) instead of the 50. The v3 export is read from /work/shared/data (never bundled); without it the bench
says so and exits 0.

``--latency-calibration model`` fits the latency model with its opt-in per-model TPOT factor
(``EnergyModel(latency_calibration="model")``, docs/model.md section 4; the energy model is unchanged), and
``--data v2`` runs the same protocol on the bundled ML.ENERGY v2 text rows (A100 and H100; groups task x
model x GPU), so that nothing is tuned to one dataset.

``--limit-confidence 0.5,0.8,0.9`` also runs, per group and per confidence P, the search with
``limit_confidence=P`` (the limit met by the upper P-quantile of the latency model's prediction interval,
energylens.search.confidence; the models are then fitted with 100 bootstrap refits, which leaves the fitted
parameters and so every P = 0.5 figure as they are) and reports per P the hit rate, the share of groups
whose pick violates the measured limit, the share with no pick, and the regret of the compliant picks.

``--measured-latency`` runs the same protocol with each group's pick searched with
``measured_latency=True``: the limit checked against the held-out rows' *measured* TPOT, energy still from the
50-row fit (bench/results/search_realism_measured_latency.json). That is NOT the issue's realism metric (which
predicts every candidate's latency); it is what a user with a latency benchmark of every candidate gets, i.e.
the energy ranking and the memory check alone.

    python bench/search_realism.py [--repeats 20] [--out bench/results/search_realism.json]
                                   [--latency-calibration model|family] [--data v3|v2] [--measured-latency]
                                   [--limit-confidence 0.5,0.8,0.9]
                                   [--state-traffic-per-step X]  (ablation: Mamba-state passes per step, default 2)
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

import energylens
from data_paths import V3 as V3_CSV
from energylens.compare.metrics import top1_hit
from energylens.compare.splits import DEFAULT_GROUP_BY, random_splits
from energylens.model import EnergyModel
from energylens.profiles import features, read_profiles

V3 = V3_CSV
OUT = Path(__file__).parent / "results" / "search_realism.json"
OUT_MEASURED = Path(__file__).parent / "results" / "search_realism_measured_latency.json"
CAUSES = ("memory", "pick_violates_limit", "optimum_excluded_by_predicted_tpot", "energy_ranking")
SIGMAS = (0.0, 0.02, 0.05, 0.10, 0.15)  # TPOT noise of the sensitivity diagnostic


def _choose(ev: pd.DataFrame, tpot: pd.Series, limit: float):
    """The cheapest (search energy) of the memory-feasible rows whose ``tpot`` meets the limit, or None."""
    pool = ev.loc[tpot.loc[ev.index] <= limit, "energy_j"]
    return pool.idxmin() if len(pool) else None


def _hit(pick, ok: pd.Series, meas: pd.Series, best: float) -> bool:
    return pick is not None and bool(ok[pick]) and meas[pick] <= best


def _confidence(model: EnergyModel, rows: pd.DataFrame, limit: float, ok: pd.Series, best: float,
                confidences: tuple[float, ...], measured: bool = False) -> dict:
    """Per confidence P: the pick of the search with ``limit_confidence=P``, hit / violates / no pick / regret."""
    out = {}
    meas = rows["energy_j"]
    for p in confidences:
        r = energylens.search(candidates=rows, energy_model=model, tpot_limit_s=limit, limit_confidence=p, top=1,
                              bootstrap=False, threads=1, measured_latency=measured)
        pick = r.top["candidate"].iloc[0] if len(r.top) else None
        out[f"conf_{p:g}"] = {"hit": _hit(pick, ok, meas, best), "no_pick": pick is None,
                              "violates": pick is not None and not bool(ok[pick]),
                              "regret": float(meas[pick] / best - 1.0) if pick is not None else float("nan"),
                              "effective_limit_ratio": r.settings["effective_tpot_limit_s"] / limit}
    return out


def _group(model: EnergyModel, rows: pd.DataFrame, rng: np.random.Generator, model_all_latency: EnergyModel,
           confidences: tuple[float, ...] = (), measured: bool = False) -> dict:
    """One group: the search's pick under the median measured TPOT (``measured``: the pick searched with
    measured_latency=True, the rows' measured TPOT deciding the limit), and the diagnostics (on the predicted TPOT)."""
    limit = float(np.median(rows["tpot_s"]))
    meas, meas_tpot = rows["energy_j"], rows["tpot_s"]
    ok = meas_tpot <= limit
    best = meas[ok].min()
    picked = energylens.search(candidates=rows, energy_model=model, tpot_limit_s=limit, top=1, bootstrap=False,
                               threads=1, measured_latency=measured)
    every = energylens.search(candidates=rows, energy_model=model, top=len(rows), bootstrap=False, threads=1)
    ev = every.top.set_index("candidate")
    pick = picked.top["candidate"].iloc[0] if len(picked.top) else None
    hit = _hit(pick, ok, meas, best)
    used = meas_tpot if measured else ev["tpot_s"]  # the TPOT the pick's limit was checked on
    consistent = _choose(ev, used, limit) == pick  # the limited search = the filter on its own TPOT
    noisy = {f"hit_tpot_noise_{sg:g}": _hit(_choose(ev, meas_tpot * np.exp(sg * rng.standard_normal(len(rows))),
                                                    limit), ok, meas, best) for sg in SIGMAS}
    ev_all = energylens.search(candidates=rows, energy_model=model_all_latency, top=len(rows), bootstrap=False,
                               threads=1).top.set_index("candidate")
    hit_all = _hit(_choose(ev_all, ev_all["tpot_s"], limit), ok, meas, best)
    optimum = meas[ok & (meas <= best)].index
    measured_pool = ev.loc[ev.index.intersection(rows.index[ok])]  # feasible by memory, measured TPOT ok
    pick_measured = measured_pool["energy_j"].idxmin() if len(measured_pool) else None
    hit_measured = pick_measured is not None and meas[pick_measured] <= best
    # the harness's top1_tpot recomputed here: EnergyModel.predict ranks the rows meeting the limit when measured
    harness = top1_hit(model.predict(rows[ok]), meas[ok].to_numpy()) if ok.sum() >= 2 else float("nan")
    cause = None
    if not hit:
        if not ev.index.intersection(optimum).size:
            cause = "memory"
        elif pick is not None and not ok[pick]:
            cause = "pick_violates_limit"
        elif (used.loc[ev.index.intersection(optimum)] > limit).all():
            cause = "optimum_excluded_by_predicted_tpot"
        else:
            cause = "energy_ranking"
    side = (ev["tpot_s"] <= limit) != ok.loc[ev.index]
    opt = optimum[0]
    opt_err = float(ev.loc[opt, "tpot_s"] / meas_tpot[opt] - 1.0) if opt in ev.index else float("nan")
    regret = float(meas[pick] / best - 1.0) if pick is not None else float("nan")
    return {"rows": len(rows), "architecture": str(rows["architecture"].iloc[0]) if "architecture" in rows else "dense",
            "hit": hit, "hit_measured_tpot": hit_measured, "cause": cause, "regret": regret,
            "consistent": consistent, "harness_top1_tpot": harness, "hit_latency_all_rows": hit_all, **noisy,
            "no_pick": pick is None, "violates": pick is not None and not bool(ok[pick]),
            "optimum_is_median_row": bool((meas_tpot[optimum] == limit).any()), "rejected_memory": int(picked.rejected["memory_kv_cache"]
                                                            + picked.rejected["memory_weights"]),
            "tpot_side_wrong": int(side.sum()), "tpot_rows": len(ev),
            "optimum_margin": float(1.0 - meas_tpot[opt] / limit), "optimum_tpot_err": opt_err,
            "tpot_ape": (ev["tpot_s"] / meas_tpot.loc[ev.index] - 1.0).abs().tolist(),
            **_confidence(model, rows, limit, ok, best, confidences, measured)}


def _parity(model: EnergyModel, test: pd.DataFrame) -> float:
    """Largest relative difference between the search's energies and EnergyModel.predict on these rows."""
    every = energylens.search(candidates=test, energy_model=model, top=len(test), bootstrap=False, threads=1,
                              gpu_memory_utilization=1.0, runtime_reserve_gib=0, activation_tokens=0)
    pred = pd.Series(model.predict(test), index=test.index)
    got = every.top.set_index("candidate")["energy_j"]
    return float((got / pred.loc[got.index] - 1.0).abs().max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default=None, help=f"result file (default {OUT}; with --measured-latency {OUT_MEASURED})")
    ap.add_argument("--latency-calibration", choices=("model", "family"), default=None,
                    help="fit the latency model with per-key TPOT/TTFT factors (default: none)")
    ap.add_argument("--data", choices=("v3", "v2"), default="v3",
                    help="v3: ML.ENERGY v3 H100 (default); v2: the bundled ML.ENERGY v2 text rows")
    ap.add_argument("--limit-confidence", type=lambda t: tuple(float(v) for v in t.split(",")), default=(),
                    help="comma-separated confidences P: also search with limit_confidence=P (e.g. 0.5,0.8,0.9)")
    ap.add_argument("--measured-latency", action="store_true",
                    help="search each group's pick with measured_latency=True (the held-out rows' measured TPOT decides "
                         "the limit; energy from the 50-row fit): not the issue's realism metric")
    ap.add_argument("--state-traffic-per-step", type=float, default=None,
                    help="ablation: override energylens.profiles.features.STATE_TRAFFIC_PER_STEP")
    args = ap.parse_args()
    args.out = args.out or str(OUT_MEASURED if args.measured_latency else OUT)
    if args.state_traffic_per_step is not None:
        features.STATE_TRAFFIC_PER_STEP = args.state_traffic_per_step
    if args.data == "v3" and not V3.is_file():
        print(f"{V3} not found: the realism bench needs the ML.ENERGY v3 export (not bundled)")
        return
    warnings.simplefilter("ignore")  # range warnings on held-out rows; the figures are what matters
    if args.data == "v3":
        df = read_profiles(V3).reset_index(drop=True)
    else:
        df = read_profiles("bundled")
        df = df[(df["modality"] == "text") & np.isfinite(df["tpot_s"])].reset_index(drop=True)
    kw = {} if args.latency_calibration is None else {"latency_calibration": args.latency_calibration}
    df.index = [f"r{i}" for i in range(len(df))]
    t0 = time.perf_counter()
    per_seed, records, parity = [], [], []
    boot = 100 if args.limit_confidence else 0  # intervals for the confidences; the fitted parameters do not move
    latency_all = EnergyModel(bootstrap=0, seed=0, **kw).fit(df).latency_model  # in-sample: the template's best case
    ape_all = (latency_all.predict(df)["tpot_s_pred"].to_numpy() / df["tpot_s"].to_numpy() - 1.0).__abs__()
    rng = np.random.default_rng(0)
    for sp in random_splits(len(df), 50, args.repeats, 0):
        model = EnergyModel(bootstrap=boot, seed=sp.repeat, **kw).fit(df.iloc[sp.train_idx])
        model_all = copy.copy(model)  # the same energy model, the latency model of all rows
        model_all.latency_model = latency_all
        test = df.iloc[sp.test_idx]
        if sp.repeat < 3:
            parity.append(_parity(model, test))
        recs = []
        for key, rows in test.groupby(list(DEFAULT_GROUP_BY), sort=True):
            if len(rows) < 2:
                continue
            recs.append({"repeat": sp.repeat, "group": " | ".join(map(str, key)),
                         **_group(model, rows, rng, model_all, args.limit_confidence, args.measured_latency)})
        records += recs
        frame = pd.DataFrame(recs)
        per_seed.append({"repeat": sp.repeat, "groups": len(frame), "top1_search": float(frame["hit"].mean()),
                         "top1_measured_tpot": float(frame["hit_measured_tpot"].mean())})
        print(f"repeat {sp.repeat}: search {per_seed[-1]['top1_search']:.3f}, with measured TPOT "
              f"{per_seed[-1]['top1_measured_tpot']:.3f} ({len(frame)} groups, {time.perf_counter() - t0:.0f} s)")
    write(args.out, per_seed, records, parity, time.perf_counter() - t0, ape_all, features.STATE_TRAFFIC_PER_STEP,
          {"data": args.data, "latency_calibration": args.latency_calibration,
           "latency_template": latency_all.template_id, "bootstrap": boot, "measured_latency": args.measured_latency},
          args.limit_confidence)


def _confidence_figures(frame: pd.DataFrame, confidences: tuple[float, ...]) -> dict:
    """Per confidence: hit rate (mean over repeats of each repeat's share, as top1_search), the shares of groups
    whose pick violates the measured limit / that get no pick, the compliant picks' regret, and the effective
    limit's ratio to the given one."""
    out = {}
    for p in confidences:
        col = pd.DataFrame(list(frame[f"conf_{p:g}"]), index=frame.index)
        compliant = col.loc[~col["violates"] & ~col["no_pick"], "regret"]
        out[f"{p:g}"] = {
            "top1_search": float(col["hit"].groupby(frame["repeat"]).mean().mean()),
            "pick_violates_measured_limit_share": float(col["violates"].mean()),
            "no_pick_share": float(col["no_pick"].mean()),
            "regret_pct_of_compliant_picks_mean": float(compliant.mean() * 100),
            "regret_pct_of_compliant_picks_median": float(compliant.median() * 100),
            "compliant_pick_share": float(len(compliant) / len(col)),
            "effective_limit_ratio_median": float(col["effective_limit_ratio"].median()),
            "effective_limit_ratio_min": float(col["effective_limit_ratio"].min())}
    return out


def write(out: str, per_seed: list, records: list, parity: list, seconds: float, ape_all: np.ndarray,
          state_traffic: float, setup: dict, confidences: tuple[float, ...] = ()) -> None:
    frame = pd.DataFrame(records)
    seeds = pd.DataFrame(per_seed)
    misses = frame[~frame["hit"]]
    causes = Counter(misses["cause"])
    ape = np.concatenate([np.asarray(a) for a in frame["tpot_ape"]])
    res = {
        "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
        "data": str(V3) if setup["data"] == "v3" else "bundled ML.ENERGY v2 text rows", **setup,
        "energylens": energylens.__version__, "seconds": seconds,
        "state_traffic_per_step": state_traffic,
        "repeats": len(seeds), "groups_per_repeat": float(seeds["groups"].mean()),
        "top1_search": float(seeds["top1_search"].mean()), "top1_search_std": float(seeds["top1_search"].std()),
        "top1_search_min_max": [float(seeds["top1_search"].min()), float(seeds["top1_search"].max())],
        "top1_search_with_measured_tpot": float(seeds["top1_measured_tpot"].mean()),
        "target": 0.95,
        "metric_note": ("NOT the issue's realism metric: top1_search here is the pick of search(measured_latency=True), "
                        "whose TPOT limit is checked against every held-out row's measured TPOT (energy from the "
                        "50-row fit); the issue's metric predicts the latency (bench/results/search_realism.json)")
        if setup.get("measured_latency") else None,
        "harness_top1_tpot_recomputed": float(frame["harness_top1_tpot"].mean()),
        "miss_share_of_groups": {c: causes.get(c, 0) / len(frame) for c in CAUSES},
        "miss_count": {c: int(causes.get(c, 0)) for c in CAUSES},
        "no_pick_share": float(frame["no_pick"].mean()),
        "pick_violates_measured_limit_share": float(frame["violates"].mean()),
        "regret_pct_of_compliant_picks_mean": float(frame.loc[~frame["violates"] & ~frame["no_pick"], "regret"].mean() * 100),
        "regret_pct_of_compliant_picks_median": float(
            frame.loc[~frame["violates"] & ~frame["no_pick"], "regret"].median() * 100),
        "optimum_is_the_median_tpot_row_share": float(frame["optimum_is_median_row"].mean()),
        "pick_equals_filter_on_search_tpot": float(frame["consistent"].mean()),
        "top1_latency_model_fitted_on_all_rows": float(frame["hit_latency_all_rows"].mean()),
        "top1_with_measured_tpot_times_noise": {f"{sg:g}": float(frame[f"hit_tpot_noise_{sg:g}"].mean())
                                                for sg in SIGMAS},
        "tpot_rows_on_wrong_side_of_limit": float(frame["tpot_side_wrong"].sum() / frame["tpot_rows"].sum()),
        "tpot_ape_median": float(np.median(ape)), "tpot_ape_p90": float(np.quantile(ape, 0.9)),
        "tpot_ape_median_by_architecture": {
            str(a): float(np.median(np.concatenate([np.asarray(x) for x in g["tpot_ape"]])))
            for a, g in frame.groupby("architecture")},
        "tpot_ape_median_latency_fitted_on_all_rows": float(np.median(ape_all)),
        "search_vs_predict_max_rel_diff": max(parity) if parity else None,
        # how close the measured optimum sits to the limit, and the TPOT error there
        "optimum_margin_below_limit_median": float(frame["optimum_margin"].median()),
        "optimum_margin_below_limit_p25": float(frame["optimum_margin"].quantile(0.25)),
        "optimum_is_within_10pct_of_limit": float((frame["optimum_margin"] < 0.10).mean()),
        "optimum_tpot_err_median": float(frame["optimum_tpot_err"].median()),
        "optimum_tpot_overpredicted_share": float((frame["optimum_tpot_err"] > 0).mean()),
        "excluded_optimum_tpot_err_median": float(
            frame.loc[frame["cause"] == "optimum_excluded_by_predicted_tpot", "optimum_tpot_err"].median()),
        "limit_confidence": _confidence_figures(frame, confidences),
        "misses_by_group": misses.groupby("group")["cause"].agg(lambda s: dict(Counter(s))).to_dict(),
        "per_seed": per_seed,
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k not in ("per_seed", "misses_by_group", "protocol")}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
