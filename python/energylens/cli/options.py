"""What several commands do with their options and inputs when they run (not a command: ``cli/main.py`` does
not list it): register ``--gpu-table`` files, read profiles with progress and notes, name a command's inputs.

The argument types (``positive_int``, ``seed``, ``level``, ...), ``add_gpu_table_option``, ``add_prior_options``,
``PROFILES_HELP`` and ``DEFAULTS`` live in :mod:`energylens.cli.parsers.common` (the parsers import no pandas)
and are re-exported here.

``--gpu-table FILE`` (fit, predict, evaluate, search, discover): a user GPU table, a CSV with the columns of the bundled
``energylens/data/gpus.csv``, registered before the profiles are read so that a GPU the bundled table
lacks (or a bundled row's blank cells) can be described (docs/reference-tables.md, "User GPU tables").
``--model-table FILE`` (the same commands) does the same for models (``energylens/data/models.csv``'s columns;
docs/reference-tables.md, "Models the table lacks").
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

from energylens.cli.parsers.common import (
    DEFAULTS,
    PROFILES_HELP,
    add_gpu_table_option,
    add_model_table_option,
    add_prior_options,
    level,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    seed,
)
from energylens.discover.result import DiscoveryResult, load_discovery
from energylens.errors import ProfileSchemaError
from energylens.outputs import refuse_folder_name
from energylens.profiles import load_profiles_or_bundled
from energylens.profiles.files import READ_PROGRESS
from energylens.profiles.model_table import register_model_table
from energylens.profiles.tables import gpus, register_gpu_table

__all__ = ["read_discovery", "add_gpu_table_option", "add_model_table_option", "add_prior_options", "check_prior_options",
           "apply_gpu_tables", "apply_model_tables", "command_inputs",
           "read_profiles_with_rows", "note_assumed_inputs", "assumed_inputs_note", "note_test_power", "PROFILES_HELP", "refuse_folder_name",
           "positive_int", "nonnegative_float", "nonnegative_int", "seed", "positive_float", "level", "DEFAULTS"]


def check_prior_options(args: argparse.Namespace) -> None:
    """``--prior-weight`` without ``--prior`` is an error (exit 2)."""
    if args.prior_weight is not None and args.prior is None:
        raise ValueError("--prior-weight needs --prior (bundled or a model file)")


def apply_gpu_tables(args: argparse.Namespace) -> None:
    """Register every ``--gpu-table`` file (errors name the file, row and column) and say so on stderr
    (stdout may carry ``--json``)."""
    for path in getattr(args, "gpu_table", None) or []:
        specs = register_gpu_table(path)
        bundled = set(gpus()["name"])  # a row naming one only fills its blank cells: said, so no one thinks it won
        print(f"{path}: {len(specs)} GPU(s) registered: "
              + ", ".join(s.name + (" (the bundled row, its blank cells filled from this table)" if s.name in bundled
                                    else "") for s in specs), file=sys.stderr)
        if getattr(args, "command", None) == "fit" and specs:  # the model file holds parameters, no GPU
            print(f"{path}: {args.output} keeps no GPU table: pass --gpu-table {path} again to predict or search on "
                  f"{', '.join(s.name for s in specs)} with it", file=sys.stderr)
        if blank := [s.name for s in specs if s.vendor == "user"]:
            print(f"{path}: no vendor for {', '.join(blank)}: priced as neither NVIDIA's nor AMD's GPUs (no NCCL NVLS "
                  "buffers in the memory of TP > 2 on an NVLink switch, block-scaled fp8 at the fp8 rate); write nvidia, "
                  "amd or the maker in the vendor column", file=sys.stderr)


def apply_model_tables(args: argparse.Namespace) -> None:
    """Register every ``--model-table`` file (errors name the file, row and column; exit 2) and say so on stderr."""
    for path in getattr(args, "model_table", None) or []:
        specs = register_model_table(path)
        print(f"{path}: {len(specs)} model(s) registered: {', '.join(s.name for s in specs)}", file=sys.stderr)
        if getattr(args, "command", None) == "fit" and specs:  # the model file holds parameters, no model table
            print(f"{path}: {args.output} keeps no model table: pass --model-table {path} again to predict or search "
                  f"on {', '.join(s.name for s in specs)} with it", file=sys.stderr)


def command_inputs(args: argparse.Namespace, *names: str) -> list[str]:
    """Every file a command reads, for the output checks (no output may be one, no report folder may
    hold one): the arguments ``names`` of ``args``, a ``--prior`` model file, every ``--gpu-table`` and ``--model-table``."""
    out = [getattr(args, n) for n in names if getattr(args, n, None) is not None]
    prior = getattr(args, "prior", None)
    if prior is not None and prior != "bundled":
        out.append(prior)
    return out + list(getattr(args, "gpu_table", None) or []) + list(getattr(args, "model_table", None) or [])


def read_profiles_with_rows(path: str, *, require_energy: bool = True, command: str = "",
                            fits_energy: bool = True, progress: bool = True) -> pd.DataFrame:
    """The profiles of ``path`` (any recognised format, or a bundled name); an error naming the file when
    it has a header but no data rows (the library returns an empty frame; a command has nothing to do).
    With ``command``, input lengths a reader had to assume are said on stderr (:func:`note_assumed_inputs`), and
    with ``fits_energy`` too, energies a sweep took from a test power source (:func:`note_test_power`). With
    ``progress``, a large CSV's read says on stderr how far it has got (:func:`_read_printer`)."""
    token = READ_PROGRESS.set(_read_printer(command or "read") if progress else None)
    try:
        frame = load_profiles_or_bundled(path, require_energy=require_energy)
    except (EOFError, pd.errors.ParserError) as exc:  # a compressed file cut short, an unterminated quote: the
        # reader's own words name no file (and an EOFError was a traceback)
        raise ProfileSchemaError(f"{path}: could not read the file: {exc}", source=str(path)) from exc
    finally:
        READ_PROGRESS.reset(token)
    if len(frame) == 0:
        raise ProfileSchemaError(f"{path}: no data rows (the file has a header only)", source=str(path))
    if command:
        note_assumed_inputs(frame, path, command)
        if fits_energy:
            note_test_power(frame, path, command)
    return frame


