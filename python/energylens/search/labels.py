"""The short GPU names a search prints: :func:`gpu_labels` (``H100-SXM5-80GB`` -> ``H100``), shared by the result's
table and labels, the remedies' configurations and the plot's title, so the three name a GPU alike (before
2026-12-06 the plot's title and the computed remedies wrote ``H100-SXM5-80GB`` where the table wrote ``H100``)."""

from __future__ import annotations

from energylens.profiles import tables

__all__ = ["gpu_labels"]


def gpu_labels(names) -> dict[str, str]:
    """Each GPU name's label: the part before its first '-' (``H100-SXM5-80GB`` -> ``H100``) where no other
    of ``names`` shares it and it names this GPU in the GPU table, else the whole name (``H100-SXM5-80GB``
    beside ``H100-PCIe-80GB``; ``H100-NVL-94GB`` alone, as "H100" is the SXM part)."""
    names = list(dict.fromkeys(map(str, names)))
    short = {n: n.split("-")[0] for n in names}
    taken = [short[n] for n in names]
    return {n: short[n] if taken.count(short[n]) == 1 and _names_it(short[n], n) else n for n in names}


def _names_it(label: str, name: str) -> bool:
    """Whether ``label`` resolves to the GPU ``name`` resolves to (a label a user can type back)."""
    if label == name:
        return True
    try:
        return tables.gpu_spec(label).name == tables.gpu_spec(name).name
    except (KeyError, ValueError):  # unknown or ambiguous
        return False
