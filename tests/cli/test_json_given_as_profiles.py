"""A discovery result (``energylens discover -o d.json``) given where profiles are expected (``fit d.json``,
``evaluate d.json``, ``predict MODEL d.json``, ``discover d.json``, ``load_profiles("d.json")``) said only
"unsupported file type '.json'", not what the file is; it now says it is a discovery result and that
``fit --expression`` / ``evaluate --expression`` take it. A model file given as ``--expression`` said "not a
discovery result (format 'energylens.model'; ...)": it now says that ``energylens predict MODEL`` takes it."""

from __future__ import annotations

import pytest

import energylens
from energylens.cli.main import main
from energylens.errors import ProfileSchemaError

pytest.importorskip("sympy")
from tests.discover.discovery_docs import discovery_json  # noqa: E402  (needs sympy)


@pytest.fixture
def discovery(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(discovery_json("0.01*output_tokens + 3.0"))
    return path


def test_load_profiles_says_the_file_is_a_discovery_result(discovery):
    with pytest.raises(ProfileSchemaError, match=r"unsupported file type '\.json'.*it is an energylens discovery "
                                                 r"result \(`energylens discover -o`'s output\).*--expression"):
        energylens.load_profiles(str(discovery))


@pytest.mark.parametrize("argv", [["fit", "{d}", "-o", "{tmp}/m.json"], ["evaluate", "{d}"],
                                  ["discover", "{d}", "-o", "{tmp}/d2.json"]])
def test_commands_say_so(discovery, tmp_path, capsys, argv):
    code = main([a.format(d=discovery, tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "discovery result" in err and "fit PROFILES --expression" in err, err


def test_predict_configs_a_discovery_result(discovery, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["fit", "bundled", "-o", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(discovery), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "discovery result" in err and "--expression" in err, err
    configs = tmp_path / "c.csv"
    configs.write_text("model,gpu,tp,batch_size,input_tokens,output_tokens\n"
                       "meta-llama/Meta-Llama-3.1-8B-Instruct,H100,1,64,512,300\n")
    assert main(["fit", str(configs), "--expression", str(model), "-o", str(tmp_path / "m2.json")]) == 2
    err = capsys.readouterr().err
    assert "model file" in err and "energylens predict" in err, err
