"""The short fit path (issue 12): a raw table validated on the light path, its features built once and
stacked once for the energy and the latency fit (energylens.model.domain.FeatureTable), model-table rows
cached by name. Every number a fit records must equal what the fit computed before those shortcuts: the
native fit on the full path's features, distinct rows by np.unique over column_stack, ranges by
column_stack, train MAPE by np.mean, and the data hash of byte copies (re-derived here the old way)."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.model import EnergyModel, LatencyModel, domain
from energylens.model.domain import _SET_ROWS, _distinct
from energylens.profiles import load_profiles, tables
from energylens.profiles.cells import Coded, key_codes, text_codes_of
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import feature_rows

RAW = ("model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens")


def _old_distinct(columns: list[np.ndarray]) -> int:
    table = np.ascontiguousarray(np.column_stack(columns))
    table[np.isnan(table)] = np.nan
    return len(np.unique(table.view(np.dtype((np.void, table.dtype.itemsize * table.shape[1])))))


def _old_hash(columns: list[np.ndarray], targets: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in [*columns, *targets]:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return "sha256:" + h.hexdigest()[:32]


def _old_ranges(names, columns) -> dict[str, list[float]]:
    table = np.column_stack(columns)
    return {n: [lo, hi] for n, lo, hi in zip(names, table.min(axis=0).tolist(), table.max(axis=0).tolist(),
                                                strict=True)}


@functools.lru_cache(maxsize=1)
def _v2_model() -> EnergyModel:
    return EnergyModel(n_starts=1, bootstrap=0).fit(mlenergy_v2())


def _moe_frame(n: int = 300, seed: int = 3) -> pd.DataFrame:
    """MoE and dense table models at random, non-integer batch sizes (where NumPy's SIMD pow and the C
    library's differ in the last bit for some rows), targets from a fitted model times noise."""
    rng = np.random.default_rng(seed)
    names = ["mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mixtral-8x22B-Instruct-v0.1",
             "Qwen/Qwen3-30B-A3B", "openai/gpt-oss-20b", "meta-llama/Llama-3.1-8B-Instruct"]
    specs = [tables.find_model(m) for m in names]
    known = [(m, s) for m, s in zip(names, specs, strict=True) if s is not None and not s.estimated]
    pick = rng.integers(0, len(known), n)
    df = pd.DataFrame({
        "model": [known[i][0] for i in pick], "params_b": [float(known[i][1].params_b) for i in pick],
        "gpu": rng.choice(["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"], n), "tp": rng.choice([1, 2, 4, 8], n),
        "pp": np.ones(n, dtype=np.int64), "batch_size": rng.uniform(1.0, 300.0, n),
        "input_tokens": rng.uniform(64.0, 4000.0, n), "output_tokens": rng.uniform(16.0, 1000.0, n)})
    model = _v2_model()
    df["energy_j"] = model.predict(df, check_range=False) * rng.lognormal(0.0, 0.05, n)
    df["tpot_s"] = model.latency_model.predict(df, check_range=False)["tpot_s_pred"] * rng.lognormal(0.0, 0.05, n)
    return df


def _frame(kind: str) -> pd.DataFrame:
    if kind == "moe":
        return _moe_frame()
    data = mlenergy_v2()
    n = {"short": 13, "rows50": 50, "long": 600, "duplicates": 40}.get(kind, 50)
    rows = data.sample(n, random_state=7, replace=kind in ("duplicates", "long")).reset_index(drop=True)
    cols = [*RAW, "energy_j"] + ([] if kind == "energy_only" else ["tpot_s", "ttft_s"])
    raw = pd.DataFrame({c: rows[c].to_numpy() for c in cols})
    if kind == "object":
        raw = raw.astype({"model": object, "gpu": object})
    if kind == "category":
        raw = raw.astype({"model": "category", "gpu": "category"})
    if kind == "full_path":  # a derived column (n_gpus): off the light path, NumPy features on the validated frame
        raw = raw.assign(n_gpus=raw["tp"] * raw["pp"])
    return raw


def _check_model(model, template: str, validated: pd.DataFrame) -> None:
    """model's parameters and summary against the native fit on the full path's features, the old way."""
    feats = build_features(validated)
    cols = [np.ascontiguousarray(feats[n]) for n in model.feature_names]
    targets = model._targets(validated)
    opts = model._native_options(targets)
    if opts.target == "sum":
        targets = targets[:1]
    ref = _core.fit(template, cols, targets, None, opts)
    np.testing.assert_array_equal(model.theta, ref.best.params)
    s = model.summary
    assert (s.cost, s.iterations, s.converged) == (ref.best.cost, ref.best.iterations, ref.best.converged)
    assert s.n_distinct_configs == _old_distinct(cols)
    assert s.n_distinct_rows == _old_distinct([*cols, *targets])
    assert s.data_hash == _old_hash(cols, targets)
    ev = _core.evaluate(template, cols, ref.best.params)
    preds = [ev.out0 + ev.out1] if model._fit_target == "sum" else [ev.out0, ev.out1]
    res = np.concatenate([p[np.isfinite(t)] / t[np.isfinite(t)] - 1.0 for p, t in zip(preds, targets, strict=False)])
    assert s.train_mape == float(np.mean(np.abs(res)))
    assert model._ranges == _old_ranges(model.feature_names, cols)


@pytest.mark.parametrize("kind", ["rows50", "short", "long", "object", "category", "duplicates", "energy_only", "moe",
                                  "full_path"])
def test_fit_equals_the_native_fit_on_the_full_paths_features(kind, monkeypatch):
    """Parameters bit for bit, and every summary number, as main computed them: the native fit on
    features.py's features of the validated frame. Light-path tables take the native feature rows (also
    MoE rows at random batch sizes: their touched fraction is NumPy's pow); a table off the light path
    takes features.py."""
    raw = _frame(kind)
    assert (light_profiles(raw, require_energy=True) is None) == (kind == "full_path")
    native: list[bool] = []
    monkeypatch.setattr(domain, "feature_rows", lambda *a: native.append(True) or feature_rows(*a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicated rows warn (DegenerateFitWarning), as before
        model = EnergyModel(n_starts=1, bootstrap=0).fit(raw)
        validated = load_profiles(raw)
    assert native == ([] if kind == "full_path" else [True])  # built once, for both fits
    _check_model(model, "energy", validated)
    if kind == "energy_only":
        assert model.latency_model is None
        return
    _check_model(model.latency_model, "latency", validated)
    alone = LatencyModel(n_starts=1, bootstrap=0).fit(raw)  # no table shared with an energy fit
    np.testing.assert_array_equal(alone.theta, model.latency_model.theta)
    assert alone.summary == dataclasses.replace(model.latency_model.summary, fit_seconds=alone.summary.fit_seconds)
    assert alone._ranges == model.latency_model._ranges and alone._ranges is not model._ranges


def test_duplicated_rows_are_counted_as_before():
    raw = _frame("duplicates")
    with pytest.warns(Warning, match="duplicate another row"):
        model = EnergyModel(n_starts=1, bootstrap=0).fit(raw)
    assert model.summary.n_distinct_rows < model.summary.n_rows


@pytest.mark.parametrize("n", [1, 50, _SET_ROWS, _SET_ROWS + 1, 3 * _SET_ROWS])
def test_distinct_rows_by_set_and_by_unique_agree_with_np_unique(n):
    rng = np.random.default_rng(n)
    cols = [rng.choice([1.0, 2.0, np.nan, -0.0, 0.0, np.inf], n) for _ in range(3)]
    assert _distinct(np.array(cols)) == _old_distinct(cols)


@pytest.mark.parametrize("n", [1, 13, 50, 600])
def test_text_codes_of_column_arrays_equal_pandas(n):
    """The light path codes a frame's name columns from the arrays DataFrame._get_column_array hands out
    (Arrow str, object, python str), at every size: pandas.factorize's codes and first-appearance order."""
    rng = np.random.default_rng(n)
    names = [f"m{i}" for i in rng.integers(0, 9, n)]
    frame = pd.DataFrame({"arrow": pd.array(names, dtype="str"), "object": pd.Series(names, dtype=object),
                          "python": pd.array(names, dtype=pd.StringDtype("python"))})
    arrays = [frame._get_column_array(i) for i in range(3)]
    want_codes, want_uniques = pd.factorize(np.array(names, dtype=object))
    for got in text_codes_of(arrays):
        assert got is not None
        np.testing.assert_array_equal(got[0], want_codes)
        assert list(got[1]) == list(want_uniques)
    with_none = np.array([*names[:-1], None], dtype=object)
    assert text_codes_of([with_none, pd.Categorical(names)]) == [None, None]  # pandas (and then the rules) decide


def test_unhashable_or_missing_name_cells_leave_the_short_path():
    raw = _frame("rows50").astype({"model": object})
    raw.at[3, "model"] = ["not", "a", "name"]
    assert light_profiles(raw, require_energy=True) is None
    raw.at[3, "model"] = None
    assert light_profiles(raw, require_energy=True) is None


def test_model_spec_hash_is_cached_and_not_pickled():
    spec = tables.find_model("meta-llama/Llama-3.1-8B-Instruct")
    fields = tuple(getattr(spec, f.name) for f in dataclasses.fields(spec))
    assert hash(spec) == hash(fields)
    assert "_hash" in vars(spec)
    copy = pickle.loads(pickle.dumps(spec))  # (its NaN fields are new objects: unequal, as before)
    assert "_hash" not in vars(copy) and copy.name == spec.name
    assert hash(copy) == hash(tuple(getattr(copy, f.name) for f in dataclasses.fields(copy)))
    other = dataclasses.replace(spec, n_layers=spec.n_layers + 1)
    assert "_hash" not in vars(other) and other != spec and hash(other) == hash(
        tuple(getattr(other, f.name) for f in dataclasses.fields(other)))


@pytest.mark.parametrize("layout", ["one", "one_unused", "const_const", "varying_const", "two_varying", "all_const"])
def test_key_codes_of_coded_columns_give_every_row_its_key(layout):
    rng = np.random.default_rng(len(layout))
    n = 60
    names = np.array(["a", "b", "c", "d"], dtype=object)
    varying = Coded(rng.integers(0, 3 if layout == "one_unused" else 4, n).astype(np.intp), names)
    const = Coded(np.zeros(n, dtype=np.intp), np.array(["bf16"], dtype=object))
    other = Coded(rng.integers(0, 2, n).astype(np.intp), np.array(["", "fp8"], dtype=object))
    columns = {"one": (varying,), "one_unused": (varying,), "const_const": (const, const),
               "varying_const": (const, varying, const), "two_varying": (varying, const, other),
               "all_const": (const,)}[layout]
    group, keys = key_codes(*columns)
    rows = [tuple(col.values[col.codes[i]] for col in columns) for i in range(n)]
    assert [keys[g] for g in group] == rows
    assert len(keys) == len(set(rows))


def test_column_names_follow_a_renamed_or_replaced_index():
    """light_profiles remembers a frame's column names per Index object: renaming (a new Index) is seen."""
    raw = _frame("rows50")
    assert light_profiles(raw, require_energy=True) is not None
    raw.columns = [*raw.columns[:-1], "gpu_tdp_w"]  # a GPU spec column: the full path's
    assert light_profiles(raw, require_energy=True) is None
    raw.columns = [*raw.columns[:-1], "notes"]  # a column the schema keeps untouched
    assert light_profiles(raw, require_energy=True) is not None
    raw.columns = ["model_name", *raw.columns[1:]]  # a required column missing
    assert light_profiles(raw, require_energy=True) is None
