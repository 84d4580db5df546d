"""The prefill stall B_r t_pf of the time in the system comes from one place, the engine's
LatencyTemplate::eval_stall: ``_core.latency_stall`` gives the engine's TTFT, TPOT and GPU-seconds per request
bit for bit, and predict's time_in_system_s_pred (and bench/time_in_system.py, which reads stall_outputs) takes
its stall from it, not from a second template evaluation that differed in the last bits."""

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.model import time_in_system
from energylens.profiles import read_profiles
from energylens.profiles.features import FEATURE_NAMES
from energylens.search.api import native_options
from energylens.search.space import COMBO_FIELDS, build_space


def test_latency_stall_is_the_engines_evaluation(model):
    # dense models only: a MoE's touched-expert feature is NumPy's pow here and the C library's in the engine
    space = build_space(["llama-3.1-8b", "llama-3.1-70b"], ["H100", "H200"], input_tokens=[2000],
                        output_tokens=[256], tp=[1, 2, 4, 8], pp=[1, 2, 3], max_num_seqs=[1, 7, 16, 64, 256])
    phi = model.latency_model.theta
    idx = np.arange(space.size, dtype=np.uint64)
    engine = _core.search_evaluate(*space.native_args(), model.theta, phi, native_options(), idx)
    feats = space.point_features(idx.astype(np.int64))
    ttft, tpot, stall = _core.latency_stall([np.asarray(feats[n], dtype=np.float64) for n in FEATURE_NAMES], phi)
    np.testing.assert_array_equal(ttft, engine.ttft_s)
    np.testing.assert_array_equal(tpot, engine.tpot_s)
    sigma = space.combo_values[:, COMBO_FIELDS.index("prefill_stall")][0]
    n = feats["tp"] * feats["pp"]
    w = ttft + feats["output_tokens"] * tpot + sigma * (1.0 * stall)  # kernel::time_in_system, uncalibrated
    np.testing.assert_array_equal(n * w / np.asarray(engine.batch), engine.gpu_s_per_request)


#: A configuration table with only these columns takes predict's native pass (``_core.predict_rows``).
LIGHT = ["model", "gpu", "tp", "pp", "dp", "ep", "precision", "batch_size", "input_tokens", "output_tokens"]


@pytest.mark.parametrize("light", [True, False], ids=["native_rows", "feature_columns"])
def test_predict_takes_the_engines_stall(model, light):
    lat = model.latency_model
    frame = read_profiles("bundled")  # the whole profile table: its feature columns (features.py)
    configs = pd.DataFrame({c: np.asarray(frame[c]) for c in LIGHT}) if light else frame
    seen = []
    with pytest.MonkeyPatch.context() as mp:  # which chunks took the stall from their feature columns
        real = time_in_system._stall
        mp.setattr(time_in_system, "_stall", lambda inputs, theta: seen.append(type(inputs)) or real(inputs, theta))
        ttft, tpot, stall, lo = time_in_system.stall_outputs(lat, configs, 100, False, "test")  # several chunks
    if light:
        assert seen == []  # predict_rows's own pass
    else:  # a validated frame's text-only chunks take the native pass too (739246d0); its image rows cannot
        assert seen and set(seen) == {list} and len(seen) <= -(-len(frame) // 100)
    np.testing.assert_array_equal(stall, _core.latency_stall(lat._columns(configs), lat.theta)[2])
    w = lat.predict(configs, check_range=False)["time_in_system_s_pred"].to_numpy()
    assert lat.calibration is None
    np.testing.assert_array_equal(w, ttft + lo * tpot + lat.prefill_stall * stall)


def test_latency_stall_names_bad_input(model):
    phi = model.latency_model.theta
    cols = [np.ones(3)] * len(FEATURE_NAMES)
    with pytest.raises(ValueError, match="expected 10 latency parameters, got 9"):
        _core.latency_stall(cols, phi[:9])
    with pytest.raises(ValueError, match=f"expected {len(FEATURE_NAMES)} feature columns, got 2"):
        _core.latency_stall(cols[:2], phi)
    with pytest.raises(ValueError, match="feature column 4 must be 1-D with the first column's 3 rows"):
        _core.latency_stall([*cols[:4], np.ones(2), *cols[5:]], phi)
    assert [len(a) for a in _core.latency_stall([np.ones(0)] * len(FEATURE_NAMES), phi)] == [0, 0, 0]


def test_a_large_table_is_evaluated_as_its_parts(model):
    # from 65536 rows the loop runs without the GIL (and on 2+ threads from 262144): it crashed making its tuple
    phi = model.latency_model.theta
    frame = read_profiles("bundled")
    small = [np.asarray(c, dtype=np.float64) for c in model.latency_model._columns(frame)]
    reps = -(-300_000 // len(frame))
    big = _core.latency_stall([np.tile(c, reps) for c in small], phi)
    for whole, part in zip(big, _core.latency_stall(small, phi), strict=True):
        assert len(whole) == reps * len(frame)
        np.testing.assert_array_equal(whole, np.tile(part, reps))
    light = pd.DataFrame({c: np.asarray(frame[c]) for c in LIGHT})  # and predict's native pass, by blocks
    tiled = pd.DataFrame({c: np.tile(light[c].to_numpy(), reps) for c in LIGHT})
    lat = model.latency_model
    stall = time_in_system.stall_outputs(lat, tiled, 1 << 20, False, "test")[2]
    np.testing.assert_array_equal(stall, np.tile(time_in_system.stall_outputs(lat, light, 100, False, "test")[2], reps))
