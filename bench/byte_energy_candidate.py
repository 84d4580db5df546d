#!/usr/bin/env python3
"""Candidate (not shipped): dynamic energy per byte streamed instead of busy power, under the protocol.

On v3's fast serving stack the power a GPU draws follows its memory traffic: Qwen3-32B and Gemma 3 27B
on 2 GPUs draw 425 / 406 W per GPU at max_num_seqs 8 against 538 / 510 W on one, while streaming
2.2 against 2.6 TB/s each. The template charges dynamic power per second a GPU is busy
(``busy_power_frac`` x TDP x (roofline + collective time)); the candidate charges it per byte moved,
``c_b`` x TDP / HBM bandwidth per byte (1 = one TDP on top at full bandwidth), in the same parameter
slot, so the template keeps 12 parameters:

    E_dec = (L_out / B) [ n TDP pi_s t_st + c_b TDP M / bw + c_f TDP / peak F ]
    E_pf  = (1 + kappa B_r) [ n_r TDP pi_s t_p + c_f TDP / peak F_p ]

Both forms are fitted here with the same harness (the NumPy reference template, scipy least_squares,
log energy + log TPOT residuals as the native joint fit, the init plus two seeded perturbations), so the
comparison is paired; the native fitter's numbers (bench/modern_serving.py) differ slightly. Scored as
bench/family_protocol.py states: family half A (selection), half B, all v3, v2, the transfers.

    python bench/byte_energy_candidate.py [--repeats 20] [--json bench/results/byte_energy_candidate.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).parent))
import family_protocol as FP  # noqa: E402
import modern_serving as MS  # noqa: E402
from data_paths import read_v3_rows, v3_protocol_args  # noqa: E402
from energylens.model import reference as R  # noqa: E402
from energylens.profiles import read_profiles  # noqa: E402
from energylens.profiles.features import build_features  # noqa: E402

OUT = Path(__file__).parent / "results" / "byte_energy_candidate.json"
LO, HI, INIT = (np.asarray(x, dtype=float) for x in (R.ENERGY_PARAM_LOWER, R.ENERGY_PARAM_UPPER, R.ENERGY_PARAM_INIT))


def energy(f: dict, th: np.ndarray, form: str) -> np.ndarray:
    """Energy per request (J) of the shipped form ("busy") or the candidate ("bytes")."""
    if form == "busy":
        return R.energy(f, th)
    eta_c, eta_m, p, eta_pf, pi_s, c_f, c_b, tl, al, ts, th_pp, kap = th
    c = R._core(f, eta_c, eta_m, p, eta_pf, tl * 1e-6, al * 1e-6, ts * 1e-6, th_pp)
    tdp = f["tdp_w"]
    ef = c_f * tdp / c["peak"]
    e_dec = c["Lo"] / c["B"] * (c["n"] * tdp * pi_s * c["t_step"] + c_b * tdp * c["M"] / c["bw"] + ef * c["F"])
    e_pf = (1.0 + kap * 1e-3 * c["Br"]) * (c["n_r"] * tdp * pi_s * c["t_pf"] + ef * c["Fp"])
    return e_pf + e_dec


def fit(df, form: str, seed: int) -> np.ndarray:
    f = build_features(df)
    e = df["energy_j"].to_numpy(dtype=float)
    t = df["tpot_s"].to_numpy(dtype=float) if "tpot_s" in df else np.full(len(df), np.nan)
    has_t = np.isfinite(t)

    def resid(th):
        r = np.log(energy(f, th, form) / e)
        return np.r_[r, np.log(R.energy_tpot(f, th)[has_t] / t[has_t])]

    rng = np.random.default_rng(seed)
    starts = [INIT] + [np.clip(INIT * np.exp(rng.normal(0, 0.5, INIT.size)), LO, HI) for _ in range(2)]
    best = None
    for x0 in starts:
        x0 = np.clip(x0, LO + 1e-9, HI - 1e-9)
        with np.errstate(all="ignore"):
            r = least_squares(resid, x0, bounds=(LO, HI), method="trf", max_nfev=400)
        if best is None or r.cost < best.cost:
            best = r
    return best.x


def score(test, pred) -> dict:
    hits, conc, tot, _ = MS._group_scores(test, pred)
    e = test["energy_j"].to_numpy()
    return {"top1": float(np.mean(hits)) if hits else float("nan"), "pairwise": conc / tot if tot else float("nan"),
            "mape": float(np.mean(np.abs(pred / e - 1)))}


def random_splits(df, form: str, repeats: int) -> dict:
    rows = []
    for r in range(repeats):
        idx = np.random.default_rng(r).permutation(len(df))
        tr, te = df.iloc[idx[:50]], df.iloc[idx[50:]].reset_index(drop=True)
        th = fit(tr, form, r)
        rows.append(score(te, energy(build_features(te), th, form)))
    return {k: float(np.nanmean([x[k] for x in rows])) for k in rows[0]}


def transfer(train, test, form: str) -> dict:
    th = fit(train, form, 0)
    t = test.reset_index(drop=True)
    return score(t, energy(build_features(t), th, form))


def shots(v2, src: str, dst: str, form: str, repeats: int) -> dict:
    """Fit on every ``src`` GPU row plus 5 random ``dst`` rows, score the other ``dst`` rows."""
    rows = []
    a, b = v2[v2["gpu"].str.contains(src)], v2[v2["gpu"].str.contains(dst)].reset_index(drop=True)
    for r in range(repeats):
        idx = np.random.default_rng(r).permutation(len(b))
        tr = pd.concat([a, b.iloc[idx[:5]]], ignore_index=True)
        th = fit(tr, form, r)
        te = b.iloc[idx[5:]].reset_index(drop=True)
        rows.append(score(te, energy(build_features(te), th, form)))
    return {k: float(np.nanmean([x[k] for x in rows])) for k in rows[0]}


def main(argv=None) -> int:
    args = v3_protocol_args(__doc__, OUT, argv)
    v3 = read_v3_rows("the candidate needs the v3 rows")
    if v3 is None:
        return 0
    v2 = read_profiles("bundled")
    half_a, half_b, _, _ = FP.family_halves(v3)
    out = {}
    for form in ("busy", "bytes"):
        res = {"half_a": random_splits(half_a, form, args.repeats), "half_b": random_splits(half_b, form, args.repeats),
               "v3": random_splits(v3, form, args.repeats), "v2": random_splits(v2, form, args.repeats),
               "a100_plus5_to_h100": shots(v2, "A100", "H100", form, args.repeats),
               "h100_plus5_to_a100": shots(v2, "H100", "A100", form, args.repeats),
               "v3_to_v2_h100": transfer(v3, v2[v2["gpu"].str.contains("H100")], form)}
        out[form] = res
        for k, v in res.items():
            print(f"{form:6s} {k:20s} " + " ".join(f"{m} {v[m]:.3f}" for m in ("top1", "pairwise", "mape")))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"repeats": args.repeats, **out}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
