"""The result figures of README.md's "Where it stands" table and of docs/evaluation.md's tables are what the
result files of their commands hold (bench/results/*.json, rounded as printed), and the v2 headline result file
is what its command computes today.

Before this file nothing compared them: bench/results/evaluate_bundled_random.json and evaluate_v3_random.json
were rerun after accuracy round 10 (2026-12-06) while docs/evaluation.md kept the earlier run's tables
(energylens Top-1 0.789 where its command prints 0.788, the baselines' MAPE and regret of an older template),
found by the docs audit of 2026-12-07. A figure changed in a doc or a result file alone now fails here; rerun
the command named beside the figure and update both.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from data_paths import V3
from energylens.compare.runner import run_evaluation
from energylens.model import EnergyModel

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = (ROOT / "README.md").read_text(encoding="utf-8")
EVALUATION = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")


def _json(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def _e(x: float, digits: int = 3) -> str:
    """1.66e8 as the README writes a rate (``digits`` significant digits, no '+' or leading zero)."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _table_line(text: str, label: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith(f"| {label}")]
    assert len(lines) == 1, f"{len(lines)} table lines start with '| {label}' (expected one)"
    return lines[0]


def _summary(name: str, method: str, split: str = "random", variant: str = "", train_size: int = 50) -> dict:
    rows = [r for r in _json(name)["summary"] if r["method"] == method and r["split"] == split
            and r["variant"] == variant and r["train_size"] == train_size]
    assert len(rows) == 1, f"{name}.json: {len(rows)} summary rows for {method} / {split} / {variant} / {train_size}"
    return rows[0]


def _v3_random() -> dict:
    return _json("modern_serving")["v3"]["random"]


def _v3_rows() -> list[str]:
    r = _v3_random()
    return [f"{r['top1']:.3f}, missed by {0.95 - r['top1']:.3f}"]


def _coverage() -> list[str]:
    c = _json("interval_coverage")["v3_h100"]
    return [f"{c['coverage_mean']:.3f} ({c['coverage_min']:.2f}-{c['coverage_max']:.2f} per seed)"]


def _bundled() -> list[str]:
    r = _summary("evaluate_bundled_random", "energylens")
    return [f"Top-1 {r['top1']:.3f}, pairwise {r['pairwise']:.3f}, MAPE {r['mape'] / 100:.3f}"]


def _transfer(key: str) -> Callable[[], list[str]]:
    def expected() -> list[str]:
        r = _json("family_protocol")[key]
        return [f"Top-1 {r['top1']:.3f}, pairwise {r['pairwise']:.3f}, MAPE {r['mape']:.3f}"]
    return expected


def _search() -> list[str]:
    s = _json("search")
    return [f"{_e(s['native_fixed_2_threads']['per_s_median'])}/s, {s['ratios']['fixed_native_vs_numpy']:.0f}x",
            f"one core {_e(s['native_fixed_1_threads']['per_s_median'], 2)}"]


def _predict() -> list[str]:
    rows = _json("public")["predict_df"]
    top = next(r for r in rows if r["rows"] == 10_000_000)
    ratios = [r["ratio_vs_random_forest"]["median"] for r in rows if r.get("ratio_vs_random_forest")]
    return [f"{_e(top['configs_per_s'])}/s; {min(ratios):.0f}-{max(ratios):.0f}x RandomForest"]


def _memory() -> list[str]:
    return [f"{_json('public')['predict_df_memory']['peak_rss_bytes'] / 1e9:.2f} GB"]


def _fit() -> list[str]:
    f = _json("public_fit")["fit"]
    return [f"{f['public_fit_one_start_no_bootstrap_s']['median_s'] * 1e3:.2f} ms, "
            f"{f['public_fit_defaults_s']['median_s'] * 1e3:.1f} ms"]


