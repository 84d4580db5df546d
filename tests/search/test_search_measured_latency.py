"""Latency measured, energy predicted (``search(candidates=df, measured_latency=True)``, docs/search.md "Measured
latency"): a row's measured ttft_s / tpot_s decides its latency limits, its TTFT / TPOT, the fronts and GPU-seconds;
blank cells stay predicted; energy is the model's. Checked against a brute force over the same rows, and the
default (predicted latency for every row) unchanged."""

import json

import numpy as np
import pandas as pd
import pytest
from tests.search.quiet_search import search_quietly

from energylens.search.api import REASONS

MODELS = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "Qwen/Qwen3-30B-A3B"]


_search = search_quietly


def _table(seed: int, n: int = 40) -> pd.DataFrame:
    """Distinct random configurations; about half the rows with a measured TPOT, a third with a TTFT."""
    rng = np.random.default_rng(seed)
    rows, seen = [], set()
    while len(rows) < n:
        r = dict(model=str(rng.choice(MODELS)), gpu=str(rng.choice(["H100", "A100-SXM4-80GB", "L40S"])),
                 tp=int(rng.choice([1, 2, 4, 8])), max_num_seqs=int(rng.choice([1, 4, 16, 64, 256])),
                 input_tokens=float(rng.choice([256, 1024])), output_tokens=float(rng.choice([128, 512])))
        key = tuple(r.values())
        if key not in seen:
            seen.add(key)
            rows.append(r)
    df = pd.DataFrame(rows)
    df["tpot_s"] = np.where(rng.random(n) < 0.5, rng.uniform(0.005, 0.12, n), np.nan)
    df["ttft_s"] = np.where(rng.random(n) < 0.35, rng.uniform(0.05, 2.0, n), np.nan)
    df.index = [f"c{i}" for i in range(n)]
    return df


def _brute_force(model, df, tpot, ttft, objective="energy", price=None):
    """Every row priced by the default search (no limit, energy and predicted latency), then its measured values
    put in, the limits checked, GPU-seconds from the latency used, ranked by (objective, index)."""
    every = _search(candidates=df.drop(columns=["tpot_s", "ttft_s"]), energy_model=model, top=len(df),
                    bootstrap=False, objective=objective, price_per_gpu_hour=price)
    t = every.top.set_index("candidate")
    # the prefill stalls of the time in the system at the predicted TTFT (fixed batch: GPU-seconds = tp pp W / B):
    # the engine scales them with the TTFT factor that pins a measured TTFT
    stall = t["gpu_s_per_request"] * t["max_num_seqs"] / (t["tp"] * t["pp"]) - (t["ttft_s"] + t["output_tokens"] *
                                                                                   t["tpot_s"])
    ttft_predicted = t["ttft_s"].copy()
    rejected = {k: v for k, v in every.rejected.items()}
    for name, col, limit in (("ttft", "ttft_s", ttft), ("tpot", "tpot_s", tpot)):
        t[col] = df.loc[t.index, col].where(df.loc[t.index, col].notna(), t[col])
        if limit is not None:
            fail = ~(t[col] <= limit)
            rejected[f"{name}_limit"] += int(fail.sum())
            t = t[~fail]
    if objective == "cost":  # fixed batch: GPU-seconds = tp pp (TTFT + L_out TPOT + stalls) / running batch
        stalls = stall.loc[t.index] * (t["ttft_s"] / ttft_predicted.loc[t.index])
        gpu_s = t["tp"] * t["pp"] * (t["ttft_s"] + t["output_tokens"] * t["tpot_s"] + stalls) / t["max_num_seqs"]
        t["objective"] = gpu_s * price / 3600.0
    t = t.assign(_i=t["index"]).sort_values(["objective", "_i"])
    return t, rejected


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threads", [1, 2])
def test_measured_search_equals_the_brute_force(model, seed, threads):
    df = _table(seed)
    tpot, ttft = 0.06, (1.0 if seed % 2 else None)
    r = _search(candidates=df, measured_latency=True, energy_model=model, tpot_limit_s=tpot, ttft_limit_s=ttft,
                top=len(df), bootstrap=False, threads=threads)
    ref, rejected = _brute_force(model, df, tpot, ttft)
    assert r.rejected == rejected and r.feasible == len(ref) and r.candidates == len(df)
    assert r.top["candidate"].tolist() == ref.index.tolist()
    np.testing.assert_array_equal(r.top["energy_j"].to_numpy(), ref["energy_j"].to_numpy())
    for n in ("tpot", "ttft"):  # the measured value itself, the prediction where the cell is blank
        np.testing.assert_array_equal(r.top[f"{n}_s"].to_numpy(), ref[f"{n}_s"].to_numpy())
        want = np.where(df.loc[r.top["candidate"], f"{n}_s"].notna(), "measured", "predicted")
        assert r.top[f"{n}_source"].tolist() == want.tolist()
    # the Pareto front of energy against the latency used: no row with both lower (or equal, first in order)
    front = r.pareto_tpot
    x, y = ref["tpot_s"].to_numpy(), ref["objective"].to_numpy()
    order = np.lexsort((ref["index"].to_numpy(), y, x))
    keep, best = [], np.inf
    for i in order:
        if y[i] < best:
            keep.append(ref.index[i])
            best = y[i]
    assert front["candidate"].tolist() == keep
    assert set(front["tpot_source"]) <= {"measured", "predicted"}


