#!/usr/bin/env python3
"""Accuracy of the EnergyLens roofline template (energylens.model.reference) on real data.

Protocol (docs/model.md): ML.ENERGY v2 (356 rows, text + image), fit the 12 energy parameters on 50
random rows, test on the other 306, 20 repeats (energylens.compare.splits.random_splits, seed 0 -> repeats
0..19). Fit: scipy.optimize.least_squares(method='trf'), box bounds, analytic Jacobian, residual
log(pred/meas), best of a few starts. Metrics per repeat (energylens.compare.metrics.score_groups, groups =
(task, model, gpu)): Top-1 (mean over groups with >= 2 held-out rows; measured ties are hits),
pairwise (pooled concordant / comparable pairs within groups), MAPE over held-out rows; mean and
std over repeats, also by modality.

Latency: the 9-parameter latency model fitted the same way on tpot_s of ML.ENERGY (same splits), and
on Splitwise (prompt_time ~ TTFT, token_time ~ TPOT; h100-80gb-pcap rows excluded, and the
configurations whose weights + KV cache of B full-length sequences exceed 90 % of the HBM; 50 random
configurations fitted, rest tested, 20 repeats).

    PYTHONPATH=python python bench/template_accuracy.py [--json] [--repeats 20] [--train-size 50]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from data_paths import SPLITWISE as SPLITWISE_CSV  # noqa: E402
from energylens.compare import metrics  # noqa: E402
from energylens.compare.splits import DEFAULT_GROUP_BY, random_splits  # noqa: E402
from energylens.model import reference as R  # noqa: E402
from energylens.profiles import datasets, features  # noqa: E402

SPLITWISE = SPLITWISE_CSV


def _subset(f: dict, idx: np.ndarray) -> dict:
    return {k: np.ascontiguousarray(v[idx]) for k, v in f.items()}


def _starts(init, lo, hi, n_starts, seed):
    rng = np.random.default_rng(seed)
    out = [np.clip(init, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))]
    for _ in range(n_starts - 1):
        x = init * np.exp(rng.normal(0.0, 0.6, init.size))
        out.append(np.clip(x, lo + 1e-6 * (hi - lo), hi - 1e-6 * (hi - lo)))
    return out


def _best_of_starts(res, jac, init, lo, hi, n_starts, seed):
    """scipy trf from each start of _starts; the lowest finite cost wins. Returns (theta, converged). A parameter no
    residual depends on (a zero Jacobian column: pp_bubble without pp > 1 rows) goes back to the first start's value
    where the residuals stay bit for bit the same, as the native fit's restore_unseen_starts: not the winning
    start's random shift of it."""
    best = None
    for x0 in _starts(init, lo, hi, n_starts, seed):
        try:
            with np.errstate(all="ignore"):
                r = least_squares(res, x0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                                  max_nfev=400)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.isfinite(r.cost) and (best is None or r.cost < best.cost):
            best = r
    if best is None:
        return init.copy(), False
    theta, first = best.x.copy(), _starts(init, lo, hi, 1, seed)[0]
    with np.errstate(all="ignore"):
        fitted = res(theta)
        for j in np.flatnonzero(~np.any(best.jac != 0, axis=0) & (theta != first)):
            trial = theta.copy()
            trial[j] = first[j]
            if np.array_equal(res(trial), fitted):
                theta = trial
    return theta, bool(best.status > 0)


