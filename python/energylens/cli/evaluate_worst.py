"""What ``energylens evaluate`` prints under its table: where energylens is worst on the random split, per task and per
group (:func:`print_worst`), and which splits ran but are not shown (:func:`print_unshown_splits`). Moved out of
:mod:`energylens.cli.evaluate`, which had reached the 500-line limit."""

from __future__ import annotations

from pathlib import Path

from energylens.compare.report_tables import OURS, WHY_FEWER_PART, fewer_repeats
from energylens.compare.result import worst, worst_labels

__all__ = ["print_worst", "print_unshown_splits"]


def print_worst(table, tpot_slo: float | None = None) -> None:
    """Where ours is worst, per task and per group (random split, highest MAPE first); with a TPOT SLO its Top-1 is
    the one among the candidates meeting the SLO (the headline's), and says so. A figure averaged over fewer
    repeats than ours was scored in (the key held out in fewer, or without a choice in some) is noted under its
    list, "Top-1, pairwise over 1 of 6 repeats"."""
    top1 = "Top-1 (SLO)" if tpot_slo else "Top-1"
    for by in ("task", "group"):
        w = worst(table, OURS, by)
        if w.empty or w["mape"].isna().all():  # no MAPE of ours anywhere (its fits failed: said separately)
            continue
        labels = worst_labels(w, by)  # (as report.md's lists show them)
        if not labels:  # profiles without tasks: a list of one blank label
            continue
        held = table.loc[(table["split"] == "random") & (table["method"] == OURS), by].nunique()  # (of how many)
        print(f"\n{OURS}: worst {by}s ({len(w)} of {held} held out; random split, by MAPE; n/a: no choice of that "
              f"kind in the {by}"
              + (f"; Top-1 (SLO): among the candidates meeting the {tpot_slo:g} s TPOT SLO" if tpot_slo else "") + ")")
        width = max(len(_label(v)) for v in labels)  # as wide as the longest label (the tasks' took 70)
        for label, (_, r) in zip(labels, w.iterrows(), strict=True):
            print(f"  {_label(label):<{width}}  MAPE {_pct(r['mape'])}  {top1} {_score(r['top1'])}  "
                  f"@TPOT {_score(r['top1_tpot'])}  parallelism {_score(r['parallelism'])}  "
                  f"pairwise {_score(r['pairwise'])}")
        # a task or group held out in fewer repeats (or with a choice in fewer) than ours was scored in says so
        notes = fewer_repeats(w.assign(**{by: [_label(v) for v in labels]}), (by,), prefix="  note: ",
                              of="run_repeats", why="")
        if notes:
            print("\n".join(notes) + f"\n  ({WHY_FEWER_PART})")


def print_unshown_splits(table, report_path: Path | None) -> None:
    """The terminal shows the random split alone (every split where random was not run): name the splits that
    were run but not shown, and where their figures are."""
    ran = list(dict.fromkeys(table["split"])) if not table.empty else []
    others = [s for s in ran if s != "random"]
    if "random" not in ran or not others:
        return
    where = str(report_path) if report_path else "--report DIR or --json"
    print(f"\n(the tables above are the random split; also ran: {', '.join(others)}: their figures are in {where})")


def _label(text: str, width: int = 70) -> str:
    """A group label cut in the middle (task | model | GPU: the GPU at the end stays readable)."""
    return text if len(text) <= width else text[: width // 2 - 2] + "..." + text[-(width - width // 2 - 1):]


def _pct(x: float) -> str:
    """A MAPE of the worst list: "12.3 %", or n/a where the fit failed (it printed "nan %")."""
    return f"{x:6.1f} %" if x == x else "   n/a  "


def _score(x: float) -> str:
    return f"{x:.3f}" if x == x else "  n/a"
