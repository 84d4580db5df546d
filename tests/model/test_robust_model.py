"""Issue 13 for the model: chunked intervals (bit for bit), the residual summary in the model file (size,
coverage, version-1 files), degenerate fits (duplicates, unidentifiable designs) and extrapolation flags."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from tests.model.small_models import save_edited

from energylens import _core
from energylens.cli.main import main as cli_main
from energylens.errors import (
    DegenerateFitWarning,
    ExtrapolationWarning,
    IntervalsUnavailableError,
    ModelFileError,
    ProfileSchemaError,
    UnknownGpuError,
)
from energylens.model import EnergyModel, LatencyModel, load_model
from energylens.model.intervals import RESIDUAL_SAMPLE_SIZE, draw_indices, output_residuals, residual_sample
from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_profiles_or_bundled("bundled")


@pytest.fixture(scope="module")
def model(bundled) -> EnergyModel:
    return EnergyModel(bootstrap=60, seed=3).fit(bundled)


def _old_intervals(model: EnergyModel, configs, residuals: np.ndarray, level: float = 0.9):
    """The interval method before issue 13: every training residual, one seeded stream, 200 x N arrays (the
    measurement a residual r = pred / meas - 1 stands for is pred / (1 + r), its log scatter inflated)."""
    cols = model._columns(configs)
    n, p = len(residuals), len(model.param_names)
    res = np.expm1(-np.log1p(residuals) * np.sqrt(n / (n - p)))  # so that 1 + res is the measurement factor
    rng = np.random.default_rng(model.options["seed"] + 7919)
    acc = []
    for theta_b in model._boot:
        ev = _core.evaluate(model._template, cols, theta_b)
        out = ev.out0 + ev.out1
        acc.append(out * (1.0 + rng.choice(res, size=out.shape)))
    a = (1 - level) / 2
    lo, hi = np.quantile(np.vstack(acc), [a, 1 - a], axis=0)
    return np.maximum(lo, 0.0), hi


# ---- bounded memory: chunks change nothing -----------------------------------------------------------
@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 355])
def test_chunked_predictions_and_intervals_equal_unchunked_bit_for_bit(model, bundled, chunk_rows):
    # one-row chunks cost a Python pass each: 60 of them check what 356 would (7 runs every row, ragged end)
    bundled = bundled.iloc[:60] if chunk_rows == 1 else bundled
    whole = dict(chunk_rows=len(bundled), check_range=False)
    parts = dict(chunk_rows=chunk_rows, check_range=False)
    np.testing.assert_array_equal(model.predict(bundled, **parts), model.predict(bundled, **whole))
    pd.testing.assert_frame_equal(model.predict_phases(bundled, **parts), model.predict_phases(bundled, **whole))
    pd.testing.assert_frame_equal(model.predict_interval(bundled, **parts), model.predict_interval(bundled, **whole),
                                  check_exact=True)
    lat = model.latency_model
    assert lat is not None
    pd.testing.assert_frame_equal(lat.predict_interval(bundled, **parts), lat.predict_interval(bundled, **whole),
                                  check_exact=True)
    np.testing.assert_array_equal(model.extrapolated(bundled, chunk_rows=chunk_rows), model.extrapolated(bundled))


def test_chunk_rows_must_be_a_positive_integer(model, bundled):
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="chunk_rows"):
            model.predict(bundled, chunk_rows=bad)


def test_residual_draws_depend_on_the_row_key_only():
    keys = np.random.default_rng(0).integers(0, 2**63, 1000, dtype=np.uint64)
    full = draw_indices(7, 5, keys, 37)
    np.testing.assert_array_equal(draw_indices(7, 5, keys[300:650], 37), full[:, 300:650])
    assert full.min() >= 0 and full.max() < 37
    # Every residual is drawn about equally often, and the seed matters.
    counts = np.bincount(full.ravel(), minlength=37)
    assert counts.min() > 0.7 * counts.mean()
    assert not np.array_equal(draw_indices(8, 5, keys, 37), full)


# ---- the residual summary ------------------------------------------------------------------------------
def test_intervals_match_the_per_row_residual_method_and_cover(model, bundled):
    ivl = model.predict_interval(bundled, check_range=False)
    (residuals,) = output_residuals(model._template, model._columns(bundled), model.theta,
                                    [bundled["energy_j"].to_numpy(float)], True)
    lo, hi = _old_intervals(model, bundled, residuals)
    reseeded = _copy(model)
    reseeded.options = {**model.options, "seed": model.options["seed"] + 1}
    lo2, hi2 = _old_intervals(reseeded, bundled, residuals)
    # The same method with other (hashed) draws: no systematic shift, and per row no further from the
    # old intervals than the old method is from itself under another seed (60 replicates: a few %).
    for new, old, again in ((ivl["energy_j_lo"], lo, lo2), (ivl["energy_j_hi"], hi, hi2)):
        assert abs(np.mean(new / old) - 1) < 0.02
        assert np.median(np.abs(new / old - 1)) < 1.5 * np.median(np.abs(again / old - 1))
    measured = bundled["energy_j"].to_numpy()
    new_cov = np.mean((measured >= ivl["energy_j_lo"]) & (measured <= ivl["energy_j_hi"]))
    old_cov = np.mean((measured >= lo) & (measured <= hi))
    assert abs(new_cov - old_cov) < 0.03 and new_cov > 0.8


def test_a_summarised_sample_gives_the_intervals_of_every_residual(model, bundled):
    rng = np.random.default_rng(0)
    many = np.expm1(rng.standard_t(4, 200_000) * 0.08)  # far more residuals than the file keeps (all > -1)
    sample = residual_sample(many)
    assert len(sample) == RESIDUAL_SAMPLE_SIZE and np.all(np.diff(sample) >= 0)
    a, b = _copy(model), _copy(model)
    a._res_samples, a._res_counts = [np.sort(many)], [len(many)]
    b._res_samples, b._res_counts = [sample], [len(many)]
    ia, ib = (m.predict_interval(bundled, check_range=False) for m in (a, b))
    for col in ("energy_j_lo", "energy_j_hi"):
        assert np.median(np.abs(ib[col] / ia[col] - 1)) < 0.01, col


def _copy(model: EnergyModel) -> EnergyModel:
    clone = EnergyModel(**model.options, bootstrap=model.bootstrap_replicates)
    clone.__dict__.update({k: v for k, v in model.__dict__.items() if k != "latency_model"})
    return clone


def test_model_file_size_does_not_grow_with_training_rows(tmp_path, bundled):
    big = pd.concat([bundled] * 30, ignore_index=True)
    rng = np.random.default_rng(1)
    big["energy_j"] = big["energy_j"] * np.exp(rng.normal(0, 0.03, len(big)))
    small_file, big_file = tmp_path / "small.json", tmp_path / "big.json"
    EnergyModel(bootstrap=20).fit(bundled).save(small_file)
    with pytest.warns(DegenerateFitWarning, match="duplicate"):  # the latency columns were copied as they are
        m = EnergyModel(bootstrap=20).fit(big)
    m.save(big_file)
    assert len(big) > 5 * RESIDUAL_SAMPLE_SIZE
    assert big_file.stat().st_size < 3 * small_file.stat().st_size + 200_000
    doc = json.loads(big_file.read_text())
    assert len(doc["energy"]["residual_sample"]) == RESIDUAL_SAMPLE_SIZE
    assert doc["energy"]["residual_count"] == len(big)
    back = load_model(big_file)
    pd.testing.assert_frame_equal(back.predict_interval(bundled, check_range=False),
                                  m.predict_interval(bundled, check_range=False))


def _as_version_1(doc: dict, residuals: list[float]) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["version"] = 1
    for kind in ("energy", "latency"):
        state = doc[kind]
        if state is None:
            continue
        for key in ("residual_sample", "residual_count", "residual_samples", "residual_counts", "train_ranges"):
            state.pop(key, None)
        state["train_residuals"] = residuals
        for key in ("n_distinct_rows", "n_distinct_configs", "identifiable"):
            state["fit"].pop(key)
    return doc


def test_version_1_files_with_per_row_residuals_still_load(tmp_path, model, bundled):
    path = tmp_path / "m.json"
    model.save(path)
    (residuals,) = output_residuals(model._template, model._columns(bundled), model.theta,
                                    [bundled["energy_j"].to_numpy(float)], True)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_as_version_1(json.loads(path.read_text()), residuals.tolist())))
    back = load_model(old)
    assert back._res_counts == [len(residuals)]
    np.testing.assert_allclose(back._res_samples[0], np.sort(residuals))
    assert back.summary.n_distinct_rows is None and back.summary.identifiable
    ivl = back.predict_interval(bundled)
    assert np.all(ivl["energy_j_lo"] <= ivl["energy_j_hi"])
    assert not back.extrapolated(bundled.iloc[:1].assign(tp=1024, pp=1, ep=1, n_gpus=1024)).any()
    np.testing.assert_array_equal(back.predict(bundled, check_range=False), model.predict(bundled, check_range=False))


@pytest.mark.parametrize("edit,match", [
    (lambda s: s.__setitem__("residual_sample", ["x"]), "residual_sample"),
    (lambda s: s.__setitem__("residual_sample", [float("nan")]), "residual_sample"),
    (lambda s: s.__setitem__("residual_count", 3), "residual_count"),
    (lambda s: s.__setitem__("train_ranges", {"tp": [8, 1]}), "train_ranges tp"),
    (lambda s: s.__setitem__("train_ranges", {"colour": [1, 2]}), "colour"),
    (lambda s: s.__setitem__("train_ranges", [1, 2]), "train_ranges"),
    (lambda s: s.__setitem__("bootstrap_params", [[1.0, 2.0]]), "bootstrap_params"),
])
def test_edited_summaries_are_refused_on_load(tmp_path, model, edit, match):
    path = tmp_path / "m.json"
    save_edited(model, path, lambda doc: edit(doc["energy"]))
    with pytest.raises(ModelFileError, match=match):
        load_model(path)


# ---- degenerate fits -----------------------------------------------------------------------------------
def test_sixty_copies_of_one_row_warn_and_refuse_intervals(tmp_path, bundled, capsys):
    copies = pd.concat([bundled.iloc[[0]]] * 60, ignore_index=True)
    with pytest.warns(DegenerateFitWarning, match="1 distinct configuration"):
        m = EnergyModel(bootstrap=30).fit(copies)
    s = m.summary
    assert (s.n_rows, s.n_distinct_rows, s.n_duplicate_rows, s.n_distinct_configs) == (60, 1, 59, 1)
    assert not s.identifiable
    assert "not identified" in m.intervals_unavailable()
    with pytest.raises(IntervalsUnavailableError, match="not available.*1 distinct configuration"):
        m.predict_interval(copies)
    # The refusal survives the model file, and the command line writes NaN columns with the reason.
    path, data, out = tmp_path / "m.json", tmp_path / "p.csv", tmp_path / "out.csv"
    m.save(path)
    assert not load_model(path).summary.identifiable
    copies.to_csv(data, index=False)
    with pytest.warns(DegenerateFitWarning):
        assert cli_main(["fit", str(data), "-o", str(tmp_path / "m2.json")]) == 0
    assert "59 exact duplicates, 1 distinct rows" in capsys.readouterr().out
    assert cli_main(["predict", str(tmp_path / "m2.json"), str(data), "-o", str(out)]) == 0
    assert "interval columns are NaN" in capsys.readouterr().err
    got = pd.read_csv(out)
    assert got["energy_j_lo"].isna().all() and got["energy_j_hi"].isna().all()
    assert got["energy_j_pred"].notna().all()


def test_duplicated_rows_are_counted_and_shrink_the_sample_size(bundled):
    doubled = pd.concat([bundled, bundled.iloc[:100]], ignore_index=True)
    with pytest.warns(DegenerateFitWarning, match="100 of 456 rows duplicate"):
        m = EnergyModel(bootstrap=20).fit(doubled, latency=False)
    assert (m.summary.n_duplicate_rows, m.summary.n_distinct_rows) == (100, 356)
    assert m.summary.identifiable and m.intervals_unavailable() is None
    # Rows measured twice with different values are repeats, not duplicates.
    repeat = pd.concat([bundled, bundled.iloc[:10].assign(energy_j=bundled["energy_j"].iloc[:10] * 1.01)],
                       ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        r = EnergyModel(bootstrap=0).fit(repeat, latency=False)
    assert r.summary.n_duplicate_rows == 0 and r.summary.n_distinct_configs == 356


def test_no_bootstrap_is_intervals_unavailable_not_zero_width(bundled):
    m = EnergyModel(bootstrap=0).fit(bundled)
    with pytest.raises(IntervalsUnavailableError, match="bootstrap"):
        m.predict_interval(bundled)
    assert isinstance(IntervalsUnavailableError("x"), ValueError)


# ---- extrapolation -------------------------------------------------------------------------------------
def test_far_rows_are_flagged_with_one_warning_and_counts(model, bundled):
    base = bundled.iloc[:4].copy()
    far = pd.concat([base.iloc[[0]].assign(tp=1024, pp=1, ep=1, n_gpus=1024), base.iloc[[1]].assign(batch_size=10**9),
                     base.iloc[[2]].assign(input_tokens=10**7), base.iloc[[3]]], ignore_index=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model.predict(far)
    ext = [w for w in seen if issubclass(w.category, ExtrapolationWarning)]
    assert len(ext) == 1
    msg = str(ext[0].message)
    assert "3 of 4 rows" in msg and "factor 2" in msg
    assert "tp: 1 row(s), up to 1024" in msg and "input_tokens: 1 row(s), up to 1e+07" in msg
    with pytest.warns(ExtrapolationWarning):
        np.testing.assert_array_equal(model.extrapolated(far), [True, True, True, False])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        model.predict(far, check_range=False)
        model.predict(bundled)  # the training rows themselves are inside


def test_a_fit_stopped_by_a_slip_names_the_frames_rows_and_the_extreme_feature(bundled):
    """The non-finite fit's message counted rows among the rows given ("data rows [3]" for the file's sixth data
    row once three were dropped) and listed the largest features, so a batch of 1e-310 went unnamed. Such a batch
    is now refused before the fit by the schema's plausibility limits, naming the same row and the column."""
    df = bundled.copy()
    df.loc[5, "batch_size"] = 1e-310
    with pytest.raises(ProfileSchemaError, match=r"column 'batch_size': must be between 1e-06 and .* in data row 3 of "
                                                 r"the DataFrame \(1-based position; index label 5\); value\(s\): 1e-310"):
        EnergyModel(bootstrap=0).fit(df.iloc[3:])