def _features() -> list[str]:
    r = next(r for r in _json("public_features")["predict_features"] if r["rows"] == 10_000_000)
    return [f"{r['ratio_full_vs_numpy']['median']:.1f}x, float32 {r['ratio_float32_vs_numpy_float32']['median']:.1f}x; "
            f"broadcast {r['ratio_sweep_vs_numpy']['median']:.1f}x"]


def _active() -> list[str]:
    return [f"{_json('active_profiling_v3')['active_reaches_random50_at']} on v3 H100",
            f"{_json('active_profiling_v2')['active_reaches_random50_at']} on v2"]


def _discovery() -> list[str]:
    d = _json("discover_synthetic")
    return [f"truth {d['chosen']['r2_vs_truth_heldout']:.4f}", f"best on the front {d['best_r2_vs_truth']:.6f}"]


def _realism() -> list[str]:
    return [f"{_json('search_realism')['top1_search']:.3f}, missed by {0.95 - _json('search_realism')['top1_search']:.2f}",
            f"{_json('search_realism_latency_model')['top1_search']:.3f} with `--latency-calibration model`"]


def _expression() -> list[str]:
    two = [r for r in _json("expression")["evaluate"] if r["threads"] == 2]
    out = []
    for name in ("template energy formula", "short discovered-style formula"):
        x = [r["speedup"] for r in two if r["expression"] == name]
        out.append(f"{min(x):.1f}-{max(x):.1f}x")
    short = [r["speedup"] for r in two if r["expression"] == "short discovered-style formula"]
    return out + [f"under 10x at {sum(v < 10 for v in short)} of {len(short)} sizes"]


def _metric(key: str, fmt: str = ".3f") -> Callable[[], list[str]]:
    return lambda: [format(_v3_random()[key], fmt)]


README_ROWS: dict[str, Callable[[], list[str]]] = {
    "v3 H100 Top-1, 50 random rows": _v3_rows,
    "v3 Top-1 under each group's median TPOT": _metric("top1_tpot"),
    "v3 parallelism choice": _metric("parallelism"),
    "v3 pairwise": _metric("pairwise"),
    "v3 MAPE": lambda: [f"{_v3_random()['mape']:.3f}, missed by {_v3_random()['mape'] - 0.15:.3f}"],
    "v3 90 % intervals": _coverage,
    "bundled v2: no metric worse": _bundled,
    "transfer: v2 A100 + 5 H100 rows": _transfer("transfer_a100_plus5_to_h100"),
    "transfer: v3 H100 -> v2 H100": _transfer("transfer_v3_h100_to_v2_h100"),
    "search engine, 2 cores": _search,
    "`EnergyModel.predict(df)` at 1e7 rows": _predict,
    "peak memory of predict": _memory,
    "50-row `fit`": _fit,
    "`predict_features` at 1e7 rows": _features,
    "active profiling": _active,
    "discovery recovers": _discovery,
    "search realism": _realism,
    "generated expression kernel": _expression,
}


@pytest.mark.parametrize("label", README_ROWS)
def test_readme_table_figure_is_its_result_file(label):
    line = _table_line(README, label)
    for figure in README_ROWS[label]():
        assert figure in line, f"README's row '{label}' should read '{figure}' (its bench/results file); it reads: {line}"


