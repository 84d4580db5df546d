"""Accuracy round 12 (docs/model.md): shape changes to the latency template's decode step, tried against
issue 11's realism on ML.ENERGY v3 H100 and the bundled v2 text rows of each GPU, with the held-out
protocol of bench/latency_term_trials.py (its splits, NumPy refit, realism rule and calibration).

Variants (``tpot_shape``; each the template's TPOT, ``energylens.model.reference.latency``, with one change):
  * ``template``: the template as it is (refitted here; the harness check: equals latency_term_trials'
    ``template``);
  * ``split_roofline``: a decode step's weight GEMMs and its attention (KV-cache reads, attention FLOPs,
    Mamba state traffic) are separate kernels that run one after the other, so each gets its own
    roofline, smax(GEMM FLOPs, weight bytes) + smax(attention FLOPs, KV + state bytes), instead of one
    smooth max over their sums (which lets KV reads hide under the GEMMs' compute once a step is
    compute-bound). Same parameters, same overlap s inside each roofline;
  * ``vocab_seq``: the per-sequence time scales with the vocabulary (the sampler's top-k / top-p pass
    over each sequence's logits, V entries): tau_s B_r V / 151936 (tau_s keeps its meaning for a
    Qwen-sized vocabulary; a model table without ``vocab_size``, v2's StarCoder2, counts 151936);
  * ``vocab_sampler``: the same sampler time as its own term beside the host's per-sequence time,
    tau_s B_r + tau_v B_r V / 151936, with tau_v fitted in [0, 2000] us (0 = the template): the host's
    share (vLLM 0.5.4's Python scheduler on v2) need not scale with the vocabulary;
  * ``async_host``: the per-sequence host time overlaps the device's step (vLLM's async scheduling
    prepares step i + 1 while step i runs): the step is smax_q(device time, tau_s B_r) with its own
    fitted overlap q in [1e-4, 1] (q = 1 is the template, q -> 0 the larger of the two).
Protocol: as bench/latency_term_trials.py (20 random 50-row splits, bounded least squares on log TPOT, 3
starts; energies from the native ``EnergyModel`` fitted on the same rows; realism = the cheapest predicted
energy among held-out rows whose predicted TPOT meets the group's median measured TPOT is the measured
optimum; ``calibrated``: times the per-model factor from the 50 rows). Also, per variant, the fit on all
rows (in-sample): log-residual variance, what a constant per series leaves, and its realism by the same rule;
and leave-family-out: each model family predicted by the variant fitted on the other families' rows. First, per
dataset, the diagnosis (``diagnosis``): the template's in-sample residuals along the running batch.

    python bench/latency_shape_trials.py [--out bench/results/latency_shape_trials.json] [--variants a,b]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.compare.splits import DEFAULT_GROUP_BY, random_splits
from energylens.model import EnergyModel
from energylens.model import reference as R
from energylens.profiles import tables
from energylens.profiles.features import build_features
from latency_term_trials import _summary, best_of_starts, datasets, held_out, realism_hit

OUT = Path(__file__).parent / "results" / "latency_shape_trials.json"
VARIANTS = ("template", "split_roofline", "vocab_seq", "vocab_sampler", "async_host")
US = 1e-6
V_REF = 151936.0  # Qwen3's vocabulary: vocab_seq's tau_s is the template's for it
SERIES = ["model", "task", "gpu", "tp", "pp", "dp", "ep"]
# eta_c, eta_m, overlap s, tau_layer_us, alpha_us, tau_seq_us, host overlap q, tp_sync_us, tau_vocab_us
NAMES = ("eta_compute", "eta_memory", "roofline_overlap", "layer_overhead_us", "allreduce_latency_us",
         "seq_overhead_us", "host_overlap", "tp_sync_us", "sampler_us_per_seq")
LOWER = np.array([0.01, 0.05, 1e-4, 0.0, 0.0, 0.0, 1e-4, 0.0, 0.0])
UPPER = np.array([1.0, 1.0, 1.0, 500.0, 200.0, 2000.0, 1.0, 200.0, 2000.0])
STARTS = (np.array([0.5, 0.8, 0.5, 20, 20, 20, 0.5, 5, 10]), np.array([0.9, 0.9, 0.9, 50, 40, 50, 1.0, 1, 1]),
          np.array([0.3, 0.6, 0.1, 5, 5, 5, 0.1, 20, 40]))
BASE = [0, 1, 2, 3, 4, 5, 7]
USED = {"template": BASE, "split_roofline": BASE, "vocab_seq": BASE, "vocab_sampler": [*BASE, 8],
        "async_host": [*BASE, 6]}


def _smax(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    """The template's smooth max: s = 1 the sum, s -> 0 the larger (roofline.hpp)."""
    d = a - b
    return 0.5 * (a + b + np.sqrt(d * d + 4.0 * s * a * b))


