"""``energylens evaluate PROFILES --expression DISCOVERY.json [--pick ...]``: a discovered expression scored as a method
row beside energylens on the same splits, with the figures the Python route gives (docs/discover.md:
``expression_model(result, index, ...).fit(training rows)`` per split, written out here independently of the CLI's
method class), and bad input named before any work."""
from __future__ import annotations

import json

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

from energylens.cli import main  # noqa: E402
from energylens.compare import run_evaluation  # noqa: E402
from energylens.compare.methods import ClosedForm, MethodBase  # noqa: E402
from energylens.discover import DiscoveredExpression, expression_model, load_discovery  # noqa: E402
from energylens.discover.result import DiscoveryResult, FrontEntry  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402
from energylens.profiles.features import FEATURE_NAMES  # noqa: E402

FORMULAS = ["2.0*output_tokens*tdp_w/batch_size + 1.0", "3.0*output_tokens + 0.5*input_tokens + 1.0"]
RUN = ["--splits", "random,unseen_batch", "--repeats", "2", "--methods", "energylens", "--no-progress", "--json"]


def _discovery(path, formulas, target="energy", chosen=1, profiles="elsewhere.csv"):
    """A discovery result holding ``formulas`` (text over feature columns) as its front, complexity 5, 6, ..."""
    names = {n: sp.Symbol(n, positive=True) for n in FEATURE_NAMES}  # as discover writes its formulas
    front = [FrontEntry(complexity=5 + i, expression=f, latex="", cv_error=0.1,
                        formula=sp.srepr(sp.sympify(f, locals=names)), heldout={"mape": 0.1})
             for i, f in enumerate(formulas)]
    result = DiscoveryResult(target=target, backend="operon", backend_reason="test", seed=0, n_train=10, n_heldout=5,
                             variables={}, front=front, template={"mape": 0.1}, chosen=chosen, seconds=1.0,
                             profiles=profiles)
    path.write_text(result.to_json())
    return path


class _PythonRoute(MethodBase):
    """docs/discover.md's route, per split: the template on the training rows for a residual result, then
    ``expression_model(result, index, template=..., bootstrap=0, seed=seed).fit(training rows)``."""

    def __init__(self, result, index, name, seed):
        self.result, self.index, self.name, self.seed = result, index, name, seed

    def fit(self, train_df):
        template = (EnergyModel(bootstrap=0, seed=self.seed).fit(train_df, latency=False)
                    if self.result.target == "residual" else None)
        self.model = expression_model(self.result, self.index, template=template, bootstrap=0,
                                      seed=self.seed).fit(train_df)
        return self

    def predict_energy(self, df):
        return np.asarray(self.model.predict(df, check_range=False), dtype=float)


def _cli_json(capsys, *argv) -> dict:
    assert main(["evaluate", *map(str, argv)]) == 0
    return json.loads(capsys.readouterr().out)


def _python_summary(result, picks: dict[str, int]) -> list[dict]:
    res = run_evaluation("bundled", repeats=2, splits=("random", "unseen_batch"), progress=False,
                         methods=lambda seed: [ClosedForm(seed=seed),
                                               *(_PythonRoute(result, i, name, seed) for name, i in picks.items())])
    return json.loads(res.summary().to_json(orient="records"))


@pytest.mark.parametrize("target", ["energy", "residual"])
def test_the_cli_rows_equal_the_python_routes_figures_on_the_same_splits(tmp_path, capsys, target):
    formulas = FORMULAS if target == "energy" else ["0.01*tp + 0.0", "0.02*pp - 0.01*tp + 0.0"]
    path = _discovery(tmp_path / "d.json", formulas, target=target)
    out = _cli_json(capsys, "bundled", "--expression", path, "--pick", "all", *RUN)
    names = {"discovered0-c5": 0, "discovered1-c6": 1}
    assert [e["method"] for e in out["info"]["expressions"]] == list(names)
    assert [e["complexity"] for e in out["info"]["expressions"]] == [5, 6]
    assert [e["chosen"] for e in out["info"]["expressions"]] == [False, True]
    cli = out["summary"]
    assert list(dict.fromkeys(r["method"] for r in cli)) == ["energylens", *names]  # beside ours, in front order
    python = _python_summary(load_discovery(path), names)
    for name in names:  # every figure of every split, size and variant, as the Python route gives it
        mine = [r for r in cli if r["method"] == name]
        theirs = [r for r in python if r["method"] == name]
        assert mine and mine == theirs, name
        assert {r["split"] for r in mine} == {"random", "unseen_batch"}
        assert all(r["mape"] is not None and np.isfinite(r["mape"]) for r in mine)
    assert [r for r in cli if r["method"] == "energylens"] == [r for r in python if r["method"] == "energylens"]
    # the library's method class is that route too
    res = run_evaluation("bundled", repeats=2, splits=("random",), progress=False,
                         methods=lambda seed: [DiscoveredExpression(load_discovery(path), 0, seed=seed)])
    assert json.loads(res.summary().to_json(orient="records")) == [r for r in cli if r["method"] == "discovered0-c5"
                                                                     and r["split"] == "random"]


