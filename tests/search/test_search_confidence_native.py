"""search(..., limit_confidence=P)'s quantiles (confidence.upper_quantiles) now take the draws and the quantile
natively (intervals.drawn_quantiles): they must equal the NumPy definition bit for bit, the refits' engine
predictions times the factors drawn by intervals._draw_indices_numpy and np.quantile over the refits (a candidate on
a GPU the latency model was not fitted on: its TTFT and TPOT factors times their GPU transfer factors, as
predict_interval's)."""

from __future__ import annotations

import numpy as np
import pytest

from data_paths import SPLITWISE
from energylens import _core
from energylens.model import LatencyModel
from energylens.model.intervals import (
    TPOT_TRANSFER_LOG_SD,
    TTFT_TRANSFER_LOG_SD,
    _draw_indices_numpy,
    _row_keys_numpy,
    transfer_factors,
)
from energylens.search import build_space
from energylens.search.api import bundled_model, native_options
from energylens.search.confidence import _unlimited, upper_quantiles


def _numpy_quantiles(space, energy_theta, lat, options, idx, p):
    args, opts = space.native_args(), _unlimited(options)
    boot = lat.bootstrap_params
    runs = [_core.search_evaluate(*args, energy_theta, phi, opts, np.asarray(idx, dtype=np.uint64)) for phi in boot]
    out = {}
    unseen = lat.unseen_gpu(space.decode(idx))[0]  # (H200: the bundled model saw A100 and H100 rows)
    # each candidate drawn at its configuration's key, as predict_interval draws that row
    keys = _row_keys_numpy(lat._columns(space.point_profiles(space.points(np.asarray(idx, dtype=np.int64)))))
    for name, k, sd in (("ttft", 0, TTFT_TRANSFER_LOG_SD), ("tpot", 1, TPOT_TRANSFER_LOG_SD)):
        values = np.array([getattr(c, f"{name}_s") for c in runs])
        q = []
        for sample in (lat.measurement_factors(k), transfer_factors(lat.measurement_factors(k), sd)):
            q.append(np.quantile(values * sample[_draw_indices_numpy(lat.options["seed"], len(boot), keys,
                                                                     len(sample))], p, axis=0))
        out[name] = np.where(unseen, q[1], q[0])  # a GPU the model was not fitted on: the transfer factor's draws
    return out


def _space():
    return build_space("meta-llama/Llama-3.1-70B-Instruct", "H100,H200", input_tokens=[512, 2048],
                       output_tokens=[256, 128], tp=[1, 2, 4, 8], max_num_seqs=[1, 4, 16, 64, 256])


@pytest.mark.parametrize("p", [0.2, 0.8, 0.95])
def test_search_quantiles_equal_numpy_bit_for_bit(p):
    model, space = bundled_model(), _space()
    idx = np.arange(space.size)
    q = upper_quantiles(space, model.theta, model.latency_model, native_options(), idx, p)
    want = _numpy_quantiles(space, model.theta, model.latency_model, native_options(), idx, p)
    assert q["tpot_q"].tobytes() == want["tpot"].tobytes()
    if SPLITWISE.is_file():  # a model that measured TTFT: its TTFT quantile too
        lat = LatencyModel(bootstrap=30).fit(str(SPLITWISE))
        q = upper_quantiles(space, model.theta, lat, native_options(), idx, p)
        want = _numpy_quantiles(space, model.theta, lat, native_options(), idx, p)
        assert q["ttft_q"].tobytes() == want["ttft"].tobytes() and q["tpot_q"].tobytes() == want["tpot"].tobytes()