def _read_printer(command: str):
    """``READ_PROGRESS`` for a command: a large CSV's read (energylens.profiles.files.LARGE_CSV_BYTES: 1e6 rows take
    ~5 s to read and check on 2 cores, silent until 2026-12-06) says on stderr that it started, how far it has got
    every 5 s at most, and when it is done."""
    state: dict[str, list[float]] = {}  # source -> [start, last line, 1.0 once said read]

    def report(src: str, done: int, total: int) -> None:
        now, size = time.perf_counter(), f"{total / 1e6:.0f} MB"
        if done == 0 or src not in state:
            state[src] = [now, now, 0.0]
            print(f"energylens {command}: reading {src} ({size}) ...", file=sys.stderr, flush=True)
            return
        t0, last, said = state[src]
        if said:
            return
        if done >= total:
            state[src][2] = 1.0
            print(f"energylens {command}: read {src} ({size} in {now - t0:.1f} s); checking its rows ...",
                  file=sys.stderr, flush=True)
        elif now - last >= 5.0:
            state[src][1] = now
            print(f"energylens {command}: read {done / 1e6:.0f} of {size} of {src} ({now - t0:.0f} s; about "
                  f"{(now - t0) * (total - done) / done:.0f} s left)", file=sys.stderr, flush=True)
    return report


def _true_cells(column: pd.Series) -> np.ndarray:
    """Where a flag column says true, whatever its type after a round trip through a CSV (True, "true", 1); any
    other cell (blank, False, a user's own text) is not a flag: the note never stops a command."""
    text = column.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "1.0"]).fillna(False).to_numpy(dtype=bool)


#: Power sources of ``energylens profile --power-source`` whose energies are not a measurement of the run.
TEST_POWER_SOURCES = ("synthetic", "replay")


