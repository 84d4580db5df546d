"""The schema pass of ``load_profiles`` as it was before its small-table rework (commit ab9fcc1), kept verbatim
as the oracle of tests/profiles/test_load_small_differential.py: a Series per column and per check, numbers
parsed through pandas, text through ``Series.astype(str)``. The reading (``schema._read``, now ``reading.read_table``), the per-cell rules of
:mod:`energylens.profiles.cells` (checked row by row in test_vectorised_schema.py) and the architecture fill are
shared; every step in between is the old code, so the new pass must give the same frame, attrs, dropped rows,
warnings and errors. Rules changed on purpose since (a158847: a filled ``active_params_b`` below its limit is
kept; params_b from the model table where a known model leaves it blank or out; a bare ``fp4`` precision read by
the row's checkpoint, energylens.profiles.bare_fp4; ``pp`` optional, 1 where a row or the table does not give it,
read by the GPU-count rules as given, its n_gpus messages saying so, and a column named as pp otherwise an error;
``avg_power_w`` at least 5 W per GPU, a value in kW an error) are changed here too, marked where they are."""
# ruff: noqa
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from energylens import warning_sink
from energylens.errors import ProfileSchemaError
from energylens.profiles import architecture as _architecture
from energylens.profiles import cells, precision, tables
from energylens.profiles.bare_fp4 import AmbiguousPrecisionWarning
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.header import (check_column_spelling, check_parallel_synonyms, check_required_columns,
                                        check_unique_columns)
from energylens.profiles.number_cells import non_numeric_problems
from energylens.profiles.limits import (LIMITS, MAX_GPU_COUNT, MAX_TOKENS, MIN_GPU_POWER_W, POWER_PER_GPU_TEXT,
                                        filled_share, limit_text)
from energylens.profiles.problems import EMPTY_ROW, closing_hints, empty_rows, problem_text, said
from energylens.profiles.row_names import default_index
from energylens.profiles.schema import (
    _INT_COLUMNS, _NUMERIC_COLUMNS, _SPELLED_COLUMNS, _TEXT_COLUMNS, ARCHITECTURE_COLUMNS, ARCHITECTURES,
    KV_CACHE_DTYPES, MEASURED_COLUMNS, MODALITIES, OPTIONAL_DEFAULTS, PRECISIONS, REQUIRED_COLUMNS, SCHEMA_VERSION,
    DroppedRowsWarning,
)
from energylens.profiles.reading import read_table


