"""An explicit table of configurations as a search space: ``energylens.search(candidates=df)``.

:func:`candidate_space` turns a table (one configuration per row; schema-v1 column names, so a measured
profile table works as it is) into a :class:`~energylens.search.space.SearchSpace` whose axes are the
values the rows use, and the mixed-radix index of every row. The engine then evaluates only those
indices (``_core.search_run(..., indices=...)``): the same templates, checks, top-k and Pareto fronts
as a full search, on exactly the given configurations.

Columns: ``model``, ``gpu``, ``tp``, ``input_tokens``, ``output_tokens`` and the running batch:
``batch_size`` (the deployment's running sequences, all data-parallel ranks, as in a profile) or
``max_num_seqs`` (vLLM's cap per rank, the running batch in fixed-batch mode); ``batch_size`` wins where
both are given. Optional: ``pp``, ``dp``, ``ep`` (default 1), ``precision`` (bf16), ``kv_cache_dtype``
(auto), and the profile columns in :data:`OVERRIDE_COLUMNS` (architecture, modality, image / video
tokens), which replace the model table's values for that row as they do in
:func:`energylens.profiles.features.build_features`.
"""

from __future__ import annotations

import dataclasses
import math
from os import PathLike

import numpy as np
import pandas as pd

from energylens import warning_sink
from energylens.errors import ProfileSchemaError, UnknownGpuError, UnknownModelError
from energylens.profiles import tables
from energylens.profiles.checkpoints import canonical_layout, checkpoint_precision
from energylens.profiles.light import light_profiles
from energylens.profiles.precision import normalize_compute_precision
from energylens.profiles.schema import load_profiles
from energylens.search.serving_limits import served_spec
from energylens.search.space import (
    SearchSpace,
    canonical_rows,
    check_prices,
    profile_row,
    resolve_combos,
    weight_only_overrides,
)
from energylens.search.specs import spec_problem

__all__ = ["candidate_space", "measured_latencies", "LATENCY_COLUMNS", "OVERRIDE_COLUMNS", "REQUIRED_COLUMNS"]

#: Text override columns and how the features canonicalise them (the schema checked they pass).
_FEATURE_TEXT = {"compute_precision": normalize_compute_precision,
                 "mamba_ssm_cache_dtype": tables.normalize_kv_cache_dtype, "weight_layout": canonical_layout}
#: Columns every candidate row needs (plus batch_size or max_num_seqs).
REQUIRED_COLUMNS = ("model", "gpu", "tp", "input_tokens", "output_tokens")
#: Profile columns that, where a row gives them, replace the model table's values for that row.
OVERRIDE_COLUMNS = ("params_b", "active_params_b", "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim",
                    "n_experts", "experts_per_token", "modality", "image_tokens_per_image", "video_frames",
                    "n_attention_layers", "n_moe_layers", "sliding_window", "n_sliding_layers",
                    "state_elems_per_seq", "video_tokens_per_frame", "compute_precision",
                    "mamba_ssm_cache_dtype", "conv_state_elems_per_seq", "vision_tile_tokens", "kv_lora_rank",
                    "qk_rope_head_dim", "v_head_dim", "weight_layout", "layer_pattern")
#: Measured latency columns (the profile schema's, seconds; an ML.ENERGY v3 export gives tpot_s): read only with
#: ``search(..., measured_latency=True)`` (:mod:`.measured`), which checks the limits against them where given.
LATENCY_COLUMNS = ("ttft_s", "tpot_s")


def _src(df: pd.DataFrame) -> str:
    """What the messages name: the file the table came from (``attrs["source"]``, set by the command line)."""
    return str(df.attrs.get("source") or "candidates")


def _row(df: pd.DataFrame, i: int) -> str:
    """Row ``i`` as a user finds it: the 1-based data row of a file, the 0-based position of a DataFrame."""
    return f"data row {i + 1}" if df.attrs.get("source") else f"row {i} (0-based)"


