"""Where the latency template's TPOT error lives (issue 11's realism): the template fitted on every row
(in-sample, its best case), then the log residuals log(measured / predicted) split into what a constant
per model, per (model, task) and per series (model, task, GPU, parallelism) removes, and what is left
inside a series: per series the residual against log(running batch), its slope and what a line leaves.
A constant per key is what a per-model calibration can fix; the rest is shape. Also the mean residual by
TP degree (the term tp_sync_us was added for, docs/model.md section 4). On ML.ENERGY v3 H100 (read from
/work/shared/data, never bundled; skipped when absent) and the bundled v2 text rows.

    python bench/latency_diagnosis.py [--out bench/results/latency_diagnosis.json]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from data_paths import V3 as V3_CSV
from energylens.model import LatencyModel
from energylens.profiles import read_profiles

V3 = V3_CSV
OUT = Path(__file__).parent / "results" / "latency_diagnosis.json"
SERIES = ["model", "task", "gpu", "tp", "pp", "dp", "ep"]


def diagnose(df: pd.DataFrame) -> dict:
    lm = LatencyModel(bootstrap=0, seed=0).fit(df)
    r = np.log(df["tpot_s"].to_numpy() / lm.predict(df)["tpot_s_pred"].to_numpy())
    df = df.assign(r=r, architecture=df["architecture"] if "architecture" in df else "dense")
    keys = {"model": ["model"], "model_task": ["model", "task"], "series": [k for k in SERIES if k in df]}
    out = {"template": lm.template_id, "rows": len(df), "log_residual_var": float(np.var(r)),
           "ape_median": float(np.median(np.abs(np.exp(-r) - 1)))}
    for name, cols in keys.items():
        within = df["r"] - df.groupby(cols)["r"].transform("mean")
        out[f"var_after_constant_per_{name}"] = float(np.var(within))
    slopes, sd, sd_line, arch = [], [], [], []
    for _, g in df.groupby(keys["series"]):
        if len(g) < 3:
            continue
        x, y = np.log(g["batch_size"].to_numpy(dtype=float)), g["r"].to_numpy()
        b = np.polyfit(x, y, 1)
        slopes.append(b[0])
        sd.append(np.std(y))
        sd_line.append(np.std(y - np.polyval(b, x)))
        arch.append(str(g["architecture"].iloc[0]))
    s = pd.DataFrame({"slope": slopes, "sd": sd, "sd_line": sd_line, "arch": arch})
    out["series_with_3_rows"] = len(s)
    out["within_series_sd_mean"] = float(s["sd"].mean())
    out["within_series_sd_after_line_in_log_batch_mean"] = float(s["sd_line"].mean())
    out["slope_in_log_batch"] = {"median": float(s["slope"].median()), "mean_abs": float(s["slope"].abs().mean()),
                                 "positive_share": float((s["slope"] > 0).mean())}
    out["by_architecture"] = {a: {"series": len(g), "slope_median": float(g["slope"].median()),
                                  "sd_mean": float(g["sd"].mean()), "sd_after_line_mean": float(g["sd_line"].mean())}
                              for a, g in s.groupby("arch")}
    out["mean_log_residual_by_tp"] = {str(int(t)): float(g.mean()) for t, g in df.groupby("tp")["r"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    data = {}
    if V3.is_file():
        data["v3"] = read_profiles(V3).reset_index(drop=True)
    else:
        print(f"{V3} not found: v3 skipped (the export is not bundled)")
    v2 = read_profiles("bundled")
    data["v2"] = v2[(v2["modality"] == "text") & np.isfinite(v2["tpot_s"])].reset_index(drop=True)
    res = {name: diagnose(df) for name, df in data.items()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"protocol": __doc__.split("\n\n")[0], **res}, indent=1))
    print(json.dumps(res, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
