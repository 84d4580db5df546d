"""The search's Pareto plot (``energylens search --plot``, :meth:`SearchResult.plot`): two panels, the
objective against TPOT and against TTFT, with the top-k, the Pareto fronts and the latency limits; the objective
axis is logarithmic unless a plotted objective is 0 (then linear), its ticks plain numbers (0.02, 0.1, 0.4; they
read "2 x 10^-2" before 2026-12-06), and the title names the models, GPUs (as the printed table does) and workload the points answer."""

from __future__ import annotations

import os
import textwrap

from energylens.extras import require
from energylens.outputs import atomic_file, image_file, replaceable_file
from energylens.search.labels import gpu_labels

__all__ = ["PLOT_FORMATS", "check_plot_path", "pareto_plot"]

#: Plot formats matplotlib writes alone (not PGF: LaTeX) that outputs.image_file knows (a re-run replaces them).
PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp", "gif")


def check_plot_path(path, option: str = "path") -> str:
    """The plot's format from the extension of ``path`` (lower case), checked before any work: ValueError
    naming the supported ones (:data:`PLOT_FORMATS`) when there is none or it is not one of them."""
    written = require("matplotlib.backend_bases", "compare", "the search's plot").FigureCanvasBase.get_supported_filetypes()
    formats = [f for f in PLOT_FORMATS if f in written]
    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if suffix not in formats:
        what = f"extension .{suffix} is not a plot format" if suffix else "has no file extension, which sets the format"
        raise ValueError(f"{option} {path}: {what}; end it in one of: {', '.join('.' + f for f in formats)} "
                         "(e.g. pareto.png, pareto.pdf, pareto.svg)")
    return suffix


def pareto_plot(result, path: str) -> str:
    """Write ``result``'s (a SearchResult) plot to ``path`` in the format of its extension; returns the path. In a
    workload distribution the axes say, as the table's legend, that TTFT / TPOT are the worst point's and the
    objective the expected value; an empty result is its ``why_empty()``, once across the figure. An
    existing file there that is neither empty nor an image (:func:`energylens.outputs.image_file`) is refused, as
    ``energylens search --plot`` refuses it (the Python call replaced it without a word before 2026-12-07)."""
    replaceable_file(path, "an image (PNG, PDF, SVG, JPEG, EPS, TIFF, WebP or GIF)", image_file)
    suffix = check_plot_path(path)
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    if result.empty:  # once, across the figure (it was in each panel, on empty 0..1 axes)
        axes[0].text(0.5, 0.5, textwrap.fill(result.why_empty(), 110), ha="center", va="center", fontsize=9,
                     transform=fig.transFigure)
    mix = bool(result.settings.get("workload_distribution"))  # latency at the worst point, the expected objective
    for ax, front, x, label in ((axes[0], result.pareto_tpot, "tpot_s", "TPOT"),
                                (axes[1], result.pareto_ttft, "ttft_s", "TTFT")):
        ax.set_xlabel(f"{label} (s, at the worst workload point)" if mix else f"{label} (s)")
        ax.set_ylabel(f"expected {result.objective}" if mix else result.objective)
        if result.empty:
            ax.set_axis_off()
            continue
        if len(front):
            ax.step(front[x], front["objective"], where="post", color="C0", label="Pareto front")
            ax.scatter(front[x], front["objective"], s=14, color="C0")
        if len(result.top):
            ax.scatter(result.top[x], result.top["objective"], s=40, marker="x", color="C3", label="top-k")
            ax.annotate("best", (result.top[x].iloc[0], result.top["objective"].iloc[0]),
                        textcoords="offset points", xytext=(6, 6))
        limit = result.settings.get("tpot_limit_s" if x == "tpot_s" else "ttft_limit_s")
        if limit:
            ax.axvline(limit, color="grey", ls="--", lw=1, label="limit")
            key = "effective_tpot_limit_s" if x == "tpot_s" else "effective_ttft_limit_s"
            if result.settings.get(key, limit) != limit:  # limit_confidence != 0.5: what the prediction met
                ax.axvline(result.settings[key], color="grey", ls=":", lw=1,
                           label=f"limit at confidence {result.settings['limit_confidence']:g}")
        # log where every point is positive: a configuration costing 0 (a GPU priced at 0 per hour) is off a
        # log axis, and matplotlib drops it without a word
        shown = [*front["objective"], *result.top["objective"]]
        ax.set_yscale("log" if all(v > 0 for v in shown) else "linear")
        if ax.get_yscale() == "log":  # plain numbers; minor ticks at 2 and 3 and 5 (a narrow range may have no decade)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(_minor))
        ax.legend(fontsize=8)
    fig.suptitle(textwrap.fill(f"{_what(result.settings)}: {result.feasible:,} feasible of {result.candidates:,} "
                               "candidates", 150), fontsize=10)
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format=suffix, dpi=120)
    plt.close(fig)
    return path


def _what(s: dict) -> str:
    """The title's models, GPUs and workload ("Qwen3-30B-A3B on H100, H200; 20 requests/s, 1500 in / 300 out"): the
    GPUs named as the printed table names them (:func:`~energylens.search.labels.gpu_labels`; before 2026-12-06 the
    table's ``H100`` was ``H100-SXM5-80GB`` here)."""
    names = ", ".join(str(m).rsplit("/", 1)[-1] for m in s.get("models") or [])
    li, lo = s.get("input_tokens") or [], s.get("output_tokens") or []
    if s.get("explicit_candidates"):
        load = "candidate table"
    elif s.get("workload_distribution"):
        load = f"distribution of {len(li)} workload points"
    else:
        load = ", ".join(f"{x:g} in / {y:g} out tokens" for x, y in zip(li, lo, strict=True))
    rate = f"{s['rate_per_s']:g} requests/s, " if s.get("rate_per_s") is not None else "fixed batch, "
    return f"{names} on {', '.join(gpu_labels(s.get('gpus') or []).values())}; {rate}{load}"


def _minor(value: float, _pos) -> str:
    """A log axis' minor tick: labelled at 2, 3 and 5 x 10^k (every one crowds: 0.07, 0.08, 0.09 overlapped)."""
    mantissa = f"{value:.0e}"[0]
    return f"{value:g}" if value > 0 and mantissa in "235" else ""