def note_test_power(frame: pd.DataFrame, path: str, command: str) -> None:
    """One stderr line when a sweep's ``energy_j`` came from ``--power-source synthetic`` (a square wave) or
    ``replay:FILE`` (another run's trace): its rows say ``energy_measured`` True, and a fit on them described
    the test signal with nothing said."""
    if "power_source" not in frame or "energy_j" not in frame:
        return
    source = frame["power_source"].astype("string").fillna("")
    test = (source.str.split(":").str[0].isin(TEST_POWER_SOURCES).to_numpy(dtype=bool)
            & np.isfinite(frame["energy_j"].to_numpy(dtype=float)))
    if test.any():
        names = ", ".join(sorted(set(source[test])))
        print(f"energylens {command}: note: energy_j of {int(test.sum())} of {len(frame)} rows of {path} comes from "
              f"power source {names} (energylens profile --power-source): a test signal or a replayed trace, not "
              "power measured on the GPUs during the sweep", file=sys.stderr)


#: Flags the readers set on rows whose ``input_tokens`` they assumed because the export records no prompt
#: lengths: ML.ENERGY v3 (``input_tokens_assumed``) and v2, the bundled data (``input_tokens_nominal``).
ASSUMED_INPUT_FLAGS = ("input_tokens_assumed", "input_tokens_nominal")


def note_assumed_inputs(frame: pd.DataFrame, path: str, command: str) -> None:
    """One stderr line when ``input_tokens`` of some rows are a reader's per-task assumption, not a measurement,
    with the values per task as read. Prefill energy and TTFT scale with them, and an ML.ENERGY export's rows
    looked measured: only ``energylens demo`` said its lengths were nominal, while ``fit``, ``predict`` and
    ``evaluate`` on the same rows said nothing (docs/profile-schema.md gives each task's basis)."""
    text = assumed_inputs_note(frame, path)
    if text is not None:
        print(f"energylens {command}: note: {text}", file=sys.stderr)


def assumed_inputs_note(frame: pd.DataFrame, path: str) -> str | None:
    """What :func:`note_assumed_inputs` says (``evaluate --report`` writes it in report.md too), or None where every
    row's ``input_tokens`` was read, not assumed."""
    flags = [_true_cells(frame[c]) for c in ASSUMED_INPUT_FLAGS if c in frame]
    assumed = np.logical_or.reduce(flags) if flags else np.zeros(len(frame), dtype=bool)
    if not assumed.any():
        return None
    rows = frame.loc[assumed]
    tokens = rows["input_tokens"].astype(float)
    groups = rows["task"].astype(str) if "task" in rows else pd.Series("", index=rows.index)
    parts = []
    for task, values in tokens.groupby(groups, sort=False):
        low, high = values.min(), values.max()
        parts.append(f"{task} {low:g}".strip() if low == high else f"{task} {low:g}-{high:g}".strip())
    media = "modality" in rows and bool((rows["modality"].astype(str) != "text").any())
    n, total = int(assumed.sum()), len(frame)
    rows_of = ("the row" if total == 1 else f"all {total:,} rows") if n == total else f"{n:,} of {total:,} rows"
    return (f"input_tokens of {rows_of} of {path} {'is' if total == 1 else 'are'} assumed per task, not measured "
            "(the export records no prompt lengths): " + ", ".join(parts)
            + (" (image and video rows: the text plus the model's image or frame tokens)" if media else "")
            + "; prefill energy and TTFT rest on them (docs/profile-schema.md)")


def read_discovery(path: str) -> DiscoveryResult:
    """The discovery result of ``--expression`` (``energylens fit`` and ``energylens evaluate``); a ValueError naming
    the option and the file otherwise."""
    if not os.path.isfile(path):
        raise ValueError(f"--expression {path}: no such file (a discovery result: energylens discover -o FILE)")
    try:
        return load_discovery(path)
    except (ValueError, UnicodeDecodeError) as exc:
        hint = "" if "energylens discover -o" in str(exc) else "; --expression takes what energylens discover -o writes"
        if "'energylens.model'" in str(exc):  # a model file: the command that takes it
            hint += f"; {path} is a model file (energylens fit -o): energylens predict {path} CONFIGS -o OUT takes it"
        raise ValueError(f"--expression {path}: " + str(exc).removeprefix(f"{path}: ") + hint) from None