def _readme_sentence_figures() -> list[tuple[str, str]]:
    """(figure as printed, the README text that must hold it) for the result sentences outside the table."""
    cal = _json("calibration")
    mape = {d: {k: v["mape"] for k, v in cal[d]["scores"].items()} for d in ("v2", "v3_h100")}
    t = _json("time_in_system")
    b = _json("bundled_on_v3")
    ceiling = _json("v3_ceiling")["rows"]["energylens, fitted on all 405 rows (in-sample)"]
    prior = _summary("evaluate_v3_prior_calibrated", "energylens+model+prior")
    carbon = _summary("evaluate_v3_random", "llmcarbon")
    return [
        (f"MAPE on ML.ENERGY v2 from\n{mape['v2']['energylens']:.3f} to {mape['v2']['energylens+family']:.3f} (per "
         f"family) or {mape['v2']['energylens+model']:.3f} (per model)", "calibration"),
        (f"({mape['v3_h100']['energylens']:.3f} to {mape['v3_h100']['energylens+family']:.3f} / "
         f"{mape['v3_h100']['energylens+model']:.3f})", "calibration v3"),
        (f"{t['v3_h100']['sigma_0']['median_ratio']:.2f} -> {t['v3_h100']['sigma_fitted']['median_ratio']:.2f} on\nv3 H100, "
         f"{t['v2_bundled']['sigma_0']['median_ratio']:.2f} -> {t['v2_bundled']['sigma_fitted']['median_ratio']:.2f} on v2", "time in system"),
        (f"TPOT {b['bundled_model_on_v3']['tpot']['median']:.1f}x and energy "
         f"{b['bundled_model_on_v3']['energy']['median']:.1f}x the measured", "bundled on v3"),
        (f"{b['fitted_on_50_v3_rows_held_out']['tpot']['median']:.2f}x / "
         f"{b['fitted_on_50_v3_rows_held_out']['energy']['median']:.2f}x", "50 v3 rows"),
        (f"Top-1 {ceiling['top1']:.3f} and MAPE {ceiling['mape']:.3f}", "v3 ceiling"),
        (f"Top-1 {prior['top1']:.3f}, @TPOT {prior['top1_tpot']:.3f}, parallelism {prior['parallelism']:.3f}, "
         f"pairwise {prior['pairwise']:.3f}, MAPE {prior['mape'] / 100:.3f}", "prior + calibration"),
        (f"Top-1 {carbon['top1']:.3f}, @TPOT {carbon['top1_tpot']:.3f}, parallelism {carbon['parallelism']:.3f}, "
         f"pairwise {carbon['pairwise']:.3f}, MAPE {carbon['mape'] / 100:.3f}", "llmcarbon on v3"),
    ]


@pytest.mark.parametrize("index", range(8))
def test_readme_result_sentence_is_its_result_file(index):
    figure, what = _readme_sentence_figures()[index]
    flat = re.sub(r"\s+", " ", README)
    assert re.sub(r"\s+", " ", figure) in flat, f"README's {what} figure should read '{figure}' (its bench/results file)"


# ---- docs/evaluation.md ------------------------------------------------------------------------------------

def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _first_table(text: str) -> str:
    start = text.index("\n|") + 1
    end = text.find("\n\n", start)
    return text[start:] if end < 0 else text[start:end]


def _method_line(section: str, method: str) -> list[str]:
    """The cells after the method's name in the first table of ``section``."""
    lines = [line for line in _first_table(section).splitlines() if line.startswith(f"| {method} |")]
    assert len(lines) == 1, f"{len(lines)} lines for {method}"
    return _cells(lines[0])[1:]


