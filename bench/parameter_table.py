"""The fitted values of docs/model.md section 3: the 12 energy parameters on every bundled ML.ENERGY v2 row.

"joint" is the default fit (energy + measured-TPOT residuals), "energy-only" the same with ``tpot_weight=0``;
native fitter, 5 starts, no bootstrap. Prints the table's last two columns and the quantities the section's
"Reading the joint fit" paragraph quotes, and writes them to ``--json``:

    python bench/parameter_table.py --json bench/results/parameter_table.json
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.tables import gpu_spec


def _fit(rows, **options) -> dict:
    model = EnergyModel(bootstrap=0, n_starts=5, **options).fit(rows)
    out = {}
    for p in model.params.values():
        tol = 1e-9 * (p.upper - p.lower)
        bound = "lower" if abs(p.value - p.lower) <= tol else "upper" if abs(p.value - p.upper) <= tol else ""
        out[p.name] = {"value": float(p.value), "bound": bound}
    return {"params": out, "train_mape": float(model.summary.train_mape), "template": model.template_id}


def _reading(joint: dict) -> dict:
    """Static watts and pJ per FLOP on the A100 and H100 of the data, from the joint fit."""
    p = {k: v["value"] for k, v in joint["params"].items()}
    out = {}
    for name in ("A100-SXM4-40GB", "H100-SXM5-80GB"):
        g = gpu_spec(name)
        peak = g.peak_bf16_tflops * 1e12  # the template's TDP/peak scale (bf16 rows)
        out[name] = {"static_w": p["static_power_frac"] * g.tdp_w,
                     "pj_per_flop": p["flop_energy_coef"] * g.tdp_w / peak * 1e12}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = mlenergy_v2()
    joint, energy_only = _fit(rows), _fit(rows, tpot_weight=0.0)
    print(f"{len(rows)} rows, template {joint['template']}; train MAPE joint {joint['train_mape']:.4f}, "
          f"energy-only {energy_only['train_mape']:.4f}")
    print(f"{'parameter':<24} {'joint':>14} {'energy-only':>14}")
    for name in joint["params"]:
        cells = [f"{f['params'][name]['value']:.3g}" + (" (bound)" if f["params"][name]["bound"] else "")
                 for f in (joint, energy_only)]
        print(f"{name:<24} {cells[0]:>14} {cells[1]:>14}")
    reading = _reading(joint)
    for gpu, r in reading.items():
        print(f"{gpu}: static {r['static_w']:.0f} W, {r['pj_per_flop']:.2f} pJ/FLOP")
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.node(), "rows": len(rows), "joint": joint,
                                         "energy_only": energy_only, "reading": reading}, indent=1) + "\n")


if __name__ == "__main__":
    main()
