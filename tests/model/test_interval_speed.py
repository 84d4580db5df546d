"""Prediction intervals in one native call (``_core.interval_bounds``), not a Python loop of one ``_core.evaluate``
per bootstrap replicate (about 1 ms of a one-row interval's 1.2 ms, bench/bench_predict_interval.py): the
bounds must stay bit for bit those of the loop (:func:`energylens.model.intervals.reference_interval_bounds`)
for every row count, chunk size, thread count, instruction-set level and level, for both templates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.model import EnergyModel, LatencyModel
from energylens.model import base as model_base
from energylens.model import calibration as model_calibration
from energylens.model import domain as model_domain
from energylens.model import intervals as iv
from energylens.model.closed_form import NO_TTFT_BOUNDS
from energylens.parallel import supported_isas, threads, use_isa
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.light import LightProfiles


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return mlenergy_v2()


@pytest.fixture(scope="module")
def energy(data) -> EnergyModel:
    return EnergyModel(bootstrap=40, seed=3).fit(data, latency=False)


@pytest.fixture(scope="module")
def latency(data) -> LatencyModel:
    return LatencyModel(bootstrap=40, seed=4).fit(data)


def _random_rows(data: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` bundled configurations with random batch sizes and lengths (rows the fit never saw)."""
    rng = np.random.default_rng(seed)
    rows = data.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    return rows.assign(batch_size=rng.integers(1, 512, n).astype(float),
                       input_tokens=rng.integers(16, 8192, n).astype(float),
                       output_tokens=rng.integers(16, 2048, n).astype(float))


def _columns(model, rows: pd.DataFrame) -> list[np.ndarray]:
    _, chunks = model._chunks(rows, len(rows), None)
    ((_, _, columns),) = list(chunks)
    return columns


def _bits(bounds) -> list[bytes]:
    return [a.tobytes() for pair in bounds for a in pair]


def _both(model, columns, picks, samples, **kw):
    args = (model._template, columns, model._boot, samples)
    return iv.interval_bounds(*args, picks=picks, **kw), iv.reference_interval_bounds(*args, picks=picks, **kw)


@pytest.mark.parametrize("m", [1, 2, 3, 7, 8, 9, 127, 128, 129, 300, 1001])
def test_energy_bounds_equal_the_replicate_loop_bit_for_bit(energy, data, m):
    columns = _columns(energy, _random_rows(data, m, m))
    for seed, level in [(3, 0.9), (7, 0.5), (2**70, 0.99)]:
        new, ref = _both(energy, columns, (iv.OUT_SUM,), [energy.measurement_factors()], seed=seed, level=level)
        assert _bits(new) == _bits(ref), (m, seed, level)


@pytest.mark.parametrize("m", [1, 5, 130, 777])
def test_latency_bounds_equal_the_replicate_loop_bit_for_bit(latency, data, m):
    columns = _columns(latency, _random_rows(data, m, 100 + m))
    samples = [latency.measurement_factors(0), latency.measurement_factors(1)]
    assert len(samples[0]) != len(samples[1]) or not np.array_equal(samples[0], samples[1])
    for level in (0.8, 0.95):
        new, ref = _both(latency, columns, (iv.OUT0, iv.OUT1), samples, seed=4, level=level)
        assert _bits(new) == _bits(ref), (m, level)
    # each output alone, and the sum, from an empty sample (factor 1) and a one-value one
    for picks in [(iv.OUT1,), (iv.OUT_SUM,), (iv.OUT0,)]:
        for sample in (np.zeros(0), np.array([1.3])):
            new, ref = _both(latency, columns, picks, [sample], seed=1, level=0.9)
            assert _bits(new) == _bits(ref), (picks, len(sample))


@pytest.mark.parametrize("level", [0.01, 0.5, 0.9, 0.999, 1.0 - 2.0**-53])
def test_every_level_interpolates_as_np_quantile(energy, data, level):
    # the extreme level puts the upper quantile's virtual index on the last replicate (NumPy's -1 index)
    columns = _columns(energy, _random_rows(data, 64, 9))
    new, ref = _both(energy, columns, (iv.OUT_SUM,), [energy.measurement_factors()], seed=0, level=level)
    assert _bits(new) == _bits(ref)


