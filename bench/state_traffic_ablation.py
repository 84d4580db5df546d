"""Ablation of the Mamba-state traffic per decode step (energylens.profiles.features.STATE_TRAFFIC_PER_STEP):
held-out energy and TPOT errors on ML.ENERGY v3 H100 with the state counted once (read only, the features
before) and twice (read and written back in place, the features now), per architecture.

Protocol: the evaluation harness's 20 random splits (50 training rows, the rest held out), the native
``EnergyModel(bootstrap=0, seed=repeat)`` and its latency model fitted on the 50; energy MAPE and median
absolute TPOT error of the held-out rows. The v3 export is read from /work/shared/data (never bundled);
without it the script says so and exits 0.

    python bench/state_traffic_ablation.py [--out bench/results/state_traffic_ablation.json]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from data_paths import V3 as V3_CSV
from energylens.compare.splits import random_splits
from energylens.model import EnergyModel
from energylens.profiles import features, read_profiles

V3 = V3_CSV
OUT = Path(__file__).parent / "results" / "state_traffic_ablation.json"


def held_out_errors(df: pd.DataFrame, passes: float) -> dict:
    features.STATE_TRAFFIC_PER_STEP = passes
    parts = []
    for sp in random_splits(len(df), 50, 20, 0):
        model = EnergyModel(bootstrap=0, seed=sp.repeat).fit(df.iloc[sp.train_idx])
        test = df.iloc[sp.test_idx]
        tpot = model.latency_model.predict(test)["tpot_s_pred"].to_numpy()
        parts.append(pd.DataFrame({"architecture": test["architecture"].to_numpy(),
                                   "energy_ape": np.abs(model.predict(test) / test["energy_j"].to_numpy() - 1),
                                   "tpot_err": tpot / test["tpot_s"].to_numpy() - 1}))
    e = pd.concat(parts)
    out = {"all": {"energy_mape": float(e["energy_ape"].mean()), "tpot_ape_median": float(e["tpot_err"].abs().median())}}
    for arch, g in e.groupby("architecture"):
        out[str(arch)] = {"energy_mape": float(g["energy_ape"].mean()),
                          "tpot_ape_median": float(g["tpot_err"].abs().median()),
                          "tpot_bias_median": float(g["tpot_err"].median()), "held_out_rows": int(len(g))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    if not V3.is_file():
        print(f"{V3} not found: the ablation needs the ML.ENERGY v3 export (not bundled)")
        return
    warnings.simplefilter("ignore")  # range warnings on held-out rows
    df = read_profiles(V3).reset_index(drop=True)
    default = features.STATE_TRAFFIC_PER_STEP
    try:
        res = {f"state_passes_{p:g}": held_out_errors(df, p) for p in (1.0, 2.0)}
    finally:
        features.STATE_TRAFFIC_PER_STEP = default
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
