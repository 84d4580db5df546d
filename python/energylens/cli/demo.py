"""``energylens demo``: the main job on the bundled real data (ML.ENERGY v2, Apache-2.0).

Fits the 12-parameter closed form on ``--train-size`` random measured configurations (50 by default), prints
the parameters with their meaning, the accuracy on the held-out rows, the energy-optimal configuration of each (task,
model, GPU) group next to the one a latency-first choice makes, the comparison against the baselines on
identical splits (``energylens evaluate``), writing the full report to a folder, and ends with one
configuration search (``energylens search``) with the fitted model and its top 5. Every
number it prints is computed in the run (tests/cli/test_demo.py changes the training size and checks).
Needs the ``demo`` extra (the comparison's learned baselines and plots).
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from energylens.cli.evaluate import REPORT_FILES, write_report_folder
from energylens.cli.parsers.demo import DEMO_MIN_TRAIN_SIZE, DEMO_REPEATS, add_parser
from energylens.cli.search import print_result
from energylens.compare.metrics import score_groups
from energylens.compare.report import format_summary
from energylens.compare.runner import check_seed, run_evaluation
from energylens.extras import require_extra
from energylens.model import EnergyModel
from energylens.outputs import OutputError, check_report_dir, plural
from energylens.profiles.datasets import (
    MLENERGY_V2_NOMINAL_PROMPT_TOKENS,
    load_profiles_or_bundled,
    mlenergy_v2,
)
from energylens.search import search

__all__ = ["add_parser", "run_demo", "choices_table", "demo_comparison", "demo_search_command", "process_age"]

GROUP_BY = ("task", "model", "gpu")
def _config_label(row: pd.Series) -> str:
    return f"TP{int(row['tp'])} PP{int(row['pp'])} B{int(round(row.get('max_batch_size', row['batch_size'])))}"


def choices_table(profiles: pd.DataFrame, energy_pred: np.ndarray, tpot: np.ndarray) -> pd.DataFrame:
    """Per (task, model, GPU) group: the configuration the model picks, the measured optimum and the
    latency-first pick (lowest TPOT), each with its measured energy per request."""
    df = profiles.reset_index(drop=True).copy()
    df["_pred"] = energy_pred
    df["_tpot"] = tpot
    rows = []
    for key, g in df.groupby(list(GROUP_BY), sort=True):
        if len(g) < 2:
            continue
        ours = g.loc[g["_pred"].idxmin()]
        best = g.loc[g["energy_j"].idxmin()]
        fast = g.loc[g["_tpot"].idxmin()]
        rows.append({
            "task": key[0], "model": str(key[1]).split("/")[-1], "gpu": key[2], "candidates": len(g),
            "energylens_choice": _config_label(ours), "energylens_j": float(ours["energy_j"]),
            "measured_best": _config_label(best), "best_j": float(best["energy_j"]),
            "latency_first": _config_label(fast), "latency_first_j": float(fast["energy_j"]),
        })
    out = pd.DataFrame(rows)
    if len(out):
        out["energylens_regret_pct"] = 100.0 * (out["energylens_j"] / out["best_j"] - 1.0)
        out["latency_first_regret_pct"] = 100.0 * (out["latency_first_j"] / out["best_j"] - 1.0)
    return out


def _cmd_demo(args: argparse.Namespace) -> int:
    """Options of the comparison with --no-compare, which skips it, are errors: they were accepted and ignored."""
    if args.no_compare:
        given = [o for o, v in (("--report", args.report), ("--repeats", args.repeats)) if v is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} {'is an option' if len(given) == 1 else 'are options'} of "
                             "the closing comparison, which --no-compare skips: drop one of them")
    age = process_age()  # the last line's run time is the command's: its imports and checks included
    return run_demo(seed=args.seed, train_size=args.train_size, report_dir=args.report or "energylens-report",
                    repeats=args.repeats or DEMO_REPEATS, compare=not args.no_compare,
                    started=None if age is None else time.perf_counter() - age)


def process_age() -> float | None:
    """Seconds since this process started (Linux: /proc/self/stat's start time against /proc/uptime, 10 ms
    ticks), or ``None`` where the system does not say (or says a negative age, as a container's own uptime may)."""
    try:
        with open("/proc/self/stat", encoding="ascii", errors="replace") as f:
            start_ticks = int(f.read().rpartition(")")[2].split()[19])  # field 22, starttime; comm may hold spaces
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):  # no /proc (macOS, Windows), no sysconf
        return None
    return age if age >= 0 else None


