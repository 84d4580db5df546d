"""A parameter no training row depends on (pp_bubble fitted on pp = 1 rows only) is reported as not
identified: no interval that looks certain, recorded in the model file, said by fit and by a search whose
candidates depend on it."""

from __future__ import annotations

import math

import pytest

import energylens
from energylens.cli.main import main
from energylens.model import EnergyModel, load_model
from energylens.profiles.datasets import mlenergy_v2

L70 = "meta-llama/Llama-3.1-70B-Instruct"


@pytest.fixture(scope="module")
def pp1_rows():
    rows = mlenergy_v2()
    return rows[rows["pp"] == 1].sample(60, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def pp1_model(pp1_rows):
    return EnergyModel(bootstrap=30).fit(pp1_rows)


def test_pp_bubble_without_pipeline_rows_is_not_identified(pp1_model, tmp_path):
    assert pp1_model.summary.unidentified == ("pp_bubble",)
    assert "pp_bubble" in pp1_model.latency_model.summary.unidentified
    p = pp1_model.params["pp_bubble"]
    assert math.isnan(p.ci_low) and math.isnan(p.ci_high)  # was [0.5, 0.5]: every refit kept the start value
    assert all(math.isfinite(q.ci_low) for n, q in pp1_model.params.items() if n != "pp_bubble")
    pp1_model.save(tmp_path / "m.json")
    assert load_model(tmp_path / "m.json").summary.unidentified == ("pp_bubble",)


def test_rows_with_pipeline_stages_identify_it():
    rows = mlenergy_v2()
    assert (rows["pp"] > 1).any()
    assert EnergyModel(bootstrap=0).fit(rows).summary.unidentified == ()


def test_fit_and_search_say_it(pp1_model, pp1_rows, tmp_path, capsys):
    pp1_rows.to_csv(tmp_path / "p.csv", index=False)
    assert main(["fit", str(tmp_path / "p.csv"), "-o", str(tmp_path / "m.json"), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "[not identified]" in out and "no training row depends on pp_bubble" in out
    note = "not identified by the model's training data (energy model: pp_bubble"
    with_pp = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, pp=[1, 2], top=3,
                                energy_model=pp1_model, bootstrap=False)
    assert note in with_pp.summary() and with_pp.settings["unidentified_params"]["energy"] == ["pp_bubble"]
    without_pp = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, pp=[1], top=3,
                                   energy_model=pp1_model, bootstrap=False)
    assert "not identified" not in without_pp.summary()  # no candidate depends on it


def test_predict_notes_what_rests_on_start_values(pp1_rows, tmp_path, capsys):
    pp1_rows.to_csv(tmp_path / "p.csv", index=False)
    assert main(["fit", str(tmp_path / "p.csv"), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    rows = pp1_rows.head(4).copy()
    rows.to_csv(tmp_path / "c1.csv", index=False)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "m.json"), str(tmp_path / "c1.csv"), "-o", str(tmp_path / "o1.csv")]) == 0
    err = capsys.readouterr().err
    assert "ttft_s_pred is a roofline estimate" in err  # v2 rows measure no TTFT
    assert "not identified" not in err                  # no row with pp > 1: pp_bubble does not matter
    rows.loc[0, ["tp", "pp"]] = [1, 2]
    rows.to_csv(tmp_path / "c2.csv", index=False)
    assert main(["predict", str(tmp_path / "m.json"), str(tmp_path / "c2.csv"), "-o", str(tmp_path / "o2.csv")]) == 0
    assert "not identified by the model's training data (energy model: pp_bubble" in capsys.readouterr().err


def test_fit_marks_a_parameter_at_a_bound_of_its_range(tmp_path, capsys):
    rows = mlenergy_v2()
    rows.to_csv(tmp_path / "v2.csv", index=False)
    model = EnergyModel(bootstrap=0).fit(rows)
    pinned = [p.name for p in model.params.values() if p.value in (p.lower, p.upper)]
    assert main(["fit", str(tmp_path / "v2.csv"), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    for name in pinned:
        assert any(line.strip().startswith(name) and "bound)" in line for line in out.splitlines())
    assert ("at a bound of their physical range" in out) == bool(pinned)
