"""A measured latency far off the latency model's prediction for its row is reported, not silently searched
(docs/search.md "Measured latency, predicted energy"): ``vllm bench serve`` prints TTFT / TPOT in milliseconds, and a
column copied as is reads 1000x its seconds (a TPOT of 45 s per token). More than 20x above the prediction (or 100x
below) is noted in the summary and ``settings["measured_latency_implausible"]``, with "divide it by 1000" when every
such value is plausible in milliseconds; the values are still searched as given."""

import json

import numpy as np
import pandas as pd
import pytest
from tests.search.quiet_search import search_quietly

from energylens.cli.main import main
from energylens.search.measured import IMPLAUSIBLE_BELOW, IMPLAUSIBLE_RATIO

MODELS = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"]


_search = search_quietly


@pytest.fixture(scope="module")
def table(model) -> pd.DataFrame:
    """A vllm bench serve sweep (model, gpu, tp, max_num_seqs, tokens, ttft_s, tpot_s) in seconds: each value the
    model's prediction times 0.06 to 3 (a newer serving stack is faster), some cells blank."""
    df = pd.DataFrame([dict(model=MODELS[i % 2], gpu="H100", tp=[1, 2, 4, 8][i % 4], max_num_seqs=[8, 32, 128][i % 3],
                            input_tokens=1024.0, output_tokens=256.0) for i in range(12)])
    pred = _search(candidates=df, energy_model=model, top=len(df), bootstrap=False).top.set_index("candidate")
    df = df.loc[sorted(pred.index)].reset_index(drop=True)  # the rows whose KV cache fits
    pred = pred.loc[sorted(pred.index)].reset_index(drop=True)
    rng = np.random.default_rng(0)
    for c in ("ttft_s", "tpot_s"):
        df[c] = pred[c].reindex(df.index).to_numpy() * rng.uniform(0.06, 3.0, len(df))
    df.loc[[2, 7], "tpot_s"] = np.nan
    df.loc[[0, 5, 9], "ttft_s"] = np.nan
    return df


def test_seconds_near_the_prediction_are_not_reported(model, table):
    r = _search(candidates=table, energy_model=model, measured_latency=True, bootstrap=False)
    assert r.settings["measured_latency_implausible"] is None and "note: the measured" not in r.summary()
    plain = _search(candidates=table, energy_model=model, bootstrap=False)
    assert "measured_latency_implausible" not in plain.settings


def test_a_column_in_milliseconds_is_reported_with_the_fix(model, table):
    df = table.copy()
    df["tpot_s"] *= 1000.0  # Mean TPOT (ms) pasted as tpot_s
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.05, bootstrap=False)
    got = r.settings["measured_latency_implausible"]
    assert set(got) == {"above", "below", "tpot_s"} and got["above"] == IMPLAUSIBLE_RATIO
    n = int(df["tpot_s"].notna().sum())
    assert got["tpot_s"]["count"] == got["tpot_s"]["measured_rows"] == n and got["tpot_s"]["milliseconds"] is True
    ex = got["tpot_s"]["examples"][0]
    assert ex["candidate"] == 0 and ex["measured_s"] == df.loc[0, "tpot_s"] and ex["measured_s"] > 20 * ex["predicted_s"]
    note = [line for line in r.summary().splitlines() if line.startswith("note: the measured tpot_s")]
    assert len(note) == 1 and f"of {n} of {n} rows" in note[0] and "divide it by 1000" in note[0]
    assert "used the values as given" in note[0]
    assert json.loads(r.to_json())["settings"]["measured_latency_implausible"] == got
    # searched as given: every measured row over the limit
    assert r.rejected["tpot_limit"] >= n


def test_one_row_far_above_is_reported_without_the_milliseconds_hint(model, table):
    df = table.copy()
    pred = _search(candidates=df, energy_model=model, top=len(df), bootstrap=False).top.set_index("candidate")
    df.loc[4, "ttft_s"] = pred.loc[4, "ttft_s"] * 30.0  # 30x: not 1000x either
    r = _search(candidates=df, energy_model=model, measured_latency=True, bootstrap=False)
    got = r.settings["measured_latency_implausible"]["ttft_s"]
    assert got["count"] == 1 and got["milliseconds"] is False and got["examples"][0]["candidate"] == 4
    assert "check its unit (seconds) and the row's configuration" in r.summary()


@pytest.mark.parametrize("factor, reported", [(1 / (IMPLAUSIBLE_BELOW * 2), True), (1 / 18, False)])
def test_below_the_prediction_only_far_below_is_reported(model, table, factor, reported):
    """The bundled (vLLM 0.5.4) model predicts up to 18x the TPOT a newer stack measures (ML.ENERGY v3 on H100)."""
    df = table.copy()
    pred = _search(candidates=df, energy_model=model, top=len(df), bootstrap=False).top.set_index("candidate")
    df.loc[3, "tpot_s"] = pred.loc[3, "tpot_s"] * factor
    r = _search(candidates=df, energy_model=model, measured_latency=True, bootstrap=False)
    assert (r.settings["measured_latency_implausible"] is not None) == reported


def test_the_cli_prints_the_note(tmp_path, capsys, table):
    path = tmp_path / "bench.csv"
    df = table.copy()
    df[["ttft_s", "tpot_s"]] *= 1000.0
    df.to_csv(path, index=False)
    assert main(["search", "--candidates", str(path), "--measured-latency"]) == 0
    out = capsys.readouterr().out
    n, m = int(df["ttft_s"].notna().sum()), int(df["tpot_s"].notna().sum())
    assert f"note: the measured ttft_s of {n} of {n} rows" in out and f"note: the measured tpot_s of {m} of {m} rows" in out
    assert out.count("divide it by 1000") == 2


def test_a_table_with_vllm_bench_serve_ms_columns_only_is_told_the_conversion(tmp_path, capsys, table):
    """vllm bench serve's own names (mean_ttft_ms, median_tpot_ms, mean_tpot_ms, p99_itl_ms): the error names the
    mean of each in ms and how to make the seconds column the mode reads."""
    path = tmp_path / "bench.csv"
    df = table.drop(columns=["ttft_s", "tpot_s"])
    for c in ("median_tpot_ms", "p99_itl_ms", "mean_tpot_ms", "mean_ttft_ms"):
        df[c] = 12.5
    df.to_csv(path, index=False)
    assert main(["search", "--candidates", str(path), "--measured-latency"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: measured_latency=True (--measured-latency) needs a measured latency column" in err
    assert "in milliseconds (vllm bench serve's): add ttft_s = mean_ttft_ms / 1000 and tpot_s = mean_tpot_ms / 1000" in err
    df.drop(columns=["mean_tpot_ms", "mean_ttft_ms", "median_tpot_ms"]).to_csv(path, index=False)
    assert main(["search", "--candidates", str(path), "--measured-latency"]) == 2
    assert "add tpot_s = p99_itl_ms / 1000" in capsys.readouterr().err
