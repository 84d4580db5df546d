#!/usr/bin/env python3
"""Accuracy round 11 (issue 10) diagnosis: where the worst v3 groups' energy error sits (power or time).

The template fitted once on all ML.ENERGY v3 H100 rows (in-sample, energy + TPOT residuals, the default
``EnergyModel``), then per series (task, model, GPU count, precision) at its smallest and largest running
batch: predicted / measured energy, TPOT and per-GPU power (bench/v3_top1_misses.py ``power_time_split``:
measured power per GPU = avg_power_w / n_gpus, predicted = predicted energy over the predicted wall time),
the measured watts per GPU, and the share of the measured TPOT the fitted roofline calls busy. Also the rows
whose predicted per-GPU power exceeds the GPU's TDP (the H100's 700 W board limit).

    python bench/worst_groups.py [--json bench/results/worst_groups.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import v3_top1_misses as M  # noqa: E402
from data_paths import read_v3_rows, v3_protocol_args  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.model import reference as R  # noqa: E402
from energylens.profiles.features import build_features  # noqa: E402

OUT = Path(__file__).parent / "results" / "worst_groups.json"
SERIES = ["task", "model", "n_gpus", "precision"]


def table(df: pd.DataFrame, model: EnergyModel) -> pd.DataFrame:
    """Per row: the in-sample ratios, measured / predicted W per GPU, and the busy share of the measured TPOT."""
    th = np.asarray(model.theta, dtype=float)
    f = build_features(df)
    c = R._core(f, th[0], th[1], th[2], th[3], th[7] * 1e-6, th[8] * 1e-6, th[9] * 1e-6, th[10])
    pt = M.power_time_split(df, model)
    return df[[*SERIES, "batch_size"]].assign(
        model=df["model"].str.split("/").str[-1], energy_ratio=pt["energy_ratio"].to_numpy(),
        tpot_ratio=pt["tpot_ratio"].to_numpy(), power_ratio=pt["power_ratio"].to_numpy(),
        w_per_gpu=pt["power_meas_w"].to_numpy(), w_per_gpu_pred=pt["power_pred_w"].to_numpy(),
        busy_share=c["busy"] / df["tpot_s"].to_numpy(float), tdp_w=f["tdp_w"])


def main(argv=None) -> int:
    args = v3_protocol_args(__doc__, OUT, argv, repeats=None)
    df = read_v3_rows("nothing to diagnose")
    if df is None:
        return 0
    full = EnergyModel(bootstrap=0, seed=0).fit(df)
    t = table(df, full)
    ends = t.sort_values("batch_size").groupby(SERIES, sort=False)
    cols = ["energy_ratio", "tpot_ratio", "power_ratio", "w_per_gpu", "busy_share"]
    s = pd.concat([ends.first()[cols].add_suffix("@minB"), ends.last()[cols].add_suffix("@maxB"),
                   t.groupby(SERIES)["energy_ratio"].agg(rows="size", mape=lambda r: float(np.mean(np.abs(r - 1))))],
                  axis=1).sort_values("mape", ascending=False)
    over = t[t["w_per_gpu_pred"] > t["tdp_w"]]
    single = t["n_gpus"] == 1
    pd.set_option("display.width", 250)
    print(f"in-sample parameters: {dict(zip(R.ENERGY_PARAM_NAMES, np.round(full.theta, 4).tolist(), strict=True))}")
    print(s.head(15).round(2).to_string())
    print(f"measured W per GPU, median: 1 GPU {t.loc[single, 'w_per_gpu'].median():.0f}, "
          f"> 1 GPU {t.loc[~single, 'w_per_gpu'].median():.0f}; rows predicted over TDP: {len(over)} "
          f"(measured there {over['w_per_gpu'].min():.0f}-{over['w_per_gpu'].max():.0f} W, predicted "
          f"{over['w_per_gpu_pred'].min():.0f}-{over['w_per_gpu_pred'].max():.0f} W)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "in_sample_params": dict(zip(R.ENERGY_PARAM_NAMES, map(float, full.theta), strict=True)),
        "series": s.reset_index().to_dict(orient="records"),
        "median_w_per_gpu": {"one_gpu": float(t.loc[single, "w_per_gpu"].median()),
                             "more_gpus": float(t.loc[~single, "w_per_gpu"].median())},
        "rows_over_tdp": over.to_dict(orient="records")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