def _fmt(value, fmt: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


METHODS = ("energylens", "latency_proxy", "wilkins2024", "llmcarbon", "random_forest", "gradient_boosting", "xgboost")


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_v2_headline_is_its_result_file(method):
    r = _summary("evaluate_bundled_random", method)
    want = [f"{r['top1']:.3f} ± {r['top1_std']:.3f}", f"{r['pairwise']:.3f} ± {r['pairwise_std']:.3f}",
            _fmt(r["mape"], ".1f"), _fmt(r["spearman"], ".3f"), _fmt(r["regret_pct"], ".1f")]
    section = _section(EVALUATION, "### Headline: 50 random training rows")
    assert _method_line(section, method) == want, "`energylens evaluate bundled --splits random --json` prints these"


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_v3_table_is_its_result_file(method):
    r = _summary("evaluate_v3_random", method)
    want = [_fmt(r[k], ".3f") for k in ("top1", "top1_tpot", "parallelism", "pairwise")]
    want += [_fmt(r["mape"], ".1f"), _fmt(r["regret_pct"], ".1f")]
    section = _section(EVALUATION, "## Results on ML.ENERGY v3 H100 rows (random split)")
    assert _method_line(section, method) == want, "`energylens evaluate V3 --splits random --json` prints these"


def test_the_v2_headline_result_file_is_what_its_command_computes_today():
    """The energylens row of evaluate_bundled_random.json, recomputed (energylens only: each method is seeded on
    its own, so its row is the full run's), and evaluation.md's bundled interval-coverage row (`energylens evaluate
    bundled --splits random --methods energylens --coverage`; it read the day's first run, 0.915 / 0.850-0.961,
    after the code had moved it to 0.916 / 0.850-0.967); ~4 s of CPU."""
    res = run_evaluation("bundled", splits=["random"], method_names=["energylens"], progress=False, coverage=0.9)
    c = res.info["coverage"]["methods"]["energylens"]
    row = (f"| bundled v2 (356) | energylens | {c['coverage_mean']:.3f} | {c['coverage_min']:.3f}-{c['coverage_max']:.3f} | "
           f"{100 * c['below_mean']:.1f} % | {100 * c['above_mean']:.1f} % | {c['median_width_rel']:.2f}x |")
    assert row in EVALUATION, f"docs/evaluation.md's bundled coverage row should start '{row}'"
    now = res.summary()
    now = now[now["method"] == "energylens"].iloc[0]
    kept = _summary("evaluate_bundled_random", "energylens")
    for key in ("top1", "top1_tpot", "parallelism", "pairwise", "mape", "spearman", "regret_pct"):
        assert now[key] == pytest.approx(kept[key], rel=1e-9, abs=1e-12), (
            f"{key}: the command computes {now[key]} now, bench/results/evaluate_bundled_random.json holds "
            f"{kept[key]}: rerun `energylens evaluate bundled --splits random --json` into it and update the docs")


def test_evaluation_forest_on_355_rows_is_its_result_file():
    r = _json("v3_ceiling")["rows"]["random_forest, 355 training rows"]
    figure = (f"the forest reads Top-1 {r['top1']:.3f}, @TPOT {r['top1_tpot']:.3f}, parallelism {r['parallelism']:.3f}, "
              f"pairwise {r['pairwise']:.3f}, MAPE {r['mape']:.3f}")
    assert figure in re.sub(r"\s+", " ", EVALUATION), f"docs/evaluation.md should read '{figure}' (`python bench/v3_ceiling.py`)"


def test_bundled_on_v3_names_the_model_it_scored():
    """bench/bundled_on_v3.py scores the search's default model (EnergyModel().fit('bundled')); its result file
    said 'EnergyModel(bootstrap=100)', a constant left from before the default became 200 refits."""
    assert _json("bundled_on_v3")["bundled_model"].startswith(
        f"EnergyModel(bootstrap={EnergyModel().bootstrap_replicates}).fit('bundled')")


def _full(method: str, split: str, variant: str = "", train_size: float | None = None) -> dict:
    """A summary row of bench/results/evaluate_bundled.json (`energylens evaluate bundled --json`, every split)."""
    rows = [r for r in _json("evaluate_bundled")["summary"] if r["method"] == method and r["split"] == split
            and (r["variant"] or "") == variant and (train_size is None or r["train_size"] == train_size)]
    assert len(rows) == 1, f"evaluate_bundled.json: {len(rows)} rows for {method} / {split} / {variant} / {train_size}"
    return rows[0]


CURVE = (12, 25, 50, 100, 200, 267)
CURVE_FORMATS = {"top1": ".3f", "pairwise": ".3f", "mape": ".1f", "regret_pct": ".1f"}


@pytest.mark.parametrize("metric", CURVE_FORMATS)
def test_evaluation_sample_efficiency_is_its_result_file(metric):
    section = _section(EVALUATION, "### Sample efficiency")
    table = section[section.index(f"\n{metric}:\n"):]
    for method in METHODS:
        want = [_fmt(_full(method, "curve", train_size=n)[metric], CURVE_FORMATS[metric]) for n in CURVE]
        assert _method_line(table, method) == want, f"{metric}, {method}"


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_extrapolation_is_its_result_file(method):
    batch, model = _full(method, "unseen_batch"), _full(method, "unseen_model")
    gpu = {k: _full(method, "unseen_gpu", f"k={k}") for k in (0, 5, 10)}
    want = [_fmt(batch["top1"], ".3f"), _fmt(batch["pairwise"], ".3f"), _fmt(batch["mape"], ".1f"),
            *(_fmt(gpu[k]["top1"], ".3f") for k in (0, 5, 10)), _fmt(gpu[0]["pairwise"], ".3f"),
            _fmt(gpu[0]["mape"], ".1f"), _fmt(model["top1"], ".3f"), _fmt(model["pairwise"], ".3f"),
            _fmt(model["mape"], ".1f")]
    assert _method_line(_section(EVALUATION, "### Extrapolation"), method) == want


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_slo_table_is_its_result_file(method):
    rows = [r for r in _json("evaluate_bundled_slo_random")["summary"] if r["method"] == method]
    assert len(rows) == 1
    r = rows[0]
    want = [f"{r['top1']:.3f}", f"{r['n_groups']:.1f}", f"{r['regret_pct']:.1f}", f"{r['top1_strict']:.3f}",
            f"{100 * r['slo_violation']:.1f}"]
    assert _method_line(_section(EVALUATION, "### With a TPOT SLO of 0.1 s"), method) == want, (
        "`energylens evaluate bundled --tpot-slo 0.1 --splits random --json` prints these")


def test_performance_cites_the_validated_predict_run_it_names():
    """docs/performance.md quoted an earlier run of bench/bench_validated_predict.py (0.62 against 2.9 ms) as
    bench/results/validated_predict.json, which holds a later run (0.80 against 3.20 ms)."""
    v = _json("validated_predict")
    text = re.sub(r"\s+", " ", (ROOT / "docs" / "performance.md").read_text(encoding="utf-8"))
    dp, d, m = v["dp_ep_row"], v["dict_row"], v["minimal_request"]
    for figure in (f"{dp['light_ms']:.2f} ms against {dp['full_path_ms']:.2f} ms, {dp['full_path_ms'] / dp['light_ms']:.1f}x",
                   f"{d['dict_ms']:.2f} ms against {d['schema_then_predict_ms']:.2f} ms, "
                   f"{d['schema_then_predict_ms'] / d['dict_ms']:.1f}x",
                   f"{m['light_ms']:.2f} ms against {m['full_path_ms']:.2f} ms, {m['full_path_ms'] / m['light_ms']:.1f}x"):
        assert figure in text, f"docs/performance.md should quote the kept run: '{figure}'"


def test_reference_tables_video_figures_are_what_their_command_prints():
    """docs/reference-tables.md's "8.0x" and "0.9-2.5x" (video frames) named no command; bench/video_frames_check.py
    computes them from the v3 export (under a second)."""
    if not V3.exists():
        pytest.skip(f"{V3} is absent (the v3 rows are never bundled; ENERGYLENS_SHARED_DATA points at a copy)")
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "video_frames_check.py")], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    omni = re.search(r"video-chat: mean (\S+x), (\S+x) over (\d+) configurations", out)
    every = re.search(r"every Qwen3-VL model: video-chat / image-chat (\S+x) over (\d+) configurations \(median (\S+x)\)", out)
    text = re.sub(r"\s+", " ", (ROOT / "docs" / "reference-tables.md").read_text(encoding="utf-8"))
    for figure in (f"Qwen3-Omni video is {omni[1]} that of", f"mean of the {omni[3]} configurations both ran, {omni[2]}",
                   f"video costs {every[1]} its image-chat ({every[2]} configurations", f"median {every[3]}"):
        assert figure in text, f"docs/reference-tables.md should read '{figure}' (`python bench/video_frames_check.py`)"


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_slo_curve_table_is_its_result_file(method):
    rows = {r["train_size"]: r for r in _json("evaluate_bundled_slo_curve")["summary"] if r["method"] == method}
    want = [f"{rows[n][k]:.3f}" for n in (50, 267) for k in ("top1", "top1_strict")]
    section = _section(EVALUATION, "### With a TPOT SLO of 0.1 s")
    table = section[section.index("curve, Top-1 (issue rule) / strict"):]
    assert _method_line(table, method) == want, "`energylens evaluate bundled --tpot-slo 0.1 --splits curve --json`"


