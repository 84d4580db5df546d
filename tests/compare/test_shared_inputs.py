"""The baselines' inputs computed once per evaluated frame (energylens.compare.shared_inputs): a slice is
exactly what the computation on those rows gives, it is never served for another frame, a frame edited in
place, another gpu_spec or changed template settings, and a runner evaluation computes them once."""
from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import pytest
from test_methods import FAKE_GPUS, fake_gpu_spec

from energylens.compare import baselines, inputs, registry, shared_inputs
from energylens.compare import runner as ev
from energylens.profiles import features, load_profiles, tables
from energylens.profiles.datasets import mlenergy_v2

BASELINES = ("wilkins2024", "llmcarbon", "random_forest", "gradient_boosting", "xgboost")


@pytest.fixture(scope="module")
def v2() -> pd.DataFrame:
    """The bundled ML.ENERGY v2 rows, as the runner holds them (validated, index = positions)."""
    return mlenergy_v2().reset_index(drop=True)


def _split(df: pd.DataFrame, seed: int = 3, n_train: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random split's training and held-out rows, as the runner hands them to a method (copies)."""
    train = np.sort(np.random.default_rng(seed).choice(len(df), n_train, replace=False))
    test = np.setdiff1d(np.arange(len(df)), train)
    return df.iloc[train].copy(), df.iloc[test].copy()


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """The same names in the same order and every array the same bits."""
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
        assert a[name].tobytes() == b[name].tobytes(), name


def _uncached(df: pd.DataFrame, gpu_spec=None) -> dict[str, np.ndarray]:
    assert shared_inputs.active() is None
    return inputs.template_inputs(df, gpu_spec)


# ---------------------------------------------------------------- (a) the slice is the computation

def test_slices_are_the_computation_on_the_rows(v2):
    train, test = _split(v2)
    expected = [_uncached(train), _uncached(test)]
    with inputs.shared_template_inputs(v2) as shared:
        got = [inputs.template_inputs(train), inputs.template_inputs(test)]
    assert (shared.hits, shared.misses, shared.computed) == (2, 0, 1)
    for a, b in zip(got, expected, strict=True):
        _assert_same(a, b)


@pytest.mark.parametrize("name", BASELINES)
def test_each_baseline_predicts_the_same_bits_with_shared_inputs(v2, name):
    if name in ("random_forest", "gradient_boosting", "xgboost"):
        pytest.importorskip("sklearn")
        pytest.importorskip("xgboost")
    train, test = _split(v2)

    def run() -> tuple[np.ndarray, np.ndarray | None]:
        (method,) = registry.default_methods(seed=7, include=(name,))
        method.fit(train.copy())
        energy = method.predict_energy(test.copy())
        return energy, method.predict_tpot(test.copy()) if method.has_tpot() else None

    plain = run()
    with inputs.shared_template_inputs(v2) as shared:
        shared_run = run()
    assert shared.hits >= 2 and shared.misses == 0 and shared.computed == 1  # the shared path was taken
    assert plain[0].tobytes() == shared_run[0].tobytes()
    assert (plain[1] is None) == (shared_run[1] is None)
    if plain[1] is not None:
        assert plain[1].tobytes() == shared_run[1].tobytes()


def test_the_arrays_returned_are_the_callers_own(v2):
    train, _ = _split(v2)
    with inputs.shared_template_inputs(v2):
        first = inputs.template_inputs(train)
        first["kv_bytes_per_token"][:] = -1.0  # a baseline writing into its inputs
        again = inputs.template_inputs(train)
    _assert_same(again, _uncached(train))


# ---------------------------------------------------------------- (b) never stale

def test_another_frame_is_computed(v2):
    other = v2.assign(batch_size=v2["batch_size"] * 2)  # the same index, other rows
    train, _ = _split(other)
    with inputs.shared_template_inputs(v2) as shared:
        got = inputs.template_inputs(train)
    assert shared.hits == 0 and shared.misses == 1
    _assert_same(got, _uncached(train))
    assert not np.array_equal(got["batch_size"], _uncached(_split(v2)[0])["batch_size"])


def test_a_frame_edited_in_place_is_computed_again(v2):
    train, _ = _split(v2)
    with inputs.shared_template_inputs(v2) as shared:
        before = inputs.template_inputs(train)
        # more KV-head replication, other links (n_gpus = tp x pp x dp follows, as the schema requires)
        train.loc[train.index[0], ["tp", "n_gpus"]] = train[["tp", "n_gpus"]].iloc[0].to_numpy() * 2
        after = inputs.template_inputs(train)
    assert (shared.hits, shared.misses) == (1, 1)
    _assert_same(after, _uncached(train))
    assert before["tp"][0] != after["tp"][0]


def test_the_callers_frame_edited_after_the_block_opened_is_not_served(v2):
    frame = v2.copy()
    with inputs.shared_template_inputs(frame) as shared:
        frame.loc[5, "batch_size"] = frame.loc[5, "batch_size"] + 1.0  # the user's frame, edited in place
        rows = frame.iloc[[3, 4, 5, 6]].copy()
        got = inputs.template_inputs(rows)
    assert shared.hits == 0
    _assert_same(got, _uncached(rows))


def test_a_signed_zero_is_another_cell(v2):
    frame = v2.assign(video_frames=0.0)  # -0.0 == 0.0, but not bit for bit
    train, _ = _split(frame)
    train.loc[train.index[0], "video_frames"] = -0.0
    with inputs.shared_template_inputs(frame) as shared:
        inputs.template_inputs(train)
    assert shared.misses == 1 and shared.hits == 0


def test_another_gpu_spec_is_computed(v2):
    def renamed(name: str):
        return FAKE_GPUS["H100"]  # every GPU as an H100

    train, _ = _split(v2)
    with inputs.shared_template_inputs(v2) as shared:
        got = inputs.template_inputs(train, renamed)
    assert shared.hits == 0
    _assert_same(got, _uncached(train, renamed))
    assert not np.array_equal(got["hbm_bytes_per_s"], _uncached(train)["hbm_bytes_per_s"])


def test_a_gpu_spec_that_changes_its_answer_is_asked_again(v2):
    table = dict.fromkeys(v2["gpu"].astype(str).str.strip(), FAKE_GPUS["H100"])

    def spec(name: str):
        return table[name]

    train, _ = _split(v2)
    with inputs.shared_template_inputs(v2, spec) as shared:
        first = inputs.template_inputs(train, spec)
        table.update(dict.fromkeys(table, FAKE_GPUS["A100-SXM4-40GB"]))
        second = inputs.template_inputs(train, spec)
    assert (shared.hits, shared.misses) == (1, 1)
    _assert_same(second, _uncached(train, spec))
    assert not np.array_equal(first["tdp_w"], second["tdp_w"])


def test_a_template_switch_flipped_inside_the_block_is_computed(v2, monkeypatch):
    tp8 = v2.assign(tp=8, n_gpus=8 * v2["pp"] * v2["dp"])  # past the KV heads of every model: replication counts
    train, _ = _split(tp8)
    with inputs.shared_template_inputs(tp8) as shared:
        on = inputs.template_inputs(train)
        monkeypatch.setattr(features, "KV_HEAD_REPLICATION", False)
        off = inputs.template_inputs(train)
    assert (shared.hits, shared.misses) == (1, 1)
    _assert_same(off, _uncached(train))
    assert (off["kv_bytes_per_token"] < on["kv_bytes_per_token"]).any()


def test_nothing_is_shared_outside_the_block(v2):
    train, _ = _split(v2)
    with inputs.shared_template_inputs(v2):
        pass
    assert shared_inputs.active() is None
    _assert_same(inputs.template_inputs(train), inputs.template_inputs(train.copy()))


def test_a_gpu_spec_read_from_some_rows_only_is_never_sliced(v2):
    """A GPU's ``gpu_*`` spec columns are read from whichever of its rows carry them: rows without them cannot
    be computed alone (the GPU is unknown), so they are not sliced from the whole frame, which could."""
    rows = v2.head(12).copy()
    rows["gpu"] = "Lab-GPU-X"
    rows["gpu_hbm_bw_gbs"], rows["gpu_tdp_w"] = np.nan, np.nan
    rows["gpu_interconnect_bw_gbs"], rows["gpu_peak_bf16_tflops"] = np.nan, np.nan
    rows.loc[0, ["gpu_hbm_bw_gbs", "gpu_tdp_w", "gpu_interconnect_bw_gbs", "gpu_peak_bf16_tflops"]] = \
        [3000.0, 700.0, 450.0, 900.0]
    rows = load_profiles(rows, require_energy=False)
    inputs.template_inputs(rows)  # the whole frame: the GPU's spec from row 0
    later = rows.iloc[1:].copy()
    with pytest.raises(ValueError, match="gpu"):
        inputs.template_inputs(later)
    with inputs.shared_template_inputs(rows) as shared, pytest.raises(ValueError, match="gpu"):
        inputs.template_inputs(later)
    assert shared.computed == 0 and shared.hits == 0


def test_unknown_models_are_never_sliced():
    """An unknown model's architecture is estimated from the first of its rows in the frame."""
    from test_methods import synthetic_profiles

    with pytest.warns(tables.EstimatedArchitectureWarning, match="4 model\\(s\\) not in the model table"):
        frame = load_profiles(synthetic_profiles())
    train, _ = _split(frame)
    with inputs.shared_template_inputs(frame, fake_gpu_spec) as shared, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = inputs.template_inputs(train, fake_gpu_spec)
    assert shared.computed == 0 and shared.hits == 0
    _assert_same(got, _uncached(train, fake_gpu_spec))


def test_a_frame_not_validated_is_not_sliced_and_its_bad_rows_fail_only_where_they_did(v2):
    raw = pd.DataFrame({c: v2[c].to_numpy() for c in v2.columns})  # no attrs: load_profiles runs per call
    raw.loc[30, "tp"] = 0  # a bad row outside the rows asked for
    rows = raw.iloc[:20].copy()
    with inputs.shared_template_inputs(raw) as shared:
        got = inputs.template_inputs(rows)
        with pytest.raises(ValueError, match="tp"):
            inputs.template_inputs(raw.iloc[25:35].copy())
    assert shared.computed == 0 and shared.hits == 0
    _assert_same(got, _uncached(rows))


def test_a_whole_frame_that_warns_or_fails_is_not_sliced(v2):
    train, _ = _split(v2)

    def warns(df, gpu_spec):
        warnings.warn("something about these rows", UserWarning, stacklevel=1)
        return inputs._template_inputs(df, gpu_spec)

    def fails(df, gpu_spec):
        raise ValueError("profile column 'gpu': no such GPU")

    for compute in (warns, fails):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with shared_inputs.sharing(v2, None, compute) as shared:
                assert shared.lookup(train, None) is None
                assert shared.lookup(train, None) is None
        assert shared.hits == 0 and shared.misses == 2
        assert shared.computed == (1 if compute is warns else 0)  # tried once, not per lookup


# ---------------------------------------------------------------- (c) once per evaluation

def _count_computations(monkeypatch) -> list[int]:
    calls = []
    real = inputs.features_of

    def counted(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(inputs, "features_of", counted)
    return calls


def _evaluate(df: pd.DataFrame) -> ev.EvaluationResult:
    return ev.run_evaluation(df, repeats=3, splits=("random",), seed=5, progress=False,
                             method_names=("wilkins2024", "llmcarbon", "xgboost"))


def test_a_runner_evaluation_computes_the_inputs_once(v2, monkeypatch):
    pytest.importorskip("xgboost")
    calls = _count_computations(monkeypatch)
    res = _evaluate(v2)
    assert not res.table["error"].astype(bool).any()
    assert calls == [len(v2)]  # the whole frame, once; every split's rows sliced from it


def test_the_runner_gives_the_same_table_without_sharing(v2, monkeypatch):
    pytest.importorskip("xgboost")
    shared = _evaluate(v2)
    calls = _count_computations(monkeypatch)
    monkeypatch.setattr(ev, "shared_template_inputs", lambda *a, **k: contextlib.nullcontext())
    plain = _evaluate(v2)
    assert len(calls) > 10  # really computed per split and method
    pd.testing.assert_frame_equal(shared.table, plain.table, check_exact=True)
    pd.testing.assert_frame_equal(shared.predictions, plain.predictions, check_exact=True)
    assert shared.table["top1"].notna().any()


def test_the_baseline_classes_still_work_alone(v2):
    train, test = _split(v2)
    roof = baselines.LLMCarbonRoofline().fit(train)
    assert np.isfinite(roof.predict_energy(test)).all()