def test_the_table_names_each_rows_expression_and_complexity(tmp_path, capsys):
    path = _discovery(tmp_path / "d.json", FORMULAS)
    assert main(["evaluate", "bundled", "--expression", str(path), "--splits", "random", "--repeats", "1",
                 "--methods", "energylens", "--no-progress"]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0]
    assert "\ndiscovered1-c6 " in table and "discovered0-c5" not in table  # default: the chosen entry only
    assert main(["evaluate", "bundled", "--expression", str(path), "--pick", "chosen,0", "--splits", "random",
                 "--repeats", "1", "--methods", "energylens", "--no-progress"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.split("\n\n")[0].splitlines()[1:4]]
    assert rows == ["energylens", "discovered1-c6", "discovered0-c5"]  # in the order picked
    assert (f"discovered1-c6: front entry 1 of {path} (complexity 6, the discovery's chosen one), refitted on each "
            f"split's training rows: energy_j = {FORMULAS[1]}") in out


def test_a_discovery_of_the_evaluated_profiles_is_noted_as_optimistic(tmp_path, capsys):
    csv = tmp_path / "p.csv"
    mlenergy_v2().to_csv(csv, index=False)
    path = _discovery(tmp_path / "d.json", FORMULAS, profiles=str(csv))
    assert main(["evaluate", str(csv), "--expression", str(path), "--splits", "random", "--repeats", "1",
                 "--methods", "energylens", "--no-progress", "--json"]) == 0
    assert f"{path} was discovered on {csv}" in capsys.readouterr().err
    other = _discovery(tmp_path / "o.json", FORMULAS)  # discovered elsewhere: no note
    assert main(["evaluate", str(csv), "--expression", str(other), "--splits", "random", "--repeats", "1",
                 "--methods", "energylens", "--no-progress", "--json"]) == 0
    assert "was discovered on" not in capsys.readouterr().err


def _fails(capsys, *argv) -> str:
    assert main(["evaluate", *map(str, argv)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and not captured.out.strip()  # refused before any work
    return captured.err


def test_a_file_that_is_not_a_discovery_result_is_named(tmp_path, capsys):
    csv = tmp_path / "profiles.csv"
    mlenergy_v2().head(20).to_csv(csv, index=False)
    err = _fails(capsys, "bundled", "--expression", csv)
    assert f"--expression {csv}: not a JSON file" in err and "energylens discover -o" in err
    model = tmp_path / "model.json"
    model.write_text(json.dumps({"format": "energylens.model", "version": 1}))
    assert f"--expression {model}: not a discovery result (format 'energylens.model'" in _fails(
        capsys, "bundled", "--expression", model)
    assert f"--expression {tmp_path / 'none.json'}: no such file" in _fails(
        capsys, "bundled", "--expression", tmp_path / "none.json")


@pytest.mark.parametrize("pick", ["2", "-1", "two", "0,5", ""])
def test_a_pick_outside_the_front_names_how_many_it_holds(tmp_path, capsys, pick):
    path = _discovery(tmp_path / "d.json", FORMULAS)
    err = _fails(capsys, "bundled", "--expression", path, "--pick", pick)
    assert f"--pick {pick}: {path}'s front holds 2 expression(s), index 0..1" in err and "'all'" in err, err


def test_a_pick_named_twice_or_without_expression_is_refused(tmp_path, capsys):
    path = _discovery(tmp_path / "d.json", FORMULAS)
    assert "names index 1 more than once" in _fails(capsys, "bundled", "--expression", path, "--pick", "1,1")
    assert "names index 1 more than once ('chosen' is 1)" in _fails(capsys, "bundled", "--expression", path, "--pick",
                                                                    "chosen,1")
    assert "--pick 0: picks a front expression of --expression" in _fails(capsys, "bundled", "--pick", "0")


def test_a_phase_discovery_is_refused_naming_its_target(tmp_path, capsys):
    path = _discovery(tmp_path / "d.json", FORMULAS, target="prefill")
    err = _fails(capsys, "bundled", "--expression", path)
    assert f"--expression {path}" in err and "'prefill'" in err and "energy per request" in err


def test_an_expression_of_a_symbol_that_is_no_feature_is_refused_before_the_run(tmp_path, capsys):
    names = {n: sp.Symbol(n, positive=True) for n in FEATURE_NAMES}
    path = _discovery(tmp_path / "d.json", FORMULAS)
    doc = json.loads(path.read_text())
    doc["front"][1]["formula"] = sp.srepr(sp.sympify("2.0*watts_per_gpu + output_tokens", locals=names))
    path.write_text(json.dumps(doc))
    err = _fails(capsys, "bundled", "--expression", path)
    assert f"--expression {path}" in err and "watts_per_gpu" in err, err


def test_profiles_lacking_a_column_the_expression_reads_name_it_and_the_file(tmp_path, capsys):
    csv = tmp_path / "no_output_tokens.csv"
    mlenergy_v2().drop(columns=["output_tokens"]).to_csv(csv, index=False)
    path = _discovery(tmp_path / "d.json", FORMULAS)
    err = _fails(capsys, csv, "--expression", path, "--splits", "random", "--repeats", "1")
    assert "output_tokens" in err and str(csv) in err


def test_each_rows_fits_converged_share_is_in_json_and_report_and_a_short_one_noted(tmp_path, capsys, monkeypatch):
    path = _discovery(tmp_path / "d.json", FORMULAS)
    report = tmp_path / "rep"
    out = _cli_json(capsys, "bundled", "--expression", path, *RUN, "--report", report)
    assert [e["converged"] for e in out["info"]["expressions"]] == [{"random": 1.0, "unseen_batch": 1.0}]
    assert (f"- discovered1-c6: front entry 1 of `{path}` (complexity 6, the discovery's chosen one), refitted on "
            f"each split's training rows: energy_j = `{FORMULAS[1]}`; fits converged: random 100%, unseen_batch "
            "100%.") in (report / "report.md").read_text()
    # a fit stopped short (here: one iteration allowed) says so in run_notes, and the command notes it on stderr
    short = DiscoveredExpression(load_discovery(path), 1, max_iterations=1).fit(mlenergy_v2().head(60))
    assert short.run_notes() == {"converged": 0.0}
    monkeypatch.setattr(DiscoveredExpression, "run_notes", lambda self: {"converged": float(self.seed % 2 == 0)})
    assert main(["evaluate", "bundled", "--expression", str(path), *RUN]) == 0  # seeds 0 and 1: one stops short
    err = capsys.readouterr().err
    assert "note: discovered1-c6: 50% of its random fits stopped before converging" in err, err


def test_without_sympy_the_option_names_the_extra(tmp_path, capsys, monkeypatch):
    path = _discovery(tmp_path / "d.json", FORMULAS)
    monkeypatch.setitem(__import__("sys").modules, "sympy", None)  # import sympy now fails
    err = _fails(capsys, "bundled", "--expression", path)
    assert "energylens evaluate --expression (a discovered expression) needs" in err and "energylens[sr]" in err, err


def test_constants_predicting_no_positive_energy_are_refitted_as_the_discovery_refits_them(tmp_path, capsys):
    """A front entry whose discovery constants predict <= 0 J on training rows (an expression discovered on other
    profiles: ML.ENERGY v3's chosen entry on the bundled rows) left the log-residual fit at its start (status
    non_finite, iteration 0), and the row scored the discovery's constants unrefitted; now the relative error is
    fitted first, then the log residual from there, as discover's own refit does."""
    path = _discovery(tmp_path / "d.json", ["2.0*output_tokens*tdp_w/batch_size - 10000000.0"], chosen=0)
    result, train = load_discovery(path), mlenergy_v2().head(80)
    plain = expression_model(result, bootstrap=0).fit(train)
    assert plain.summary.status == "non_finite" and plain.summary.iterations == 0  # the gap, in the bare route
    method = DiscoveredExpression(result, seed=0).fit(train)
    assert method.run_notes() == {"converged": 1.0} and method._model.options["residual"] == "log"
    assert np.all(method.predict_energy(train) > 0)
    both = _discovery(tmp_path / "both.json", ["2.0*output_tokens*tdp_w/batch_size - 10000000.0", FORMULAS[0]])
    out = _cli_json(capsys, "bundled", "--expression", both, "--pick", "all", *RUN)
    assert [e["converged"] for e in out["info"]["expressions"]] == [{"random": 1.0, "unseen_batch": 1.0}] * 2
    mape = {r["method"]: r["mape"] for r in out["summary"] if r["split"] == "random"}
    assert mape["discovered0-c5"] == pytest.approx(mape["discovered1-c6"], rel=1e-4)  # one form: one optimum


def test_an_expression_no_fit_can_evaluate_fails_its_splits_by_name(tmp_path, capsys):
    path = _discovery(tmp_path / "d.json", ["1.0*log(2.0 - 1.0*tp) + 5.0"], chosen=0)
    with pytest.raises(ValueError, match="discovered0-c5: no fit on the 80 training rows"):
        DiscoveredExpression(load_discovery(path)).fit(mlenergy_v2().head(80))
    assert main(["evaluate", "bundled", "--expression", str(path), *RUN]) == 2
    assert "error: method discovered0-c5 produced no score" in capsys.readouterr().err