def test_readme_sweep_comment_is_its_result_file():
    """The README's fast-path example quotes the 1e6-row sweep of bench/bench_public.py --only features."""
    r = next(r for r in _json("public_features")["predict_features"] if r["rows"] == 1_000_000)
    figure = f"{r['public_sweep_s']['median_s'] * 1e3:.1f} ms on 2 cores, {r['ratio_sweep_vs_numpy']['median']:.0f}x NumPy"
    assert figure in README, f"README should read '{figure}' (bench/results/public_features.json, rows 1e6)"


def test_readme_confidence_sentence_is_its_result_file():
    lv = _json("search_realism_confidence_rerun")["limit_confidence"]
    share = {p: 100 * lv[p]["pick_violates_measured_limit_share"] for p in ("0.5", "0.8", "0.9")}
    figure = (f"fall from {share['0.5']:.0f} % of groups to {share['0.8']:.1f} % at 0.8 and {share['0.9']:.1f} % at 0.9, "
              f"at the price of costlier picks (hit rate {lv['0.5']['top1_search']:.3f} -> {lv['0.8']['top1_search']:.3f} / "
              f"{lv['0.9']['top1_search']:.3f}) and fewer groups with any pick (no pick in {100 * lv['0.5']['no_pick_share']:.1f} % "
              f"-> {100 * lv['0.8']['no_pick_share']:.1f} % / {100 * lv['0.9']['no_pick_share']:.1f} %)")
    assert figure in re.sub(r"\s+", " ", README), f"README should read '{figure}'"


