"""A candidate table's model the model table does not know is estimated from each row's own params_b, once per
(name, params_b), as ``EnergyModel.predict`` estimates it. Before, every row of the name was priced from the
first row's estimate: an unknown name at 8 and 70 B gave the 70 B row the 8 B estimate's 30 heads and 36
layers (its TP4 rejected as dividing no heads, its TP2 priced 19 % off predict)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import tables
from energylens.search.api import native_options, run_engine
from energylens.search.candidates import candidate_space
from energylens.search.oracle import brute_force
from energylens.search.space import COMBO_FIELDS

BASE = dict(gpu="H100", batch_size=8, input_tokens=1000, output_tokens=200)


def _table() -> pd.DataFrame:
    return pd.DataFrame([
        dict(BASE, model="lab/unknown", params_b=8.0, tp=1),
        dict(BASE, model="lab/unknown", params_b=70.0, tp=4),
        dict(BASE, model="lab/unknown", params_b=70.0, tp=2, batch_size=4),
        dict(BASE, model="lab/unknown-moe", params_b=30.0, active_params_b=3.0, architecture="moe", tp=1),
        dict(BASE, model="lab/unknown-moe", params_b=60.0, active_params_b=6.0, architecture="moe", tp=2),
        dict(BASE, model="meta-llama/Llama-3.1-8B-Instruct", params_b=np.nan, tp=1),
    ], index=[f"r{i}" for i in range(6)])


def test_each_params_b_of_an_unknown_model_is_priced_as_predict_prices_it(model):
    df = _table()
    with pytest.warns(tables.EstimatedArchitectureWarning, match="70B dense"):
        r = energylens.search(candidates=df, energy_model=model, top=len(df), bootstrap=False)
    assert r.feasible == len(df), r.rejected
    profile = df.assign(pp=1, params_b=[p if p == p else tables.model_spec(m).params_b
                                        for m, p in zip(df["model"], df["params_b"], strict=True)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energy = pd.Series(model.predict(profile), index=df.index)
        tpot = pd.Series(model.latency_model.predict(profile)["tpot_s_pred"].to_numpy(), index=df.index)
    got = r.top.set_index("candidate")
    np.testing.assert_allclose(got["energy_j"], energy.loc[got.index], rtol=1e-12)
    np.testing.assert_allclose(got["tpot_s"], tpot.loc[got.index], rtol=1e-12)


def test_the_oracle_prices_the_estimates_as_the_engine(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        space, index = candidate_space(_table())
    r = brute_force(space, model.theta, model.latency_model.theta, index, top_k=len(index))
    engine = run_engine(space, model.theta, model.latency_model.theta, native_options(top=len(index)), indices=index)
    np.testing.assert_allclose(r["top"]["energy_j"].to_numpy(), np.asarray(engine.top.energy_j), rtol=1e-12)
    np.testing.assert_allclose(r["top"]["memory_bytes"].to_numpy(), np.asarray(engine.top.memory_bytes), rtol=1e-12)
    # the engine's heads (TP check, KV replication): each estimate's own (8 B: 30, 70 B: 72), not the first row's
    heads = space.combo_values[:, COMBO_FIELDS.index("n_heads")]
    assert {tables.estimate_architecture(p, "dense", None).n_heads for p in (8.0, 70.0)} <= set(heads.tolist())


def test_a_row_without_params_b_takes_the_names_one_estimate_in_any_order():
    """Before, such a row took the first row's estimate when a sized row came first, and was an unknown model
    when it came first."""
    for order in (slice(None), slice(None, None, -1)):
        rows = [dict(BASE, model="lab/unknown", params_b=8.0, tp=1), dict(BASE, model="lab/unknown", params_b=np.nan, tp=2)]
        with pytest.warns(tables.EstimatedArchitectureWarning):
            space, index = candidate_space(pd.DataFrame(rows[order]))
        assert len(index) == 2 and [r["params_b"] for r in space.profile_rows] == [8.0]


def test_a_row_without_params_b_among_several_sizes_is_an_error_naming_it():
    rows = [dict(BASE, model="lab/unknown", params_b=8.0, tp=1), dict(BASE, model="lab/unknown", params_b=np.nan, tp=2),
            dict(BASE, model="lab/unknown", params_b=70.0, tp=4)]
    with pytest.raises(ValueError, match=r"row 1 \(0-based\) gives no params_b for 'lab/unknown', which other rows give "
                                         r"as 8B and 70B: give its params_b"):
        candidate_space(pd.DataFrame(rows))


def test_an_unknown_models_architecture_no_model_has_is_an_error_naming_its_row(model):
    # until 2026-12-06 the estimate took any text as dense: a 'denso' row was searched and priced as dense
    df = pd.DataFrame([dict(BASE, model="lab/unknown", params_b=8.0, tp=1, architecture=np.nan),
                       dict(BASE, model="lab/unknown-2", params_b=8.0, tp=1, architecture="denso")])
    with pytest.raises(ValueError, match=r"column 'architecture' row 1 \(0-based\): .*architecture 'denso' is not "
                                         r"one of dense, moe, hybrid"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energylens.search(candidates=df, energy_model=model, top=2, bootstrap=False)
    with pytest.warns(tables.EstimatedArchitectureWarning, match=r"'lab/unknown' \(8B dense\)"):  # blank: dense
        assert energylens.search(candidates=df[:1], energy_model=model, top=1, bootstrap=False).feasible == 1