def tpot_shape(f: dict, ph: np.ndarray, variant: str) -> np.ndarray:
    """TPOT (s) of the latency template with ``variant``'s change; ``f`` holds ``vocab`` too."""
    eta_c, eta_m, s, tl, al, ts, q, sync, tv = ph
    tpot = R.latency(f, np.array([eta_c, eta_m, s, 0.4, tl, al, ts, 0.0, 0.0, sync]))[1]
    if variant == "template":
        return tpot
    B, Br = f["batch_size"], f["batch_size"] / f["dp"]
    t_seq = ts * US * Br
    if variant == "vocab_seq":
        return tpot + t_seq * (f["vocab"] / V_REF - 1.0)
    if variant == "vocab_sampler":
        return tpot + tv * US * Br * f["vocab"] / V_REF
    if variant == "async_host":
        return _smax(tpot - t_seq, t_seq, q)
    c = R._core(f, eta_c, eta_m, s, 0.4, tl * US, al * US, ts * US, 0.0)
    ctx = f["input_tokens"] + 0.5 * f["output_tokens"]
    n = c["n"]
    tc_a = B * f["attn_flops_per_token_ctx"] * ctx / (n * f["peak_flops_per_s"] * eta_c)
    tm_a = B * (ctx * f["kv_bytes_per_token"] + f["state_bytes_per_seq"]) / (n * f["hbm_bytes_per_s"] * eta_m)
    split = _smax(c["tc"] - tc_a, c["tm"] - tm_a, s) + _smax(tc_a, tm_a, s)
    return tpot + (split - c["tg"]) * c["g_pp"]


def fit_shape(f: dict, y: np.ndarray, variant: str) -> np.ndarray:
    best = best_of_starts(tpot_shape, f, y, variant, USED[variant], STARTS, LOWER, UPPER)
    if variant != "async_host":
        best[6] = 1.0  # not read; 1 = the template's sum
    if variant != "vocab_sampler":
        best[8] = 0.0  # not read
    return best


def score(df: pd.DataFrame, feats: dict, energy: dict, variant: str) -> dict:
    """Held-out realism and TPOT error over the 20 splits (latency_term_trials.held_out's protocol)."""
    hits, errs, per_split = held_out(df, feats, energy, variant, fit_shape, tpot_shape)
    return {kind: {**_summary(hits[kind], errs[kind]), "hits_per_split": per_split[kind]} for kind in hits}


def in_sample(df: pd.DataFrame, feats: dict, energy_all: np.ndarray, variant: str) -> dict:
    """The variant fitted on every row: residual variance, what a constant per series leaves, realism."""
    y = df["tpot_s"].to_numpy()
    ph = fit_shape(feats, y, variant)
    pt = tpot_shape(feats, ph, variant)
    r = pd.Series(np.log(y / pt), index=df.index)
    key = df[[c for c in SERIES if c in df]].astype(str).agg("|".join, axis=1)
    t = df.assign(pt=pt, pe=energy_all)
    hits = [realism_hit(g) for _, g in t.groupby(list(DEFAULT_GROUP_BY)) if len(g) >= 2]
    return {"params": dict(zip(NAMES, np.round(ph, 4).tolist(), strict=True)),
            "log_residual_var": float(r.var(ddof=0)),
            "var_after_constant_per_series": float((r - r.groupby(key).transform("mean")).var(ddof=0)),
            "tpot_ape_median": float(np.median(np.abs(pt / y - 1.0))), "realism": float(np.mean(hits))}