# ---- docs/model.md, accuracy round 8 -------------------------------------------------------------------

PRIOR_ROWS = {  # model.md's row label -> (section of prior_transfer.json, key without ' w=...')
    "v3 H100, bundled v2 prior, 10 rows": ("v3_prior_bundled", "n=10"),
    "v3 H100, bundled v2 prior, 20 rows": ("v3_prior_bundled", "n=20"),
    "v3 H100, bundled v2 prior, 50 rows": ("v3_prior_bundled", "n=50"),
    "v2 (bundled), prior fitted on all v3 rows, 20 rows": ("v2_prior_from_v3", "random n=20"),
    "v2, prior from v3, 50 rows": ("v2_prior_from_v3", "random n=50"),
    "v2 unseen batch (train on the small batches), prior from v3": ("v2_prior_from_v3", "unseen_batch n=50"),
    "v2 A100 + 5 H100 rows -> the other H100 rows, prior from v3":
        ("v2_prior_from_v3", "unseen_gpu A100-SXM4-40GB -> H100 80GB HBM3 n=50"),
    "v2 H100 + 5 A100 rows -> the other A100 rows, prior from v3":
        ("v2_prior_from_v3", "unseen_gpu H100 80GB HBM3 -> A100-SXM4-40GB n=50"),
}


def _round8() -> str:
    return _section((ROOT / "docs" / "model.md").read_text(encoding="utf-8"), "### Accuracy round 8")


@pytest.mark.parametrize("label", PRIOR_ROWS)
def test_model_round8_prior_table_is_its_result_file(label):
    """docs/model.md's round-8 table quoted the 2026-12-05 run of bench/prior_transfer.py after the code had moved
    63 of its values (v2 50 rows Top-1 0.789 where the command printed 0.788); found by the docs audit of
    2026-12-07, the file and the table rerun together."""
    data = _json("prior_transfer")
    section, key = PRIOR_ROWS[label]
    want = []
    for w in ("0", "0.01", "0.1"):
        m = data[section].get(f"{key} w={w}")
        want.append("(cannot fit 12 parameters)" if m is None else " / ".join(f"{m[k]:.3f}" for k in data["keys"]))
    got = [c.replace("**", "") for c in _method_line(_round8(), label)]
    assert got == want, "`python bench/prior_transfer.py` writes these (bench/results/prior_transfer.json)"