_FIT_STATUS_WORDS = {  # the optimiser's FitStatus names (cpp/src/least_squares.cpp), said to a reader
    "converged_gradient": "the gradient vanished",
    "converged_cost": "the cost stopped falling",
    "converged_step": "the steps became negligible",
    "max_iterations": "the iteration budget ran out first",
    "no_progress": "no step lowered the cost further",
    "non_finite": "the residuals were not finite at the start",
}


def fit_status_words(status: str, converged: bool) -> str:
    """A fit's status as a reader says it: "converged (the cost stopped falling)", not "converged_cost"."""
    return f"{'converged' if converged else 'NOT converged'} ({_FIT_STATUS_WORDS.get(status, status)})"


def _fit(data: pd.DataFrame, seed: int, train_size: int, say) -> tuple[EnergyModel, pd.DataFrame]:
    """Fit on ``train_size`` random rows; print the parameters; return the model and the held-out rows."""
    rng = np.random.default_rng(seed)
    train_idx = np.sort(rng.choice(len(data), size=train_size, replace=False))
    test_mask = np.ones(len(data), dtype=bool)
    test_mask[train_idx] = False
    model = EnergyModel(seed=seed).fit(data.iloc[train_idx])
    s = model.summary
    assert s is not None
    say(f"\nfitted {model.template_id} on {train_size} random rows (seed {seed}): "
        f"{fit_status_words(s.status, s.converged)}, "
        f"{s.iterations} iterations, {s.fit_seconds * 1e3:.0f} ms with {s.bootstrap_converged}/{s.bootstrap_replicates} "
        "bootstrap refits")
    say(f"{'parameter':<24} {'value':>10}  {'90% interval':>21}  meaning [unit]")
    unset = set(s.unidentified)
    for p in model.params.values():
        ci = (f"{'[not identified]':>22}" if p.name in unset else f"{'[no interval]':>22}" if not s.identifiable
              else f"[{p.ci_low:>9.3g}, {p.ci_high:>9.3g}]")
        say(f"{p.name:<24} {p.value:>10.4g}  {ci}  {p.description} [{p.unit}]")
    if not s.identifiable:
        say(f"no intervals: {s.n_distinct_configs} distinct configurations for {len(model.params)} parameters do "
            "not identify them (--train-size above the parameter count gives intervals)")
    if unset:
        one = len(unset) == 1
        say(f"not identified: {', '.join(sorted(unset))} (the training rows never exercise "
            f"{'it: its start value' if one else 'them: start values'}, no interval; docs/model.md)")
    return model, data[test_mask]


def _held_out(model: EnergyModel, test: pd.DataFrame, say) -> None:
    """Accuracy on the rows the fit did not see, and the predicted prefill share."""
    per_group = score_groups(test, model.predict(test, check_range=False), GROUP_BY)  # held out on purpose
    mape = float(per_group["ape_sum"].sum() / per_group["n_rows"].sum())  # per cent, as the comparison's MAPE %
    top1 = per_group["top1"].dropna()
    pairs = int(per_group["pairs_total"].sum())
    top1_text = f"{top1.mean():.3f}" if len(top1) else "n/a"  # no group with two held-out rows
    pairwise = f"{per_group['pairs_concordant'].sum() / pairs:.3f}" if pairs else "n/a (no pairs)"
    say(f"\nheld-out accuracy on the other {len(test)} row{'' if len(test) == 1 else 's'}: MAPE {mape:.1f} %, Top-1 {top1_text} "
        f"over {len(top1)} (task, model, GPU) groups, pairwise ranking {pairwise}")
    phases = model.predict_phases(test, check_range=False)
    share = float(np.median(phases["prefill_energy_j_pred"] / phases["energy_j_pred"]))
    say(f"median predicted prefill share of energy per request: {share:.1%}")