def test_extrapolation_from_given_features_equals_the_rows_path(model, bundled):
    """energylens.search passes the features it computed for its terms (one feature pass): the flags and the
    detail must be those of the rows themselves, flagged rows and unflagged ones."""
    far = pd.concat([bundled.iloc[[0]].assign(batch_size=10**9), bundled.iloc[[1, 2]],
                     bundled.iloc[[3]].assign(input_tokens=10**7)], ignore_index=True)
    flags, detail = model.extrapolation(far)
    given_flags, given_detail = model.extrapolation(None, features=build_features(far))
    np.testing.assert_array_equal(given_flags, [True, False, False, True])
    np.testing.assert_array_equal(given_flags, flags)
    assert given_detail == detail and "input_tokens" in detail
    inside = model.extrapolation(None, features=build_features(bundled.iloc[:5]))
    assert not inside[0].any() and inside[1] is None


def test_cli_predict_writes_an_extrapolated_column(tmp_path, model, bundled, capsys):
    path, data, out = tmp_path / "m.json", tmp_path / "p.csv", tmp_path / "out.csv"
    model.save(path)
    bundled.iloc[:3].assign(tp=[1, 1024, 1], pp=1, ep=1, n_gpus=[1, 1024, 1]).to_csv(data, index=False)
    with pytest.warns(ExtrapolationWarning, match="1 of 3 rows"):
        assert cli_main(["predict", str(path), str(data), "-o", str(out)]) == 0
    got = pd.read_csv(out)
    assert got["extrapolated"].tolist() == [False, True, False]
    assert got[["energy_j_lo", "energy_j_hi"]].notna().all().all()