def test_model_round8_prior_coverage_and_costs_are_its_result_file():
    data = _json("prior_transfer")
    cov = data["coverage_v3_n50"]
    assert _method_line(_round8(), "v3 90 % interval coverage, 50 rows") == [
        f"{cov[f'w={w}']:.3f}" for w in ("0", "0.01", "0.1")]
    v2 = data["v2_prior_from_v3"]
    text = re.sub(r"\s+", " ", _round8())
    for key in ("random n=50", "unseen_gpu H100 80GB HBM3 -> A100-SXM4-40GB n=50"):
        off, on = (round(v2[f"{key} w={w}"]["top1"], 3) for w in ("0", "0.01"))  # the cost of the figures shown
        figure = f"{off - on:.3f} ({off:.3f} -> {on:.3f}"
        assert figure in text, f"docs/model.md round 8 should read '{figure}' (bench/results/prior_transfer.json)"


# ---- docs/discover.md and docs/robustness.md (audit of 2026-12-07) ------------------------------------------

def _flat(doc: str) -> str:
    return re.sub(r"\s+", " ", (ROOT / "docs" / doc).read_text(encoding="utf-8"))


def _speedups(rows: list[dict], expression: str, threads: int, key: str = "speedup") -> list[float]:
    return [r[key] for r in sorted(rows, key=lambda r: r["rows"]) if r["expression"] == expression
            and r["threads"] == threads]


def test_discover_quiet_box_rerun_is_its_result_file():
    """docs/discover.md's "Quiet-box rerun" paragraph quotes bench/results/expression.json and
    expression_floor.json (`python bench/bench_expression.py`, `python bench/expression_floor.py`)."""
    e = _json("expression")
    rows, template, short = e["evaluate"], "template energy formula", "short discovered-style formula"
    both = " / ".join(f"{x:.1f}x" for x in _speedups(rows, template, 2))
    one = " / ".join(f"{x:.1f}x" for x in _speedups(rows, template, 1))
    interp = " / ".join(f"{x:.1f}x" for x in _speedups(rows, template, 2, "speedup_interpreter"))
    ab = " / ".join(f"{r['median_ratio']:.2f}x" for r in e["ab_interpreter_vs_kernel_one_thread"])
    build, refit = e["kernel_build"][template], e["refit_50_rows"]
    short_both = _speedups(rows, short, 2)
    floor = _json("expression_floor")["results"]
    figures = [f"cores {both} at 1e3", f"one thread {one} (the interpreter: both cores {interp})",
               f"alternating rounds {ab} at", f"first compile {build['first_build_s']:.2f} s",
               f"cache hit {build['cache_hit_s']['median_s'] * 1e3:.1f} ms",
               f"refit of {refit['constants']} constants on 50 rows {refit['timing']['median_s'] * 1e3:.2f} ms",
               f"(kernel {min(short_both):.1f}x-{max(short_both):.1f}x on both cores)",
               f"at most {min(r['floor_ratio'] for r in floor):.1f}-{max(r['floor_ratio'] for r in floor):.1f}x",
               f"runs at {min(r['kernel_over_floor'] for r in floor):.2f}-{max(r['kernel_over_floor'] for r in floor):.2f}x"]
    text = _flat("discover.md")
    for figure in figures:
        assert figure in text, f"docs/discover.md should read '{figure}' (bench/results/expression.json)"


def test_discover_synthetic_recovery_row_is_its_result_file():
    d = _json("discover_synthetic")
    figure = (f"chosen held-out R^2 vs truth {d['chosen']['r2_vs_truth_heldout']:.5f}",
              f"complexity {d['chosen']['complexity']}), best on the front {d['best_r2_vs_truth']:.6f}")
    text = _flat("discover.md")
    for f in figure:
        assert f in text, f"docs/discover.md should read '{f}' (`python bench/discover_synthetic.py`)"


