"""What a measured-latency search says about itself (docs/search.md "Measured latency, predicted energy"): an empty
result's "raise the limit to at least ..." for a measured value (checked against the limit as given, not the
confidence-shifted one), the searched space's shape (the user's combinations, not the per-row copies the mode makes)
and the confidence line when some or every limited value is measured."""

import re

import numpy as np
import pandas as pd
import pytest
from tests.search.quiet_search import search_quietly

MODELS = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"]


_search = search_quietly


def _table() -> pd.DataFrame:
    """12 configurations of two models on H100; the first 6 with a measured TPOT (30 to 35 ms), the rest predicted."""
    df = pd.DataFrame([dict(model=MODELS[i % 2], gpu="H100", tp=[1, 2, 4, 8][i % 4], max_num_seqs=[8, 32, 128][i % 3],
                            input_tokens=1024.0, output_tokens=256.0) for i in range(12)])
    df["tpot_s"] = np.nan
    df.loc[:5, "tpot_s"] = 0.030 + 0.001 * np.arange(6)
    return df


def _suggested(text: str, name: str = "tpot") -> float:
    return float(re.search(rf"raise --{name}-limit to at least ([0-9.e+-]+) s", text).group(1))


def test_the_suggested_limit_for_a_measured_value_is_the_value_itself(model):
    """Predicted rows pull the effective TPOT limit below the given one at confidence 0.9; the lowest TPOT is a
    measured 30 ms, which the limit as given admits: 'at least 0.03 s' (it said 0.03785 s: 30 ms x given / effective)."""
    df = _table()
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.02, limit_confidence=0.9,
                bootstrap=False)
    assert r.empty and r.settings["effective_tpot_limit_s"] < 0.02
    text = r.why_empty()
    assert _suggested(text) == 0.03
    assert "0.03 s (" in text and "measured; limit 0.02 s, checked as given" in text
    again = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.03, limit_confidence=0.9,
                    bootstrap=False)
    assert not again.empty and again.top["tpot_source"].tolist() == ["measured"]


def test_the_suggested_limit_for_a_predicted_value_still_scales_by_the_confidence(model):
    """No measured TPOT below the predicted ones: the suggestion for the lowest (predicted) TPOT is as before, the
    value times given / effective, and raising the limit to it finds a configuration."""
    df = _table()
    df.loc[:5, "tpot_s"] = 0.5  # measured, far above every prediction
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.02, limit_confidence=0.9,
                bootstrap=False)
    assert r.empty
    closest, s = r.settings["without_latency_limits"], r.settings
    want = closest["min_tpot_s"] * 0.02 / s["effective_tpot_limit_s"]
    assert _suggested(r.why_empty()) == pytest.approx(want, rel=1e-3) and _suggested(r.why_empty()) >= want
    assert "predicted; limit 0.02 s, applied as" in r.why_empty()


def test_the_lowest_needed_limit_wins_over_the_lowest_value(model):
    """A predicted 26.7 ms needs the limit at 26.7 ms x given / effective (above 30 ms at confidence 0.9); a measured
    31 ms needs 31 ms: the suggestion is the lower of what each row needs."""
    df = _table()
    df.loc[:5, "tpot_s"] = np.nan
    df.loc[3, "tpot_s"] = 0.031
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.02, limit_confidence=0.9,
                bootstrap=False)
    closest, s = r.settings["without_latency_limits"], r.settings
    assert r.empty and closest["min_tpot_s"] < 0.031 < closest["min_tpot_s"] * 0.02 / s["effective_tpot_limit_s"]
    assert _suggested(r.why_empty()) == 0.031


def test_both_limits_the_ttft_suggestion_among_rows_that_meet_the_tpot_limit(model):
    """Each limit alone can be met, not both: the TTFT suggestion for a measured TTFT is that TTFT."""
    df = _table()
    df["ttft_s"] = np.nan
    df.loc[:5, "ttft_s"] = 5.0  # the measured-TPOT rows are slow to the first token
    df.loc[6:, "ttft_s"] = 0.01  # the others fast, but predicted TPOT over the limit
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.036, ttft_limit_s=1.0,
                limit_confidence=0.9, bootstrap=False)
    assert r.empty and "each can be met alone, not both" in r.why_empty()
    assert _suggested(r.why_empty(), "ttft") == 5.0


