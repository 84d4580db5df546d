"""``energylens fit PROFILES --expression DISCOVERY.json``'s bad input: each an error naming what is wrong and where,
non-zero exit, no model file written (tests/discover/test_fit_expression_route.py runs the route end to end)."""
from __future__ import annotations

import json

import pytest

sp = pytest.importorskip("sympy")

from energylens.cli import main  # noqa: E402
from energylens.discover.result import DiscoveryResult, FrontEntry  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402
from energylens.profiles.features import FEATURE_NAMES  # noqa: E402


def _discovery(path, formulas, target="energy", chosen=0):
    """A discovery result holding ``formulas`` (text over feature columns) as its front."""
    names = {n: sp.Symbol(n, positive=True) for n in FEATURE_NAMES}  # as discover writes its formulas
    front = [FrontEntry(complexity=5 + i, expression=f, latex="", cv_error=0.1,
                        formula=sp.srepr(sp.sympify(f, locals=names)), heldout={"mape": 0.1})
             for i, f in enumerate(formulas)]
    result = DiscoveryResult(target=target, backend="operon", backend_reason="test", seed=0, n_train=10, n_heldout=5,
                             variables={}, front=front, template={"mape": 0.1}, chosen=chosen, seconds=1.0)
    path.write_text(result.to_json())
    return path


@pytest.fixture
def discovery(tmp_path):
    return _discovery(tmp_path / "discovered.json", ["2.0*output_tokens*tdp_w/batch_size + 1.0",
                                                      "3.0*output_tokens + 1.0"])


def _fit(*argv) -> int:
    return main(["fit", *map(str, argv)])


def test_a_file_that_is_not_a_discovery_result_is_named(tmp_path, capsys):
    csv = tmp_path / "profiles.csv"
    mlenergy_v2().head(20).to_csv(csv, index=False)
    model = tmp_path / "model.json"
    assert _fit("bundled", "--expression", csv, "-o", model) == 2
    err = capsys.readouterr().err
    assert f"--expression {csv}: not a JSON file" in err and "energylens discover -o" in err and not model.exists()
    assert _fit("bundled", "--expression", model, "-o", tmp_path / "m2.json") == 2  # no such file yet
    model.write_text(json.dumps({"format": "energylens.model", "version": 1}))  # a model file, not a discovery
    assert _fit("bundled", "--expression", model, "-o", tmp_path / "m2.json") == 2
    err = capsys.readouterr().err
    assert f"--expression {model}: not a discovery result (format 'energylens.model'" in err
    assert _fit("bundled", "--expression", tmp_path / "none.json", "-o", model) == 2
    assert f"--expression {tmp_path / 'none.json'}: no such file" in capsys.readouterr().err


def test_a_front_index_out_of_range_names_the_front(discovery, tmp_path, capsys):
    model = tmp_path / "model.json"
    for pick in ("2", "-1", "two"):
        assert _fit("bundled", "--expression", discovery, "--pick", pick, "-o", model) == 2
        err = capsys.readouterr().err
        assert "--pick" in err and pick in err and "0..1" in err and str(discovery) in err, err
    assert not model.exists()


def test_profiles_lacking_a_column_the_expression_reads_name_it_and_the_file(discovery, tmp_path, capsys):
    csv = tmp_path / "no_output_tokens.csv"
    mlenergy_v2().drop(columns=["output_tokens"]).to_csv(csv, index=False)
    model = tmp_path / "model.json"
    assert _fit(csv, "--expression", discovery, "-o", model) == 2
    err = capsys.readouterr().err
    assert "output_tokens" in err and str(csv) in err and "Traceback" not in err
    assert not model.exists()


def test_an_expression_fit_that_cannot_be_evaluated_says_so_and_writes_nothing(tmp_path, capsys):
    bad = _discovery(tmp_path / "bad.json", ["1.0*log(2.0 - 1.0*tp) + 5.0"])
    model = tmp_path / "model.json"
    assert _fit("bundled", "--expression", bad, "--bootstrap", "0", "-o", model) != 0
    err = capsys.readouterr().err
    assert "cannot be evaluated on" in err and "not written" in err, err  # (not "did not converge ... non_finite")
    assert not model.exists()


def test_output_follows_fits_clobber_rule(discovery, tmp_path, capsys):
    other = tmp_path / "notes.json"
    other.write_text(json.dumps({"mine": 1}))
    assert _fit("bundled", "--expression", discovery, "--bootstrap", "0", "-o", other) == 2
    assert "refusing to replace it" in capsys.readouterr().err and json.loads(other.read_text()) == {"mine": 1}
    model = tmp_path / "model.json"
    assert _fit("bundled", "--expression", discovery, "--bootstrap", "0", "-o", model) == 0
    assert _fit("bundled", "--expression", discovery, "--bootstrap", "0", "--pick", "1", "-o", model) == 0
    assert f"replaced existing {model}" in capsys.readouterr().err
    assert _fit("bundled", "--expression", discovery, "-o", discovery) == 2  # the input itself
    assert "discovered.json" in capsys.readouterr().err and json.loads(discovery.read_text())["front"]


@pytest.mark.parametrize("option", [["--calibrate", "family"], ["--latency-only"], ["--tpot-weight", "0.5"],
                                    ["--prior", "bundled"], ["--calibrate-latency", "model"]])
def test_template_options_with_expression_are_refused(discovery, tmp_path, capsys, option):
    model = tmp_path / "model.json"
    assert _fit("bundled", "--expression", discovery, *option, "-o", model) == 2
    err = capsys.readouterr().err
    assert option[0] in err and "--expression" in err and not model.exists()


def test_pick_without_expression_is_refused(tmp_path, capsys):
    assert _fit("bundled", "--pick", "0", "-o", tmp_path / "m.json") == 2
    assert "--pick" in capsys.readouterr().err


def test_a_prefill_discovery_is_refused_naming_its_target(tmp_path, capsys):
    disc = _discovery(tmp_path / "prefill.json", ["2.0*output_tokens + 1.0"], target="prefill")
    assert _fit("bundled", "--expression", disc, "-o", tmp_path / "m.json") == 2
    err = capsys.readouterr().err
    assert str(disc) in err and "'prefill'" in err


def test_a_long_expression_fit_is_announced_and_reports_its_refits(discovery, tmp_path, capsys, monkeypatch):
    """`fit --expression` of 21,360 rows with 200 refits ran 4 s without a word (the template's announcement and
    refit lines were not on its path); it says both, as the template's fit does."""
    from energylens.cli import fit as fit_cli

    monkeypatch.setattr(fit_cli, "LONG_FIT_ROW_FITS", 10)
    assert _fit("bundled", "--expression", discovery, "--bootstrap", "30", "-o", tmp_path / "m.json") == 0
    err = capsys.readouterr().err
    assert "then 30 bootstrap refits of the expression model (" in err, err
    assert "energylens fit: ExpressionEnergyModel: 30 of 30 bootstrap refits done (" in err, err
