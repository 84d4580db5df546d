"""``energylens fit PROFILES --expression discovered.json``: the command-line route from a discovery result to a model
file (before 2026-12-07 only Python made one: ``expression_model(load_discovery(...)).fit(profiles).save(...)``; a
command-line user met 'is a discovery result' from predict and had no command to run). End to end on the bundled
data: discover (5 generations) -> fit --expression -> predict gives the Python route's numbers."""
from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("sympy")
pytest.importorskip("pyoperon")

from energylens.cli import main  # noqa: E402
from energylens.discover import expression_model, load_discovery  # noqa: E402
from energylens.errors import ModelFileError  # noqa: E402
from energylens.model import load_model  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402


@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    path = tmp_path_factory.mktemp("disc") / "discovered.json"
    assert main(["discover", "bundled", "--generations", "5", "--seed", "0", "-o", str(path), "--quiet"]) == 0
    return path


def _predicted(model_file, tmp_path, name):
    out = tmp_path / f"{name}.csv"
    assert main(["predict", str(model_file), "bundled", "-o", str(out)]) == 0
    return pd.read_csv(out)


@pytest.mark.parametrize("pick", [None, "0"])
def test_fit_expression_then_predict_equals_the_python_route(discovered, tmp_path, pick, capsys):
    cli_model = tmp_path / "cli.json"
    argv = ["fit", "bundled", "--expression", str(discovered), "-o", str(cli_model)]
    assert main(argv + ([] if pick is None else ["--pick", pick])) == 0
    out = capsys.readouterr().out
    result = load_discovery(discovered)
    index = result.chosen if pick is None else int(pick)
    assert f"expression {index} " in out and "converged" in out and f"wrote {cli_model}" in out
    assert "bound" not in out  # its constants are unbounded: fit's table read each as '(at its lower bound)'

    py_model = tmp_path / "python.json"
    fitted = expression_model(result, None if pick is None else index).fit(mlenergy_v2())
    fitted.save(py_model)
    cli, py = _predicted(cli_model, tmp_path, "cli"), _predicted(py_model, tmp_path, "py")
    for column in ("energy_j_pred", "energy_j_lo", "energy_j_hi"):
        pd.testing.assert_series_equal(cli[column], py[column], rtol=1e-12, atol=0)
    pd.testing.assert_series_equal(cli["energy_j_pred"], pd.Series(fitted.predict(mlenergy_v2()), name="energy_j_pred"),
                                   rtol=1e-12, atol=0)
    assert load_model(cli_model).to_sympy() == fitted.to_sympy()


def test_search_refuses_the_expression_model_naming_why(discovered, tmp_path, capsys):
    model_file = tmp_path / "m.json"
    assert main(["fit", "bundled", "--expression", str(discovered), "--bootstrap", "0", "-o", str(model_file)]) == 0
    capsys.readouterr()
    assert main(["search", "--model-file", str(model_file), "--model", "meta-llama/Meta-Llama-3.1-8B-Instruct", "--gpus", "H100",
                 "--input-tokens", "500", "--output-tokens", "200"]) == 2
    err = capsys.readouterr().err
    assert "expression energy model" in err and "cannot price" in err and "Traceback" not in err


def test_predict_given_the_discovery_result_names_the_command_route(discovered, tmp_path, capsys):
    with pytest.raises(ModelFileError, match=r"energylens fit PROFILES --expression .*discovered\.json"):
        load_model(discovered)
    assert main(["predict", str(discovered), "bundled", "-o", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "--expression" in err and "expression_model(load_discovery" in err


def test_a_residual_discovery_becomes_template_times_exp_g_as_in_python(tmp_path, capsys):
    """A residual result: the template fitted on the profiles (bootstrap 0, no latency), then template x exp(g), as
    docs/discover.md's Python route, with --residual relative passed through (the default: every entry,
    tests/discover/test_residual_adopt_converges.py)."""
    from energylens.model import EnergyModel

    disc = tmp_path / "residual.json"
    assert main(["discover", "bundled", "--target", "residual", "--generations", "5", "-o", str(disc), "--quiet"]) == 0
    model_file = tmp_path / "res.json"
    argv = ["fit", "bundled", "--expression", str(disc), "--bootstrap", "0", "--residual", "relative",
            "-o", str(model_file)]
    assert main(argv) == 0
    assert "a residual discovery: fitted the template" in capsys.readouterr().out
    profiles = mlenergy_v2()
    template = EnergyModel(bootstrap=0).fit(profiles, latency=False)
    py = expression_model(load_discovery(disc), template=template, bootstrap=0, residual="relative").fit(profiles)
    cli = _predicted(model_file, tmp_path, "cli")
    pd.testing.assert_series_equal(cli["energy_j_pred"], pd.Series(py.predict(profiles), name="energy_j_pred"),
                                   rtol=1e-12, atol=0)