def test_robustness_memory_table_is_its_result_file():
    """docs/robustness.md's peak-memory table is bench/results/memory.json (`python bench/bench_memory.py`)."""
    labels = {"predict": "`EnergyModel.predict(df)`", "interval": "`EnergyModel.predict_interval(df)`",
              "evaluate": "`run_evaluation`"}
    text = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    for r in _json("memory")["results"]:
        cells = _cells(_table_line(text, labels[r["scenario"]]))
        assert cells[1:5] == [f"{r['rows']:.0e}".replace("e+0", "e"), f"{r['peak_rss_mb'] / 1000:.2f} GB",
                              f"{r['input_rss_mb'] / 1000:.2f} GB", f"{r['target_mb'] // 1024} GB"], r["scenario"]


def test_robustness_kill_table_is_its_result_file():
    """docs/robustness.md's kill table is bench/results/kill_outputs.json (`python bench/kill_outputs.py`)."""
    text = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    for command, s in _json("kill_outputs")["summary"].items():
        cells = _cells(_table_line(text, f"`{command} -o`" if command != "evaluate" else "`evaluate --report`"))
        assert cells[1:] == [str(s["absent"]), str(s["valid"]), str(s["INVALID"]), str(s["partial_leftovers"])], command


def test_discover_refit_and_jacobian_rows_are_its_result_file():
    """docs/discover.md's table rows "native refit" and "Jacobian evaluation" named `python bench/bench_expression.py`
    but quoted runs of 1 Dec (17 constants: 0.333 ms, 13 us) that bench/results/expression.json no longer holds (its
    rerun of 2 Dec, 19 constants: 0.330 ms, 8.8 us); found by the docs audit of 2026-12-07."""
    r = _json("expression")["refit_50_rows"]
    t, j = r["timing"], r["jacobian_eval"]
    text = _flat("discover.md")
    for figure in (f"{r['constants']} constants (the quiet-box rerun of 2 Dec, bench/results/expression.json): "
                   f"{t['median_s'] * 1e3:.3f} ms median ({t['min_s'] * 1e3:.3f}-{t['max_s'] * 1e3:.3f}, "
                   f"p90 {t['p90_s'] * 1e3:.3f}); CPU {r['cpu_s_per_fit'] * 1e3:.2f} ms; {r['iterations']} iterations",
                   f"{r['constants']} constants: {j['median_s'] * 1e6:.1f} us median"):
        assert figure in text, f"docs/discover.md should read '{figure}' (bench/results/expression.json)"


# ---- docs/model.md, accuracy round 12 ------------------------------------------------------------------

SHAPE_SETS = ("v3", "v2 NVIDIA A100-SXM4-40GB", "v2 NVIDIA H100 80GB HBM3")  # the table's columns, in order


@pytest.mark.parametrize("variant", ["template", "split_roofline", "vocab_seq", "vocab_sampler", "async_host"])
def test_model_round12_shape_table_is_its_result_file(variant):
    """docs/model.md's round-12 table (realism / held-out TPOT error, calibrated in brackets) is what
    `python bench/latency_shape_trials.py` writes (bench/results/latency_shape_trials.json)."""
    data = _json("latency_shape_trials")
    want = []
    for name in SHAPE_SETS:
        raw, cal = data[name][variant]["raw"], data[name][variant]["calibrated"]
        want.append(f"{raw['realism']:.3f} / {100 * raw['tpot_ape_median']:.1f} % "
                    f"({cal['realism']:.3f} / {100 * cal['tpot_ape_median']:.1f} %)")
    section = _section((ROOT / "docs" / "model.md").read_text(encoding="utf-8"), "### Accuracy round 12")
    assert _method_line(section, f"`{variant}`") == want, "rerun bench/latency_shape_trials.py and update both"