def test_space_shape_counts_the_combinations_the_user_searched(model):
    df = _table()
    plain = _search(candidates=df.drop(columns=["tpot_s"]), energy_model=model, bootstrap=False)
    r = _search(candidates=df, energy_model=model, measured_latency=True, bootstrap=False)
    assert r.settings["space_shape"] == plain.settings["space_shape"] and r.settings["space_shape"]["combos"] == 2
    assert r.settings["measured_latency_engine_combos"] == 2 + 6  # one of its own per measured row
    assert "measured_latency_engine_combos" not in plain.settings


def test_the_confidence_line_when_every_limited_value_is_measured(model):
    df = _table()
    df["tpot_s"] = 0.030 + 0.001 * np.arange(len(df))
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.035, limit_confidence=0.9,
                bootstrap=False)
    line = r.limits_line()
    assert "->" not in line and "effective" not in line and " s predicted" not in line and "against" not in line
    assert "TPOT 0.035 s: measured in all 12 rows, checked as given" in line
    assert "the confidence 0.9 applies to predicted values only, and no limited value is predicted" in line


def test_the_confidence_line_when_some_limited_values_are_measured(model):
    df = _table()
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.035, limit_confidence=0.9,
                bootstrap=False)
    eff = r.settings["effective_tpot_limit_s"]
    assert f"TPOT 0.035 s: the 6 measured rows checked as given, the 6 predicted against {eff:.4g} s" in r.limits_line()
    plain = _search(candidates=df.drop(columns=["tpot_s"]), energy_model=model, tpot_limit_s=0.035,
                    limit_confidence=0.9, bootstrap=False)
    assert f"TPOT 0.035 s -> {plain.settings['effective_tpot_limit_s']:.4g} s predicted" in plain.limits_line()


def test_explain_says_a_measured_value_meets_its_limit_as_given(model):
    """The best row's TPOT and TTFT measured: explain(0) said 'TPOT 0.0158 s measured (limit 0.03 s, applied as
    0.03 s)' under 'met with confidence 0.9', and 'TTFT 0.12 s predicted meets the limit' for a measured TTFT (the
    bundled model has no TTFT interval); a predicted row still reads as before."""
    df = _table()
    df["ttft_s"] = np.nan
    df.loc[:5, "ttft_s"] = 0.1
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.06, ttft_limit_s=1.0,
                limit_confidence=0.9, bootstrap=False, top=12)
    src = r.top["tpot_source"].to_numpy()
    j = int(np.flatnonzero((src == "measured") & (r.top["ttft_source"] == "measured").to_numpy())[0])
    best = r.top.iloc[j]
    text = r.explain(j)
    assert (f"TPOT {best['tpot_s']:.4g} s measured meets the limit 0.06 s as given; TTFT 0.1 s measured meets the "
            "limit 1 s as given (a measurement has no prediction interval).") in text
    assert "predicted" not in text and "applied as" not in text and "met with confidence" not in text
    k = int(np.flatnonzero(src == "predicted")[0])
    row = r.top.iloc[k]
    assert (f"Latency limits met with confidence 0.9: TPOT {row['tpot_s']:.4g} s predicted (limit 0.06 s, applied as "
            f"{r.settings['effective_tpot_limit_s']:.4g} s).") in r.explain(k)
    assert f"TTFT {row['ttft_s']:.4g} s predicted meets the limit 1 s as given" in r.explain(k)


def test_the_confidence_line_counts_one_candidate_in_the_singular(model):
    df = _table()
    df = df[df["tpot_s"].notna() | (df.index == 6)]
    r = _search(candidates=df, energy_model=model, measured_latency=True, tpot_limit_s=0.035, limit_confidence=0.9,
                bootstrap=False)
    assert r.settings["limit_confidence_candidates"] == 1 and "1 candidate passes the other checks" in r.limits_line()
