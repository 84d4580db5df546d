"""``energylens evaluate``: ours against the baselines on identical splits (:mod:`energylens.compare`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energylens.cli.evaluate_coverage import coverage_level, print_coverage
from energylens.cli.evaluate_hints import PARTIAL as _PARTIAL
from energylens.cli.evaluate_hints import few_rows_hint as _few_rows_hint
from energylens.cli.evaluate_hints import print_failures as _print_failures
from energylens.cli.evaluate_worst import print_unshown_splits, print_worst
from energylens.cli.evaluate_worst import print_worst as _print_worst  # noqa: F401  (tests call it by this name)
from energylens.cli.fit import unread_latency_column, warn_latency_units, warn_poor_fit
from energylens.cli.options import (
    apply_gpu_tables,
    apply_model_tables,
    assumed_inputs_note,
    check_prior_options,
    command_inputs,
    read_profiles_with_rows,
)
from energylens.cli.parsers.evaluate import add_parser, command_line
from energylens.compare.methods import ClosedForm
from energylens.compare.names import resolved_name
from energylens.compare.registry import method_names, register_method, unregister_method
from energylens.compare.report import format_summary, write_report
from energylens.compare.report_plots import PLOTS
from energylens.compare.report_tables import OURS, command_run_time, paired_wins
from energylens.compare.result import worst
from energylens.compare.runner import CAUGHT, check_seed, run_evaluation
from energylens.compare.splits import DEFAULT_GROUP_BY, SPLIT_NAMES
from energylens.extras import require
from energylens.model import EnergyModel
from energylens.outputs import OutputError, atomic_dir, check_report_dir, plural
from energylens.profiles.datasets import mlenergy_v2

__all__ = ["add_parser", "run_evaluate", "failed_methods", "REPORT_FILES", "write_report_folder"]

#: The files of an evaluation report, each with how its first line starts ("" when not checked): a folder
#: holding only these (report.md ours), written before the report marker existed, may be replaced too.
REPORT_FILES = {"report.md": "# energylens evaluation", "summary.csv": "", "results.csv": "", "predictions.csv": "",
                **{name: "" for name, _ in PLOTS}}


def _split_list(s: str | None, option: str) -> list[str] | None:
    """Comma-separated names; an empty item (``task,,model``, a trailing comma) is an error naming ``option``."""
    if s is None:
        return None
    items = [x.strip() for x in s.split(",")]
    if not all(items):
        raise ValueError(f"{option} {s!r}: an empty item (a stray comma); give names separated by single commas")
    return items


def failed_methods(table) -> dict[str, str]:
    """Methods with a failed fit, each with its first error message: one with no finite metric in the
    headline split (``random``; every split where the evaluation has no random split), or one whose fit
    failed in some of the units of any split: a repeat, or a fold of a leave-one-out split (``detail``
    names it) ("failed in 2 of 29 folds of unseen_model: ..."; its figures average the others, so they
    are not comparable with a method scored on every fold)."""
    out: dict[str, str] = {}
    if table.empty:
        return out
    headline = (table["split"] == "random").any()
    unit_key = [c for c in ("split", "variant", "train_size", "repeat", "detail") if c in table.columns]
    for name, g in table.groupby("method", sort=False):
        head = g[g["split"] == "random"] if headline else g
        errs = g["error"].dropna().astype(str)
        errs = errs[errs != ""]
        first = errs.iloc[0] if len(errs) else "no group could be scored"
        scored = g[["top1", "pairs_concordant", "ape_sum"]].notna().any(axis=1)
        if not len(head) or not scored[head.index].any():
            out[str(name)] = first
            continue
        per_unit = scored.groupby([g[c] for c in unit_key], dropna=False).any()
        if not per_unit.all():
            failed = (~per_unit).groupby(level=0, sort=False).agg(["sum", "size"])
            parts = [f"{int(n)} of {int(m)} {'folds' if split.startswith('unseen') else 'splits'} of {split}"
                     for split, (n, m) in failed.iterrows() if n]
            out[str(name)] = f"{_PARTIAL}{', '.join(parts)}: {first}"
    return out


#: Why a split family can yield nothing on a data set (said when it did).
_EMPTY_SPLIT = {"unseen_gpu": "it holds out one GPU and needs rows of two GPUs or more",
                "unseen_model": "it holds out one model and needs two models or more",
                "unseen_batch": "it needs groups measured at two batch sizes or more",
                "curve": "it needs more rows than its smallest training size plus the held-out quarter",
                "random": "it needs more rows than --train-size"}


def run_evaluate(args: argparse.Namespace) -> int:
    """Run ``energylens evaluate`` from parsed arguments; returns the exit status: 2 when a method
    produced no score on the headline split or failed in some of its fits (the table and report are still
    written, the failure named), or every method failed (nothing written)."""
    t0 = time.perf_counter()  # the last line's run time: the command's (its comparison's share named there)
    check_seed(args.seed, args.repeats)  # before any work: its bound depends on --repeats (the runner checks it too)
    level = coverage_level(args, SPLIT_NAMES)
    _check_variant_names(args)
    expressions, about, legend = _expressions(args)  # --expression: its file and --pick, before any work
    _check_method_names(args, [*_extras_names(args), *expressions])
    inputs = command_inputs(args, "profiles")  # --prior, --gpu-table included
    if args.report:  # before any work: a folder that is not an earlier report of ours is refused, and the
        check_report_dir(args.report, inputs=inputs, known=REPORT_FILES)  # report's plots need matplotlib
        require("matplotlib", "compare", "the evaluation report's plots (--report)")
    apply_gpu_tables(args)
    apply_model_tables(args)  # before any model name is looked up
    profiles = read_profiles_with_rows(args.profiles, command="evaluate", progress=not args.no_progress)
    _check_prior_data(args, profiles)
    _check_slo(args, profiles)
    _check_units(profiles)
    group_by = _split_list(args.group_by, "--group-by") or DEFAULT_GROUP_BY
    _check_group_columns(profiles, group_by, args)  # then notes columns left blank
    asked = _split_list(args.splits, "--splits") or SPLIT_NAMES
    _check_rows_held_out(args, len(profiles), asked)
    with extra_methods({**_extras(args, len(profiles)), **expressions}, _split_list(args.methods, "--methods")) as names:
        names = _without_latency_proxy(args, profiles, names)
        res = run_evaluation(profiles, train_size=args.train_size,
                             repeats=args.repeats,
                             group_by=group_by,
                             tpot_slo_s=args.tpot_slo, seed=args.seed,
                             splits=asked,
                             method_names=names, progress=not args.no_progress, coverage=level)
    res.info["expressions"] = _expression_fits(about, res.info) if about else []  # (report, --json)
    res.info["assumed_inputs"] = assumed_inputs_note(profiles, args.profiles)  # (stderr said it; report.md did not)
    empty = _empty_splits(res, asked)
    if empty and len(empty) == len(asked):
        return 2
    failed = failed_methods(res.table)
    def hint() -> None:  # where our model had too few rows to fit: what to do (splits that ran, a usable prior)
        _few_rows_hint(res.table, failed, [s for s in asked if s not in empty], _prior_option(args, profiles))

    if failed and len(failed) == res.table["method"].nunique():
        _print_failures(failed)
        print("energylens evaluate: error: every method failed; nothing to report", file=sys.stderr)
        hint()
        return 2
    report_path, unwritten = None, None
    if args.report:
        try:
            report_path = write_report_folder(res, args.report, command=command_line(args), inputs=inputs,
                                              what="evaluate", started=t0)
        except OutputError as exc:  # (a full disk at the end of a long run): the results are printed, then the error
            unwritten = exc
    if res.info.get("command_runtime_s") is None:  # no report: to the results printed (report.md's figure otherwise)
        res.info["command_runtime_s"] = time.perf_counter() - t0
    if args.json:
        s = res.summary()
        info = {k: v for k, v in res.info.items() if k != "notes"}
        info["report"] = str(report_path) if report_path else None
        info["failed_methods"] = failed
        worst_of = {by: json.loads(worst(res.table, OURS, by).to_json(orient="records")) for by in ("task", "group")}
        paired = json.loads(paired_wins(res).to_json(orient="records"))  # wins out of <metric>_repeats
        print(json.dumps({"info": info, "summary": json.loads(s.to_json(orient="records")), "worst": worst_of,
                          "paired": paired}, indent=1))
    else:
        print(format_summary(res, explain=True) + (f"\n{legend}" if legend else ""))
        print_worst(res.table, res.info.get("tpot_slo"))
        print_coverage(res.info)
        print_unshown_splits(res.table, report_path)
        print(command_run_time(res.info) + (f"; report: {report_path}" if report_path else ""))
    if failed:  # the table and report are kept, but the comparison asked for is incomplete
        _print_failures(failed)
        hint()
    if unwritten is not None:
        raise unwritten
    return 2 if failed else 0


def _empty_splits(res, asked: list[str]) -> list[str]:
    """The splits asked for that gave nothing on this data, said on stderr (an error where that is all of them) and
    kept with the reason in ``res.info["empty_splits"]`` (report.md and --json; stderr alone said it)."""
    empty = [s for s in asked if res.table.empty or not (res.table["split"] == s).any()]
    res.info["empty_splits"] = {s: _EMPTY_SPLIT.get(s, "no split could be drawn") for s in empty}
    if empty:
        why = "; ".join(f"{s}: {w}" for s, w in res.info["empty_splits"].items())
        print(f"energylens evaluate: {'error' if len(empty) == len(asked) else 'note'}: nothing to evaluate on "
              f"this data for {', '.join(empty)} ({why})", file=sys.stderr)
    return empty


def _expressions(args: argparse.Namespace) -> tuple[dict[str, Callable[[int, object], Any]], list[dict], str]:
    """``--expression``'s methods, what each is and the legend under the table
    (:mod:`energylens.cli.evaluate_expression`, imported only then: it loads SymPy); ``--pick`` without
    ``--expression`` is a ValueError."""
    if args.expression is None:
        if args.pick is not None:
            raise ValueError(f"--pick {args.pick}: picks a front expression of --expression DISCOVERY.json, which "
                             "was not given")
        return {}, [], ""
    require("sympy", "sr", "energylens evaluate --expression (a discovered expression)")
    from energylens.cli.evaluate_expression import expression_methods
    return expression_methods(args)


def _expression_fits(about: list[dict], info: dict) -> list[dict]:
    """Each discovered row's description with the share of its fits that converged per split family, a note on
    stderr where some did not (:func:`energylens.cli.evaluate_expression.with_convergence`)."""
    from energylens.cli.evaluate_expression import with_convergence
    return with_convergence(about, info)


def _check_variant_names(args: argparse.Namespace) -> None:
    """A variant of ours named in --methods without the option that adds it ('energylens+prior' without --prior)
    is a ValueError naming that option: it read "unknown method(s) ['energylens+prior']; known: [...]"."""
    for name in _split_list(args.methods, "--methods") or ():
        parts = name.split("+")
        if parts[0] != OURS or len(parts) < 2 or name in _extras_names(args):
            continue
        keys, prior = parts[1:-1] if parts[-1] == "prior" else parts[1:], parts[-1] == "prior"
        if len(keys) > 1 or (keys and keys[0] not in ("family", "model")):
            continue  # no such variant: the registry's "unknown method"
        needs = [f"--calibrate {k}" for k in keys] + ["--prior bundled|MODEL.json"] * prior
        raise ValueError(f"--methods {name}: a variant of {OURS} added by {' and '.join(needs)}; give "
                         f"{'that option' if len(needs) == 1 else 'those options'} too")


def _check_method_names(args: argparse.Namespace, added: list[str]) -> None:
    """A --methods name that is no method (nor a variant or expression the options add) is a ValueError naming
    the option, before the profiles are read: it was refused only after they were read and fitted for the unit
    checks, as "unknown method(s) ['foo']", naming no option."""
    names = _split_list(args.methods, "--methods") or []
    known = [*method_names(), *added]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"--methods {args.methods}: unknown method(s) {unknown}; known: {', '.join(known)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:  # the registry refused them too, but only after the profiles were read and fitted
        raise ValueError(f"--methods {args.methods}: {', '.join(repeated)} named more than once; name each once")


def _extras_names(args: argparse.Namespace) -> list[str]:
    """The names of the variants of ours the options add (:func:`_extras`' keys, without its checks)."""
    cal = [f"{OURS}+{args.calibrate}"] if args.calibrate else []
    return cal + ([f"{OURS}+prior", *(f"{c}+prior" for c in cal)] if args.prior is not None else [])


def _check_group_columns(profiles, group_by: list[str], args: argparse.Namespace) -> None:
    """A --group-by column the profiles lack is a ValueError naming the option and the file (the runner's
    "unknown group column(s) [...]" named neither); columns every row or some rows leave blank are noted."""
    missing = [c for c in group_by if c not in profiles.columns]
    if missing:
        raise ValueError(f"--group-by {args.group_by}: {args.profiles} has no column "
                         f"{', '.join(map(repr, missing))}; its columns: {sorted(map(str, profiles.columns))}")
    _note_blank_group_columns(profiles, group_by, args.profiles)


def _note_blank_group_columns(profiles, group_by: list[str], path: str) -> None:
    """A --group-by column every row leaves blank (a table without ``task``, the default's first column) groups
    nothing: said on stderr, since each choice is then among configurations of every workload of a (model, GPU),
    and the worst-task list had one blank label."""
    filled = {c: profiles[c].astype("string").fillna("").str.strip().astype(bool).to_numpy()
              for c in group_by if c in profiles}
    blank = [c for c, f in filled.items() if not f.any()]
    if blank:
        rest = [c for c in group_by if c not in blank]
        print(f"energylens evaluate: note: every row of {path} leaves {', '.join(blank)} blank, so the choices are "
              f"among the rows of one ({', '.join(rest) or 'table'}) whatever their workload (--group-by)",
              file=sys.stderr)
    for c, f in filled.items():  # some rows blank: they form groups of their own ('(no task)' in the lists)
        if f.any() and not f.all():
            rows = (np.flatnonzero(~f) + 1).tolist()
            print(f"energylens evaluate: note: {len(rows)} of {len(f)} rows of {path} leave {c} blank (rows, "
                  f"1-based: {rows[:10]}{' ...' if len(rows) > 10 else ''}): they are ranked only among "
                  f"themselves, as '(no {c})', not with the rows of any {c} (--group-by)", file=sys.stderr)


def _check_rows_held_out(args: argparse.Namespace, n_rows: int, splits: list[str]) -> None:
    """A --train-size (the default 50 too) that leaves no row of the random split held out: a ValueError naming
    the option and a size that works (it said "train size 50 leaves no held-out rows ... choose a train size
    below 30", naming no option to a user who had given none)."""
    if n_rows < 2:  # (the runner's error read "the profiles have 1 row", naming no file)
        raise ValueError(f"{args.profiles} has {plural(n_rows, 'row')}: every split needs at least 2, one to train "
                         "on and one to hold out")
    if "random" not in splits or args.train_size < n_rows:
        return
    default = " (the default)" if args.train_size == 50 else ""
    n_params = len(EnergyModel().param_names)  # not below the model's parameters where the rows allow (13 rows: 12)
    size = max((3 * n_rows) // 4, min(n_params, n_rows - 1), 1)
    others = ",".join(s for s in SPLIT_NAMES if s != "random")
    raise ValueError(f"--train-size {args.train_size}{default} leaves no held-out rows for the random split: "
                     f"{args.profiles} has {plural(n_rows, 'row')}; give --train-size below {n_rows} (e.g. {size}"
                     f"{', three quarters of them' if size == (3 * n_rows) // 4 else ''}), or leave the random split out "
                     f"(--splits {others})")


def _without_latency_proxy(args: argparse.Namespace, profiles, names: list[str] | None) -> list[str] | None:
    """latency_proxy ranks by the measured TPOT. On profiles where no row has one it failed in every split and the
    run ended in 'error: method latency_proxy produced no score' (exit 2) for a file without the optional tpot_s:
    left out of the default methods with a note; named in --methods, a ValueError before any work. Where only some
    rows leave tpot_s blank it failed in every split holding one out, found after the whole run (exit 2 all the
    same): a ValueError before any work, naming the rows and the remedies."""
    tpot = profiles["tpot_s"].to_numpy(dtype=float) if "tpot_s" in profiles else np.full(len(profiles), np.nan)
    blank = ~np.isfinite(tpot)
    if not blank.any() or (names is not None and "latency_proxy" not in names):
        return names
    without = [n for n in (names if names is not None else method_names()) if n != "latency_proxy"]
    if not blank.all():
        rows = (np.flatnonzero(blank) + 1).tolist()
        raise ValueError(f"{args.profiles}: {len(rows)} of {plural(len(tpot), 'row')} leave tpot_s blank (data rows, "
                         f"1-based: {', '.join(map(str, rows[:10]))}{' ...' if len(rows) > 10 else ''}), and "
                         "latency_proxy ranks configurations by the measured TPOT, so it would fail in every split "
                         "holding one of them out; fill tpot_s there, remove those rows, or leave latency_proxy out "
                         f"(--methods {','.join(without)})")
    if names is not None:
        raise ValueError(f"--methods latency_proxy: no row of {args.profiles} has a measured TPOT (column tpot_s), "
                         "which latency_proxy ranks configurations by; add tpot_s (seconds per output token) or "
                         "leave latency_proxy out of --methods")
    print(f"energylens evaluate: note: no row of {args.profiles} has a measured TPOT (column tpot_s): latency_proxy, "
          f"which ranks by it, is left out, and Top-1 @TPOT is n/a{unread_latency_column(profiles)}", file=sys.stderr)
    return without


def _check_slo(args: argparse.Namespace, profiles) -> None:
    """A --tpot-slo that no measured row meets leaves Top-1 and regret under it n/a: said before the run."""
    if args.tpot_slo is None:
        return
    tpot = profiles["tpot_s"].to_numpy(dtype=float) if "tpot_s" in profiles else np.full(len(profiles), np.nan)
    if not np.isfinite(tpot).any():
        raise ValueError(f"--tpot-slo {args.tpot_slo:g}: {args.profiles} has no measured TPOT (column tpot_s), so "
                         "no configuration can be checked against the SLO; drop --tpot-slo or add tpot_s")
    if not (tpot <= args.tpot_slo).any():
        print(f"energylens evaluate: warning: --tpot-slo {args.tpot_slo:g} s: no row of {args.profiles} has a "
              f"measured TPOT within it (the lowest is {np.nanmin(tpot):.4g} s), so Top-1 and regret under the SLO "
              "will be n/a; raise it", file=sys.stderr)


def _check_units(profiles) -> None:
    """``energylens fit``'s unit checks before the run, its own functions on a fit of the energylens model on
    every row (bootstrap off, tens of milliseconds): energy_j in Wh or mJ (a training MAPE above 0.5 with
    parameters at their bounds) and tpot_s / ttft_s in milliseconds, which otherwise only showed as poor
    figures. A fit that fails says nothing here (the run names the failure)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the run warns of the same rows itself
            model = EnergyModel(bootstrap=0).fit(profiles)
    except CAUGHT:
        warn_latency_units(profiles, None, command="evaluate")
    else:
        s, lat = model.summary, model.latency_model
        if s is not None:
            warn_poor_fit(model, s.train_mape, command="evaluate", percent=True,
                          fitted="energylens fitted on every row before the run: ")
        warn_latency_units(profiles, lat.summary.train_mape if lat is not None and lat.summary else None,
                           command="evaluate", latency=lat)


def write_report_folder(res, folder: str | Path, *, command: str, inputs=(), what: str = "evaluate",
                        started: float | None = None) -> Path:
    """Write the evaluation report into ``folder`` atomically (an earlier report there is replaced, with a
    note on stderr; anything else there is kept, see :func:`energylens.outputs.atomic_dir`); returns
    its report.md. ``started``: the command's start (``time.perf_counter()``), for report.md's run time."""
    replaced = Path(folder).is_dir() and any(Path(folder).iterdir())
    with atomic_dir(folder, inputs=inputs, known=REPORT_FILES) as tmp:
        write_report(res, tmp, command=command, started=started)
    if replaced:
        print(f"energylens {what}: replaced the earlier report in {folder}", file=sys.stderr)
    return Path(folder) / "report.md"


def _extras(args: argparse.Namespace, n_rows: int) -> dict[str, Callable[[int, object], ClosedForm]]:
    """The opt-in variants of ours the options ask for: name -> factory(seed, gpu_spec)."""
    out: dict[str, Callable[[int, object], ClosedForm]] = {}
    if args.calibrate is not None:
        name, key = f"{OURS}+{args.calibrate}", args.calibrate
        out[name] = lambda seed, _gpu, name=name: ClosedForm(name=name, seed=seed, calibration=key)
    check_prior_options(args)
    _check_train_size(args, n_rows)
    if args.prior is not None:  # resolved once (a model file is read here, not per fit)
        opts = {k: EnergyModel(prior=args.prior, prior_weight=args.prior_weight).options[k]
                for k in ("prior", "prior_weight")}
        out[f"{OURS}+prior"] = lambda seed, _gpu: ClosedForm(name=f"{OURS}+prior", seed=seed, model_options=opts)
        if args.calibrate is not None:  # both options together, as `energylens fit --prior ... --calibrate ...`
            both = f"{OURS}+{args.calibrate}+prior"
            out[both] = lambda seed, _gpu: ClosedForm(name=both, seed=seed, calibration=args.calibrate,
                                                      model_options=opts)
    return out


#: What identifies a measured row of the bundled data in other profiles: the same configuration labels
#: (model and GPU under any spelling, TP, PP) and batch size and energy within :data:`_COPY_RTOL` (a copy
#: rounded to two decimals, or to whole joules, is still a copy; only unrounded copies were caught before).
_COPY_LABELS = ("model", "gpu", "tp", "pp")
_COPY_VALUES = ("batch_size", "energy_j")
_COPY_RTOL = 0.01


def _copy_keys(df) -> pd.DataFrame:
    """The labels and values of :data:`_COPY_LABELS` / :data:`_COPY_VALUES` (names resolved), by position."""
    out = pd.DataFrame({c: [resolved_name(v, c) for v in df[c].astype(str)] for c in ("model", "gpu")})
    for c in ("tp", "pp", *_COPY_VALUES):
        out[c] = df[c].to_numpy(dtype=float)
    return out


def _bundled_copies(profiles) -> np.ndarray:
    """Per row of ``profiles``, whether it is a row of the bundled data (:data:`_COPY_LABELS`, :data:`_COPY_VALUES`)."""
    theirs = _copy_keys(profiles).reset_index(drop=True)
    theirs["row"] = np.arange(len(theirs))
    pairs = theirs.merge(_copy_keys(mlenergy_v2()), on=list(_COPY_LABELS), suffixes=("", "_b"))
    close = np.ones(len(pairs), dtype=bool)
    for c in _COPY_VALUES:
        a, b = pairs[c].to_numpy(dtype=float), pairs[f"{c}_b"].to_numpy(dtype=float)
        close &= np.abs(a - b) <= _COPY_RTOL * np.abs(b)
    out = np.zeros(len(theirs), dtype=bool)
    out[pairs["row"].to_numpy()[close]] = True
    return out


def _check_prior_data(args: argparse.Namespace, profiles) -> None:
    """``--prior bundled`` on profiles holding rows of the bundled data (a copy of its CSV under another
    name, the shared ML.ENERGY v2 file, rounded or with GPUs and models spelled otherwise): the prior was
    fitted on rows it would be scored on. Checked by content, not by the name 'bundled' alone."""
    if args.prior != "bundled":
        return
    if args.profiles == "bundled":
        raise ValueError("--prior bundled on the bundled rows: the prior was fitted on the rows it would be scored "
                         "on; evaluate other profiles, or pass a prior fitted on other data (a model file)")
    theirs = _bundled_copies(profiles)
    shared = int(np.sum(theirs))
    if shared:
        first = int(np.flatnonzero(theirs)[0]) + 1
        raise ValueError(f"--prior bundled: {shared} of the {len(profiles)} rows of {args.profiles} are measurements "
                         f"of the bundled data the prior was fitted on (the first: data row {first}; the same model, "
                         f"GPU, TP and PP, batch size and energy within {_COPY_RTOL:.0%}), so its scores would be "
                         "fitted on rows they are scored on; evaluate other profiles, or pass a prior fitted on other "
                         "data (a model file)")


def _check_train_size(args: argparse.Namespace, n_rows: int) -> None:
    """ValueError (exit 2, before any work) for a ``--train-size`` below the parameters of our model when the
    random split is run with a variant of ours that fits them without a prior: each of its fits would fail. With
    ``n_rows`` profiles no more than the parameters, no train size serves (it advised "--train-size 12 or more",
    which the next run refused as leaving no held-out rows)."""
    n_params = len(EnergyModel().param_names)
    names = _split_list(args.methods, "--methods")
    plain = [m for m in (OURS, f"{OURS}+{args.calibrate}" if args.calibrate else None)
             if m is not None and (names is None or m in names or m != OURS)]  # --calibrate's variant always runs
    if args.train_size >= n_params or not plain or "random" not in (_split_list(args.splits, "--splits") or SPLIT_NAMES):
        return
    use = (f"Use --train-size {n_params} or more, or" if n_rows > n_params else
           f"The profiles have {plural(n_rows, 'row')}, too few to train on {n_params} and hold any out:")
    raise ValueError(
        f"--train-size {args.train_size} is below the {n_params} parameters of the energylens model: without a "
        f"prior its fit needs at least {n_params} training rows (about 50 are recommended), so {', '.join(plain)} "
        f"would fail on every random split. {use} leave {' and '.join(plain)} "
        f"out (--methods: baselines, or energylens+prior with --prior bundled|MODEL.json"
        f"{'; without --calibrate' if args.calibrate else ''})")


@contextlib.contextmanager
def extra_methods(extras: dict[str, Callable[[int, object], ClosedForm]],
                  names: list[str] | None) -> Iterator[list[str] | None]:
    """Each of ``extras`` (name -> factory) registered for the block and added to ``names`` (after
    'energylens') unless ``names`` already names it (``--methods energylens+prior --prior ...``, which the
    --train-size error recommends, was refused as naming it twice); yields the method names to run (None: the
    default methods plus those registered)."""
    for name, factory in extras.items():
        register_method(name, factory)
    try:
        added = [name for name in extras if names is None or name not in names]
        if names is None or not added:
            yield names
        else:
            at = names.index(OURS) + 1 if OURS in names else len(names)
            yield [*names[:at], *added, *names[at:]]
    finally:
        for name in extras:
            unregister_method(name)


def _prior_option(args: argparse.Namespace, profiles) -> str:
    """The --prior a hint may advise: not 'bundled' on rows of the bundled data, which the run would refuse."""
    own = args.profiles == "bundled" or bool(_bundled_copies(profiles).any())
    return "--prior MODEL.json (a model fitted on other data)" if own else "--prior bundled|MODEL.json"
