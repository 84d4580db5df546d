"""search(..., limit_confidence=P)'s quantiles (confidence.upper_quantiles) now take the draws and the quantile
natively (intervals.drawn_quantiles): they must equal the NumPy definition bit for bit, the refits' engine
predictions times the factors drawn by intervals._draw_indices_numpy and np.quantile over the refits."""

from __future__ import annotations

import numpy as np
import pytest

from data_paths import SPLITWISE
from energylens import _core
from energylens.model import LatencyModel
from energylens.model.intervals import _draw_indices_numpy
from energylens.search import build_space
from energylens.search.api import bundled_model, native_options
from energylens.search.confidence import _unlimited, upper_quantiles


def _numpy_quantiles(space, energy_theta, lat, options, idx, p):
    args, opts = space.native_args(), _unlimited(options)
    boot = lat.bootstrap_params
    runs = [_core.search_evaluate(*args, energy_theta, phi, opts, np.asarray(idx, dtype=np.uint64)) for phi in boot]
    out = {}
    for name, k in (("ttft", 0), ("tpot", 1)):
        values = np.array([getattr(c, f"{name}_s") for c in runs])
        sample = lat.measurement_factors(k)
        out[name] = np.quantile(values * sample[_draw_indices_numpy(lat.options["seed"], len(boot), 0, len(idx),
                                                                    len(sample))], p, axis=0)
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
