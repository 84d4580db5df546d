"""Issue 10 measurements: the template on today's serving (ML.ENERGY v3 H100) and on v2 (bundled).

Every number comes from the package's own evaluation (energylens.compare.run_evaluation, the code
behind ``energylens evaluate``): fit on 50 random rows, 20 seeded repeats, the rest held out,
groups task x model x GPU. Also: hardware transfer (v2 A100 + 5 H100 rows -> the other v2 H100 rows;
all v3 H100 rows -> v2 H100 rows), 90 % prediction-interval coverage on held-out v3 rows, and the
ablation table of docs/model.md (each change switched off alone).

The v3 export is read from /work/shared/data (never bundled); without it only the v2 parts run.

    python bench/modern_serving.py                 # everything, JSON to bench/results/modern_serving.json
    python bench/modern_serving.py --repeats 5     # quicker
    python bench/modern_serving.py --table         # docs/model.md's ablation table from the JSON (no run)
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

from data_paths import V3 as V3_CSV
from energylens.compare import methods as METHODS
from energylens.compare.metrics import pairwise_counts, top1_hit
from energylens.compare.result import summarize
from energylens.compare.runner import run_evaluation
from energylens.model import EnergyModel
from energylens.profiles import features as FE
from energylens.profiles import read_profiles
from energylens.profiles.mlenergy_v3 import MLENERGY_V3_PROMPT_TOKENS, MLENERGY_V3_VIDEO_FRAMES
from energylens.profiles.tables import find_model

V3 = V3_CSV
OUT = Path(__file__).parent / "results" / "modern_serving.json"
KEYS = ("top1", "top1_tpot", "parallelism", "pairwise", "mape")


def scores(df: pd.DataFrame, repeats: int, splits=("random",)) -> dict:
    """energylens on the random split (or another split family): metric means and stds."""
    res = run_evaluation(df, train_size=50, repeats=repeats, splits=splits, method_names=["energylens"],
                         progress=False)
    return split_means(res.table)


def split_means(table: pd.DataFrame) -> dict:
    """An evaluation's table summarised per split, variant and detail: "split:variant:detail" (empty parts left
    out) -> :func:`metric_means`."""
    s = summarize(table, by=("split", "variant", "detail"))
    return {":".join(str(x) for x in (r["split"], r["variant"], r["detail"]) if str(x)): metric_means(r)
            for _, r in s.iterrows()}


def metric_means(r: pd.Series) -> dict:
    """One row of ``summarize``: each of KEYS' mean and std, MAPE as a fraction (the runner reports percent)."""
    m = {k: float(r[k]) for k in KEYS} | {f"{k}_std": float(r[f"{k}_std"]) for k in KEYS}
    m["mape"], m["mape_std"] = m["mape"] / 100.0, m["mape_std"] / 100.0
    return m


# ---- ablations: each change switched off alone (the rest as shipped) ---------------------------
def as_labelled(df: pd.DataFrame) -> pd.DataFrame:
    """v3 EP rows as the export labels them (tp = 1, no dp/ep): the template counts tp x pp GPUs."""
    d = df.copy()
    relab = d["parallelism_relabelled"].astype(bool) if "parallelism_relabelled" in d else np.zeros(len(d), bool)
    d.loc[relab, "tp"] = 1
    d["ep"] = 1
    d["dp"] = 1
    d["n_gpus"] = d["tp"] * d["pp"]
    return d


def no_hybrid(df: pd.DataFrame) -> pd.DataFrame:
    d = df.copy()
    d["n_attention_layers"] = d["n_layers"]
    d["state_elems_per_seq"] = 0.0
    return d


def no_sliding(df: pd.DataFrame) -> pd.DataFrame:
    d = df.copy()
    d["n_sliding_layers"] = 0.0
    return d


def weights_set_compute(df: pd.DataFrame) -> pd.DataFrame:
    """Compute at the weight precision (mxfp4 -> the GPU's fp4/fp8 fallback) and 4-bit everywhere."""
    d = df.copy()
    d["compute_precision"] = d["precision"]
    return d


