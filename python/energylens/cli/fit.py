"""``energylens fit``: fit the closed-form energy (and latency) model on measured profiles, write JSON.

The output path is checked before the fit (never one of the inputs, a writable file path) and written
atomically. A missing ``energy_j`` column with a close match (``Energy_J``) is an error with "did you
mean"; the latency model alone is fitted only with ``--latency-only`` or when no energy-like column
exists, and the command says so.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
import time

import numpy as np
import pandas as pd

from energylens.cli.options import (
    apply_gpu_tables,
    apply_model_tables,
    check_prior_options,
    command_inputs,
    read_profiles_with_rows,
    refuse_folder_name,
)
from energylens.cli.parsers.fit import add_parser
from energylens.extras import require
from energylens.model import EnergyModel, LatencyModel
from energylens.model.closed_form import ENERGY_TPOT_WEIGHT
from energylens.model.fit_options import BOOTSTRAP_PROGRESS
from energylens.outputs import announce_written, check_output_path, energylens_json, existing_file, plural
from energylens.profiles.header import OTHER_TOOL_ENERGY, WINDOW_ENERGY_COLUMNS

__all__ = ["add_parser", "energy_column_hint", "NOT_IDENTIFIED", "print_params", "print_design", "warn_poor_fit",
           "fit_reporting", "announce_long_fit"]


def _bound_side(p) -> str:
    """"lower" or "upper" where a fitted parameter ended at that bound of its physical range, else ""."""
    span = p.upper - p.lower
    tol = 1e-9 * span if math.isfinite(span) else 0.0  # (an expression's constants are unbounded: inf <= inf)
    return ("lower" if math.isfinite(p.lower) and abs(p.value - p.lower) <= tol else
            "upper" if math.isfinite(p.upper) and abs(p.value - p.upper) <= tol else "")


#: A parameter's interval where the rows hold no more distinct configurations than parameters: the bootstrap's
#: spread is no measure of what the data pin down (20 copies of one row gave zero-width intervals).
NOT_IDENTIFIED = "[no interval: not identified]"


def print_params(model, prior: str | None = None) -> None:
    """The parameter table; ``prior``: the --prior the fit was pulled toward (an unidentified one sits at its value)."""
    unset = set(model.summary.unidentified)
    at_bound = 0
    print(f"  {'parameter':<24} {'value':>11}  [90 % interval of the bootstrap refits]  unit")
    for p in model.params.values():
        ci = ("[not identified]" if p.name in unset else NOT_IDENTIFIED if not model.summary.identifiable
              else f"[{p.ci_low:.3g}, {p.ci_high:.3g}]" if math.isfinite(p.ci_low)
              else "[no interval: fewer than 10 bootstrap refits]")
        side = "" if p.name in unset else _bound_side(p)
        bound = f"  (at its {side} bound)" if side else ""
        at_bound += bool(side)
        print(f"  {p.name:<24} {p.value:>11.4g}  {ci}  {p.unit}{bound}")
    if at_bound:
        print(f"  {at_bound} parameter(s) at a bound of their physical range: the data would push them past it, "
              "so the value and its interval stop at the bound")
    moving = set(getattr(model.summary, "undetermined", ()))  # (rows depend on them, but fix only a combination)
    if unset - moving:
        source = (f"the prior's value (--prior {prior})" if prior is not None else
                  "where the fit started it (the template's start value or one of --starts' perturbed ones)")
        print(f"  not identified: no training row depends on {', '.join(sorted(unset - moving))}; the value is {source}, "
              "not a measurement, and predictions that depend on it rest on that value")
    if moving:
        print(f"  not identified: the training rows do not determine {', '.join(sorted(moving))} (they move together "
              "without changing a prediction on those rows); the value is one of many that fit equally well")


def print_design(s) -> None:
    """Duplicates and the sample size the intervals use (warnings say when the design is degenerate)."""
    gpus = getattr(s, "gpus", ())  # (the GPUs decide where a prediction carries the fit to another GPU)
    on = (f" on {plural(len(gpus), 'GPU')} ({', '.join(gpus)}: predict flags rows on any other, "
          "column unseen_gpu)") if gpus else ""
    print(f"  data: {s.n_rows} rows{on}, {s.n_duplicate_rows} exact duplicates, {s.n_distinct_rows} distinct rows "
          f"(the intervals' sample size), {s.n_distinct_configs} distinct configurations"
          + ("" if s.identifiable else "; parameters NOT identified, no prediction intervals"))


#: The energy columns ``energylens predict`` writes: a table holding them is predictions, never profiles to fit.
PREDICTED_ENERGY = ("energy_j_pred", "energy_j_lo", "energy_j_hi", "prefill_energy_j_pred", "decode_energy_j_pred")


def energy_column_hint(columns) -> str | None:
    """The column a user probably meant as ``energy_j`` (case or spelling), or None."""
    names = [str(c) for c in columns if str(c) not in ("energy_j", "energy_measured")]  # (a sweep's True/False flag)
    lowered = {n.lower(): n for n in names}
    if "energy_j" in lowered:
        return lowered["energy_j"]
    close = difflib.get_close_matches("energy_j", list(lowered), n=1, cutoff=0.75)
    if close:
        return lowered[close[0]]
    energy_like = [n for n in names if "energy" in n.lower() or "joule" in n.lower()]
    return energy_like[0] if energy_like else None


#: A unit word in an energy column's name -> what it holds and the conversion to joules (the first that matches).
_ENERGY_UNITS = (("kwh", "kWh: x 3.6e+06"), ("wh", "Wh: x 3600"), ("kj", "kJ: x 1000"),
                 ("kilojoules", "kJ: x 1000"), ("mj", "mJ (/ 1000) or MJ (x 1e+06)"), ("millijoules", "mJ: / 1000"),
                 ("uj", "uJ: / 1e+06"), ("microjoules", "uJ: / 1e+06"))


def _energy_conversion(column: str) -> str | None:
    """How to turn ``column`` into energy_j (J per request) where its name says another unit (energy_wh) or per
    token (ML.ENERGY v3's energy_per_token_joules); None for a name that reads as joules per request."""
    words = [w for w in re.split(r"[^a-z0-9]+", column.lower()) if w]
    convert = []
    unit = next((how for word, how in _ENERGY_UNITS if word in words), None)
    if unit is not None:
        convert.append(f"its name says {unit}")
    if "token" in words or "tok" in words or "per_token" in column.lower():
        convert.append("it is per token: x output_tokens for a request's")
    return "; ".join(convert) or None


def _no_latency_reason(profiles: pd.DataFrame) -> str:
    """Why a fit without --no-latency has no latency model, naming a column that looks like TTFT / TPOT under
    another name (``tpot_ms``, ``median_itl_ms``): such a column was ignored without a word."""
    if _measured(profiles, "ttft_s") or _measured(profiles, "tpot_s"):
        return "too few TTFT / TPOT measurements for its parameters (the warning above); predictions get no TTFT / TPOT"
    return "no ttft_s / tpot_s measurements, so predictions get no TTFT / TPOT" + unread_latency_column(profiles)


def unread_latency_column(profiles: pd.DataFrame) -> str:
    """'; column 'tpot_ms' is not read: ...' for the first column of numbers that looks like TTFT / TPOT under
    another name (``tpot_ms``, ``median_itl_ms``), '' without one: fit and evaluate say it where they find no
    ttft_s / tpot_s."""
    alike = [str(c) for c in profiles.columns if str(c) not in ("ttft_s", "tpot_s")
             and any(k in str(c).lower() for k in ("ttft", "tpot", "itl"))
             and np.isfinite(pd.to_numeric(profiles[c], errors="coerce").to_numpy(dtype=float)).any()]  # numbers
    if not alike:
        return ""
    return (f"; column {alike[0]!r} is not read: ttft_s (time to first token) and tpot_s (time per output token) "
            "are seconds; rename it (divided by 1000 if it is milliseconds) to fit the latency model")


def _measured(profiles: pd.DataFrame, column: str) -> bool:
    return column in profiles and bool(np.isfinite(profiles[column].to_numpy(dtype=float)).any())


def _check_mode_options(args: argparse.Namespace, profiles: pd.DataFrame, latency_only: str | None) -> None:
    """An option the fit would ignore is an error naming why (exit 2): the energy model's options when only
    the latency model is fitted (``latency_only``: the reason), the latency model's with --no-latency or
    without any TTFT / TPOT measured, --tpot-weight without a measured TPOT."""
    given = [o for o, v in (("--calibrate", args.calibrate), ("--prior", args.prior),
                            ("--prior-weight", args.prior_weight), ("--tpot-weight", args.tpot_weight)) if v is not None]
    if latency_only is not None and given:
        raise ValueError(f"{', '.join(given)}: option(s) of the energy model, which is not fitted ({latency_only})")
    if args.calibrate_latency is not None and latency_only is None:
        if args.no_latency:
            raise ValueError("--calibrate-latency calibrates the latency model, which --no-latency skips: drop one")
        if not (_measured(profiles, "ttft_s") or _measured(profiles, "tpot_s")):
            raise ValueError(f"--calibrate-latency: {args.profiles} has no ttft_s / tpot_s measurement, so no "
                             "latency model is fitted")
    if args.tpot_weight is not None and args.tpot_weight > 0 and not _measured(profiles, "tpot_s"):
        raise ValueError(f"--tpot-weight {args.tpot_weight:g}: {args.profiles} has no tpot_s measurement to weigh")


def _fit_latency_only(args: argparse.Namespace, profiles: pd.DataFrame, opts: dict, why: str) -> int:
    _check_mode_options(args, profiles, why)
    lat = LatencyModel(**opts, calibration=args.calibrate_latency)
    profiles.attrs["file_rows"] = True  # as the energy fit: an error names the file and its data rows
    fit_reporting(lat, profiles, announce_long_fit(len(profiles), args.bootstrap, models="latency model"),
                  where=args.profiles)
    ls = lat.summary
    assert ls is not None
    print(f"{args.profiles}: {why}; fitted the latency model only")
    print(f"fitted {lat.template_id} on {ls.n_measurements} TTFT/TPOT measurements of {ls.n_rows} rows: "
          f"{ls.status}, training MAPE {ls.train_mape:.3f}")
    warn_latency_units(profiles, ls.train_mape, latency=lat)
    print_design(ls)
    print_params(lat)
    if lat.calibration is not None:
        print("\n".join(lat.calibration.describe()))
    print(lat.describe_prefill_stall())
    replaced = existing_file(args.output)
    lat.save(args.output)
    announce_written(args.output, replaced, command="fit")
    return 0


def _energy(args: argparse.Namespace, profiles: pd.DataFrame) -> np.ndarray | None:
    """The energy_j column, or None when the fit is latency-only; errors for a likely misspelling."""
    energy = (profiles["energy_j"].to_numpy(dtype=float) if "energy_j" in profiles
              else np.full(len(profiles), np.nan))
    if not np.isfinite(energy).any():
        predicted = [c for c in PREDICTED_ENERGY if c in profiles.columns]
        if predicted:
            raise ValueError(f"{args.profiles}: a table energylens predict wrote: its {', '.join(predicted)} are "
                             "predictions, not measurements, and its energy_j is empty; fit on the measured "
                             "profiles (energy_j in J per request)")
        measured = [c for c in profiles.columns
                    if pd.to_numeric(profiles[c], errors="coerce").notna().any()]  # columns the file filled
        hint = energy_column_hint(measured)
        if hint is not None and hint.lower() in WINDOW_ENERGY_COLUMNS:  # Zeus's, CodeCarbon's: a window's total
            raise ValueError(f"{args.profiles}: no energy_j measurements; column {hint!r} is {OTHER_TOOL_ENERGY}; "
                             "or pass --latency-only to fit the latency model alone")
        if hint is not None:
            convert = _energy_conversion(hint)
            todo = (f"Convert it to J per request ({convert}) and name it energy_j" if convert
                    else "Rename it to energy_j (J per request)")
            raise ValueError(f"{args.profiles}: no energy_j measurements; did you mean column {hint!r}? {todo}, or "
                             "pass --latency-only to fit the latency model alone")
        return None
    if not np.isfinite(energy).all():
        missing = np.flatnonzero(~np.isfinite(energy))[:20].tolist()
        raise ValueError(f"{args.profiles}: column energy_j is missing in data rows {[r + 1 for r in missing]} "
                         "(1-based); fit on rows that all have it, or pass --latency-only")
    return energy


#: Training MAPE above which `fit` warns (the real data sets of docs/model.md fit to about a quarter of it).
POOR_FIT_MAPE = 0.5


def warn_poor_fit(model, train_mape: float, *, command: str = "fit", fitted: str = "", percent: bool = False) -> None:
    """A warning on stderr (as ``energylens {command}``; ``fitted``: what was fitted, before "training MAPE")
    when the training error is large, naming the parameters pinned at a bound of their physical range: the
    usual sign of measurements in other units (mJ, Wh) or rows that disagree. ``percent``: the MAPE and its
    limit in percent, as ``energylens evaluate``'s table has it (a fraction, as ``energylens fit`` prints it)."""
    if not train_mape > POOR_FIT_MAPE:
        return
    pinned = [p.name for p in model.params.values() if _bound_side(p)]
    mape = f"{100 * train_mape:.3g} % is above {100 * POOR_FIT_MAPE:g} %" if percent else \
        f"{train_mape:.3g} is above {POOR_FIT_MAPE:g}"
    print(f"energylens {command}: warning: {fitted}training MAPE {mape}"
          + (f"; {len(pinned)} parameters ended at a bound of their physical range ({', '.join(pinned)})" if pinned
             else "")
          + ": check that energy_j is in joules per request (not mJ, Wh or per token) and that the rows measure "
          "one kind of thing", file=sys.stderr)


#: Slowest plausible time per output token of a served LLM (s): slower suggests milliseconds read as seconds.
SLOWEST_TPOT_S = 2.0


def warn_latency_units(profiles, latency_mape: float | None, *, command: str = "fit", latency=None,
                       energy_tpot_weight: float = 0.0) -> None:
    """A warning on stderr (as ``energylens {command}``) when the latency columns look like milliseconds (TPOT above a couple of seconds
    per token, a median TTFT above half an hour, or a fitted ``latency`` model whose prefill ended at its slowest:
    eta_prefill at its lower bound and prefill_batch_factor at its upper one) or the latency fit is poor: TPOT
    feeds the energy fit too, so both suffer without a word."""
    slow = {}
    for col, limit in (("tpot_s", SLOWEST_TPOT_S), ("ttft_s", 1000 * SLOWEST_TPOT_S)):
        if col in profiles.columns:
            v = profiles[col].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if v.size and float(np.median(v)) > limit:
                slow[col] = float(np.median(v))
    if slow:
        print(f"energylens {command}: warning: " + ", ".join(f"median {c} is {v:g} s" for c, v in slow.items())
              + ": no served LLM takes that long " + " or ".join({"tpot_s": "per output token",
                                                                  "ttft_s": "to its first token"}[c] for c in slow)
              + "; is it in milliseconds? (the columns are seconds: divide by 1000)"
              + (f"; the energy model was fitted on them too (TPOT weight {energy_tpot_weight:g}): fix the column, "
                 "or pass --tpot-weight 0 to fit energy without them" if "tpot_s" in slow and energy_tpot_weight > 0
                 else ""), file=sys.stderr)
    elif _prefill_at_slowest(latency):
        print(f"energylens {command}: warning: the measured ttft_s is slower than the latency model's slowest "
              "prefill reaches (eta_prefill at its lower bound, prefill_batch_factor at its upper one): is it in "
              "milliseconds? (the columns are seconds: divide by 1000) Or it holds queueing, which the model does "
              "not price", file=sys.stderr)
    elif latency_mape is not None and latency_mape > POOR_FIT_MAPE:
        print(f"energylens {command}: warning: the latency model's training MAPE {latency_mape:.3g} is above "
              f"{POOR_FIT_MAPE:g}: check that tpot_s / ttft_s are in seconds and that the rows measure one kind of "
              "thing (TPOT also feeds the energy fit)", file=sys.stderr)


def _prefill_at_slowest(latency) -> bool:
    """A latency model fitted on measured TTFT whose prefill efficiency ended at its lower bound and its batching
    factor at its upper one: the slowest prefill it can price, short of the measured TTFT."""
    if latency is None or not getattr(latency, "ttft_fitted", False) or latency.summary is None:
        return False
    params = latency.params
    sides = {name: _bound_side(params[name]) for name in ("eta_prefill", "prefill_batch_factor") if name in params}
    return sides == {"eta_prefill": "lower", "prefill_batch_factor": "upper"}


#: Rows x (1 + bootstrap refits) above which `fit` says up front what it is doing (about 10 s on 2 cores).
LONG_FIT_ROW_FITS = 4_000_000


def _bootstrap_printer():
    """``BOOTSTRAP_PROGRESS`` for a long fit: each model's finished refits on stderr every 5 s at most, and
    when all are done."""
    start: dict[str, float] = {}
    finished: set[str] = set()
    last = [time.perf_counter()]  # the first line 5 s after the fit began

    def report(name: str, done: int, total: int) -> None:
        now = time.perf_counter()
        t0 = start.setdefault(name, now)
        if (done < total and now - last[0] >= 5.0) or (done == total and name not in finished):
            last[0] = now
            if done == total:
                finished.add(name)
            eta = f"; about {(now - t0) * (total - done) / done:.0f} s left" if 0 < done < total else ""
            print(f"energylens fit: {name}: {done} of {total} bootstrap refits done ({now - t0:.0f} s{eta})",
                  file=sys.stderr, flush=True)
    return report


def fit_reporting(model, profiles, long: bool, *, where: str | None = None, context: str = "", **fit_kw) -> None:
    """``model.fit(profiles, **fit_kw)``, a long one saying how far its bootstrap has got. ``where``: the profiles'
    file, named in place of the class in a ValueError of the fit ("EnergyModel.fit: 3 measurements for 12
    parameters" named no file), ``context`` after it."""
    token = BOOTSTRAP_PROGRESS.set(_bootstrap_printer()) if long else None
    try:
        model.fit(profiles, **fit_kw)
    except ValueError as exc:
        prefix = f"{type(model).__name__}.fit: "
        if where is None or type(exc) is not ValueError or not str(exc).startswith(prefix):
            raise
        raise ValueError(f"{where}: {str(exc).removeprefix(prefix)}{context}") from None
    finally:
        if token is not None:
            BOOTSTRAP_PROGRESS.reset(token)


def announce_long_fit(rows: int, bootstrap: int, models: str) -> bool:
    """A line on stderr before a fit that will take a while, and whether it was said; ``models``: which are
    fitted (and refitted)."""
    if rows * (1 + bootstrap) >= LONG_FIT_ROW_FITS:
        print(f"energylens fit: fitting {rows} rows, then {bootstrap} bootstrap refits of the {models}"
              " (each a full fit; --bootstrap 0 skips them, 50 is enough for rough intervals): this may "
              "take a while", file=sys.stderr, flush=True)
        return bootstrap > 0
    return False


#: fit's options of the template (and its latency model) -> their argparse attribute: an expression fit has neither
#: latency model nor calibration nor prior, so each is refused next to --expression rather than ignored.
TEMPLATE_ONLY_OPTIONS = (("--latency-only", "latency_only"), ("--no-latency", "no_latency"),
                         ("--tpot-weight", "tpot_weight"), ("--calibrate", "calibrate"),
                         ("--calibrate-latency", "calibrate_latency"), ("--prior", "prior"),
                         ("--prior-weight", "prior_weight"))


def check_expression_options(args: argparse.Namespace) -> None:
    """ValueError naming the template's options given with --expression, or --pick without it."""
    if args.expression is None:
        if args.pick is not None:
            raise ValueError(f"--pick {args.pick}: picks a front expression of --expression DISCOVERY.json, which "
                             "is not given")
        return
    given = [o for o, attr in TEMPLATE_ONLY_OPTIONS if getattr(args, attr) not in (None, False)]
    if given:
        raise ValueError(f"{', '.join(given)}: option(s) of the template fit, which --expression {args.expression} "
                         "replaces (an expression models energy only: no latency model, calibration or prior); drop "
                         "them, or --expression to fit the template")


def _cmd_fit(args: argparse.Namespace) -> int:
    check_expression_options(args)
    refuse_folder_name(args.output)
    check_output_path(args.output, inputs=command_inputs(args, "profiles", "expression"),  # --prior, --gpu-table
                      formats=("a JSON model file", (".json",)), replaces=("an energylens model file", energylens_json("energylens.model")))
    apply_gpu_tables(args)
    apply_model_tables(args)  # before any model name is looked up
    if args.expression is not None:
        require("sympy", "sr", "energylens fit --expression (a discovered expression)")
        from energylens.cli.fit_expression import fit_discovered

        return fit_discovered(args)
    profiles = read_profiles_with_rows(args.profiles, require_energy=False, command="fit")
    opts = dict(residual=args.residual, loss=args.loss, n_starts=args.starts, bootstrap=args.bootstrap,
                seed=args.seed)
    if args.latency_only:
        return _fit_latency_only(args, profiles, opts, "--latency-only")  # which checks its options
    if _energy(args, profiles) is None:
        if args.no_latency:
            raise ValueError(f"{args.profiles}: no energy_j measurements, and --no-latency leaves nothing to fit")
        if not any(c in profiles and np.isfinite(profiles[c].to_numpy(dtype=float)).any() for c in ("ttft_s", "tpot_s")):
            raise ValueError(f"{args.profiles}: nothing to fit: no energy_j column (J per request, for the energy "
                             "model) and no ttft_s / tpot_s (s, for the latency model); this looks like a table of "
                             "configurations, which `energylens predict` or `search --candidates` take "
                             "(docs/profile-schema.md lists the measured columns)")
        sources = sorted(set(profiles["power_source"].astype(str))) if "power_source" in profiles else []
        why = "no energy_j measurements" + (f" (power source: {'; '.join(sources)})" if sources else "")
        return _fit_latency_only(args, profiles, opts, why)
    check_prior_options(args)
    if args.prior is not None and args.prior_weight == 0:
        raise ValueError("--prior-weight 0 gives the prior no weight, so --prior would have no effect: give a weight "
                         "> 0 to pull the parameters toward the prior, or leave --prior out")
    _check_mode_options(args, profiles, None)
    tpot_weight = ENERGY_TPOT_WEIGHT if args.tpot_weight is None else args.tpot_weight
    model = EnergyModel(**opts, calibration=args.calibrate, latency_calibration=args.calibrate_latency,
                        tpot_weight=tpot_weight, prior=args.prior, prior_weight=args.prior_weight)
    long = announce_long_fit(len(profiles), args.bootstrap,
                              "energy model" if args.no_latency else "energy and latency models")
    profiles.attrs["file_rows"] = True  # the file's rows, in its order: a fit error names them as its data rows
    fit_reporting(model, profiles, long, where=args.profiles, latency=not args.no_latency)
    s = model.summary
    assert s is not None
    print(f"fitted {model.template_id} on {s.n_rows} rows: {s.status} after {s.iterations} iterations "
          f"({'converged' if s.converged else 'NOT converged'}), training MAPE {s.train_mape:.3f}, "
          f"{s.bootstrap_converged}/{s.bootstrap_replicates} bootstrap refits, {s.fit_seconds * 1e3:.1f} ms")
    warn_poor_fit(model, s.train_mape)
    if not s.converged:
        print(f"energylens fit: warning: the fit stopped without converging ({s.status}); the parameters are the best "
              "found so far: check the warnings above, try more --starts, or look for rows far from the rest",
              file=sys.stderr)
    if args.prior is not None:
        print(f"prior: {args.prior} at weight {model.options['prior_weight']:g} (each parameter pulled toward its value "
              "there; saved in the model file)")
    print_design(s)
    print_params(model, args.prior)
    if model.calibration is not None:
        print("\n".join(model.calibration.describe()))
    if model.latency_model is not None and model.latency_model.summary is not None:
        ls = model.latency_model.summary
        print(f"latency model: {ls.n_measurements} measurements, training MAPE {ls.train_mape:.3f}"
              + ("" if ls.identifiable else f"; parameters NOT identified ({ls.n_distinct_configs} distinct "
                 f"configuration(s) for {len(model.latency_model.params)} parameters), no intervals"))
        if ls.unidentified and ls.identifiable:  # (the latency model's prefill terms when no row measured TTFT)
            print(f"  not identified: no training row depends on {', '.join(sorted(ls.unidentified))} "
                  f"({model.latency_model.summary.n_rows} rows, {model.latency_model.measured_rows['ttft_s']} with a "
                  "measured TTFT); predictions that depend on them rest on the fit's start values")
        warn_latency_units(profiles, ls.train_mape, latency=model.latency_model, energy_tpot_weight=tpot_weight)
        if model.latency_model.calibration is not None:
            print("\n".join(model.latency_model.calibration.describe()))
        print(model.latency_model.describe_prefill_stall())
    elif not args.no_latency:  # the fit said nothing of latency, and predict then gives no TTFT / TPOT
        print(f"latency model: not fitted: {_no_latency_reason(profiles)}")
    else:  # the energy fit still reads tpot_s (--tpot-weight)
        warn_latency_units(profiles, None, energy_tpot_weight=tpot_weight)
    replaced = existing_file(args.output)
    model.save(args.output)
    announce_written(args.output, replaced, command="fit")
    return 0