def _check_labels(candidates: pd.DataFrame) -> None:
    """Each row has its own label (the index): a result row names its candidate by it, so repeated labels (two
    frames joined by ``pd.concat`` without ``ignore_index``) made two result rows read "(candidate 0)" with no
    way to tell which row either was. ValueError naming the first repeated labels and their rows."""
    repeated = candidates.index.duplicated(keep=False)
    if not repeated.any():
        return
    labels = candidates.index[repeated].unique()
    where = [f"{label!r}" if isinstance(label, str) else str(label) for label in labels[:3]]
    where = [f"{w} at rows {', '.join(map(str, candidates.index.get_indexer_for([label])[:4]))}"
             for w, label in zip(where, labels, strict=False)]
    more = f"; and {len(labels) - 3} more labels" if len(labels) > 3 else ""
    raise ValueError(f"{_src(candidates)}: row labels (the DataFrame's index) repeat: {'; '.join(where)}{more} "
                     "(0-based positions); a result row names its candidate by its label, so give each row its own: "
                     "pd.concat([...], ignore_index=True), or candidates.reset_index(drop=True)")


def _numbers(df: pd.DataFrame, name: str, default: float | None, whole: bool) -> np.ndarray:
    """A numeric column (or the default where absent); ValueError naming the column and first bad row."""
    if name not in df.columns:
        return np.full(len(df), float(default))
    v = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=np.float64)
    if default is not None:
        v = np.where(np.isnan(v), default, v)
    bad = ~np.isfinite(v) | (v < 1 if whole else v <= 0) | ((v != np.round(v)) if whole else False)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        need = "a whole number >= 1" if whole else "finite and > 0"
        value = df[name].iloc[row]
        value = value.item() if isinstance(value, np.generic) else value  # 0, not np.int64(0)
        raise ValueError(f"{_src(df)}: column {name!r} {_row(df, row)} is {value!r}; it must be {need}")
    return v


