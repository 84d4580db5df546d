"""``energylens discover``: symbolic regression over profiles to a scored Pareto front (JSON, report).

:mod:`energylens.discover` needs the ``sr`` extra (pyoperon, SymPy, matplotlib), so it is imported when the
command runs, not when the parser is built: ``energylens --help`` works without the extra, and running
``discover`` without it names the ``pip install`` to run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from energylens.cli.options import (
    apply_gpu_tables,
    apply_model_tables,
    command_inputs,
    refuse_folder_name,
)
from energylens.cli.parsers.common import TEMPLATE_PARAMETERS
from energylens.cli.parsers.discover import add_parser
from energylens.errors import OutputError
from energylens.extras import require
from energylens.outputs import (
    announce_written,
    atomic_dir,
    atomic_file,
    check_output_path,
    check_report_dir,
    current_umask,
    energylens_json,
    existing_file,
)

__all__ = ["add_parser", "REPORT_FILES"]

#: The files of a discovery report, each with how its first line starts ("" when not checked): a folder
#: holding only these (discovery.md ours), written before the report marker existed, may be replaced too.
REPORT_FILES = {"discovery.md": "# Structure discovery", "discovery.json": "", "front.png": ""}

#: What the CV column is (energy targets; the residual target), as the table and the report say it.
CV_NOTE = ("CV%: the 5-fold cross-validated mean |relative error| on the training rows",
           "CV%: the 5-fold cross-validated mean |error| of the log-correction g on the training rows (x 100; about "
           "a relative error)")


def _print_table(result) -> None:
    """The front next to the template, what the marks, the CV column and the variables are, and how the search
    ended (the '*' row was chosen by a CV error the table did not show)."""
    from energylens.discover import heldout_counts, recounted_note, shown

    print(f"backend: {result.backend} ({result.backend_reason})")
    t = result.template
    print(f"{'':>3} {'cplx':>4} {'R^2':>8} {'Top-1':>6} {'TPxPP':>6} {'pair':>6} {'MAPE%':>7} {'CV%':>7}  expression")

    def scores(d: dict) -> str:  # "n/a" where the held-out rows allow no such choice
        return (f"{shown(d['r2'], '.4f'):>8} {shown(d['top1'], '.3f'):>6} {shown(d['parallelism_top1'], '.3f'):>6} "
                f"{shown(d['pairwise'], '.3f'):>6} {shown(d['mape'], '.2f'):>7}")
    print(f"{'T':>3} {'-':>4} {scores(t)} {'-':>7}  template ({TEMPLATE_PARAMETERS} parameters)")
    for i, e in enumerate(result.front):
        star = "*" if i == result.chosen else " "
        print(f"{i:>2}{star} {e.complexity:>4} {scores(e.heldout)} {shown(100 * e.cv_error, '.2f'):>7}  {e.expression}")
    if result.front:  # the row marks were unexplained
        print(f"T: the template fitted on the same training rows; *: the chosen expression "
              f"({result.chosen}: the lowest cross-validated error on the training rows, CV%); R^2 ... MAPE%: on the "
              f"held-out rows; {CV_NOTE[result.target == 'residual']}")
    if recounted_note(result):
        print(f"complexity: {recounted_note(result)}")
    if heldout_counts(t):
        print(f"{heldout_counts(t)} ({result.n_heldout} held-out rows)")
    print("variables: " + "; ".join(f"{k} = {v}" for k, v in result.variables.items()))
    print(f"search: {result.search['note']}; {result.seconds:.1f} s in all")


def _cmd_discover(args: argparse.Namespace) -> int:
    inputs = command_inputs(args, "profiles")  # --gpu-table files included
    refuse_folder_name(args.output)
    check_output_path(args.output, inputs=inputs, formats=("JSON", (".json",)),
                      replaces=("a discovery result (energylens discover -o)", energylens_json("energylens.discovery")))
    if args.report:  # before any work: a folder that is not an earlier report of ours is refused
        check_report_dir(args.report, inputs=inputs, outputs=[args.output], known=REPORT_FILES)
    require("sympy", "sr", "energylens discover (SymPy fronts)")
    if args.report:  # before any work (without it, the report's import was a traceback after the search)
        require("matplotlib", "sr", "energylens discover --report (the front plot)")
    from energylens.discover import select_backend

    select_backend(args.backend)  # (a light import: no SymPy) a missing backend is said before any work
    if not args.quiet:  # before the import of SymPy and the model (1-3 s), the profiles' reading and the fit
        print(f"discover: reading {args.profiles}, fitting the template ({TEMPLATE_PARAMETERS} parameters) on the "
              "training rows",
              file=sys.stderr, flush=True)
    try:
        result, stop = _run(args)
    except KeyboardInterrupt as exc:  # before a front was found: said so (it read 'finished outputs were kept')
        exc.stopped_detail = NOTHING_KEPT
        raise
    result.settings["gpu_tables"] = list(args.gpu_table)  # what the profiles' GPUs were read with (a rerun needs it)
    result.settings["model_tables"] = list(args.model_table)  # and their models
    _print_table(result)
    unscored = result.search.get("unscored", [])
    total = len(result.front) + len(result.dropped) + len(unscored) + len(result.merged)
    if result.merged:  # (each took a row of the table and a place on the front)
        print(f"note: {len(result.merged)} of the front's {total} expressions merged into another entry, the same "
              "expression up to its constants or the same predictions on every row: "
              + "; ".join(f"complexity {m['complexity']} into {m['into']}" for m in result.merged)
              + " (listed under 'merged' in the result file)")
    if result.dropped:
        print(f"note: {len(result.dropped)} of the front's {total} expressions are "
              "left out: no fit of their constants gives a finite error on the training rows (listed under "
              "'dropped' in the result file)")
    if unscored:
        print(f"note: {len(unscored)} of the front's {total} expressions were not scored (the run was interrupted): "
              "listed under 'unscored' in the result file's 'search'")
    if result.residual_test:
        r = result.residual_test
        unknown = [k for k, key in (("Top-1", "top1_not_lower"), ("pairwise", "pairwise_not_lower")) if r[key] is None]
        print(f"residual term: MAPE {r['mape_template']:.2f} -> {r['mape_with_term']:.2f} % "
              f"({100 * r['mape_cut_relative']:.1f} % cut), adopt: {r['adopt']}"
              + (f" ({' and '.join(unknown)} n/a on the held-out rows: no group offers a choice, so the term "
                 "cannot be shown not to lower them)" if unknown else ""))
    where, failed = _write_result(result, args)
    if args.report:
        replaced = Path(args.report).is_dir() and any(Path(args.report).iterdir())
        from energylens.discover import write_report  # (needs matplotlib: only with --report)

        try:
            with atomic_dir(args.report, inputs=[args.profiles], outputs=[args.output], known=REPORT_FILES) as tmp_dir:
                written = write_report(result, tmp_dir)
        except OutputError as exc:  # (the result's own failure, and where it was kept, still said)
            if failed is None:
                raise
            raise OutputError(f"{failed}; the report was not written either: {exc}") from None
        print(f"wrote {Path(args.report) / Path(written).name}")
        if replaced:
            print(f"energylens discover: replaced the earlier report in {args.report}", file=sys.stderr)
    if stop is not None:  # written: now the exit status of the interrupt (130, or 143 for SIGTERM)
        stop.stopped_detail = _kept(result, args, where) + (f"; {failed}" if failed is not None else "")
        raise stop
    if failed is not None:  # (exit 2: the file asked for was not written; the result is kept)
        raise failed
    return 0


def write_fsynced(path: str | os.PathLike, text: str) -> None:
    """``text`` in the file ``path``, flushed to the disk (a full disk may refuse it only at the flush)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _keep_elsewhere(text: str) -> Path | None:
    """The result in a new file (``energylens-discovery-*.json``) of the current folder, else of the temporary
    folder; None where neither takes it."""
    for folder in dict.fromkeys([Path.cwd(), Path(tempfile.gettempdir())]):
        try:
            fd, name = tempfile.mkstemp(prefix="energylens-discovery-", suffix=".json", dir=folder)
        except OSError:
            continue
        os.close(fd)
        try:
            write_fsynced(name, text)
            os.chmod(name, 0o666 & ~current_umask())  # (mkstemp makes 0600)
            return Path(name)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(name)
    return None