def test_cost_objective_counts_gpu_seconds_of_the_measured_latency(model):
    df = _table(7)
    r = _search(candidates=df, measured_latency=True, energy_model=model, tpot_limit_s=0.08, top=len(df),
                bootstrap=False, price_per_gpu_hour=2.5)
    ref, rejected = _brute_force(model, df, 0.08, None, objective="cost", price=2.5)
    assert r.rejected == rejected
    assert r.top["candidate"].tolist() == ref.index.tolist()
    np.testing.assert_allclose(r.top["objective"].to_numpy(), ref["objective"].to_numpy(), rtol=1e-9)


def test_default_is_the_predicted_search_whatever_latency_columns_the_table_has(model):
    df = _table(1)
    plain = _search(candidates=df.drop(columns=["tpot_s", "ttft_s"]), energy_model=model, tpot_limit_s=0.06, top=15)
    df["ttft_s"] = df["ttft_s"].astype(object)
    df.iloc[0, df.columns.get_loc("ttft_s")] = "not read"  # the default never reads the columns
    same = _search(candidates=df, energy_model=model, tpot_limit_s=0.06, top=15)
    pd.testing.assert_frame_equal(plain.to_frame(), same.to_frame())
    assert plain.rejected == same.rejected and "tpot_source" not in same.top
    assert same.settings["measured_latency"] is False and same.settings["measured_latency_rows"] is None
    assert "measured" not in same.summary().split("assumed:")[1].split("\n")[0]


def test_a_measured_row_is_not_rejected_by_its_prediction(model):
    """The same row, predicted over the limit, passes on its measured TPOT under it, and the other way round."""
    df = pd.DataFrame([dict(model=MODELS[1], gpu="H100", tp=4, max_num_seqs=64, input_tokens=1024.0,
                            output_tokens=256.0)] * 2)
    df.loc[1, "tp"] = 8
    pred = _search(candidates=df, energy_model=model, top=2, bootstrap=False).top.set_index("candidate")["tpot_s"]
    limit = float(pred.min()) * 0.9  # both predicted over it
    df["tpot_s"] = [limit * 0.99, np.nan]
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=limit, bootstrap=False)
    assert r.top["candidate"].tolist() == [0] and r.top["tpot_s"].iloc[0] == limit * 0.99
    assert r.rejected["tpot_limit"] == 1
    df["tpot_s"] = [limit * 1.01, np.nan]  # measured over: rejected although predicted... also over
    df.loc[1, "tpot_s"] = limit  # exactly at the limit passes (the engine's <=)
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=limit, bootstrap=False)
    assert r.top["candidate"].tolist() == [1] and r.top["tpot_s"].iloc[0] == limit


def test_confidence_applies_to_predicted_rows_only(model):
    df = _table(3)
    p, limit = 0.9, 0.06
    r = _search(candidates=df, measured_latency=True, energy_model=model, tpot_limit_s=limit, limit_confidence=p,
                top=len(df), bootstrap=False)
    predicted_rows = df[df["tpot_s"].isna()].drop(columns=["tpot_s", "ttft_s"])
    alone = _search(candidates=predicted_rows, energy_model=model, tpot_limit_s=limit, limit_confidence=p,
                    top=len(df), bootstrap=False)
    assert r.settings["effective_tpot_limit_s"] == alone.settings["effective_tpot_limit_s"] < limit
    got = r.top.set_index("candidate")
    measured = got[got["tpot_source"] == "measured"]
    assert (measured["tpot_s"] <= limit).all() and (measured["tpot_s"] > alone.settings["effective_tpot_limit_s"]).any()
    assert sorted(got.index[got["tpot_source"] == "predicted"]) == sorted(alone.top["candidate"])
    assert "measured" in r.settings["measured_latency_confidence_note"]
    assert "measured rows checked as given" in r.summary()


def test_p_best_keeps_the_measured_latency_in_every_replicate(model):
    """All rows measured: a replicate's latency parameters move no row across the limit, so P(best) is that of the
    rows that pass, searched without a limit."""
    df = _table(5)
    df["tpot_s"] = np.random.default_rng(0).uniform(0.01, 0.1, len(df))
    df["ttft_s"] = np.nan
    r = _search(candidates=df, measured_latency=True, energy_model=model, tpot_limit_s=0.05, top=len(df))
    passing = df.loc[r.top["candidate"]].drop(columns=["tpot_s", "ttft_s"])
    plain = _search(candidates=passing, energy_model=model, top=len(df))
    np.testing.assert_array_equal(r.top["p_best"].to_numpy(), plain.top["p_best"].to_numpy())
    np.testing.assert_array_equal(r.top["energy_j_hi"].to_numpy(), plain.top["energy_j_hi"].to_numpy())