def video_every_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Before the processor re-sampling (ablation): every one of the 32 frames sent is encoded."""
    d = df.copy()
    v = (d["modality"] == "video").to_numpy()
    if not v.any():
        return d
    per = (d.loc[v, "input_tokens"] - MLENERGY_V3_PROMPT_TOKENS["video-chat"]) / d.loc[v, "video_frames"]
    d.loc[v, "video_frames"] = MLENERGY_V3_VIDEO_FRAMES
    d.loc[v, "input_tokens"] = MLENERGY_V3_PROMPT_TOKENS["video-chat"] + MLENERGY_V3_VIDEO_FRAMES * per
    return d


def video_720p(df: pd.DataFrame) -> pd.DataFrame:
    """Alternative input assumption (not shipped): 1280 x 720 clips, 460 tokens per frame (40 x 23
    merged patches per 2-frame temporal patch) instead of the table's 128."""
    d = df.copy()
    v = (d["modality"] == "video").to_numpy()
    if not v.any():
        return d
    d["video_tokens_per_frame"] = np.where(v, 460.0, np.nan)
    d.loc[v, "input_tokens"] = MLENERGY_V3_PROMPT_TOKENS["video-chat"] + 460.0 * d.loc[v, "video_frames"]
    return d


def ssm_state_auto(df: pd.DataFrame) -> pd.DataFrame:
    """Mamba SSM state in the activation dtype (bf16) instead of the benchmark's float32."""
    d = df.copy()
    if "mamba_ssm_cache_dtype" in d:
        d["mamba_ssm_cache_dtype"] = "auto"
    return d


def nominal_counts(df: pd.DataFrame) -> pd.DataFrame:
    """v3 parameter counts as the export gives them (the nominal counts of the model's name)."""
    d = df.copy()
    if "params_b_nominal" in d:
        d["params_b"], d["active_params_b"] = d["params_b_nominal"], d["active_params_b_nominal"]
    return d


def omni_checkpoint(df: pd.DataFrame) -> pd.DataFrame:
    """Qwen3-Omni at its whole checkpoint's 35.3 B (talker and code2wav included) instead of the thinker."""
    d = df.copy()
    d.loc[d["model"].astype(str).str.contains("Qwen3-Omni"), "params_b"] = 35.3
    return d


def one_tile_images(df: pd.DataFrame) -> pd.DataFrame:
    """Llama 4 and Nemotron VL images as one tile (144 / 256 tokens), as the table had them, not the
    ~1000-px image (1440 / 1280 tokens) the Qwen3-VL rows assume."""
    d = df.copy()
    for key, tokens in (("Llama-4", 144.0), ("Nemotron-Nano-12B-v2-VL", 256.0)):
        rows = d["model"].astype(str).str.contains(key) & (d["modality"] == "image")
        d.loc[rows, "image_tokens_per_image"] = tokens
        d.loc[rows, "input_tokens"] = MLENERGY_V3_PROMPT_TOKENS["image-chat"] + tokens
    return d


def fit_options(**opts):
    """An EnergyModel class whose fits use ``opts`` (residual / loss) in place of the defaults."""
    class _Opt(EnergyModel):
        def __init__(self, **kw):
            super().__init__(**{**kw, **opts})
    return _Opt


class _Switch:
    """Set a module attribute for the duration of a block."""

    def __init__(self, module, name: str, value) -> None:
        self.module, self.name, self.value = module, name, value

    def __enter__(self):
        self.old = getattr(self.module, self.name)
        setattr(self.module, self.name, self.value)

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.old)