BATCH_BINS = [0, 12, 24, 48, 80, 112, 160, 224, 320, 448, 640, 900, 2100]


def diagnosis(df: pd.DataFrame, feats: dict) -> dict:
    """The template fitted on every row (in-sample) and its log residuals read along the running batch: per
    series (>= 5 rows) the residual at each batch; inside the series (residual less the series mean, series of
    >= 3 rows) the mean by batch bin and architecture, and what each share of the predicted step (regressed
    inside the series, one at a time) leaves of the within-series variance; the measured running batch over
    max_num_seqs by task, where the rows have both."""
    y = df["tpot_s"].to_numpy()
    ph = fit_shape(feats, y, "template")
    eta_c, eta_m, s, tl, al, ts, _q, sync, _tv = ph
    pt = tpot_shape(feats, ph, "template")
    c = R._core(feats, eta_c, eta_m, s, 0.4, tl * US, al * US, ts * US, 0.0)
    ctx = feats["input_tokens"] + 0.5 * feats["output_tokens"]
    t_kv = c["B"] * (ctx * feats["kv_bytes_per_token"] + feats["state_bytes_per_seq"]) / (c["n"] * c["bw"] * eta_m)
    shares = pd.DataFrame({"compute": c["tc"], "kv_bytes": t_kv, "weight_bytes": c["tm"] - t_kv,
                           "per_sequence": ts * US * c["Br"], "per_layer": tl * US * c["Ll"],
                           "all_reduce": c["t_ar"]}, index=df.index).div(pt, axis=0)
    shares["compute_over_memory"] = c["tc"] / c["tm"]
    arch = df["architecture"] if "architecture" in df else pd.Series("dense", index=df.index)
    r = pd.Series(np.log(y / pt), index=df.index)
    key = df[[k for k in SERIES if k in df]].astype(str).agg("|".join, axis=1)
    size = key.map(key.value_counts())
    m = size >= 3
    rd = (r - r.groupby(key).transform("mean"))[m]
    xd = (shares - shares.groupby(key).transform("mean"))[m]
    left = {col: float(np.var(rd - (xd[col] * rd).sum() / (xd[col] ** 2).sum() * xd[col])) for col in xd}
    bins = pd.cut(df["batch_size"][m], BATCH_BINS)
    by_bin = {str(a): {str(b): [round(float(v.mean()), 3), len(v)] for b, v in g.groupby(bins[g.index], observed=True)}
              for a, g in rd.groupby(arch[m])}
    series = {k: {"batch": np.round(g["batch_size"].to_numpy(), 1).tolist(), "residual": np.round(r[g.index], 3).tolist()}
              for k, g in df[size >= 5].sort_values("batch_size").groupby(key[size >= 5])}
    out = {"within_series_var": float(np.var(rd)), "within_series_var_left_by_share": left,
           "within_series_mean_by_batch_bin": by_bin, "series": series}
    if "max_num_seqs" in df and df["max_num_seqs"].notna().any():
        ratio = df["batch_size"] / df["max_num_seqs"]
        out["batch_over_max_num_seqs_median_by_task"] = {str(t): round(float(v.median()), 4)
                                                         for t, v in ratio.groupby(df["task"])}
    return out


def _family(df: pd.DataFrame) -> np.ndarray:
    """The model table's family per row (the model name where the table has none)."""
    fam = {m: getattr(tables.find_model(m), "family", None) or m for m in df["model"].astype(str).unique()}
    return df["model"].astype(str).map(fam).to_numpy()


