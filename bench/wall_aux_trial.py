"""Trial (not adopted): the measured wall time per output token as a second auxiliary fit target.

ML.ENERGY exports carry the output throughput T (tokens/s) besides the median inter-token latency (our
``tpot_s``). In continuous batching the wall time per output token times the running batch, B / T, exceeds
TPOT by the prefill work interleaved with decode: on the v3 H100 rows B / (T x TPOT) has median 1.08 and reaches 1.29
in the sixth of rows with the most prompt tokens per decode step (B L_in / L_out), up to 6.3. The energy
template implies a wall per request, L_out t_step / B_r + h t_pf (decode steps shared by the replica's
B_r sequences, plus the request's own prefill, stalled by h): static energy is exactly n P_s x that wall.
This trial fits it against the measured B_r / T x L_out as a third residual block, sqrt(w) log(pred / meas),
next to energy and TPOT, polishing the native fit with SciPy (a prototype: the package is unchanged).

Protocol: ``energylens evaluate``'s random splits (50 training rows, 20 repeats, seed 0), groups task x
model x GPU; Top-1 and MAPE on the held-out rows, for the native fit, the SciPy polish without the new
block (must equal the native fit) and with it at each weight w.

    python bench/wall_aux_trial.py [--data v3|v2] [--weights 0.1,0.3,1] [--json bench/results/wall_aux_trial.json]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from data_paths import V3 as V3_CSV
from energylens.compare.metrics import top1_hit
from energylens.compare.splits import DEFAULT_GROUP_BY, random_splits
from energylens.model import EnergyModel
from energylens.model import reference as ref
from energylens.profiles import read_profiles
from energylens.profiles.features import build_features

V3 = V3_CSV
OUT = Path(__file__).parent / "results" / "wall_aux_trial.json"


def wall_per_token_x_batch(feats: dict, theta: np.ndarray) -> np.ndarray:
    """The template's wall time per output token times the replica's batch: t_step + B_r h t_pf / L_out."""
    eta_c, eta_m, p, eta_pf, _pi_s, _c_f, _c_b, tl, al, ts, th_pp, kap = theta
    c = ref._core(feats, eta_c, eta_m, p, eta_pf, tl * 1e-6, al * 1e-6, ts * 1e-6, th_pp)
    h = 1.0 + kap * 1e-3 * c["Br"]
    return c["t_step"] + c["Br"] * h * c["t_pf"] / c["Lo"]


def polish(feats: dict, rows: pd.DataFrame, theta0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           weight: float) -> np.ndarray:
    """Bounded least squares on log residuals of energy, TPOT and (weight > 0) the wall per token."""
    e = rows["energy_j"].to_numpy()
    t = rows["tpot_s"].to_numpy()
    wall = (rows["batch_size"] / rows["dp"] / rows["token_throughput_tok_s"]).to_numpy()
    ft, fw = np.isfinite(t), np.isfinite(wall)

    def residuals(th):
        r = [np.log(ref.energy(feats, th) / e), np.log(ref.energy_tpot(feats, th)[ft] / t[ft])]
        if weight > 0:
            r.append(np.sqrt(weight) * np.log(wall_per_token_x_batch(feats, th)[fw] / wall[fw]))
        return np.concatenate(r)

    start = np.clip(theta0, lo + 1e-9, hi - 1e-9)
    return least_squares(residuals, start, bounds=(lo, hi), x_scale="jac", max_nfev=400).x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("v3", "v2"), default="v3")
    ap.add_argument("--weights", default="0.1,0.3,1")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--json", default=str(OUT))
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # range warnings on held-out rows
    if args.data == "v3" and not V3.is_file():
        print(f"{V3} not found: this trial needs the ML.ENERGY v3 export (not bundled)")
        return
    df = read_profiles(V3 if args.data == "v3" else "bundled").reset_index(drop=True)
    if "token_throughput_tok_s" not in df:
        raise SystemExit("the profiles carry no token_throughput_tok_s column: nothing to fit the wall against")
    feats = {k: np.asarray(v) for k, v in build_features(df).items()}
    groups = pd.Series(list(zip(*(df[c] for c in DEFAULT_GROUP_BY), strict=True)))
    weights = [float(w) for w in args.weights.split(",")]
    scores: dict[str, list[tuple[float, float]]] = {}
    for sp in random_splits(len(df), 50, args.repeats, 0):
        model = EnergyModel(bootstrap=0, seed=sp.repeat).fit(df.iloc[sp.train_idx], latency=False)
        theta0 = np.array([p.value for p in model.params.values()])
        lo = np.array([p.lower for p in model.params.values()])
        hi = np.array([p.upper for p in model.params.values()])
        train = {k: v[sp.train_idx] for k, v in feats.items()}
        test = {k: v[sp.test_idx] for k, v in feats.items()}
        e = df["energy_j"].to_numpy()[sp.test_idx]
        g = groups.iloc[sp.test_idx].reset_index(drop=True)
        variants = {"native": theta0, "polish_without_wall": polish(train, df.iloc[sp.train_idx], theta0, lo, hi, 0.0)}
        for w in weights:
            variants[f"wall_weight_{w:g}"] = polish(train, df.iloc[sp.train_idx], theta0, lo, hi, w)
        for name, theta in variants.items():
            pred = ref.energy(test, theta)
            hits = [top1_hit(pred[ix], e[ix]) for ix in g.groupby(g).indices.values() if len(ix) >= 2]
            scores.setdefault(name, []).append((float(np.mean(hits)), float(np.mean(np.abs(pred / e - 1.0)))))
        print(f"repeat {sp.repeat}: " + ", ".join(f"{k} {np.mean(v, axis=0)[0]:.3f}/{np.mean(v, axis=0)[1]:.3f}"
                                                  for k, v in scores.items()), flush=True)
    res = {"data": args.data, "repeats": args.repeats, "protocol": __doc__.split("\n\n")[2].replace("\n", " "),
           "top1_mape": {k: [float(x) for x in np.mean(v, axis=0)] for k, v in scores.items()}}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(res, indent=1))
    print(json.dumps(res["top1_mape"], indent=1))


if __name__ == "__main__":
    main()