class Problems:
    """Collects (row positions, column, reason, example values) in the order found."""

    def __init__(self, n_rows: int) -> None:
        self.items: list[tuple[np.ndarray, str, str, list]] = []
        self.bad = np.zeros(n_rows, dtype=bool)

    def add(self, mask: np.ndarray, column: str, reason: str, values: pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self._already(column) & ~self._already(EMPTY_ROW)
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        self.items.append((rows, column, reason, list(values.iloc[rows[:5]])))
        self.bad |= mask

    def reasons(self, names: Mapping[str, str] | None = None) -> np.ndarray:
        """"column: reason; ..." of every bad row (in row order), the problems in the order found; a column the
        source spells otherwise (``names``: schema column -> its own name) by that name."""
        text = np.full(len(self.bad), "", dtype=object)
        for rows, column, reason, _ in self.items:
            col = (names or {}).get(column, column)
            cur = text[rows]
            text[rows] = np.where(cur == "", f"{col}: {said(reason)}", cur + f"; {col}: {said(reason)}")
        return text[self.bad]

    def _already(self, column: str) -> np.ndarray:
        """Rows already reported for ``column`` (one problem per cell is enough)."""
        out = np.zeros(len(self.bad), dtype=bool)
        for rows, col, _, _ in self.items:
            if col == column:
                out[rows] = True
        return out



def load(path_or_frame, drop_invalid: bool, fill_architecture: bool, source: str | None, require_energy: bool,
          *, plain_text: bool, frame_rows: bool = False, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """load_profiles; ``plain_text`` leaves the text columns NumPy object arrays (see as_feature_profiles);
    ``frame_rows`` names rows as positions in the frame, with its index labels (see as_profiles)."""
    frame, src = read_table(path_or_frame, source, _TEXT_COLUMNS)
    frame.columns = [str(c) for c in frame.columns]
    check_unique_columns(frame.columns, src)
    required = REQUIRED_COLUMNS if require_energy else tuple(c for c in REQUIRED_COLUMNS if c != "energy_j")
    # params_b filled from the model table (a rule made since, in schema._load / _parse_numeric; copied here)
    check_required_columns(frame.columns, tuple(c for c in required if c != "params_b" or "model" not in frame.columns),
                           src)
    check_column_spelling(frame.columns, _SPELLED_COLUMNS, src)  # ' n_gpus' / 'Precision' silently ignored
    check_parallel_synonyms(frame.columns, src)  # pp optional (a rule made since): 'pipeline_parallel_size' not ignored
    if not require_energy and "energy_j" not in frame.columns:
        frame = frame.copy()
        frame["energy_j"] = np.nan
    if "params_b" not in frame.columns:  # known models' configurations (a rule made since; copied here)
        frame = frame.copy()
        frame["params_b"] = np.nan

    problems = Problems(len(frame))
    problems.add(empty_rows(frame, frame["model"].isna().to_numpy()), EMPTY_ROW, "empty row (every cell blank, e.g. trailing rows a spreadsheet saved): "
                 "delete it", frame.iloc[:, 0])
    out = _parse_numeric(frame, required, problems)
    _check_ranges(frame, out, problems)
    check_feature_columns(frame, problems)
    _parse_text(frame, out, problems)
    # a DataFrame names rows with their index labels too, its default index's as well, unless a caller named it
    # after a file (rules made since, in row_names and schema; copied here)
    labelled = frame_rows or (isinstance(path_or_frame, pd.DataFrame)
                              and (str(src).startswith("<") or not default_index(frame.index)))
    frame, out, dropped = _raise_or_drop(frame, out, problems, src, drop_invalid, frame.index if labelled else None,
                                         names)

    result = _assemble(frame, out, src, fill_architecture, plain_text)
    result.attrs["source"] = src
    result.attrs["schema_version"] = SCHEMA_VERSION
    if dropped is not None:
        result.attrs["dropped"] = dropped
    return result


def _parse_numeric(frame: pd.DataFrame, required: tuple[str, ...], problems: Problems) -> dict[str, pd.Series]:
    """float64 values of every numeric column present; unparseable, infinite and missing required cells
    are recorded in ``problems``."""
    out: dict[str, pd.Series] = {}
    for col in _NUMERIC_COLUMNS:
        if col not in frame.columns:
            continue
        cells_ = frame[col]
        values, non_numeric = cells.to_numeric(cells_)
        if col == "params_b":  # the model table's count for a blank cell of a known model (a rule made since)
            values = pd.Series(_architecture.table_params_b(frame["model"].to_numpy(), values.to_numpy(dtype=float)),
                               index=values.index)
        # what a non-numeric cell looks like and what to write instead ('1,234', 'TRUE'; a rule made since)
        for mask, reason in non_numeric_problems(cells_, non_numeric, col, col in required):
            problems.add(mask, col, reason, cells_)
        finite = np.isfinite(values.to_numpy())
        nan = values.isna().to_numpy()
        problems.add(~nan & ~finite, col, "non-finite value (inf)", cells_)
        if col in required:
            missing = nan & ~non_numeric  # the unknown models named (a rule made since)
            problems.add(missing, col, "missing value (NaN/empty) in a required column" + (
                _architecture.unknown_models_said(frame["model"].to_numpy(), missing)
                if col == "params_b" and missing.any() else ""), cells_)
        out[col] = values
    return out


def _check_ranges(frame: pd.DataFrame, out: dict[str, pd.Series], problems: Problems) -> None:
    """The range rules of schema v1 on the parsed numeric columns (NaN cells are not checked here)."""

    def rule(col: str, bad_fn, reason: str) -> None:
        if col not in out:
            return
        v = out[col].to_numpy()
        with np.errstate(invalid="ignore"):
            mask = ~np.isnan(v) & np.isfinite(v) & bad_fn(v)
        problems.add(mask, col, reason, frame[col])

    for col in _INT_COLUMNS:
        rule(col, lambda v: (v < 1) | (v != np.round(v)), "must be an integer >= 1")
        rule(col, lambda v: v > MAX_GPU_COUNT, f"must be <= {MAX_GPU_COUNT} (2**20; a count of GPUs)")
    rule("params_b", lambda v: v <= 0, "must be > 0 (billions of parameters)")
    rule("active_params_b", lambda v: v <= 0, "must be > 0 (billions of parameters)")
    rule("batch_size", lambda v: v <= 0, "must be > 0 (mean running sequences)")
    rule("input_tokens", lambda v: v <= 0, "must be > 0 (mean prompt tokens per request; the serving engine "
         "refuses an empty prompt, and the features price a prompt of at least one token)")
    rule("output_tokens", lambda v: v <= 0, "must be > 0 (mean generated tokens per request)")
    rule("energy_j", lambda v: v <= 0, "must be > 0 (joules per request)")
    for col in MEASURED_COLUMNS:
        rule(col, lambda v: v <= 0, "must be > 0 where measured (leave empty/NaN if not measured)")
    for col in ARCHITECTURE_COLUMNS:
        if col == "image_tokens_per_image":
            rule(col, lambda v: v < 0, "must be >= 0")
        else:
            rule(col, lambda v: (v < 1) | (v != np.round(v)), "must be an integer >= 1")
    if "active_params_b" in out:
        a, p = out["active_params_b"].to_numpy(), out["params_b"].to_numpy()
        with np.errstate(invalid="ignore"):
            # 1e-6: one column stored as float32 (rounding up to 6e-8) and the other as float64 still agree
            problems.add(~np.isnan(a) & ~np.isnan(p) & (a > p * (1 + 1e-6)), "active_params_b",
                         "must be <= params_b", frame["active_params_b"])

    check_parallelism(out, frame, problems, frame.index)
    check_limits(out, frame, problems)  # plausibility and GPU-count bounds, after the rules above name a sign error


def _parse_text(frame: pd.DataFrame, out: dict[str, pd.Series], problems: Problems) -> None:
    """Stripped names (model, gpu), canonical choices (precision, kv_cache_dtype, modality, architecture)
    and task into ``out``; blank required names and unknown choices into ``problems``."""
    for col in ("model", "gpu"):
        blank = cells.is_blank(frame[col])
        problems.add(blank, col, "missing value (NaN/empty) in a required column", frame[col])
        out[col] = cells.text(frame[col], blank, lambda v: str(v).strip())
    choices = {
        "precision": (PRECISIONS, tables.normalize_precision),
        "kv_cache_dtype": (KV_CACHE_DTYPES, tables.normalize_kv_cache_dtype),
        "modality": (MODALITIES, None),
        "architecture": (ARCHITECTURES, None),
    }
    for col, (allowed, canon) in choices.items():
        if col not in frame.columns:
            continue
        blank = cells.is_blank(frame[col])
        values, bad = cells.normalise_choice(frame[col], allowed, canon)
        problems.add(bad & ~blank, col, f"unknown {col} (allowed: {', '.join(allowed)})", frame[col])
        if col == "precision":  # a bare fp4 waits for the row's model (a rule made since; row by row here)
            values = values.where(~np.array([_bare_fp4(v) for v in frame[col].astype(object)], dtype=bool), "fp4")
        out[col] = values.where(~blank, np.nan)
    check_expert_parallel_model(out, frame, problems)
    if "task" in frame.columns:
        out["task"] = cells.text(frame["task"], cells.is_blank(frame["task"]))


def _raise_or_drop(frame: pd.DataFrame, out: dict[str, pd.Series], problems: Problems, src: str, drop_invalid: bool,
                   labels: pd.Index | None, names: Mapping[str, str] | None = None
                   ) -> tuple[pd.DataFrame, dict[str, pd.Series], pd.DataFrame | None]:
    """Raise on the first problem (listing the others; rows named with their index ``labels`` when given; columns
    as the source spells them, ``names``), or with ``drop_invalid`` drop the bad rows and return them (original
    values, 1-based ``row``, ``reason``) with one warning counting them."""
    if not problems.items:
        if not drop_invalid:
            return frame, out, None
        dropped = frame.iloc[0:0].copy()
        dropped.insert(0, "row", pd.Series(dtype="int64"))
        dropped["reason"] = pd.Series(dtype=object)
        return frame, out, dropped
    if not drop_invalid:
        first_rows, col, reason, vals = problems.items[0]
        lines = [f"{src}: profile table violates schema v1: "
                 + problem_text(first_rows, col, reason, vals, labels, names)]
        if len(problems.items) > 1:
            lines.append(f"{len(problems.items) - 1} more problem(s):")
            lines += ["  " + problem_text(*item, labels, names) for item in problems.items[1:]]
        # changed on purpose (2026-12-07): the closing advice names require_energy=False where energy_j is blank, and
        # drop_invalid=True only where rows would be left (tests/profiles/test_sweep_without_energy.py)
        lines += closing_hints(problems)
        raise ProfileSchemaError("\n".join(lines), source=src, column=col, rows=[int(r) for r in first_rows])
    keep = ~problems.bad
    dropped = frame.loc[problems.bad].copy()
    dropped.insert(0, "row", np.flatnonzero(problems.bad) + 1)
    dropped["reason"] = list(problems.reasons(names))
    counts: dict[str, int] = {}
    for rows, column, reason, _ in problems.items:
        col = (names or {}).get(column, column)
        counts[f"{col}: {said(reason)}"] = counts.get(f"{col}: {said(reason)}", 0) + len(rows)  # hints: since
    summary = "; ".join(f"{k}: {v} row{'s' if v != 1 else ''}" for k, v in counts.items())
    warning_sink.warn(
        f"{src}: dropped {int(problems.bad.sum())} of {len(frame)} rows that violate schema v1 ({summary}); "
        "they are in result.attrs['dropped']", DroppedRowsWarning, stacklevel=4)
    return frame.loc[keep], {k: v.loc[keep] for k, v in out.items()}, dropped




def _assemble(frame: pd.DataFrame, out: dict[str, pd.Series], src: str, fill_architecture: bool,
              plain_text: bool = False) -> pd.DataFrame:
    """Build the result positionally (the index may have duplicate labels)."""
    n = len(frame)

    def num(name: str) -> np.ndarray:
        if name in out:
            return out[name].to_numpy(dtype="float64", na_value=np.nan).copy()
        return np.full(n, np.nan)

    def text(name: str) -> np.ndarray:
        if name in out:
            return out[name].astype(object).to_numpy().copy()
        return np.full(n, None, dtype=object)

    ep = num("ep")
    ep[np.isnan(ep)] = 1.0
    n_gpus = num("n_gpus")
    tp, pp = num("tp"), num("pp")
    pp[np.isnan(pp)] = 1.0  # pp optional, 1 where not given (a rule made since)
    dp = num("dp")
    dp = np.where(np.isnan(dp), np.where(np.isnan(n_gpus), 1.0, n_gpus / (tp * pp)), dp)
    n_gpus = np.where(np.isnan(n_gpus), tp * pp * dp, n_gpus)
    params = num("params_b")
    active = num("active_params_b")
    architecture = text("architecture")
    arch = {c: num(c) for c in ARCHITECTURE_COLUMNS}
    if fill_architecture and n:
        _architecture.fill_architecture(text("model"), params, arch, architecture, active, source=src)
    architecture[cells.is_missing(architecture)] = OPTIONAL_DEFAULTS["architecture"]

    # pp optional (a rule made since): kept after tp, where it stood while required
    leading = ("model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j")
    cols: dict[str, object] = {c: text(c) if c in _TEXT_COLUMNS else num(c) for c in leading}
    cols["pp"] = pp
    cols["active_params_b"] = np.where(np.isnan(active), params, active)
    cols["ep"] = ep
    cols["dp"] = dp
    cols["n_gpus"] = n_gpus
    cols["architecture"] = architecture
    for c in ("precision", "kv_cache_dtype", "modality", "task"):
        a = text(c)
        if c == "precision":  # a bare fp4: the checkpoint's fp4 format, else mxfp4 with a warning (a rule made since)
            guessed = set()
            for i, v in enumerate(a):
                if isinstance(v, str) and v == "fp4":
                    fmt = checkpoint_precision(str(cols["model"][i]))
                    if fmt not in ("nvfp4", "nvfp4a16", "mxfp4"):
                        fmt = "mxfp4"
                        guessed.add(str(cols["model"][i]))
                    a[i] = fmt
            if guessed:
                warning_sink.warn(
                    f"{src}: precision 'fp4' names two formats, NVIDIA's NVFP4 (W4A4 on Blackwell) and the OCP MXFP4 "
                    f"of gpt-oss (W4A16), and the checkpoint name does not say which for {len(guessed)} model(s): "
                    f"{', '.join(repr(m) for m in sorted(guessed))}; their rows were taken as mxfp4 (the alias): write "
                    "nvfp4 or mxfp4 in the precision column (docs/profile-schema.md)", AmbiguousPrecisionWarning)
        missing = cells.is_missing(a)
        if c == "precision" and missing.any():  # the format the row's checkpoint is published in, else bf16
            names = cols["model"][missing]
            formats = {m: checkpoint_precision(str(m)) for m in set(names)}
            a[missing] = [formats[m] for m in names]
        else:
            a[missing] = OPTIONAL_DEFAULTS[c]
        cols[c] = a
    for c in MEASURED_COLUMNS:
        cols[c] = num(c)
    cols.update(arch)
    return _typed(cols, frame, plain_text)


def _bare_fp4(v: object) -> bool:
    """A precision cell that is ``fp4`` as the precision parser reads it (a rule made since)."""
    return isinstance(v, str) and v.strip().lower().replace("-", "").replace("_", "") == "fp4"


def _typed(cols: dict[str, object], frame: pd.DataFrame, plain_text: bool = False) -> pd.DataFrame:
    """Fixed dtypes, the source's index, and the source's unknown columns appended untouched; the frame is
    built once from typed columns (setting columns one by one was most of a 50-row fit's time)."""
    typed: dict[str, object] = {}
    for c, values in cols.items():
        if c in _INT_COLUMNS:
            typed[c] = np.asarray(values).astype("int64")
        elif c in _TEXT_COLUMNS and plain_text:  # every cell is a str already (cells.text, defaults filled)
            typed[c] = np.asarray(values, dtype=object)
        elif c in _TEXT_COLUMNS:
            typed[c] = pd.Series(values, dtype=object, copy=False).astype(str).array
        else:
            typed[c] = np.asarray(values, dtype="float64")
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_DEFAULTS)
    for c in frame.columns:
        if c not in known:
            typed[c] = frame[c].array
    return pd.DataFrame(typed, index=frame.index, copy=False)


def check_parallelism(out: dict[str, pd.Series], raw: pd.DataFrame, problems, index) -> None:
    """GPU counts: n_gpus = tp * pp * dp (dp derived as n_gpus / (tp * pp) when absent), and the
    expert-parallel group ep divides n_gpus (vLLM: ep = tp * dp with --enable-expert-parallel)."""
    def col(name: str) -> np.ndarray:
        return out[name].to_numpy(dtype="float64", na_value=np.nan) if name in out else np.full(len(index), np.nan)

    tp, pp, dp, g = col("tp"), col("pp"), col("dp"), col("n_gpus")
    # pp optional, 1 where not given, and a message that says so on such a row unless its pp cell is bad (a rule made since)
    unsaid = np.isnan(pp) & ~problems._already("pp")
    pp = np.where(np.isnan(pp), 1.0, pp)
    hint = " (pp is not given on this row, so it is 1, the default: give pp for a pipeline-parallel deployment)"
    ep = np.where(np.isnan(col("ep")), 1.0, col("ep"))
    with np.errstate(invalid="ignore", divide="ignore"):
        if "n_gpus" in out and "dp" in out:
            bad = ~np.isnan(g) & ~np.isnan(dp) & (g != tp * pp * dp)
            problems.add(bad & ~unsaid, "n_gpus", "must equal tp * pp * dp", raw["n_gpus"])
            problems.add(bad & unsaid, "n_gpus", "must equal tp * pp * dp" + hint, raw["n_gpus"])
        if "n_gpus" in out:
            per = g / (tp * pp)
            bad = ~np.isnan(g) & np.isnan(dp) & ~np.isnan(per) & (per != np.round(per))
            problems.add(bad & ~unsaid, "n_gpus", "must be a multiple of tp * pp (n_gpus = tp * pp * dp)", raw["n_gpus"])
            problems.add(bad & unsaid, "n_gpus", "must be a multiple of tp * pp (n_gpus = tp * pp * dp)" + hint,
                         raw["n_gpus"])
        n = np.where(np.isnan(g), tp * pp * np.where(np.isnan(dp), 1.0, dp), g)
        share = n / ep
        if "ep" in out:
            problems.add(~np.isnan(share) & (share != np.round(share)), "ep",
                         "must divide n_gpus (= tp * pp * dp; in vLLM ep = tp * dp with expert parallelism)",
                         raw["ep"])


def check_expert_parallel_model(out: dict[str, pd.Series], raw: pd.DataFrame, problems) -> None:
    """ep > 1 needs a mixture-of-experts model: an explicit dense/hybrid architecture or n_experts = 1 is an
    error, and so is a row that says neither whose model the model table knows as dense or hybrid, or does
    not know at all (its architecture would be estimated as a dense model's)."""
    if "ep" not in out:
        return
    ep = out["ep"].to_numpy(dtype="float64", na_value=np.nan)
    multi = ~np.isnan(ep) & (ep > 1)
    if not multi.any():
        return
    n = len(ep)
    a = out["architecture"].astype(object).to_numpy() if "architecture" in out else np.full(n, None, dtype=object)
    e = out["n_experts"].to_numpy(dtype="float64", na_value=np.nan) if "n_experts" in out else np.full(n, np.nan)
    said = np.array([isinstance(v, str) for v in a], dtype=bool) | ~np.isnan(e)
    not_moe = np.array([isinstance(v, str) and v in ("dense", "hybrid") for v in a], dtype=bool)
    not_moe |= ~np.isnan(e) & (e == 1)
    problems.add(multi & not_moe, "ep", "expert parallelism (ep > 1) needs a MoE model (architecture moe, "
                 "n_experts > 1)", raw["ep"])
    unsaid = multi & ~said
    if unsaid.any() and "model" in out:
        names = out["model"].astype(object).to_numpy()
        kinds = {m: _table_kind(m) for m in set(names[unsaid])}
        kind = np.array([kinds.get(m, "moe") for m in names], dtype=object)
        problems.add(unsaid & (kind != "moe") & (kind != "unknown"), "ep",
                     "expert parallelism (ep > 1) needs a MoE model, and the model table has this model as dense "
                     "or hybrid", raw["ep"])
        problems.add(unsaid & (kind == "unknown"), "ep",
                     "expert parallelism (ep > 1) on a model the model table lacks: say it is a MoE (columns "
                     "architecture = moe and n_experts; docs/profile-schema.md)", raw["ep"])


def _table_kind(model: object) -> str:
    spec = tables.find_model(str(model)) if isinstance(model, str) else None
    return "unknown" if spec is None else spec.architecture


def check_limits(out: dict[str, pd.Series], frame: pd.DataFrame, problems: Problems) -> None:
    """The schema's bounds on the parsed numbers ``out`` into ``problems`` (NaN cells are not checked): every
    :data:`LIMITS` column, and a GPU count derived as tp * pp * dp (reported on tp; n_gpus has its own)."""
    for col, lim in LIMITS.items():
        if col in out:
            v = out[col].to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                low = v < lim.low
                if col == "active_params_b" and "params_b" in out and low.any():  # a158847's rule, made since
                    low &= ~filled_share(v, out["params_b"].to_numpy(dtype="float64", na_value=np.nan))
                problems.add(np.isfinite(v) & (low | (v > lim.high)), col, limit_text(col), frame[col])
    tp, pp, dp, g = (out[c].to_numpy(dtype="float64", na_value=np.nan) if c in out else np.full(len(frame), np.nan)
                     for c in ("tp", "pp", "dp", "n_gpus"))
    pp = np.where(np.isnan(pp), 1.0, pp)  # pp optional, 1 where not given (a rule made since)
    with np.errstate(invalid="ignore", over="ignore"):
        problems.add(np.isnan(g) & (tp * pp * np.where(np.isnan(dp), 1.0, dp) > MAX_GPU_COUNT), "tp",
                     f"tp * pp * dp (the GPU count n_gpus) must be <= {MAX_GPU_COUNT} (2**20)", frame["tp"])
        if "avg_power_w" in out:  # a rule made since: a power in kW (under MIN_GPU_POWER_W W on each GPU)
            w = out["avg_power_w"].to_numpy(dtype="float64", na_value=np.nan)
            n = np.where(np.isnan(g), tp * pp * np.where(np.isnan(dp), 1.0, dp), g)
            problems.add(np.isfinite(w) & (w > 0) & (n >= 1) & (w < MIN_GPU_POWER_W * n), "avg_power_w",
                         POWER_PER_GPU_TEXT, frame["avg_power_w"])


#: Numeric columns the schema keeps untouched but the features read: (the rule they must meet, its text).
_FEATURE_NUMBERS = {
    "video_frames": (lambda v: v >= 0, "must be >= 0 (frames per video prompt)"),
    "scale_up_domain_gpus": (lambda v: (v >= 1) & (v == np.round(v)), "must be a whole number of GPUs >= 1"),
}
#: Their plausibility limits (profiles/limits.py), checked where the rule above holds.
_FEATURE_LIMITS = {
    "video_frames": (MAX_TOKENS, f"must be <= {MAX_TOKENS:,} (frames per video prompt: each frame is a prompt token "
                                 "at least, and a prompt has 10,000,000 at most)"),
    "scale_up_domain_gpus": (MAX_GPU_COUNT, f"must be <= {MAX_GPU_COUNT} (2**20; a count of GPUs)"),
}


def check_feature_columns(frame: pd.DataFrame, problems) -> None:
    """The numeric columns the features read that the schema otherwise keeps untouched: a number that breaks
    its rule (a negative video_frames lowered the prediction) is a problem named by column and row."""
    for col, (ok, reason) in _FEATURE_NUMBERS.items():
        if col not in frame.columns:
            continue
        values, non_numeric = cells.to_numeric(frame[col])
        for mask, reason in non_numeric_problems(frame[col], non_numeric, col):  # (a rule made since)
            problems.add(mask, col, reason, frame[col])
        v = values.to_numpy()
        high, too_high = _FEATURE_LIMITS[col]
        with np.errstate(invalid="ignore"):
            problems.add(~np.isnan(v) & ~(np.isfinite(v) & ok(v)), col, reason, frame[col])
            problems.add(np.isfinite(v) & (v > high), col, too_high, frame[col])
    for col, canon in _FEATURE_CHOICES.items():
        if col in frame.columns:
            problems.add(_unknown(frame[col], canon), col, f"unknown {col} ({_CHOICE_TEXT[col]})", frame[col])


#: Text columns the features read: the canonicaliser a cell must pass (blank: the default).
_FEATURE_CHOICES = {"compute_precision": precision.normalize_precision,
                    "mamba_ssm_cache_dtype": precision.normalize_kv_cache_dtype}
_CHOICE_TEXT = {"compute_precision": "a precision such as bf16, fp8 or fp4",
                "mamba_ssm_cache_dtype": "auto or a dtype such as float32, bfloat16 or fp8"}


def _unknown(column: pd.Series, canon) -> np.ndarray:
    """Cells that are not blank and that ``canon`` refuses."""
    def bad(v: object) -> bool:
        if str(v).strip() == "":
            return False
        try:
            canon(str(v))
        except ValueError:
            return True
        return False

    return cells.per_value(column, bad, missing=False).astype(bool)
