"""``energylens fit`` and ``expression_model`` told a new user too little, or the wrong thing: a fit on 1-3 rows
said '3 rows for 5 constants' without naming the file (the template fit too: '3 measurements for 12
parameters'); ``expression_model(result, True)`` fitted entry 1 (a bool is an int) and ``-1`` was taken as the
last entry where ``fit --pick -1`` was refused; ``fit --pick 0`` of a discovery with an empty front read 'index
none: its front is empty', and without --pick an empty front whose expressions were all dropped was said to be
an interrupted run's."""
from __future__ import annotations

import dataclasses
import json

import pytest

pytest.importorskip("sympy")
pytest.importorskip("pyoperon")

from energylens.cli.main import main  # noqa: E402
from energylens.discover import DiscoveredExpression, expression_model, load_discovery  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402

COLUMNS = ["model", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j"]


@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    path = tmp_path_factory.mktemp("disc") / "discovered.json"
    assert main(["discover", "bundled", "--generations", "5", "--seed", "0", "-o", str(path), "--quiet"]) == 0
    return path


def _tiny(tmp_path, rows: int):
    path = tmp_path / f"tiny{rows}.csv"
    mlenergy_v2()[COLUMNS].sample(rows, random_state=1).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("rows", [1, 3])
def test_an_expression_fit_on_too_few_rows_names_the_file_the_rows_and_what_is_needed(discovered, tmp_path, rows,
                                                                                      capsys):
    tiny = _tiny(tmp_path, rows)
    result = load_discovery(discovered)
    k = len(expression_model(result).param_names)  # (the chosen one)
    assert k > 3
    assert main(["fit", str(tiny), "--expression", str(discovered), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert f"{tiny}: {rows} row{'s' if rows > 1 else ''} for {k} constants" in err, err
    assert f"expression {result.chosen} of {discovered}" in err and f"needs at least {k} rows" in err
    assert "ExpressionEnergyModel.fit" not in err and not (tmp_path / "m.json").exists()


def test_the_template_fit_on_too_few_rows_names_the_file(tmp_path, capsys):
    tiny = _tiny(tmp_path, 3)
    assert main(["fit", str(tiny), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert f"{tiny}: 3 measurements for 12 parameters" in err and "needs at least 12" in err, err
    assert "EnergyModel.fit:" not in err


@pytest.mark.parametrize("index", [True, False, -1, 1.0, "1"])
def test_expression_model_refuses_a_bool_a_negative_or_a_non_integer_index(discovered, index):
    result = load_discovery(discovered)
    n = len(result.front)
    with pytest.raises((IndexError, TypeError)) as err:
        expression_model(result, index)
    assert f"index {index!r}" in str(err.value) and f"0..{n - 1}" in str(err.value), str(err.value)


def test_cli_pick_of_a_negative_index_says_negative_indices_are_not_taken(discovered, tmp_path, capsys):
    assert main(["fit", "bundled", "--expression", str(discovered), "--pick", "-1", "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    n = len(load_discovery(discovered).front)
    assert "--pick -1:" in err and f"0..{n - 1}" in err and "counts from 0" in err, err


def _emptied(discovered, tmp_path, how: str):
    doc = json.loads(discovered.read_text())
    if how == "dropped":
        doc["dropped"] = [{"complexity": e["complexity"], "expression": e["expression"]} for e in doc["front"]]
    else:
        doc["search"]["unscored"] = [{"complexity": e["complexity"], "expression": e["expression"]}
                                     for e in doc["front"]]
        doc["search"]["stopped_by"] = "interrupt"
    doc["front"], doc["chosen"] = [], None
    path = tmp_path / f"empty_{how}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("how, why", [("dropped", "no fit of their constants gives a finite error"),
                                      ("unscored", "interrupted before one was scored")])
@pytest.mark.parametrize("pick", [["--pick", "0"], []])
def test_an_empty_front_says_the_discovery_found_no_expression_and_what_to_do(discovered, tmp_path, capsys, how, why,
                                                                               pick):
    empty = _emptied(discovered, tmp_path, how)
    assert main(["fit", "bundled", "--expression", str(empty), *pick, "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert f"{empty}: the discovery found no expression to fit" in err and why in err, err
    assert "rerun energylens discover" in err and "index none" not in err
    assert "input_tokens of all" not in err  # refused before the profiles were read
    with pytest.raises(ValueError, match=f"found no expression to fit.*{why}"):
        expression_model(load_discovery(empty))
    with pytest.raises(ValueError, match="found no expression to fit"):
        expression_model(dataclasses.replace(load_discovery(empty)), 0)


@pytest.mark.parametrize("how, why", [("dropped", "no fit of their constants gives a finite error"),
                                      ("unscored", "interrupted before one was scored")])
@pytest.mark.parametrize("pick", [["--pick", "0"], ["--pick", "all"], []])
def test_evaluate_words_an_empty_front_as_fit_does(discovered, tmp_path, capsys, how, why, pick):
    """evaluate --expression said "its front holds 0 expression(s), index none: its front is empty" (--pick 0 /
    all) or "no scored expression (its run was interrupted ...)" for a front whose expressions were all dropped."""
    empty = _emptied(discovered, tmp_path, how)
    assert main(["evaluate", "bundled", "--expression", str(empty), *pick, "--splits", "random", "--repeats", "1",
                 "--methods", "energylens", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{empty}: the discovery found no expression to fit" in err and why in err, err
    assert "index none" not in err
    for index in (None, 0):
        with pytest.raises(ValueError, match=f"found no expression to fit.*{why}"):
            DiscoveredExpression(load_discovery(empty), index)
