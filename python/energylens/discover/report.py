"""The discovery report: the front as a plot (complexity against held-out error, the template as a line)
and the expressions in LaTeX, with their held-out scores, as a Markdown page plus the JSON result."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

from energylens.discover.result import recounted_note  # noqa: E402
from energylens.discover.search import DiscoveryResult, heldout_counts, shown  # noqa: E402
from energylens.model.reference import ENERGY_PARAM_NAMES  # noqa: E402

__all__ = ["write_report"]


#: Round mantissas of a log axis' labels, sparsest first.
_MANTISSAS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0), (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0))


def log_ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    """Labels of a log axis over [lo, hi] (lo > 0): round numbers, the densest set with at most ``most`` in the
    range (a log axis' 10, 20, ..., 60 left 11-20 bare where the template and the best expressions lay)."""
    decades = range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
    best: list[float] = []
    for mantissas in _MANTISSAS:
        ticks = [float(f"{m * 10.0 ** d:.3g}") for d in decades for m in mantissas]
        if best and sum(lo <= t <= hi for t in ticks) > most:
            break
        best = ticks
    return best


def _figure(result: DiscoveryResult):
    """The front: complexity against held-out MAPE, the chosen expression starred, the template a line (with its
    MAPE). The axis is logarithmic where the MAPEs span more than 3x, in plain numbers either way (a log axis over
    8-12 % was labelled '9 x 10^0' and '10^1' only), labelled at round numbers near the points (:func:`log_ticks`)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    c = [e.complexity for e in result.front]
    m = [e.heldout.get("mape", float("nan")) for e in result.front]
    ax.plot(c, m, "o-", label=f"front ({result.backend})")
    if result.chosen is not None:  # (None: an interrupted run scored no expression)
        ch = result.front[result.chosen]
        ax.plot([ch.complexity], [ch.heldout.get("mape")], "r*", ms=14,
                label="chosen (cross-validated on training rows)")
    t = result.template["mape"]
    ax.axhline(t, color="k", ls="--", label=f"template, same rows ({t:.1f} %)")
    ax.set_xlabel("complexity (nodes)")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # (nodes: 7.5 was a tick)
    ax.set_ylabel("held-out MAPE (%)")
    finite = [v for v in (*m, t) if np.isfinite(v) and v > 0]
    if finite and max(finite) > 3 * min(finite):
        ax.set_yscale("log")  # labelled at round numbers near the points, as plain numbers (not 10^1)
        ax.yaxis.set_major_locator(ticker.FixedLocator(log_ticks(min(finite), max(finite))))
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    title = f"discovery, target {result.target}: {result.n_train} training / {result.n_heldout} held-out rows"
    s = result.search
    if s.get("stopped_by") == "interrupt":  # (it looked like a finished run's plot)
        title += f"\nsearch interrupted after {s['rounds_run']} of {s['rounds']} rounds"
    if s.get("unscored"):
        title += ("; " if s.get("stopped_by") == "interrupt" else "\n") + f"{len(s['unscored'])} expressions not scored"
    ax.set_title(title, fontsize=10 if "\n" in title else None)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _plot(result: DiscoveryResult, path: Path) -> None:
    fig = _figure(result)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _known(check: bool | None) -> str:
    """A residual-test check as written: True / False, or n/a where the held-out rows offer no choice."""
    return "n/a (no held-out choice)" if check is None else str(check)


def _search_lines(result: DiscoveryResult) -> list[str]:
    """The search's settings and how it ended (whether the seed reproduces the front), where the result has them."""
    s, out = result.settings, []
    if s:
        out.append(f"Search: up to {s['generations']} generations or {s['time_budget_s']:g} s, population "
                   f"{s['population']}, complexity <= {s['max_complexity']}; profiles {result.profiles}.")
    if result.search.get("note"):
        out.append(f"Search: {result.search['note']}.")
    return ["", *out] if out else []


#: The longest expression the front table gives whole; a longer one is cut there and given in full under Expressions.
TABLE_EXPRESSION_CHARS = 80


def code_cell(text: str) -> str:
    """``text`` as a code span in a Markdown table cell: ``|`` escaped (GFM splits a row at a bare ``|`` even
    inside code); ``*`` and ``_`` need no escape in a code span (a backslash there would be shown)."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _table_expression(i: int, expression: str) -> str:
    """The front table's expression cell: as the command prints it, cut past :data:`TABLE_EXPRESSION_CHARS` (at
    the last space before it, between terms, where there is one in its second half)."""
    if len(expression) <= TABLE_EXPRESSION_CHARS:
        return code_cell(expression)
    head = expression[:TABLE_EXPRESSION_CHARS]
    space = head.rfind(" ")
    head = head[:space] if space > TABLE_EXPRESSION_CHARS // 2 else head
    return code_cell(head.rstrip() + " ...") + f" (in full under Expressions, {i}.)"


def write_report(result: DiscoveryResult, directory: str | Path) -> Path:
    """Write ``front.png``, ``discovery.md`` and ``discovery.json`` into ``directory``; returns the Markdown path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    _plot(result, out / "front.png")
    (out / "discovery.json").write_text(result.to_json())
    t = result.template
    lines = [f"# Structure discovery: target `{result.target}`", "",
             f"Backend {result.backend} ({result.backend_reason}); seed {result.seed}; {result.n_train} training "
             f"rows, {result.n_heldout} held-out rows; {result.seconds:.1f} s.", *_search_lines(result), "",
             "![front](front.png)", "",
             "| | complexity | held-out R^2 | Top-1 | TP x PP choice | pairwise | MAPE % | CV % | expression |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| template | {len(ENERGY_PARAM_NAMES)} params | {shown(t['r2'], '.4f')} | {shown(t['top1'], '.3f')} | "
             f"{shown(t['parallelism_top1'], '.3f')} | {shown(t['pairwise'], '.3f')} | {shown(t['mape'], '.2f')} | | "
             "the 12-parameter closed form |"]
    for i, e in enumerate(result.front):
        h = e.heldout
        mark = " (chosen)" if i == result.chosen else ""
        lines.append(f"| {i}{mark} | {e.complexity} | {shown(h['r2'], '.4f')} | {shown(h['top1'], '.3f')} | "
                     f"{shown(h['parallelism_top1'], '.3f')} | {shown(h['pairwise'], '.3f')} | {shown(h['mape'], '.2f')} | "
                     f"{shown(100 * e.cv_error, '.2f')} | {_table_expression(i, e.expression)} |")  # (CV as printed)
    if recounted_note(result):
        lines += ["", f"Complexity: {recounted_note(result)}."]
    if heldout_counts(t):
        lines += ["", "H" + heldout_counts(t)[1:] + "."]
    lines += ["", ("CV %: the 5-fold cross-validated mean |relative error| on the training rows" if result.target != "residual"
                   else "CV %: the 5-fold cross-validated mean |error| of the log-correction g on the training rows "
                   "(x 100; about a relative error)")
              + " (`cv_error` in discovery.json, a fraction); the chosen expression has the lowest."]
    lines += ["", "R^2 and MAPE are of the predicted energy" + (
        " (template x exp(g)); the R^2 of g itself on the held-out log-residuals is `r2_residual` in "
        "discovery.json" if result.target == "residual" else "") + "."]
    if result.search.get("unscored"):
        lines += ["", f"Not scored (the run was interrupted): {len(result.search['unscored'])} front expression(s): "
                  + "; ".join(f"`{u['expression']}`" for u in result.search["unscored"]) + "."]
    if result.merged:
        lines += ["", f"Merged: {len(result.merged)} front expression(s), each into an entry above (the same expression "
                  "up to its constants, or the same predictions on every row): " + "; ".join(
                      f"complexity {m['complexity']}, `{m['expression']}` into {m['into']}: {m['why']}" for m in result.merged) + "."]
    if result.dropped:
        lines += ["", f"Left out: {len(result.dropped)} front expression(s) whose constants no fit could give a "
                  "finite error on the training rows: " + "; ".join(f"`{d['expression']}`" for d in result.dropped) + "."]
    lines += ["", "## Expressions", ""]
    what = "log-correction g (model: template x exp(g))" if result.target == "residual" else "energy (J)"
    for i, e in enumerate(result.front):
        lines += [f"{i}. complexity {e.complexity}, {what}: `{e.expression}`", "", f"$$ {e.latex} $$", ""]
    if result.residual_test:
        r = result.residual_test
        lines += ["## Residual term test", "",
                  f"Chosen term `{r['term']}`: held-out MAPE {r['mape_template']:.2f} % -> {r['mape_with_term']:.2f} % "
                  f"({100 * r['mape_cut_relative']:.1f} % relative cut); Top-1 not lower: {_known(r['top1_not_lower'])}; "
                  f"pairwise not lower: {_known(r['pairwise_not_lower'])}; adopt: {r['adopt']}.", ""]
    lines += ["## Variables", ""] + [f"- `{k}` = `{v}`" for k, v in result.variables.items()]
    md = out / "discovery.md"
    md.write_text("\n".join(lines) + "\n")
    return md