def measured_latencies(candidates: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per row (row order) the measured TTFT and TPOT of :data:`LATENCY_COLUMNS` (``"ttft"``, ``"tpot"``; NaN where
    the column is absent or the cell blank, every spelling of missing: that row's value is predicted). ValueError
    naming the file, the row and the column for a cell that is not a finite number > 0 (text, 0, negative), or
    when the table has neither column."""
    df = candidates.reset_index(drop=True)
    df.attrs = dict(candidates.attrs)
    if not any(c in df.columns for c in LATENCY_COLUMNS):
        hint = " and ".join(f"{c[:4]}_s = {ms} / 1000" for c in LATENCY_COLUMNS if (ms := _ms_column(df, c[:4])))
        hint = f"; in milliseconds (vllm bench serve's): add {hint}" if hint else ""
        raise ValueError(f"{_src(df)}: measured_latency=True (--measured-latency) needs a measured latency column, "
                         f"'ttft_s' or 'tpot_s' (seconds; a blank cell: that row's value predicted), and the table has "
                         f"neither (its columns: {', '.join(map(str, df.columns))}){hint}")
    out = {}
    for c in LATENCY_COLUMNS:
        if c not in df.columns:
            out[c[:4]] = np.full(len(df), np.nan)
            continue
        cells = df[c].astype(object).tolist()
        blank = np.array([_blank(v) for v in cells], dtype=bool)
        v = pd.to_numeric(pd.Series([math.nan if b else x for x, b in zip(cells, blank, strict=True)], dtype=object),
                          errors="coerce").to_numpy(dtype=np.float64)
        bad = ~blank & ~(np.isfinite(v) & (v > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{_src(df)}: column {c!r} {_row(df, i)} is {_plain(cells[i])!r}; a measured latency must "
                             f"be a number of seconds > 0 (leave the cell blank where not measured: that row's "
                             f"{c[:4].upper()} is then predicted)")
        out[c[:4]] = np.where(blank, np.nan, v)
    return out


def _ms_column(df: pd.DataFrame, name: str) -> str | None:
    """The column holding ``name`` ("ttft", "tpot") in milliseconds, as ``vllm bench serve`` names it (mean_tpot_ms;
    its mean first, the search's latency being a mean; mean_itl_ms for a TPOT), or None."""
    cols = [str(c) for c in df.columns if str(c).lower().endswith("_ms")]
    keys = (name,) if name == "ttft" else ("tpot", "itl")
    found = [c for k in keys for c in cols if k in c.lower()]
    return next((c for c in found if c.lower().startswith("mean")), found[0] if found else None)


def _check_names(df: pd.DataFrame) -> None:
    """Every row names its model and GPU: a blank cell is an error naming the file, its row and the column
    (it was looked up as the name 'nan')."""
    for name in ("model", "gpu"):
        if all(isinstance(v, str) and v[:1].isalnum() for v in df[name].tolist()):
            continue  # every cell a name (the pandas text ops below cost ~0.5 ms per column)
        blank = (df[name].isna() | (df[name].astype(str).str.strip() == "")).to_numpy()
        if blank.any():
            raise ValueError(f"{_src(df)}: column {name!r} {_row(df, int(np.flatnonzero(blank)[0]))} is blank; every "
                             f"candidate names its {'model' if name == 'model' else 'GPU'}")


def _gpu_specs(df: pd.DataFrame) -> dict:
    """GPU name -> GpuSpec; an unknown name is an UnknownGpuError naming the file, its first row and the column."""
    names = df["gpu"].astype(str)
    out = {}
    for g in names.unique():
        try:
            out[g] = tables.gpu_spec(g, inline=False)  # no GPU spec columns in a candidate table
        except UnknownGpuError as exc:
            first = int(np.argmax((names == g).to_numpy()))
            raise UnknownGpuError(f"{_src(df)}: column 'gpu' {_row(df, first)}: {exc}") from None
    return out


def _rank_batch(df: pd.DataFrame, dp: np.ndarray) -> np.ndarray:
    """Running sequences per data-parallel rank: batch_size / dp where given, else max_num_seqs."""
    if "batch_size" not in df.columns and "max_num_seqs" not in df.columns:
        raise ValueError(f"{_src(df)}: need a 'batch_size' (running batch) or 'max_num_seqs' column")
    out = np.full(len(df), np.nan)
    if "batch_size" in df.columns:
        out = pd.to_numeric(df["batch_size"], errors="coerce").to_numpy(dtype=np.float64) / dp
    if "max_num_seqs" in df.columns:
        cap = pd.to_numeric(df["max_num_seqs"], errors="coerce").to_numpy(dtype=np.float64)
        out = np.where(np.isnan(out), cap, out)
    bad = ~(np.isfinite(out) & (out > 0))
    if bad.any():
        raise ValueError(f"{_src(df)}: {_row(df, int(np.flatnonzero(bad)[0]))} has no finite batch_size or "
                         "max_num_seqs > 0")
    return out


def _model_specs(df: pd.DataFrame) -> list:
    """Each row's ModelSpec: the model table's row, else (a row giving ``params_b``) an estimate of the row's
    ``architecture`` (MoE sized by ``active_params_b``; :func:`tables.estimate_architecture`), which the row's
    architecture columns then override, with one EstimatedArchitectureWarning; else UnknownModelError (close
    matches, the params_b remedy). An unknown model is estimated once per (name, params_b), from the first row
    with that pair, as ``EnergyModel.predict`` estimates it: rows of one unknown name at 8 and 70 B were all
    priced from the first row's estimate (the 70 B row with the 8 B row's 30 heads and 36 layers). A row of an
    unknown name without ``params_b`` takes the name's one estimate; where other rows give it several sizes,
    which one it is is an error naming the row."""
    estimated, specs = [], {}
    names = df["model"].astype(str).tolist()
    params = (pd.to_numeric(df["params_b"], errors="coerce").to_numpy(dtype=np.float64) if "params_b" in df.columns
              else np.full(len(df), math.nan))
    known = {m: tables.find_model(m) for m in dict.fromkeys(names)}
    keys = [(m, math.nan) if known[m] is not None or not params[i] > 0 else (m, float(params[i]))
            for i, m in enumerate(names)]
    for i, key in sorted(enumerate(keys), key=lambda item: math.isnan(item[1][1])):  # the sized rows first
        if key not in specs:
            sizes = [k[1] for k in specs if k[0] == key[0]] if known[key[0]] is None and math.isnan(key[1]) else []
            if len(sizes) > 1:
                raise ValueError(f"{_src(df)}: {_row(df, i)} gives no params_b for {key[0]!r}, which other rows "
                                 f"give as {' and '.join(f'{p:g}B' for p in sizes)}: give its params_b")
            specs[key] = specs[(key[0], sizes[0])] if sizes else _spec(df, i, key[0], known[key[0]], estimated)
    out = [specs[key] for key in keys]
    if estimated:
        # bounded: the text carries the user's model names, which Python's registry would keep forever per text
        warning_sink.warn_bounded("candidates: model(s) not in the model table, architecture estimated from "
                                  "params_b: " + ", ".join(estimated), tables.EstimatedArchitectureWarning, stacklevel=3)
    return out


def _spec(df: pd.DataFrame, i: int, m: str, spec, estimated: list[str]) -> tables.ModelSpec:
    """The ModelSpec of model ``m`` at row ``i`` (:func:`_model_specs`); an estimate is named in ``estimated``."""
    p = pd.to_numeric(df["params_b"], errors="coerce").iloc[i] if "params_b" in df.columns else math.nan
    if spec is None and p > 0:
        kind = df["architecture"].iloc[i] if "architecture" in df.columns else "dense"
        pa = pd.to_numeric(df["active_params_b"], errors="coerce").iloc[i] if "active_params_b" in df else None
        try:  # a blank cell is dense, as a missing column ("nan" was, when any text was taken as dense)
            spec = tables.estimate_architecture(float(p), "dense" if _blank(kind) else str(kind), pa)
        except ValueError as exc:  # "denso": where it is, the file, its row and column
            raise ValueError(f"{_src(df)}: column 'architecture' {_row(df, i)}: {exc}") from None
        spec = dataclasses.replace(spec, name=m)
        estimated.append(f"{m!r} ({float(p):g}B {spec.architecture})")
    try:
        return served_spec(spec if spec is not None else tables.model_spec(m), m)
    except UnknownModelError as exc:  # where the name is: the file, its row and column
        raise UnknownModelError(f"{_src(df)}: column 'model' {_row(df, i)}: {exc}") from None


def _overrides(df: pd.DataFrame, i: int, spec: tables.ModelSpec) -> tuple:
    """(column, value) pairs a row gives for :data:`OVERRIDE_COLUMNS` (a blank cell, :func:`_blank`, is left to
    the table). A dense model's row that gives ``params_b`` without ``active_params_b`` has every parameter
    active: its ``params_b`` (8.0 for Llama-3.1-8B, whose table says 8.03, is not below the table's active 8.03)."""
    out = {}
    for c in OVERRIDE_COLUMNS:
        if c not in df.columns:
            continue
        v = df[c].iloc[i]
        if _blank(v):
            continue
        out[c] = v.item() if isinstance(v, np.generic) else v
    experts = pd.to_numeric(pd.Series([out.get("n_experts", spec.n_experts)]), errors="coerce").iloc[0]
    if "params_b" in out and "active_params_b" not in out and not experts > 1:
        out["active_params_b"] = out["params_b"]
    return tuple((c, out[c]) for c in OVERRIDE_COLUMNS if c in out)


def _blank(value) -> bool:
    """An override cell that gives nothing, so the model table's value stands, as a missing column leaves it: every
    spelling of missing (None, NaN of any float width, pd.NA of the nullable dtypes, NaT) and blank text. Only a
    Python-float NaN was; a pd.NA of an Int64 column, a float32 NaN or '' was taken as the row's own value, NaN
    once validated, and refused as "n_layers is nan (the row's own)", and a blank compute_precision beside a
    missing one was a second combination, both rows ranked as two configurations."""
    if isinstance(value, str):
        return not value.strip()
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _check_rows(df: pd.DataFrame, rows: list[dict], axes: dict[str, np.ndarray]) -> pd.DataFrame:
    """Each candidate row's model columns as priced (its combo's, overrides included, with its tokens), validated
    as schema v1 before any feature is built: an override cell the schema refuses (active_params_b above
    params_b ...) is an error naming the candidate table and its own rows, not the internal frame the features
    are built from. The layout is left to the engine (tp 1, one GPU here): a layout it rejects is counted.
    Returns the validated rows: their cells, as the schema writes them, are the combos' profile rows."""
    fixed = {"tp": 1, "pp": 1, "dp": 1, "ep": 1, "batch_size": 1.0}  # the frame built once (assign and two column
    # writes were ~0.9 ms of a one-row table's ~3 ms schema pass); the columns in the order they had
    columns = list(dict.fromkeys([*(k for r in rows for k in r), *fixed, *axes]))
    frame = pd.DataFrame([{**r, **fixed, **{k: v[i] for k, v in axes.items()}} for i, r in enumerate(rows)],
                         columns=columns)
    try:
        return load_profiles(frame, require_energy=False, fill_architecture=False, source=_src(df))
    except ProfileSchemaError as exc:
        lines = [line for line in str(exc).splitlines() if "drop_invalid=True" not in line]
        raise ValueError("\n".join(lines).replace("profile table violates schema v1: ", "candidate table: ", 1)
                         ) from None


def _valid_rows(df: pd.DataFrame, keys: list, combo: np.ndarray, axes: dict[str, np.ndarray]) -> list[dict]:
    """The combos' profile rows as the schema writes them, each candidate row validated (:func:`_check_rows`).
    Where every combo is a model-table row without overrides, the schema's full pass has nothing to change in
    those rows (numbers as floats: tests/search/test_search_canonical_rows.py) and the candidate rows' own cells
    (model, GPU, precision, KV dtype, tokens) are checked by the light path (profiles/light.py), which accepts
    only what that pass would keep without a word; anything else takes the full pass, which names the fault."""
    light = all(not o and tables.find_model(m.name) is m for m, *_, o in keys)
    if light:
        cells = {c: [profile_row(*keys[j])[c] for j in combo] for c in ("model", "gpu", "precision", "kv_cache_dtype",
                                                                         "params_b")}
        frame = pd.DataFrame({**cells, "tp": 1.0, "pp": 1.0, "dp": 1.0, "ep": 1.0, "batch_size": 1.0, **axes})
        light = light_profiles(frame, require_energy=False) is not None
    if light:
        return [{c: _schema_cell(v) for c, v in profile_row(*k).items()} for k in keys]
    valid = _check_rows(df, [profile_row(*keys[c]) for c in combo], axes)
    first = np.unique(combo, return_index=True)[1]  # each combo's first candidate row: its validated cells
    return canonical_rows([profile_row(*k) for k in keys], valid, first)


def _schema_cell(value):
    """A model-table row's cell as the schema's frame gives it back (:func:`canonical_rows`): numbers as float,
    a missing value as NaN."""
    if value is None:
        return math.nan
    return float(value) if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        else value


def _check_layers(df: pd.DataFrame, pp: np.ndarray, models: list) -> None:
    """A pipeline stage needs at least one layer: ValueError for the first row whose pp exceeds its model's
    layer count (the row's ``n_layers`` where it gives one, else the model's)."""
    table = np.array([float(spec.n_layers) for spec in models])
    given = (pd.to_numeric(df["n_layers"], errors="coerce").to_numpy(dtype=np.float64) if "n_layers" in df.columns
             else np.full(len(df), np.nan))
    layers = np.where(np.isfinite(given) & (given >= 1), given, table)  # a bad cell: the schema names it
    bad = pp > layers
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_src(df)}: {_row(df, i)} has pp={int(pp[i])}, more than the {int(layers[i])} layers of "
                         f"{df['model'].iloc[i]}: a pipeline stage needs at least one layer")


def _merge_same(keys: list, rows: list[dict], combo: np.ndarray) -> tuple[list, list[dict], np.ndarray]:
    """Keys whose validated profile rows are equal are one combination (the first kept), so rows that differ only
    in spelling are found as duplicates: a modality 'Image' and 'image', 'text' and no modality, a row giving
    the model table's own n_layers and one leaving it blank, a compute precision 'FP8' and 'fp8'. Before, each
    was a combo of its own and both rows were ranked, sharing P(best) with themselves."""
    first: dict[tuple, int] = {}
    to = np.empty(len(keys), dtype=np.int64)
    for j, (key, row) in enumerate(zip(keys, rows, strict=True)):
        cells = tuple(sorted((c, _same_key(c, v)) for c, v in row.items()))
        to[j] = first.setdefault((key[0], cells), len(first))
    kept = np.unique(to, return_index=True)[1]
    return [keys[j] for j in kept], [rows[j] for j in kept], to[combo]


#: The fields the MoE active-parameter floor reads (:func:`~energylens.search.specs.spec_problem`).
_ACTIVE_FLOOR = {"params_b", "active_params_b", "n_experts", "experts_per_token"}


def _check_specs(df: pd.DataFrame, keys: list, rows: list[dict], combo: np.ndarray) -> None:
    """Each combination's model with its rows' override cells applied describes a model (the checks of a user's
    ModelSpec, :func:`~energylens.search.specs.spec_problem`, across fields the schema checks one by one): else
    ValueError naming the table, the first row and the field, where the value at fault is the row's own cell.
    Before, 3 KV heads under 32 heads, 4 experts per token of 1, 50 attention layers of 32 were priced without a
    word. A row's cell that only makes a table value inconsistent (n_layers 20 under Gemma 3's 52 sliding layers,
    4 experts under 8 per token) is clamped by the features, as ``EnergyModel.predict`` clamps it, and allowed."""
    fields = {f.name for f in dataclasses.fields(tables.ModelSpec)}
    for j, ((spec, *_, overrides), row) in enumerate(zip(keys, rows, strict=True)):
        given = {c for c, _ in overrides if c in fields}
        if not given:
            continue
        problem = spec_problem(dataclasses.replace(spec, **{c: row.get(c, getattr(spec, c)) for c in given}))
        # the row's own value (its n_layers under the table's sliding layers is clamped by the features, as predict
        # clamps it, and stays allowed); the MoE active-parameter floor is never clamped (the engine refused it)
        own = given & _ACTIVE_FLOOR if problem is not None and problem[0] == "active_params_b" else set()
        if problem is not None and (problem[0] in given or own):
            field, value, need, _ = problem
            whose = "the row's own" if field in given else f"the model's, with the row's own {', '.join(sorted(own))}"
            raise ValueError(f"{_src(df)}: {_row(df, int(np.argmax(combo == j)))}: {field} is {_plain(value)!r} "
                             f"({whose}); it must be {need}")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _same_key(column: str, value):
    """A validated cell as :func:`_merge_same` compares it: NaN equal to NaN, the text columns the features
    canonicalise (compute precision, the SSM cache dtype; the schema keeps them as written) canonicalised."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    canon = _FEATURE_TEXT.get(column)
    return canon(str(value)) if canon is not None and isinstance(value, str) and value.strip() else value


def _text(df: pd.DataFrame, name: str, default: str | list[str], normalise) -> list[str]:
    """Column ``name`` normalised per row, ``default`` (one value, or one per row) where absent or blank
    (:func:`_blank`: blank text too, as the profile schema reads it; '' was refused as "unknown precision ''")."""
    defaults = default if isinstance(default, list) else [default] * len(df)
    if name not in df.columns:
        return list(defaults)
    col = [d if _blank(v) else v for v, d in zip(df[name].astype(object), defaults, strict=True)]
    out = []
    for i, v in enumerate(col):
        try:
            out.append(normalise(str(v)))
        except ValueError as exc:
            raise ValueError(f"{_src(df)}: column {name!r} {_row(df, i)}: {exc}") from None
    return out


def _by_name(keys) -> dict:
    """:attr:`SearchSpace.model_specs` of the keys: name -> ModelSpec, None for a model estimated from params_b
    (looked up per (name, params_b) as ``EnergyModel.predict`` looks it up; :func:`_model_specs`)."""
    return {m.name: None if m.estimated else m for m, *_ in keys}


def _given_names(df: pd.DataFrame, models) -> dict[str, str]:
    """Searched model name -> the name the table's rows give it, where they give it one other name (an alias such as
    Qwen/Qwen3-235B-A22B-FP8): the remedies name that (``SearchSpace.given_names``)."""
    given: dict[str, set[str]] = {}
    for i, m in enumerate(df["model"].astype(str)):
        given.setdefault(models[i].name, set()).add(m)
    return {n: next(iter(g)) for n, g in given.items() if len(g) == 1 and n not in g}


def candidate_space(candidates: pd.DataFrame, price_per_gpu_hour=None) -> tuple[SearchSpace, np.ndarray]:
    """The space spanned by a table of configurations and the candidate index of each row (row order).

    Raises:
        ValueError: a missing column, a bad value (column and row named), two rows with the same
            configuration, or two with the same label (index).
        UnknownModelError, UnknownGpuError: a name the tables do not know.
    """
    if not isinstance(candidates, pd.DataFrame) or len(candidates) == 0:
        given = ("a DataFrame with no rows" if isinstance(candidates, pd.DataFrame) else
                 f"the path {str(candidates)!r}: read the file with pandas.read_csv({str(candidates)!r}) "
                 "(energylens search --candidates FILE reads it for you)" if isinstance(candidates, (str, PathLike)) else
                 f"a {type(candidates).__name__}: pandas.DataFrame(rows) makes one")
        raise ValueError(f"candidates must be a non-empty pandas DataFrame, one configuration per row; got {given}")
    df = candidates.reset_index(drop=True)
    df.attrs = dict(candidates.attrs)  # the source file, for the messages
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{_src(df)}: missing column(s) {', '.join(map(repr, missing))}")
    _check_names(df)
    tp, pp, dp, ep = (_numbers(df, c, 1.0 if c != "tp" else None, True) for c in ("tp", "pp", "dp", "ep"))
    li = _numbers(df, "input_tokens", None, False)
    lo = _numbers(df, "output_tokens", None, False)
    rank_batch = _rank_batch(df, dp)
    # no precision given: the weight format the row's checkpoint is published in (gpt-oss: mxfp4, -FP8: fp8)
    precision = _text(df, "precision", [checkpoint_precision(m) for m in df["model"].astype(str)],
                      tables.normalize_precision)
    kv = _text(df, "kv_cache_dtype", "auto", tables.normalize_kv_cache_dtype)
    models = _model_specs(df)
    _check_layers(df, pp, models)
    gpus = _gpu_specs(df)
    check_prices(price_per_gpu_hour, list(dict.fromkeys(gpus.values())))
    keys, key_of = [], {}
    combo = np.empty(len(df), dtype=np.int64)
    for i in range(len(df)):
        m, g = models[i], gpus[str(df["gpu"].iloc[i])]
        key = (m.name, g.name, precision[i], kv[i],
               weight_only_overrides(_overrides(df, i, m), df["model"].iloc[i], precision[i]))
        if key not in key_of:
            key_of[key] = len(keys)
            keys.append((m, g, precision[i], kv[i], key[4]))
        combo[i] = key_of[key]
    rows = _valid_rows(df, keys, combo, {"input_tokens": li, "output_tokens": lo})
    keys, rows, combo = _merge_same(keys, rows, combo)
    _check_specs(df, keys, rows, combo)
    axes = [np.unique(a) for a in (tp, pp, dp, ep, rank_batch)]
    work = np.column_stack([li, lo])
    points, w = np.unique(work, axis=0, return_inverse=True)
    combos, rows, values, extra = resolve_combos(keys, points[:, 0], points[:, 1], price_per_gpu_hour, rows)
    space = SearchSpace(combos=combos, combo_values=values, profile_rows=rows, model_specs=_by_name(keys),
                        tp=axes[0], pp=axes[1], dp=axes[2],
                        ep=axes[3], max_num_seqs=axes[4], workloads=np.ascontiguousarray(points),
                        prefill_extra_flops=extra, given_names=_given_names(df, models))
    digits = [combo] + [np.searchsorted(ax, v) for ax, v in zip(axes, (tp, pp, dp, ep, rank_batch), strict=True)]
    index = np.ravel_multi_index((*digits, w.reshape(-1)), space.shape)
    uniq, first, counts = np.unique(index, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][0]
        rows_dup = np.flatnonzero(index == dup)[:5].tolist()
        named = (f"data rows {[r + 1 for r in rows_dup]}" if df.attrs.get("source") else f"rows {rows_dup} (0-based)")
        raise ValueError(f"{_src(df)}: {named} describe the same configuration")
    _check_labels(candidates)  # after the rows' own checks: two rows of one configuration is the deeper fault
    return space, index