def _choices(model: EnergyModel, data: pd.DataFrame, train_size: int, compare: bool, say) -> None:
    """Energy-optimal choice per group over all measured candidates, next to latency-first."""
    table = choices_table(data, model.predict(data, check_range=False), data["tpot_s"].to_numpy())
    say(f"\nenergy-optimal configuration per (task, model, GPU) group ({len(table)} groups with >= 2 "
        "configurations); energy in J per request, measured:")
    cap = "the server's batch cap (max_batch_size)" if "max_batch_size" in data else "the batch size"  # _config_label's
    say("  energylens pick: the group's configuration with the lowest predicted energy; latency-first pick: its "
        f"lowest measured TPOT; B: {cap}; lowest J: the group's lowest measured energy (its measured optimum); "
        "saved: how much less measured energy the energylens pick uses, in % of the latency-first pick's")
    say(f"{'task':<10} {'model':<30} {'gpu':<14} {'energylens pick':<16} {'J':>8} {'lowest J':>8} "
        f"{'latency-first pick':<18} {'J':>8} {'saved':>6}")
    for _, r in table.iterrows():
        saved = 100.0 * (1.0 - r["energylens_j"] / r["latency_first_j"])
        say(f"{r['task']:<10} {r['model'][:30]:<30} {str(r['gpu']).replace('NVIDIA ', '')[:14]:<14} {r['energylens_choice']:<16} "
            f"{r['energylens_j']:>8.1f} {r['best_j']:>8.1f} {r['latency_first']:<18} {r['latency_first_j']:>8.1f} {saved:>5.0f}%")
    if not len(table):
        return
    agree = float(np.mean(table["energylens_choice"] == table["measured_best"]))
    say(f"energylens picks the measured optimum in {agree:.0%} of groups (median regret "
        f"{table['energylens_regret_pct'].median():.1f}%, mean {table['energylens_regret_pct'].mean():.1f}%); latency-first in "
        f"{np.mean(table['latency_first'] == table['measured_best']):.0%} (median regret "
        f"{table['latency_first_regret_pct'].median():.1f}%, mean {table['latency_first_regret_pct'].mean():.1f}%; regret: the pick's measured energy "
        "above the group's lowest, in %).")
    say(f"  (fit on {train_size} rows; groups include the training rows, so this table is in-sample for those "
        "rows: the held-out numbers above" + (" and the comparison below are" if compare else " are")
        + " the out-of-sample ones)")


def run_demo(*, seed: int = 0, train_size: int = 50, report_dir: str = "energylens-report", repeats: int = 5,
             compare: bool = True, out: TextIO | None = None, started: float | None = None) -> int:
    """``energylens demo``: fit, held-out accuracy, choices per group, then the comparison. ``started``: the
    ``time.perf_counter()`` the last line's run time counts from (the command: its process's start); else this call."""
    t0 = time.perf_counter() if started is None else started
    def say(text: str = "") -> None:  # sys.stdout looked up per call, not bound when the module was imported
        print(text, file=out or sys.stdout, flush=True)

    if compare:  # before any work: the closing comparison's seed bound, baselines, plots and report folder
        check_seed(seed, repeats)  # (its methods are seeded seed * 1000 + repeat, below 2**63)
        require_extra("demo", "the comparison energylens demo ends with")
        check_report_dir(report_dir, known=REPORT_FILES)  # and a folder it may write its report to
    data = mlenergy_v2().reset_index(drop=True)
    if train_size < DEMO_MIN_TRAIN_SIZE:  # before any output; the fit's own error offers a prior demo has not
        raise ValueError(f"--train-size {train_size}: the demo fits the energy model's {DEMO_MIN_TRAIN_SIZE} "
                         f"parameters on these rows; use at least {DEMO_MIN_TRAIN_SIZE} (default 50)")
    if train_size >= len(data):  # before any output: some rows must stay held out
        raise ValueError(f"--train-size {train_size}: the bundled data has {len(data)} rows and the demo scores "
                         f"the rows it did not fit on; use at most {len(data) - 1} (default 50)")
    say(f"energylens demo: ML.ENERGY Leaderboard v2 (Chung et al., NeurIPS 2025 D&B; Apache-2.0), "
        f"{len(data)} measured vLLM configurations, {data['model'].nunique()} models, "
        f"{plural(data['gpu'].nunique(), 'GPU type')} ({', '.join(sorted(g.replace('NVIDIA ', '') for g in data['gpu'].unique()))}), "
        f"tasks {', '.join(sorted(data['task'].unique()))}.")
    say("  input lengths are not recorded upstream: nominal prompt tokens per task "
        + ", ".join(f"{k} {v:g}" for k, v in MLENERGY_V2_NOMINAL_PROMPT_TOKENS.items()) + " (image-chat adds image tokens)")
    model, test = _fit(data, seed, train_size, say)
    _held_out(model, test, say)
    _choices(model, data, train_size, compare, say)
    if compare:
        say(f"\ncomparison with the baselines on identical splits ({plural(repeats, 'repeat')} of {train_size} training rows, "
            "each its own random draw, not the fit above: its energylens row need not match the held-out figures above):")
        try:
            say(demo_comparison(report_dir, repeats=repeats, seed=seed, train_size=train_size,
                                profiles=data, progress=True, started=t0))
        except OutputError as exc:  # the report could not be written: the comparison's table is still shown
            if getattr(exc, "table", ""):
                say(exc.table)
            raise
    _search(model, say)
    say(f"\ndemo finished in {time.perf_counter() - t0:.0f} s")
    return 0