def _write_result(result, args: argparse.Namespace) -> tuple[str, OutputError | None]:
    """Where the result went (``-o``, a kept copy or standard output) and, where ``-o`` could not be written after the
    run (a disk that filled during the search, /dev/full), the error saying where the result is instead: before
    2026-12-07 it was lost, after the table had been printed."""
    text = result.to_json()
    replaced = existing_file(args.output)
    try:
        with atomic_file(args.output) as tmp:
            write_fsynced(tmp, text)
    except OutputError as exc:
        kept = _keep_elsewhere(text)
        if kept is None:  # the last place left: the run's output
            print(text, flush=True)
            return "standard output", OutputError(
                f"{exc}; no folder took a copy of the result (the current one, {tempfile.gettempdir()}), so it was "
                "printed on standard output above: save it from there")
        out = Path(args.output)
        move = "" if out.exists() and not out.is_file() else f" (once it can be written: mv {kept} {args.output})"
        return str(kept), OutputError(f"{exc}; the result was kept in {kept} instead{move}")
    announce_written(args.output, replaced, command="discover")
    return str(args.output), None


#: How a run stopped before its search's first round ended says what it kept (the command line's closing line).
NOTHING_KEPT = ("; nothing was written: the run was stopped before the search's first round ended (from then on, "
                "Ctrl-C keeps the front found so far)")


def _run(args: argparse.Namespace) -> tuple[Any, BaseException | None]:
    """(the discovery result, the interrupt that stopped its search or scoring, or None)."""
    from energylens.discover import DiscoveryInterrupted, discover

    apply_gpu_tables(args)  # the profiles may name GPUs only a user table describes
    apply_model_tables(args)  # and models only a user model table describes
    try:
        return discover(args.profiles, target=args.target, backend=args.backend, max_complexity=args.max_complexity,
                        time_budget_s=args.time_budget, seed=args.seed, train_size=args.train_size,
                        generations=args.generations, population=args.population, progress=not args.quiet), None
    except DiscoveryInterrupted as exc:  # what the search found is still printed and written (it was lost)
        return exc.result, exc.cause


def _kept(result, args: argparse.Namespace, output: str) -> str:
    """What an interrupted run kept (``output``: where its result went), and how to reproduce or extend it, for the
    command line's closing line."""
    where = output + (f" and the report in {args.report}" if args.report else "")
    unscored = len(result.search.get("unscored", []))
    if result.search.get("stopped_by") == "interrupt":
        what = f"; the front found so far is in {where} ({result.search['note']})"
    else:
        what = f"; the search had ended ({result.search['note']}), and the front scored so far is in {where}"
    return what + (f"; {unscored} of its expressions were not scored (under 'unscored' there)" if unscored else "")
