"""A discovery result file whose ``chosen`` is not an index of its front (hand-edited, or from another tool) was
taken as it was: 99 was an ``IndexError`` traceback from ``fit --expression`` and a ``TypeError`` ('NoneType' is not
iterable) from ``evaluate --expression``, -1 fitted the last entry and ``true`` the second, as if chosen, and "3"
was a ``TypeError`` traceback. ``load_discovery`` now refuses such a file naming it, the field and the front's
range (exit 2 from the commands, nothing fitted); a front that is not a list and a complexity that is not a whole
number are refused the same way."""
from __future__ import annotations

import json

import pytest

sp = pytest.importorskip("sympy")

from tests.discover.discovery_docs import discovery_json  # noqa: E402

from energylens.cli import main  # noqa: E402
from energylens.discover.result import load_discovery  # noqa: E402


def _doc(*formulas) -> dict:
    return json.loads(discovery_json(*formulas))


def _written(tmp_path, **changes) -> str:
    doc = {**_doc("1.0*tp + 5.0", "2.0*tp + 1.0"), **changes}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.mark.parametrize("chosen", [99, 2, -1, True, "1", 1.0])
def test_a_chosen_outside_the_front_is_refused_naming_the_file(tmp_path, chosen):
    path = _written(tmp_path, chosen=chosen)
    with pytest.raises(ValueError, match=r"d\.json: 'chosen' .* 0\.\.1") as info:
        load_discovery(path)
    assert repr(chosen) in str(info.value) or str(chosen) in str(info.value)


@pytest.mark.parametrize("command", ["fit", "evaluate"])
def test_the_commands_exit_2_without_a_traceback(tmp_path, capsys, command):
    path = _written(tmp_path, chosen=99)
    args = (["fit", "bundled", "--expression", path, "--bootstrap", "0", "-o", str(tmp_path / "m.json")]
            if command == "fit" else
            ["evaluate", "bundled", "--expression", path, "--splits", "random", "--repeats", "1", "--methods",
             "energylens", "--no-progress"])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "'chosen' is 99" in err and "Traceback" not in err, err
    assert not (tmp_path / "m.json").exists()


def test_a_front_that_is_not_a_list_and_a_complexity_not_whole_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"d\.json: .front. is a JSON object, not a list"):
        load_discovery(_written(tmp_path, front={}, chosen=None))
    doc = _doc("1.0*tp + 5.0")
    doc["front"][0]["complexity"] = "x"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"c\.json: front\[0\]'s complexity 'x' is not a whole number"):
        load_discovery(tmp_path / "c.json")


def test_an_interrupted_result_without_a_choice_still_reads(tmp_path):
    assert load_discovery(_written(tmp_path, chosen=None)).chosen is None
    assert load_discovery(_written(tmp_path, chosen=1)).chosen == 1
