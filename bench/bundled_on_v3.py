#!/usr/bin/env python3
"""What the bundled default model predicts for today's serving: the search's model without --model-file.

``energylens search`` without ``--model-file`` uses the model fitted on the bundled ML.ENERGY v2 rows
(vLLM 0.5.4, 2024; ``energylens.search.api.bundled_model``). This scores that exact model, untouched, on
every ML.ENERGY v3 H100 row (recent vLLM with CUDA graphs and async scheduling): predicted / measured
TPOT and energy per request, in all and per architecture, and the same for a model fitted on 50 random
v3 rows (the 20 random splits of bench/modern_serving.py, held-out rows only) to show what a user's own
50 profiles buy. The v3 export is read from /work/shared/data (never bundled); without it the script says
so and exits 0.

    python bench/bundled_on_v3.py [--out bench/results/bundled_on_v3.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from data_paths import V3 as V3_CSV
from energylens.model import EnergyModel
from energylens.profiles import read_profiles
from energylens.search.api import bundled_model

V3 = V3_CSV
OUT = Path(__file__).parent / "results" / "bundled_on_v3.json"


def _ratios(pred_tpot: np.ndarray, pred_e: np.ndarray, rows) -> dict:
    t = pred_tpot / rows["tpot_s"].to_numpy()
    e = pred_e / rows["energy_j"].to_numpy()
    out = {"rows": len(rows)}
    for name, r in (("tpot", t), ("energy", e)):
        p10, p50, p90 = np.nanpercentile(r, [10, 50, 90])
        out[name] = {"median": round(float(p50), 3), "p10": round(float(p10), 3), "p90": round(float(p90), 3)}
    out["by_architecture"] = {a: {"rows": int(k.sum()), "tpot_median": round(float(np.nanmedian(t[k])), 3),
                                  "energy_median": round(float(np.nanmedian(e[k])), 3)}
                              for a in sorted(rows["architecture"].unique())
                              if (k := (rows["architecture"] == a).to_numpy()).any()}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    if not V3.exists():
        print(f"{V3} not found: the v3 rows are not bundled; nothing to score")
        return 0
    warnings.simplefilter("ignore")  # the 2024 model extrapolates on most v3 rows: that is the point
    v3 = read_profiles(V3)
    model = bundled_model()
    lat = model.latency_model.predict(v3)["tpot_s_pred"].to_numpy()
    res = {"bundled_model_on_v3": _ratios(lat, model.predict(v3), v3),
           "bundled_model": f"EnergyModel(bootstrap={model.bootstrap_replicates}).fit('bundled'), "
                            f"{model.summary.n_rows} rows"}
    held = {"tpot": [], "energy": [], "idx": []}
    for seed in range(args.repeats):
        train = v3.sample(50, random_state=seed)
        test = v3.drop(train.index)
        m = EnergyModel(bootstrap=0, seed=seed).fit(train)
        held["tpot"].append(m.latency_model.predict(test)["tpot_s_pred"].to_numpy())
        held["energy"].append(m.predict(test))
        held["idx"].append(test.index.to_numpy())
    rows = v3.loc[np.concatenate(held["idx"])]
    res["fitted_on_50_v3_rows_held_out"] = _ratios(np.concatenate(held["tpot"]), np.concatenate(held["energy"]), rows)
    res["repeats"] = args.repeats
    b, f = res["bundled_model_on_v3"], res["fitted_on_50_v3_rows_held_out"]
    print(f"bundled (2024) model on {b['rows']} v3 H100 rows: predicted / measured TPOT median {b['tpot']['median']} "
          f"(p10-p90 {b['tpot']['p10']}-{b['tpot']['p90']}), energy {b['energy']['median']} "
          f"({b['energy']['p10']}-{b['energy']['p90']})")
    print(f"fitted on 50 v3 rows ({args.repeats} splits, held-out rows): TPOT median {f['tpot']['median']} "
          f"({f['tpot']['p10']}-{f['tpot']['p90']}), energy {f['energy']['median']} "
          f"({f['energy']['p10']}-{f['energy']['p90']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