def ablations(v2: pd.DataFrame, v3: pd.DataFrame | None, repeats: int) -> list[dict]:
    variants = [
        ("as shipped", lambda d: d, None),
        ("count tp x pp GPUs, v3 labels as exported (no dp/ep)", as_labelled, None),
        ("compute at the weight precision (mxfp4 on fp4/fp8 peak)", weights_set_compute, None),
        ("mxfp4 on every weight (not experts only)", lambda d: d, (FE, "EXPERT_ONLY_PRECISIONS", ())),
        ("hybrids: KV in every layer, no Mamba state", no_hybrid, None),
        ("no sliding-window KV cap", no_sliding, None),
        ("MoE layers count once in the per-layer overhead", lambda d: d, (FE, "MOE_LAUNCH_LAYERS", False)),
        ("no KV-head replication at tp > n_kv_heads", lambda d: d, (FE, "KV_HEAD_REPLICATION", False)),
        ("+ EP slowest-rank factor", lambda d: d, (FE, "EP_SLOWEST_RANK", True)),
        ("vision encoder: one patch per visual token, no encoder attention", lambda d: d,
         (FE, "VISION_PATCHES", False)),
        ("video: every frame sent encoded (no processor re-sampling)", video_every_frame, None),
        ("block-scaled fp8 at the fp8 peak (no fp8_block)", lambda d: d, (FE, "FP8_BLOCK_SCALED", False)),
        ("W8A8 layers count once in the per-layer overhead", lambda d: d, (FE, "ACT_QUANT_LAUNCH_LAYERS", 0.0)),
        ("v3 parameter counts as exported (nominal, not the model table's)", nominal_counts, None),
        ("Qwen3-Omni at the checkpoint's 35.3 B, not the thinker's 31.8 B", omni_checkpoint, None),
        ("images of Llama 4 / Nemotron VL as one tile (144 / 256 tokens)", one_tile_images, None),
        ("Mamba state read only (not written back)", lambda d: d, (FE, "STATE_TRAFFIC_PER_STEP", 1.0)),
        ("not shipped: video clips at 720p (460 tokens per frame)", video_720p, None),
        ("Mamba SSM state at bf16, not the benchmark's float32", ssm_state_auto, None),
        ("every weight streamed per step in its format (input embedding, lm_head, vision encoder)", lambda d: d,
         (FE, "DECODE_WEIGHT_READS", False)),
        ("2 FLOP per active parameter (input embedding included), Qwen3-Omni's audio tower as experts", lambda d: d,
         (FE, "TOKEN_FLOPS_AND_ENCODERS", False)),
        ("not shipped: TPOT residuals at weight 0.5 in the joint fit (round 7)", lambda d: d,
         (METHODS, "EnergyModel", fit_options(tpot_weight=0.5))),
        ("not shipped: fit with Huber loss, scale 0.3 (log residual)", lambda d: d,
         (METHODS, "EnergyModel", fit_options(loss="huber", loss_scale=0.3))),
        ("not shipped: fit with relative residual + Huber loss, scale 0.2", lambda d: d,
         (METHODS, "EnergyModel", fit_options(residual="relative", loss="huber", loss_scale=0.2))),
    ]
    rows = []
    for name, change, switch in variants:
        rec = {"change": name}
        for label, df in (("v2", v2), ("v3", v3)):
            if df is None:
                continue
            t0 = time.perf_counter()
            if switch is None:
                rec[label] = scores(change(df), repeats)["random"]
            else:
                with _Switch(*switch):
                    rec[label] = scores(change(df), repeats)["random"]
            print(f"  {name} [{label}] {fmt(rec[label])}  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        rows.append(rec)
    return rows


def fmt(m: dict) -> str:
    return " ".join(f"{k} {m[k]:.3f}" for k in KEYS)


# ---- transfer and intervals -------------------------------------------------------------------
def transfer(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Fit on every row of ``train``, score ``test`` by group (task, model, GPU)."""
    m = EnergyModel(bootstrap=0, seed=0).fit(train)
    pred = m.predict(test)
    t = test.reset_index(drop=True)
    hits, conc, tot, _ = _group_scores(t, pred)
    mape = float(np.mean(np.abs(pred - t["energy_j"]) / t["energy_j"]))
    return {"top1": float(np.mean(hits)), "pairwise": conc / tot, "mape": mape, "n_test": len(t)}


def _group_scores(te: pd.DataFrame, pred: np.ndarray) -> tuple[list[float], float, int, list[float]]:
    """Top-1 hits, concordant and total pairs, and the regret (measured energy of the predicted
    cheapest over the measured cheapest, - 1) of every group of >= 2 rows."""
    t = te.reset_index(drop=True)
    hits, conc, tot, regret = [], 0.0, 0, []
    for _, g in t.groupby(["task", "model", "gpu"]):
        if len(g) < 2:
            continue
        p, e = pred[g.index], g["energy_j"].to_numpy()
        hits.append(top1_hit(p, e))
        c, n = pairwise_counts(p, e)
        conc, tot = conc + c, tot + n
        regret.append(float(e[np.argmin(p)] / e.min() - 1.0))
    return hits, conc, tot, regret


def leave_one_out(df: pd.DataFrame, column: str) -> dict:
    """Fit on every row whose ``column`` differs, score the held-out value's rows (leave one task /
    model family out): per value and the mean over values (MAPE row-weighted)."""
    out = {}
    for key in sorted(df[column].unique()):
        tr, te = df[df[column] != key], df[df[column] == key]
        out[str(key)] = held_out_scores(te, EnergyModel(bootstrap=0, seed=0).fit(tr).predict(te))
    out["mean"] = mean_over_keys(out)
    return out


def held_out_scores(te: pd.DataFrame, pred: np.ndarray) -> dict:
    """Rows, Top-1, pairwise (over groups of >= 2 rows; NaN where none) and MAPE of the held-out rows ``te``
    predicted ``pred``: one held-out value of a leave-one-out (here, bench/calibration.py and
    bench/estimator_variants.py, whose transfer scores the same way)."""
    hits, conc, tot, _ = _group_scores(te, pred)
    return {"n": len(te), "top1": float(np.mean(hits)) if hits else float("nan"),
            "pairwise": conc / tot if tot else float("nan"),
            "mape": float(np.mean(np.abs(pred / te["energy_j"].to_numpy() - 1.0)))}


def mean_over_keys(per: dict) -> dict:
    """The mean of :func:`held_out_scores` over the held-out values ``per`` (NaN-skipping; MAPE row-weighted)."""
    vals = list(per.values())
    n = np.array([v["n"] for v in vals], dtype=float)
    return {"top1": float(np.nanmean([v["top1"] for v in vals])),
            "pairwise": float(np.nanmean([v["pairwise"] for v in vals])),
            "mape": float(np.sum(n * [v["mape"] for v in vals]) / n.sum())}


def diagnostics(df: pd.DataFrame, repeats: int) -> dict:
    """Where the 50-row fit is worst (held-out rows of ``repeats`` random splits): MAPE and median
    predicted / measured per model and per task, and how many Top-1 misses are near-ties (the picked
    configuration within 1 / 2 / 5 % of the measured optimum's energy)."""
    rows, regrets = [], []
    for r in range(repeats):
        idx = np.random.default_rng(r).permutation(len(df))
        tr, te = df.iloc[idx[:50]], df.iloc[idx[50:]].reset_index(drop=True)
        pred = EnergyModel(bootstrap=0, seed=r).fit(tr).predict(te)
        rows.append(te[["model", "task"]].assign(ratio=pred / te["energy_j"].to_numpy()))
        regrets += [x for x in _group_scores(te, pred)[3] if x > 0]
    a = pd.concat(rows)
    a["ape"] = (a["ratio"] - 1.0).abs()
    per = {c: a.groupby(c).agg(mape=("ape", "mean"), median_ratio=("ratio", "median"), n=("ape", "size"))
           .sort_values("mape", ascending=False).round(4).to_dict(orient="index") for c in ("model", "task")}
    reg = np.array(regrets)
    per["top1_misses"] = {"n": len(reg), **{f"within_{k}pct": int((reg <= k / 100).sum()) for k in (1, 2, 5)},
                          "median_regret": float(np.median(reg)) if len(reg) else 0.0}
    return per


def coverage(df: pd.DataFrame, repeats: int, level: float = 0.9) -> dict:
    """Share of held-out rows inside the ``level`` prediction interval (fit on 50 random rows)."""
    cov, width = [], []
    for r in range(repeats):
        idx = np.random.default_rng(r).permutation(len(df))
        tr, te = df.iloc[idx[:50]], df.iloc[idx[50:]]
        m = EnergyModel(bootstrap=200, seed=r).fit(tr)
        iv = m.predict_interval(te, level)
        e = te["energy_j"].to_numpy()
        cov.append(float(np.mean((iv["energy_j_lo"].to_numpy() <= e) & (e <= iv["energy_j_hi"].to_numpy()))))
        width.append(float(np.median((iv["energy_j_hi"] - iv["energy_j_lo"]).to_numpy() / e)))
    return {"level": level, "coverage_mean": float(np.mean(cov)), "coverage_min": float(np.min(cov)),
            "coverage_max": float(np.max(cov)), "median_width_rel": float(np.mean(width))}


def ablation_table(path: Path) -> str:
    """docs/model.md's ablation table (markdown) from a results file of this bench."""
    cols = [("v2", k) for k in ("top1", "parallelism", "pairwise", "mape")] + [("v3", k) for k in KEYS]
    lines = ["| change switched off | v2 Top-1 | v2 parallelism | v2 pairwise | v2 MAPE | v3 Top-1 | v3 Top-1 @TPOT "
             "| v3 parallelism | v3 pairwise | v3 MAPE |", "|---|" + "---|" * len(cols)]
    for row in json.loads(path.read_text())["ablation"]:
        name = "none (as shipped)" if row["change"] == "as shipped" else row["change"]
        cells = [f"{row[d][k]:.3f}" if row.get(d) else "n/a" for d, k in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--table", action="store_true", help="print the ablation table of --out and exit")
    args = ap.parse_args(argv)
    if args.table:
        print(ablation_table(Path(args.out)))
        return 0
    warnings.simplefilter("ignore")
    v2 = read_profiles("bundled")
    v3 = read_profiles(str(V3)) if V3.is_file() else None
    out: dict = {"repeats": args.repeats, "v3_file": str(V3) if v3 is not None else None}
    out["v2"] = scores(v2, args.repeats, splits=("random", "unseen_gpu"))
    print("v2", {k: fmt(v) for k, v in out["v2"].items()}, file=sys.stderr)
    if v3 is not None:
        out["v3"] = scores(v3, args.repeats)
        print("v3", fmt(out["v3"]["random"]), file=sys.stderr)
        v2h = v2[v2["gpu"].str.contains("H100")]
        out["transfer_v3_h100_to_v2_h100"] = transfer(v3, v2h)
        out["coverage_v3"] = coverage(v3, args.repeats)
        print("transfer v3->v2 H100", out["transfer_v3_h100_to_v2_h100"], file=sys.stderr)
        print("coverage", out["coverage_v3"], file=sys.stderr)
        fam = v3.assign(family=[getattr(find_model(m), "family", m) for m in v3["model"]])
        out["leave_one_task_out_v3"] = leave_one_out(v3, "task")
        out["leave_one_family_out_v3"] = leave_one_out(fam, "family")
        out["diagnostics_v3"] = diagnostics(v3, args.repeats)
        for k in ("leave_one_task_out_v3", "leave_one_family_out_v3"):
            print(k, out[k]["mean"], file=sys.stderr)
        print("top-1 misses", out["diagnostics_v3"]["top1_misses"], file=sys.stderr)
    if not args.no_ablation:
        out["ablation"] = ablations(v2, v3, args.repeats)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