def fit_energy(f: dict, y: np.ndarray, n_starts: int = 3, seed: int = 0,
               tpot: np.ndarray | None = None, w_tpot: float = 0.0):
    """Bounded least squares on log(pred/meas); returns (theta, ok).

    With ``tpot`` and ``w_tpot > 0`` the residual vector also holds w_tpot * log(t_st/tpot_s) for the
    rows with a measured TPOT: this pins the time scale that energy alone leaves free.
    """
    lo, hi = R.ENERGY_PARAM_LOWER, R.ENERGY_PARAM_UPPER
    mt = None
    if tpot is not None and w_tpot > 0:
        mt = np.isfinite(tpot) & (tpot > 0)
        if not mt.any():
            mt = None

    def res(t):
        r = np.log(R.energy(f, t) / y)
        if mt is None:
            return r
        return np.r_[r, w_tpot * np.log(R.energy_tpot(f, t)[mt] / tpot[mt])]

    def jac(t):
        J = R.energy_jacobian(f, t) / R.energy(f, t)[:, None]
        if mt is None:
            return J
        Jt = R.energy_tpot_jacobian(f, t)[mt] / R.energy_tpot(f, t)[mt, None]
        return np.r_[J, w_tpot * Jt]

    return _best_of_starts(res, jac, R.ENERGY_PARAM_INIT, lo, hi, n_starts, seed)


def fit_latency(f: dict, ttft: np.ndarray | None, tpot: np.ndarray | None, n_starts: int = 3, seed: int = 0):
    """Bounded least squares on log(pred/meas) over the available latency columns."""
    lo, hi = R.LATENCY_PARAM_LOWER, R.LATENCY_PARAM_UPPER
    m_f = None if ttft is None else np.isfinite(ttft)
    m_t = None if tpot is None else np.isfinite(tpot)

    def res(p):
        a, b = R.latency(f, p)
        parts = []
        if m_f is not None:
            parts.append(np.log(a[m_f] / ttft[m_f]))
        if m_t is not None:
            parts.append(np.log(b[m_t] / tpot[m_t]))
        return np.concatenate(parts)

    def jac(p):
        a, b = R.latency(f, p)
        ja, jb = R.latency_jacobian(f, p)
        parts = []
        if m_f is not None:
            parts.append(ja[m_f] / a[m_f, None])
        if m_t is not None:
            parts.append(jb[m_t] / b[m_t, None])
        return np.concatenate(parts)

    return _best_of_starts(res, jac, R.LATENCY_PARAM_INIT, lo, hi, n_starts, seed)


def _summ(vals):
    a = np.asarray(vals, dtype=float)
    return {"mean": float(np.nanmean(a)), "std": float(np.nanstd(a))}