def test_a_nan_replicate_gives_nan_bounds_as_np_quantile(energy, data):
    columns = _columns(energy, _random_rows(data, 50, 2))
    boot = energy._boot.copy()
    boot[3, 1] = np.nan
    args = (energy._template, columns, boot, [energy.measurement_factors()])
    kw = dict(seed=1, level=0.9, picks=(iv.OUT_SUM,))
    (lo, hi), = iv.interval_bounds(*args, **kw)
    (r_lo, r_hi), = iv.reference_interval_bounds(*args, **kw)
    assert np.isnan(lo).all() and np.isnan(hi).all() and np.isnan(r_lo).all() and np.isnan(r_hi).all()


@pytest.mark.parametrize("level", [0.5, 0.9])
def test_tied_draws_select_as_np_quantile(energy, data, level):
    """Replicates repeated and one factor: every row's values come in runs of equal values (the selection's
    equal-to-pivot pass), and with one replicate only the interval is that replicate's prediction."""
    columns = _columns(energy, _random_rows(data, 300, 12))
    for boot in (np.repeat(energy._boot[:5], 8, axis=0), energy._boot[:1], np.repeat(energy._boot[:1], 40, axis=0)):
        args = (energy._template, columns, boot, [np.array([1.25])])
        kw = dict(seed=2, level=level, picks=(iv.OUT_SUM,))
        assert _bits(iv.interval_bounds(*args, **kw)) == _bits(iv.reference_interval_bounds(*args, **kw))


def _reference_public(monkeypatch, call):
    """``call()`` with predict_interval running the replicate loop (the code before the native pass)."""
    with monkeypatch.context() as m:
        m.setattr(iv, "interval_bounds", iv.reference_interval_bounds)  # (base's, through intervals.GpuTransfer)
        m.setattr(model_calibration, "interval_bounds", iv.reference_interval_bounds)
        return call()


def test_public_intervals_equal_the_loop_for_every_chunk_size_and_thread_count(energy, latency, data, monkeypatch):
    rows = _random_rows(data, 5000, 11)  # 5000 x 40 draws: two threads where allowed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_e = _reference_public(monkeypatch, lambda: energy.predict_interval(rows, check_range=False))
        ref_l = _reference_public(monkeypatch, lambda: latency.predict_interval(rows, check_range=False))
        for chunk_rows in (1, 7, 128, 1000, 32768):
            # one-row chunks cost a Python pass each: 60 of them check the per-chunk offsets as well as 300 would
            part = rows.iloc[:60] if chunk_rows == 1 else rows.iloc[:300] if chunk_rows < 100 else rows
            for n_threads in (1, 2):
                got = energy.predict_interval(part, chunk_rows=chunk_rows, n_threads=n_threads, check_range=False)
                pd.testing.assert_frame_equal(got, ref_e.iloc[: len(part)], check_exact=True)
                got = latency.predict_interval(part, chunk_rows=chunk_rows, n_threads=n_threads, check_range=False)
                pd.testing.assert_frame_equal(got, ref_l.iloc[: len(part)], check_exact=True)


def test_every_instruction_set_level_matches_its_own_loop(energy, data):
    columns = _columns(energy, _random_rows(data, 200, 5))
    for isa in supported_isas():
        with use_isa(isa):
            new, ref = _both(energy, columns, (iv.OUT_SUM,), [energy.measurement_factors()], seed=3,
                             level=0.9)
        assert _bits(new) == _bits(ref), isa


def test_calibrated_interval_equals_the_loop_in_one_pass_per_chunk(data, monkeypatch):
    """Rows of families the calibration saw and of families it did not: both kinds' bounds come from one
    native pass per chunk (each kind its own factors at the same draws), equal to two loops bit for bit."""
    train = data[~data["model"].str.startswith(("google/", "microsoft/"))]  # no Gemma, CodeGemma or Phi family
    model = EnergyModel(bootstrap=30, seed=2, calibration="family").fit(train, latency=False)
    rows = _random_rows(data, 400, 8)
    seen = np.isfinite(model.calibration.log_offsets(rows))
    assert seen.any() and not seen.all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _reference_public(monkeypatch, lambda: model.predict_interval(rows, chunk_rows=150))
        calls = []
        native = _core.interval_bounds
        monkeypatch.setattr(_core, "interval_bounds", lambda *a, **k: calls.append(len(a[3])) or native(*a, **k))
        got = model.predict_interval(rows, chunk_rows=150)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert calls == [2, 2, 2]  # 400 rows in chunks of 150, each with both kinds