def test_json_frame_and_table_say_which_latency_is_measured(model):
    df = _table(2)
    r = _search(candidates=df, measured_latency=True, energy_model=model, tpot_limit_s=0.08, top=6)
    doc = json.loads(r.to_json())
    frame = r.to_frame()
    assert [row["tpot_source"] for row in doc["top"]] == frame["tpot_source"].tolist()
    assert [row["tpot_s"] for row in doc["top"]] == frame["tpot_s"].tolist()
    assert [row["ttft_source"] for row in doc["pareto_tpot"]] == r.pareto_tpot["ttft_source"].tolist()
    assert doc["settings"]["measured_latency"] is True
    assert doc["settings"]["measured_latency_rows"] == {"ttft": int(df["ttft_s"].notna().sum()),
                                                         "tpot": int(df["tpot_s"].notna().sum())}
    assert "TPOT is" in r.table() and "measured" in r.table()
    assumed = r.summary().split("assumed:")[1].split("\n")[0]
    assert "measured where the candidate table gives it" in assumed


@pytest.mark.parametrize("cell, shown", [(-0.02, "-0.02"), (0, "0"), ("fast", "'fast'"), (np.inf, "inf")])
def test_a_bad_latency_cell_names_the_row_and_column(model, cell, shown):
    df = _table(0, 5)
    df["tpot_s"] = df["tpot_s"].astype(object)
    df.iloc[3, df.columns.get_loc("tpot_s")] = cell
    with pytest.raises(ValueError, match=rf"column 'tpot_s' row 3 \(0-based\) is {shown}.*> 0"):
        _search(candidates=df, measured_latency=True, energy_model=model)


def test_arguments_that_cannot_apply_are_refused(model):
    df = _table(0, 5)
    with pytest.raises(ValueError, match="needs a measured latency column, 'ttft_s' or 'tpot_s'"):
        _search(candidates=df.drop(columns=["tpot_s", "ttft_s"]), measured_latency=True, energy_model=model)
    with pytest.raises(ValueError, match="give candidates="):
        _search(model=MODELS[0], gpus="H100", input_tokens=512, output_tokens=128, measured_latency=True,
                energy_model=model)
    with pytest.raises(ValueError, match="cannot be combined with rate_per_s"):
        _search(candidates=df, measured_latency=True, rate_per_s=2.0, energy_model=model)
    with pytest.raises(ValueError, match="measured_latency must be True or False"):
        _search(candidates=df, measured_latency="yes", energy_model=model)


def test_every_reason_counted_once(model):
    df = _table(6)
    r = _search(candidates=df, measured_latency=True, energy_model=model, tpot_limit_s=0.03, ttft_limit_s=0.5,
                bootstrap=False)
    assert sum(r.rejected.values()) + r.feasible == len(df)
    assert set(r.rejected) == set(REASONS)


def test_an_empty_result_names_the_lowest_latency_as_measured_or_predicted(model):
    df = _table(0, 6)
    r = _search(candidates=df, measured_latency=True, energy_model=model, tpot_limit_s=1e-4, bootstrap=False)
    assert r.empty and "the lowest measured (where the table gives it) or predicted TPOT is" in r.why_empty()
    plain = _search(candidates=df, energy_model=model, tpot_limit_s=1e-4, bootstrap=False)
    assert "the lowest predicted TPOT is" in plain.why_empty()


@pytest.mark.parametrize("seed", range(40))
def test_rows_measured_at_the_same_tpot_make_one_front_point(model, seed):
    """A benchmark's rounded figures repeat (20.0 ms twice): of equal measured TPOTs only the cheapest is on the
    front, though the engine's pinned values of the two may differ in the last bit."""
    df = _table(seed, 60)
    df["tpot_s"] = np.random.default_rng(seed).choice([0.01, 0.02, 0.03, 0.045], len(df))
    r = _search(candidates=df, measured_latency=True, energy_model=model, top=len(df), bootstrap=False)
    ref, _ = _brute_force(model, df, None, None)
    order = np.lexsort((ref["index"].to_numpy(), ref["objective"].to_numpy(), ref["tpot_s"].to_numpy()))
    y = ref["objective"].to_numpy()[order]
    keep = y < np.minimum.accumulate(np.r_[np.inf, y[:-1]])
    assert r.pareto_tpot["candidate"].tolist() == ref.index[order][keep].tolist()
    assert r.pareto_tpot["tpot_s"].is_unique
