"""The names a search prints: :func:`gpu_labels` (``H100-SXM5-80GB`` -> ``H100``), shared by the result's table and
labels, the remedies' configurations and the plot's title, so the three name a GPU alike (before 2026-12-06 the plot's
title and the computed remedies wrote ``H100-SXM5-80GB`` where the table wrote ``H100``); and a configuration's label,
of one row (:func:`config_label`) or of a table's rows (:func:`config_labels`, one pass over its columns: row by row,
``energylens search --top 100000`` spent 0.7 s labelling 12,000 rows for the table and again for the JSON)."""

from __future__ import annotations

from energylens.profiles import tables
from energylens.search.caps import caps_text

__all__ = ["config_label", "config_labels", "gpu_labels"]

_NO_CANDIDATE = object()  # a row of the axes (a candidate table's rows carry their label)


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


def config_label(row, workload: bool = False, gpus: dict[str, str] | None = None) -> str:
    """Short configuration name of a result row (a Series): ``Llama-3.1-70B-Instruct H100 bf16 TP2 PP1 DP1 B16``;
    ``workload``: with the workload point (``in512 out256``) when the space holds several; ``gpus``: the GPU labels
    of the searched GPUs (:func:`gpu_labels`; without it, the whole GPU name). A load-mode row that stands for
    several non-binding caps (``max_num_seqs_equivalent``, :mod:`.caps`) names them: ``B1..256 (9 caps)``, and the
    dp values of one fleet (``dp_equivalent``): ``DP1/2``; a MoE deployment priced alike with and without expert
    parallelism (``ep_equivalent``, :func:`.frames.merge_ep`): ``EP1/2``. A
    candidate table's row ends with its label, ``(candidate 2)``: rows that differ only in an override column
    (modality, params_b) printed the same label, and the best "beat" itself."""
    return _label(row["model"], row["gpu"], row["precision"], row.get("kv_cache_dtype", "auto"), row["tp"], row["pp"],
                  _dp(row.get("dp_equivalent"), row["dp"]), _dp(row.get("ep_equivalent"), row.get("ep", 1)),
                  row.get("max_num_seqs_equivalent"),
                  row["max_num_seqs"],
                  row.get("input_tokens"), row.get("output_tokens"),
                  row["candidate"] if "candidate" in row.index else _NO_CANDIDATE, workload, gpus or {})


def config_labels(df, workload: bool = False, gpus: dict[str, str] | None = None) -> list[str]:
    """:func:`config_label` of every row of the table ``df``, in order."""
    def column(name: str, default=None) -> list:
        return df[name].tolist() if name in df.columns else [default] * len(df)
    return [_label(*values, workload, gpus or {}) for values in zip(
        *(column(c) for c in ("model", "gpu", "precision")), column("kv_cache_dtype", "auto"),
        *(column(c) for c in ("tp", "pp")), [_dp(e, d) for e, d in zip(column("dp_equivalent"), column("dp"), strict=True)],
        [_dp(e, d) for e, d in zip(column("ep_equivalent"), column("ep", 1), strict=True)],
        *(column(c) for c in ("max_num_seqs_equivalent", "max_num_seqs", "input_tokens", "output_tokens")),
        column("candidate", _NO_CANDIDATE), strict=True)]


def _dp(equivalent, dp):
    """The dp (ep) values a row stands for (``dp_equivalent`` / ``ep_equivalent``, a list: :func:`.caps.collapse_dp`,
    :func:`.frames.merge_ep`), else its dp (ep)."""
    return equivalent if isinstance(equivalent, list) and equivalent else dp


def _label(model, gpu, precision, kv, tp, pp, dp, ep, caps, max_num_seqs, input_tokens, output_tokens, candidate,
           workload: bool, gpus: dict[str, str]) -> str:
    gpu = str(gpu)
    parts = [str(model).split("/")[-1], gpus.get(gpu, gpu), str(precision)]
    if kv != "auto":
        parts.append(f"kv-{kv}")
    dp = "/".join(str(int(d)) for d in dp) if isinstance(dp, list) else int(dp)  # one fleet's dp values: DP1/2
    parts.append(f"TP{int(tp)} PP{int(pp)} DP{dp}")
    if isinstance(ep, list) and len(ep) > 1:  # with and without expert parallelism, priced alike: EP1/2
        parts.append("EP" + "/".join(str(int(e)) for e in ep))
    elif int(ep[0] if isinstance(ep, list) else ep) > 1:
        parts.append(f"EP{int(ep[0] if isinstance(ep, list) else ep)}")
    parts.append(f"B{caps_text(caps)}" if isinstance(caps, list) and len(caps) > 1 else f"B{max_num_seqs:g}")
    if workload:
        parts.append(f"in{float(input_tokens):g} out{float(output_tokens):g}")
    if candidate is not _NO_CANDIDATE:  # a candidate table's rows: two may differ only in a column the label omits
        parts.append(f"(candidate {candidate})")
    return " ".join(parts)