def leave_family_out(df: pd.DataFrame, feats: dict, variants: list[str]) -> dict:
    """Each model family (>= 5 rows) predicted by the variants fitted on every other family's rows: whether
    a term carries over to models it has not seen (a per-family offset in disguise does not). Per family
    the median TPOT error and the realism of its groups (energies from EnergyModel on the other rows)."""
    y = df["tpot_s"].to_numpy()
    fam = _family(df)
    out: dict = {}
    for name in sorted(set(fam)):
        test = fam == name
        if test.sum() < 5:
            continue
        tr = {k: v[~test] for k, v in feats.items()}
        te = {k: v[test] for k, v in feats.items()}
        pe = EnergyModel(bootstrap=0, seed=0).fit(df[~test]).predict(df[test])
        out[name] = {"rows": int(test.sum())}
        for v in variants:
            pt = tpot_shape(te, fit_shape(tr, y[~test], v), v)
            t = df[test].assign(pt=pt, pe=pe)
            hits = [realism_hit(g) for _, g in t.groupby(list(DEFAULT_GROUP_BY)) if len(g) >= 2]
            out[name][v] = {"tpot_ape_median": float(np.median(np.abs(pt / y[test] - 1.0))),
                            "hits": int(sum(hits)), "groups": len(hits)}
    pooled = {v: {"families_better_than_template": sum(out[f][v]["tpot_ape_median"] < out[f]["template"]["tpot_ape_median"]
                                                        for f in out),
                  "mean_family_ape": float(np.mean([out[f][v]["tpot_ape_median"] for f in out])),
                  "realism": sum(out[f][v]["hits"] for f in out) / max(1, sum(out[f][v]["groups"] for f in out))}
              for v in variants}
    return {"families": out, "summary": pooled}


def _vocab(df: pd.DataFrame) -> np.ndarray:
    """vocab_size per row from the model table (V_REF where the table has none)."""
    sizes = {}
    for m in df["model"].astype(str).unique():
        v = getattr(tables.find_model(m), "vocab_size", np.nan)
        sizes[m] = float(v) if v is not None and np.isfinite(v) and v > 0 else V_REF
    return df["model"].astype(str).map(sizes).to_numpy(dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS))
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        ap.error(f"--variants: unknown {', '.join(unknown)} (choose from {', '.join(VARIANTS)})")
    warnings.simplefilter("ignore")  # range warnings on held-out rows
    t0 = time.perf_counter()
    res: dict = {}
    for name, df in datasets().items():
        feats = {**build_features(df), "vocab": _vocab(df)}
        energy = {sp.repeat: EnergyModel(bootstrap=0, seed=sp.repeat).fit(df.iloc[sp.train_idx]).predict(
            df.iloc[sp.test_idx]) for sp in random_splits(len(df), 50, 20, 0)}
        energy_all = EnergyModel(bootstrap=0, seed=0).fit(df).predict(df)
        res[name] = {"diagnosis": diagnosis(df, feats)}
        for v in variants:
            res[name][v] = sc = score(df, feats, energy, v)
            sc["in_sample"] = ins = in_sample(df, feats, energy_all, v)
            print(f"{name} {v}: realism {sc['raw']['realism']:.3f} (calibrated {sc['calibrated']['realism']:.3f}), "
                  f"held-out TPOT error median {sc['raw']['tpot_ape_median']:.4f} "
                  f"(calibrated {sc['calibrated']['tpot_ape_median']:.4f}); in-sample var "
                  f"{ins['log_residual_var']:.4f}, per series {ins['var_after_constant_per_series']:.4f}, "
                  f"realism {ins['realism']:.3f}", flush=True)
        if "template" in variants:
            res[name]["leave_family_out"] = lfo = leave_family_out(df, feats, variants)
            for v, row in lfo["summary"].items():
                print(f"{name} {v} leave-family-out: mean family TPOT error {row['mean_family_ape']:.4f}, families "
                      f"better than template {row['families_better_than_template']}/{len(lfo['families'])}, "
                      f"realism {row['realism']:.3f}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"protocol": __doc__.split("\n\n")[1], "wall_s": time.perf_counter() - t0,
                                          **res}, indent=1))
    print(f"wrote {args.out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