def test_predict_bootstrap_is_one_native_call_per_chunk(energy, data, monkeypatch):
    rows = _random_rows(data, 1000, 13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = energy.predict_bootstrap(rows)
        columns = energy._columns(model_base.load_configs(rows, require_energy=False))
    want = np.array([_core.evaluate("energy", columns, t, sum=True).out0 for t in energy._boot])  # the old loop
    assert frame.shape == (len(energy._boot), 1000) and frame.tobytes() == want.tobytes()
    monkeypatch.setattr(_core, "evaluate", lambda *a, **k: pytest.fail("a per-replicate evaluate"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert energy.predict_bootstrap(rows).tobytes() == want.tobytes()


def test_an_interval_is_one_native_call_per_chunk(energy, data, monkeypatch):
    """The replicate loop called _core.evaluate once per replicate and chunk (40 here); now one call per chunk."""
    calls = []
    monkeypatch.setattr(_core, "evaluate", lambda *a, **k: calls.append("evaluate"))
    native = _core.interval_bounds
    monkeypatch.setattr(_core, "interval_bounds", lambda *a, **k: calls.append("interval") or native(*a, **k))
    rows = _random_rows(data, 10, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energy.predict_interval(rows, chunk_rows=4, check_range=False)
    assert calls == ["interval"] * 3


@pytest.mark.parametrize("template,model_fixture", [("energy", "energy"), ("latency", "latency")])
def test_evaluate_replicates_equals_evaluate_per_replicate(template, model_fixture, data, request):
    model = request.getfixturevalue(model_fixture)
    columns = _columns(model, _random_rows(data, 9000, 3))  # 9000 x 40: threads over (replicate, chunk)
    boot = model._boot
    for cols in (columns, [c[:1] if k % 3 == 0 else c for k, c in enumerate(columns)]):  # broadcast columns too
        for n_threads in (1, 2):
            with threads(n_threads):
                out0, out1 = _core.evaluate_replicates(template, cols, boot)
            assert out0.shape == out1.shape == (len(boot), 9000)
            for b in (0, 17, len(boot) - 1):
                ev = _core.evaluate(template, cols, boot[b])
                assert out0[b].tobytes() == ev.out0.tobytes() and out1[b].tobytes() == ev.out1.tobytes()


def test_a_raw_tables_interval_builds_its_features_natively(energy, latency, data, monkeypatch):
    """A user's table on the light path: its features come from the native feature pass (feature_rows), as
    predict's do, not features.py (~1 ms of a one-row interval), with the same bounds bit for bit."""
    raw = _random_rows(data, 40, 6)[["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens",
                                     "output_tokens"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with monkeypatch.context() as m:
            m.setattr(model_base, "feature_rows", lambda *a: None)  # features.py, as before
            ref = [model.predict_interval(raw) for model in (energy, latency)]

        def no_features_py(self):
            raise AssertionError("features.py ran")

        monkeypatch.setattr(LightProfiles, "features", no_features_py)
        for model, want in zip((energy, latency), ref, strict=True):
            pd.testing.assert_frame_equal(model.predict_interval(raw), want, check_exact=True)


def _warnings_of(call) -> list[str]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        call()
    return [f"{w.category.__name__}: {w.message}" for w in got]


@pytest.mark.parametrize("chunk_rows", [7, 1000])
def test_the_extrapolation_check_is_counted_in_the_native_pass(energy, latency, data, monkeypatch, chunk_rows):
    """The interval's extrapolation tally comes from the native pass (RangeCheck.flags, ~90 NumPy reductions,
    was half of a one-row interval); the warning names the same rows, features and extremes."""
    rows = _random_rows(data, 300, 21).assign(input_tokens=lambda d: d["input_tokens"] * 40.0)
    for model in (energy, latency):
        before = _warnings_of(lambda m=model: _reference_public(
            monkeypatch, lambda: m.predict_interval(rows, 0.75, chunk_rows=chunk_rows)))
        extrapolation = [w for w in before if w.startswith("ExtrapolationWarning:")]
        assert len(extrapolation) == 1 and "of 300 rows" in extrapolation[0], before
        # the only other warning: the latency fit's NaN TTFT bounds (no measured ttft_s in v2), not about range
        others = [w for w in before if w not in extrapolation]
        assert others == ([] if model is energy else [f"DegenerateFitWarning: {NO_TTFT_BOUNDS}"]), before
        with monkeypatch.context() as m:
            m.setattr(model_domain.RangeCheck, "flags", lambda *a: pytest.fail("flags ran"))
            for n_threads in (1, 2):
                assert _warnings_of(lambda mm=model, t=n_threads: mm.predict_interval(
                    rows, 0.75, chunk_rows=chunk_rows, n_threads=t)) == before
    assert _warnings_of(lambda: energy.predict_interval(data.iloc[:50], 0.75)) == []  # training rows: in range
    columns = _columns(energy, rows)
    with pytest.raises(ValueError, match="give both above= and below="):
        _core.interval_bounds("energy", columns, energy._boot, [energy.measurement_factors()], [iv.OUT_SUM],
                              seed=0, q_lo=0.05, q_hi=0.95, above=np.zeros(len(columns)))
    with pytest.raises(ValueError, match="range thresholds for"):
        _core.interval_bounds("energy", columns, energy._boot, [energy.measurement_factors()], [iv.OUT_SUM],
                              seed=0, q_lo=0.05, q_hi=0.95, above=np.zeros(3), below=np.zeros(3))
    with pytest.raises(ValueError, match="no range tally was asked for"):
        _ = _core.interval_bounds("energy", columns, energy._boot, [energy.measurement_factors()], [iv.OUT_SUM],
                                  seed=0, q_lo=0.05, q_hi=0.95).range_count


def test_bad_inputs_are_named_by_the_binding(energy, data):
    columns = _columns(energy, _random_rows(data, 4, 0))
    boot, f = energy._boot, [energy.measurement_factors()]
    kw = dict(seed=0, q_lo=0.05, q_hi=0.95)
    with pytest.raises(ValueError, match=r"params must have shape \(replicates, 12\) for the .* got shape \(12,\)"):
        _core.interval_bounds("energy", columns, boot[0], f, [iv.OUT_SUM], **kw)
    with pytest.raises(ValueError, match=r"params must have shape \(replicates, 12\).* got shape \(40, 11\)"):
        _core.interval_bounds("energy", columns, boot[:, :11], f, [iv.OUT_SUM], **kw)
    with pytest.raises(ValueError, match=r"evaluate_replicates: params must have shape \(replicates, 12\)"):
        _core.evaluate_replicates("energy", columns, boot[:, :, None])
    with pytest.raises(ValueError, match="no bootstrap replicates"):
        _core.interval_bounds("energy", columns, boot[:0], f, [iv.OUT_SUM], **kw)
    with pytest.raises(ValueError, match="2 factor samples for 1 outputs"):
        _core.interval_bounds("energy", columns, boot, f * 2, [iv.OUT_SUM], **kw)
    with pytest.raises(ValueError, match="output 2 is not 0, 1 or -1"):
        _core.interval_bounds("energy", columns, boot, f, [2], **kw)
    with pytest.raises(ValueError, match="probabilities must be in"):
        _core.interval_bounds("energy", columns, boot, f, [iv.OUT_SUM], seed=0, q_lo=-0.1, q_hi=0.95)
    with pytest.raises(ValueError, match="factors\\[0\\] must be a 1-D"):
        _core.interval_bounds("energy", columns, boot, [f[0][:, None]], [iv.OUT_SUM], **kw)
    with pytest.raises(ValueError, match="feature columns"):
        _core.interval_bounds("energy", columns[:-1], boot, f, [iv.OUT_SUM], **kw)
    with pytest.raises(ValueError, match="2 residual samples for 1 outputs"):
        iv.interval_bounds("energy", columns, boot, f * 2, seed=0, level=0.9, picks=(iv.OUT_SUM,))