def test_latency_only_model_flags_and_chunks(tmp_path, bundled):
    lat = LatencyModel(bootstrap=20).fit(bundled.drop(columns=["energy_j"]))
    far = bundled.iloc[:2].assign(batch_size=[8, 10**9])
    with pytest.warns(ExtrapolationWarning, match="1 of 2 rows"):
        lat.predict(far)
    with pytest.warns(ExtrapolationWarning):
        assert lat.extrapolated(far).tolist() == [False, True]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the non-warning form: the same flags, the warning's text returned
        flags, detail = lat.extrapolation(far)
        assert flags.tolist() == [False, True]
        assert detail.startswith("the fitted data's range by more than a factor") and "batch_size: 1 row(s)" in detail
        assert lat.extrapolation(bundled.iloc[:2])[1] is None


def test_unvalidated_frames_are_validated_chunk_by_chunk_with_whole_table_errors(model, bundled):
    raw = pd.DataFrame(bundled[["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens",
                                "output_tokens"]])
    np.testing.assert_array_equal(model.predict(raw, chunk_rows=50, check_range=False),
                                  model.predict(raw, check_range=False))
    bad = raw.copy()
    bad.loc[bad.index[200], "tp"] = -3
    tp_cell = r"column 'tp': must be an integer >= 1 in data row 201 "
    with pytest.raises(ProfileSchemaError, match=tp_cell) as chunked:
        model.predict(bad, chunk_rows=50)
    with pytest.raises(ProfileSchemaError, match=tp_cell) as whole:
        model.predict(bad, chunk_rows=10_000)
    assert str(chunked.value) == str(whole.value) and "row 201" in str(chunked.value)
    unknown = raw.copy()
    unknown.loc[unknown.index[120], "gpu"] = "Quantum-9000"
    gpu_cell = r"data row 121 of the DataFrame \(1-based position; index label 120\), column 'gpu': unknown GPU 'Quantum-9000'"
    with pytest.raises(UnknownGpuError, match=gpu_cell) as chunked:
        model.predict(unknown, chunk_rows=50)
    with pytest.raises(UnknownGpuError, match=gpu_cell) as whole:
        model.predict(unknown, chunk_rows=10_000)
    assert type(chunked.value) is type(whole.value) and str(chunked.value) == str(whole.value)


def test_the_range_note_names_what_moe_layers_counts():
    """The note said "moe_layers: 1 row(s), up to 188" for a 94-layer fp8 MoE: the feature counts a W8A8
    checkpoint's activation-quantised layers as extra launch layers too, which the bare name hides."""
    from energylens.model.domain import RangeCheck

    check = RangeCheck({"moe_layers": [0.0, 48.0], "tp": [1.0, 8.0]}, ("moe_layers", "tp"))
    check.flags([np.array([188.0, 10.0]), np.array([1.0, 2.0])])
    assert "moe_layers (extra launch layers: MoE and W8A8 layers): 1 row(s), up to 188" in check.summary()
