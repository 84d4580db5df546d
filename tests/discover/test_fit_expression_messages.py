"""Messages of ``energylens fit PROFILES --expression DISCOVERY.json``: an expression no fit can evaluate on some
rows (``log(2.0 - tp)`` on rows with tp >= 2) ended "did not converge (status non_finite ...)" and suggested
``--residual relative``, which cannot help there; it now says on how many rows the expression cannot be evaluated,
which feature values they hold, and to fit another front entry or the template. Too few rows for the constants
said "(fewer constants, or more measured configurations)"; it now says what to do on the command line."""
from __future__ import annotations

import pytest

sp = pytest.importorskip("sympy")

from tests.discover.discovery_docs import discovery_json  # noqa: E402

from energylens.cli import main  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402


def _discovery(path, *formulas):
    path.write_text(discovery_json(*formulas))
    return path


@pytest.mark.filterwarnings("ignore")
def test_an_expression_not_evaluable_on_some_rows_says_where_and_what_to_fit(tmp_path, capsys):
    profiles = mlenergy_v2()
    bad = int((profiles["tp"] >= 2).sum())
    assert 0 < bad < len(profiles)
    path = _discovery(tmp_path / "d.json", "1.0*tp + 5.0", "1.0*log(2.0 - 1.0*tp) + 5.0")
    out = tmp_path / "m.json"
    assert main(["fit", "bundled", "--expression", str(path), "--pick", "1", "--bootstrap", "0", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "did not converge" not in err and "--residual relative" not in err, err
    assert f"cannot be evaluated on {bad} of {len(profiles)} rows of bundled" in err, err
    assert "tp 2" in err  # the feature values of those rows
    assert "--pick" in err and "energylens fit without --expression" in err
    assert not out.exists()


def test_too_few_rows_for_the_constants_say_what_to_do(tmp_path, capsys):
    path = _discovery(tmp_path / "d.json", "1.0*tp + 2.0*batch_size + 3.0*output_tokens + 4.0*input_tokens + 5.0")
    rows, out = tmp_path / "p.csv", tmp_path / "m.json"
    mlenergy_v2().head(3).to_csv(rows, index=False)
    assert main(["fit", str(rows), "--expression", str(path), "--bootstrap", "0", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{rows}: 3 rows for 5 constants" in err, err
    assert "--pick a front expression with fewer constants, or give more rows" in err
    assert "(fewer constants, or more measured configurations)" not in err


def test_the_not_finite_warning_is_said_once(tmp_path, recwarn):
    """The relative-error fit tried as a start (fit_front_expression) warned too, and the first fit's warning was
    replayed after it: the same DegenerateFitWarning twice on stderr."""
    path = _discovery(tmp_path / "d.json", "1.0*log(2.0 - 1.0*tp) + 5.0")
    assert main(["fit", "bundled", "--expression", str(path), "--bootstrap", "0", "-o", str(tmp_path / "m.json")]) == 2
    said = [str(w.message) for w in recwarn if "the fitted expression is not finite on" in str(w.message)]
    assert len(said) == 1, said