def energy_protocol(df: pd.DataFrame, train_size: int, repeats: int, n_starts: int, w_tpot: float = 0.0) -> dict:
    f = features.build_features(df)
    y = df["energy_j"].to_numpy(float)
    tpot = df["tpot_s"].to_numpy(float)
    splits = random_splits(len(df), train_size, repeats, seed=0)
    per = {k: [] for k in ("top1", "pairwise", "mape", "top1_text", "pairwise_text", "mape_text",
                           "top1_image", "pairwise_image", "mape_image", "tpot_mape", "energy_tpot_mape", "regret_pct")}
    fails = 0
    thetas = []
    for s in splits:
        th, ok = fit_energy(_subset(f, s.train_idx), y[s.train_idx], n_starts, seed=s.repeat,
                            tpot=tpot[s.train_idx], w_tpot=w_tpot)
        fails += (not ok)
        thetas.append(th)
        ft = _subset(f, s.test_idx)
        pred = R.energy(ft, th)
        test = df.iloc[s.test_idx].reset_index(drop=True)
        g = metrics.score_groups(test, pred, DEFAULT_GROUP_BY)
        ape = np.abs(pred / y[s.test_idx] - 1.0)
        per["regret_pct"].append(float(np.nanmean(g["regret_pct"])))
        for suffix, gm, rm in (("", np.ones(len(g), bool), np.ones(len(test), bool)),
                               ("_text", (g["modality"] == "text").to_numpy(), (test["modality"] == "text").to_numpy()),
                               ("_image", (g["modality"] == "image").to_numpy(), (test["modality"] == "image").to_numpy())):
            gg = g[gm]
            per["top1" + suffix].append(float(np.nanmean(gg["top1"])))
            per["pairwise" + suffix].append(float(gg["pairs_concordant"].sum() / max(gg["pairs_total"].sum(), 1)))
            per["mape" + suffix].append(float(np.mean(ape[rm])))
        per["energy_tpot_mape"].append(float(np.mean(np.abs(R.energy_tpot(ft, th) / tpot[s.test_idx] - 1.0))))
        if w_tpot == 0.0:
            # companion latency model on the same split (tpot only: ML.ENERGY has no TTFT)
            ph, _ = fit_latency(_subset(f, s.train_idx), None, tpot[s.train_idx], n_starts, seed=s.repeat)
            per["tpot_mape"].append(float(np.mean(np.abs(R.latency(ft, ph)[1] / tpot[s.test_idx] - 1.0))))
    out = {k: _summ(v) for k, v in per.items()}
    out["fit_failures"] = int(fails)
    out["n_rows"] = int(len(df))
    out["w_tpot"] = float(w_tpot)
    th_all, ok = fit_energy(f, y, n_starts=max(n_starts, 5), seed=123, tpot=tpot, w_tpot=w_tpot)
    pred_all = R.energy(f, th_all)
    out["all_data_theta"] = dict(zip(R.ENERGY_PARAM_NAMES, map(float, th_all), strict=False))
    out["all_data_in_sample_mape"] = float(np.mean(np.abs(pred_all / y - 1.0)))
    pf, dc = R.energy_phases(f, th_all)
    out["all_data_prefill_share_median"] = float(np.median(pf / (pf + dc)))
    if w_tpot == 0.0:
        ph_all, _ = fit_latency(f, None, tpot, n_starts=max(n_starts, 5), seed=123)
        out["all_data_latency_phi_tpot"] = dict(zip(R.LATENCY_PARAM_NAMES, map(float, ph_all), strict=False))
    out["theta_std_over_repeats"] = dict(zip(R.ENERGY_PARAM_NAMES, map(float, np.std(thetas, axis=0)), strict=False))
    return out


def splitwise_profiles(path: Path = SPLITWISE) -> pd.DataFrame:
    """Splitwise measurements as latency-only profiles (energylens.profiles.datasets.splitwise: one row per
    configuration, repeats averaged, the derived h100-80gb-pcap rows dropped)."""
    from energylens.profiles.schema import DroppedRowsWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return datasets.splitwise(path)


def kv_fits(df: pd.DataFrame, f: dict, headroom: float = 0.9) -> np.ndarray:
    """Weights + KV cache of B full-length sequences fit in headroom x the group's HBM."""
    from energylens.profiles import tables
    mem = np.array([tables.gpu_spec(g).memory_gb * 1e9 for g in df["gpu"]])
    need = (f["weight_bytes_per_step"] + f["batch_size"] * (f["input_tokens"] + f["output_tokens"])
            * f["kv_bytes_per_token"])
    return need < headroom * mem * f["tp"] * f["pp"]