#: The demo's closing search: Llama-3.1-70B on three GPU generations at a 100 ms TPOT limit.
DEMO_SEARCH = {"model": "meta-llama/Llama-3.1-70B-Instruct", "gpus": "H100,H200,B200", "input_tokens": 512,
               "output_tokens": 256, "tpot_limit_s": 0.1}


def demo_search_command() -> str:
    """The closing search as an ``energylens search`` command line (the model fitted in the demo aside)."""
    options = {"model": "--model", "gpus": "--gpus", "input_tokens": "--input-tokens",
               "output_tokens": "--output-tokens", "tpot_limit_s": "--tpot-limit"}
    return "energylens search " + " ".join(f"{options[k]} {v}" for k, v in DEMO_SEARCH.items()) + f" --top {DEMO_TOP}"


#: The rows the closing search prints.
DEMO_TOP = 5


def _search(model: EnergyModel, say) -> None:
    """One search with the demo's fitted model; prints its top 5 (``energylens search``'s table)."""
    say(f"\nconfiguration search with this model ({demo_search_command()}, the model fitted above as --model-file):")
    result = search(DEMO_SEARCH["model"], DEMO_SEARCH["gpus"], input_tokens=DEMO_SEARCH["input_tokens"],
                    output_tokens=DEMO_SEARCH["output_tokens"], tpot_limit_s=DEMO_SEARCH["tpot_limit_s"],
                    top=DEMO_TOP, energy_model=model)
    lines = io.StringIO()
    print_result(result, out=lines)
    say(lines.getvalue().rstrip())


def demo_command_line(seed: int, train_size: int, repeats: int, report_dir: str | Path) -> str:
    """``energylens demo`` with each option that differs from its default, quoted for a POSIX shell: the command
    the report names (it said "energylens demo (repeats=5)", dropping the seed and training size)."""
    words = ["energylens", "demo"]
    for option, value, default in (("--seed", seed, 0), ("--train-size", train_size, 50),
                                   ("--repeats", repeats, DEMO_REPEATS), ("--report", str(report_dir), "energylens-report")):
        words += [option, str(value)] if value != default else []
    return shlex.join(words)


def demo_comparison(report_dir: str | Path = "energylens-report", *, repeats: int = 5,
                    seed: int = 0, train_size: int = 50, progress: bool = True,
                    profiles: pd.DataFrame | None = None, started: float | None = None) -> str:
    """The comparison ``energylens demo`` ends with: bundled data, report written to ``report_dir``
    (atomically, as ``energylens evaluate --report``: an existing folder must be empty or an earlier report).
    ``started``: the demo's ``time.perf_counter()`` at its start (as its last line counts); report.md then gives
    the demo's time to the report written beside the comparison's.

    Returns the text to print: a short table (one line per method) and where the report went.
    """
    check_report_dir(report_dir, known=REPORT_FILES)  # before the work, as energylens evaluate --report
    df = profiles if profiles is not None else load_profiles_or_bundled("bundled")
    res = run_evaluation(df, train_size=train_size, repeats=repeats, seed=seed, progress=progress)
    if started is not None:  # report.md's run time is the demo's, labelled as such (not evaluate's command)
        res.info["command_runtime_of"] = "demo"
    table = format_summary(res)
    try:
        path = write_report_folder(res, report_dir, command=demo_command_line(seed, train_size, repeats, report_dir),
                                   what="demo", started=started)
    except OutputError as exc:  # (a full disk): the caller shows the table before the error, nothing computed is lost
        exc.table = table
        raise
    return table + f"\nfull comparison (its fits and scoring {res.info['runtime_s']:.0f} s; each column defined under its first table): {path}"
