"""P(best)'s GPU transfer draws are one per GPU hardware, not per GPU name. A user's GPU table (or a ``GpuSpec``
passed to the search) naming a B200 "Lab-B200" describes the same hardware, which the model cannot tell apart from
the table's B200 (:func:`energylens.model.gpu_domain.same_hardware`): both carry the one GPU-level bias the fit
never saw. The draws were grouped by the combination's GPU name, so B200 and Lab-B200 rows drew two independent
factors each refit (energy and latency), and P(best) between them was a coin toss the refits did not support. A
GPU whose specification differs (a power-capped B200) still draws its own."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import gpu_table
from energylens.search.predictive import transfer_draws, transfer_groups, transfer_scales
from energylens.search.space import build_space

L70 = "meta-llama/Llama-3.1-70B-Instruct"


@pytest.fixture
def lab_gpus():
    """'Lab-B200' (the B200's hardware) and 'Capped-B200' (its TDP 800 W), registered for the test only."""
    b200 = gpu_table.gpu_spec("B200")
    specs = [dataclasses.replace(b200, name="Lab-B200", aliases=()),
             dataclasses.replace(b200, name="Capped-B200", aliases=(), tdp_w=800.0)]
    for spec in specs:
        gpu_table.register_gpu(spec, where="test")
    try:
        yield
    finally:
        for spec in specs:
            gpu_table.unregister_gpu(spec.name)


def _rows(gpus, batches) -> pd.DataFrame:
    n = len(gpus)
    return pd.DataFrame({"model": [L70] * n, "gpu": gpus, "tp": [1, 2], "pp": [1] * n, "batch_size": batches,
                         "input_tokens": 512, "output_tokens": 256})


def _p_best(rows, model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(candidates=rows, top=len(rows), energy_model=model, threads=1, **kw)
    return r.top.set_index("candidate").sort_index()["p_best"].to_numpy()


def test_two_names_of_one_hardware_draw_one_factor(model, lab_gpus):
    space = build_space(L70, "B200,Lab-B200,Capped-B200,H100", input_tokens=512, output_tokens=256, tp=[1])
    scales = transfer_scales(space, model)
    group = dict(zip((c.gpu for c in space.combos), transfer_groups(space, scales), strict=True))
    assert group["B200"] == group["Lab-B200"] != group["Capped-B200"]
    draws = transfer_draws(space, scales, 0, 50)
    col = {c.gpu: k for k, c in enumerate(space.combos)}
    np.testing.assert_array_equal(draws[:, col["B200"]], draws[:, col["Lab-B200"]])
    assert not np.array_equal(draws[:, col["B200"]], draws[:, col["Capped-B200"]])
    np.testing.assert_array_equal(draws[:, col["H100-SXM5-80GB"]], 1.0)  # fitted: no factor


@pytest.mark.parametrize("kw", [{}, {"tpot_limit_s": 0.125}])
def test_p_best_between_the_names_is_the_one_gpus(model, lab_gpus, kw):
    """B200 TP1 B128 beside TP2 B256 (19 % dearer): on one GPU their factors move together (P(best) the refits'),
    and so under two names of the same hardware; on a B200 of another TDP they move apart."""
    one = _p_best(_rows(["B200", "B200"], [128, 256]), model, **kw)
    np.testing.assert_array_equal(_p_best(_rows(["B200", "Lab-B200"], [128, 256]), model, **kw), one)
    assert not np.array_equal(_p_best(_rows(["B200", "Capped-B200"], [128, 256]), model, **kw), one)