def splitwise_protocol(train_size: int, repeats: int, n_starts: int) -> dict:
    df = splitwise_profiles()
    f = features.build_features(df)
    fits = kv_fits(df, f)
    n_infeasible = int((~fits).sum())
    df = df[fits].reset_index(drop=True)
    f = _subset(f, np.flatnonzero(fits))
    ttft = df["ttft_s"].to_numpy(float)
    tpot = df["tpot_s"].to_numpy(float)
    splits = random_splits(len(df), train_size, repeats, seed=0)
    mf, mt = [], []
    for s in splits:
        ph, _ = fit_latency(_subset(f, s.train_idx), ttft[s.train_idx], tpot[s.train_idx], n_starts, seed=s.repeat)
        a, b = R.latency(_subset(f, s.test_idx), ph)
        mf.append(float(np.mean(np.abs(a / ttft[s.test_idx] - 1.0))))
        mt.append(float(np.mean(np.abs(b / tpot[s.test_idx] - 1.0))))
    ph_all, _ = fit_latency(f, ttft, tpot, n_starts=max(n_starts, 5), seed=123)
    return {"n_configs": int(len(df)), "n_excluded_kv_does_not_fit": n_infeasible,
            "ttft_mape": _summ(mf), "tpot_mape": _summ(mt),
            "all_data_phi": dict(zip(R.LATENCY_PARAM_NAMES, map(float, ph_all), strict=False))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--train-size", type=int, default=50)
    ap.add_argument("--starts", type=int, default=3, help="least-squares starts per fit")
    ap.add_argument("--no-splitwise", action="store_true")
    ap.add_argument("--w-tpot", type=float, default=1.0,
                    help="weight of the tpot residuals in the joint fit (the energy-only fit is always run too)")
    args = ap.parse_args(argv)
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = datasets.mlenergy_v2()
        res = {"protocol": f"mlenergy_v2: fit {args.train_size} random rows, test the rest, "
                           f"{args.repeats} repeats (splits.random_splits seed 0)",
               "energy_joint": energy_protocol(df, args.train_size, args.repeats, args.starts, args.w_tpot),
               "energy_only": energy_protocol(df, args.train_size, args.repeats, args.starts, 0.0)}
        if not args.no_splitwise and SPLITWISE.is_file():
            res["splitwise_latency"] = splitwise_protocol(args.train_size, args.repeats, args.starts)
    res["seconds"] = round(time.time() - t0, 1)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(res["protocol"])
    for key, label in (("energy_joint", f"joint fit (energy + {args.w_tpot:g} x tpot residuals)"),
                       ("energy_only", "energy-only fit")):
        e = res[key]
        print(f"\n== {label}")
        print(f"{'subset':8s} {'Top-1':>15s} {'pairwise':>15s} {'MAPE':>15s}")
        for sfx, name in (("", "all"), ("_text", "text"), ("_image", "image")):
            cells = [f"{e[m + sfx]['mean']:.3f} ± {e[m + sfx]['std']:.3f}" for m in ("top1", "pairwise", "mape")]
            print(f"{name:8s} {cells[0]:>15s} {cells[1]:>15s} {cells[2]:>15s}")
        print(f"targets  {'>= 0.900':>15s} {'>= 0.960':>15s} {'<= 0.100':>15s}")
        print(f"mean regret of the chosen configuration: {e['regret_pct']['mean']:.2f} % ± {e['regret_pct']['std']:.2f}")
        print(f"fit failures: {e['fit_failures']} / {args.repeats}; tpot MAPE of the energy model's step time: "
              f"{e['energy_tpot_mape']['mean']:.3f}")
        print("all-data fit:", ", ".join(f"{k}={v:.4g}" for k, v in e["all_data_theta"].items()))
        print(f"all-data in-sample MAPE {e['all_data_in_sample_mape']:.3f}; median prefill share "
              f"{e['all_data_prefill_share_median']:.3f}")
    e = res["energy_only"]
    print(f"\nlatency model (9 params), ML.ENERGY tpot_s MAPE (same splits): "
          f"{e['tpot_mape']['mean']:.3f} ± {e['tpot_mape']['std']:.3f}")
    if "splitwise_latency" in res:
        s = res["splitwise_latency"]
        print(f"latency model, Splitwise ({s['n_configs']} configs, {s['n_excluded_kv_does_not_fit']} whose KV cache "
              f"cannot fit excluded; fit {args.train_size}): "
              f"TTFT MAPE {s['ttft_mape']['mean']:.3f} ± {s['ttft_mape']['std']:.3f}, "
              f"TPOT MAPE {s['tpot_mape']['mean']:.3f} ± {s['tpot_mape']['std']:.3f}")
        print("Splitwise all-data phi:", ", ".join(f"{k}={v:.4g}" for k, v in s["all_data_phi"].items()))
    print(f"[{res['seconds']} s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
