"""``energylens demo`` prints what its run computed: change the training size or seed and its sentences follow."""

from __future__ import annotations

import io
import re

import pytest

from energylens.cli.demo import fit_status_words, run_demo


def _demo(**kw) -> str:
    out = io.StringIO()
    assert run_demo(compare=False, out=out, **kw) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def runs() -> dict[tuple[int, int], str]:
    return {(n, s): _demo(train_size=n, seed=s) for n, s in ((40, 0), (60, 0), (40, 1))}


def test_training_size_is_the_one_used(runs):
    for (n, seed), text in runs.items():
        n_rows = int(re.search(r"(\d+) measured vLLM configurations", text).group(1))
        assert f"on {n} random rows (seed {seed})" in text
        assert f"held-out accuracy on the other {n_rows - n} rows" in text
        assert f"(fit on {n} rows;" in text
        assert "50 rows" not in text


def test_reported_accuracy_changes_with_the_fit(runs):
    def accuracy(text: str) -> str:
        return re.search(r"held-out accuracy .*", text).group(0)

    def choice(text: str) -> str:
        return re.search(r"energylens picks the measured optimum in .*", text).group(0)

    a, b, c = runs[(40, 0)], runs[(60, 0)], runs[(40, 1)]
    assert len({accuracy(a), accuracy(b), accuracy(c)}) == 3
    assert re.search(r"MAPE \d+\.\d %, Top-1 \d\.\d{3} over \d+ \(task, model, GPU\) groups", accuracy(a))
    assert choice(a) and choice(b)


def test_without_the_comparison_it_does_not_promise_one(runs):
    text = runs[(40, 0)]
    assert "comparison below" not in text and "comparison with the baselines" not in text


def test_a_report_folder_with_no_comparison_is_refused(tmp_path, capsys):
    from energylens.cli.main import main

    assert main(["demo", "--no-compare", "--report", str(tmp_path / "r")]) == 2
    assert "--no-compare skips" in capsys.readouterr().err and not (tmp_path / "r").exists()
    with pytest.raises(SystemExit):
        main(["demo", "--train-size", "0"])
    assert "--train-size" in capsys.readouterr().err


def test_a_training_size_that_leaves_nothing_held_out_is_refused_before_any_output(capsys):
    """--train-size 356 ended in KeyError 'ape_sum' after the parameters were printed, 400 in numpy's "Cannot
    take a larger sample than population"; 350 printed "pairwise ranking 0.000" over no pairs at all."""
    from energylens.cli.main import main

    for n in ("356", "400"):
        assert main(["demo", "--no-compare", "--train-size", n]) == 2
        captured = capsys.readouterr()
        assert f"--train-size {n}: the bundled data has 356 rows" in captured.err and "use at most 355" in captured.err
        assert captured.out == ""
    text = _demo(train_size=350)
    assert "held-out accuracy on the other 6 rows" in text
    assert "Top-1 n/a over 0 (task, model, GPU) groups, pairwise ranking n/a (no pairs)" in text


def test_parameters_the_rows_never_exercise_are_named_not_given_a_nan_interval():
    """The default demo's 50 random rows hold no PP row, so pp_bubble keeps its start value: until 2026-12-05
    the demo printed its interval as [nan, nan] (energylens fit said [not identified])."""
    text = _demo()
    assert "nan" not in text.lower().replace("nanosecond", "")
    line = next(x for x in text.splitlines() if x.startswith("pp_bubble "))
    assert "[not identified]" in line
    assert re.search(r"^not identified: .*pp_bubble", text, re.M)


def test_the_fit_status_is_said_in_words_and_one_parameter_is_an_it():
    """The demo's fit line read "converged_cost, 14 iterations" (the optimiser's status word) and its one
    unidentified parameter was followed by "the training rows never exercise them"."""
    text = _demo()
    fitted = next(x for x in text.splitlines() if x.startswith("fitted "))
    assert "converged_" not in fitted and "_" not in fitted.split(": ", 1)[1].split(",")[0]
    assert re.search(r": converged \(", fitted), fitted
    line = next(x for x in text.splitlines() if x.startswith("not identified: "))
    assert line.startswith("not identified: pp_bubble (")  # the default run's only one
    assert "never exercise it:" in line and "them" not in line


@pytest.mark.parametrize(("status", "converged", "said"), [
    ("converged_gradient", True, "converged (the gradient"),
    ("converged_cost", True, "converged (the cost"),
    ("converged_step", True, "converged (the steps"),
    ("max_iterations", False, "NOT converged (the iteration budget"),
    ("no_progress", False, "NOT converged (no step"),
    ("non_finite", False, "NOT converged (the residuals"),
    ("something_new", False, "NOT converged (something_new)"),
])
def test_every_fit_status_has_words(status, converged, said):
    assert fit_status_words(status, converged).startswith(said)
