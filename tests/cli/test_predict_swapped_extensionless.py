"""`predict configs.csv model` with a model file fit wrote without an extension (`fit -o model`, which fit
allows) said "configs.csv: not a JSON model file (Expecting value: line 1 column 1 (char 0))": the order check
looked only for a .json name. It now recognises the model file by its content."""

from __future__ import annotations

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


def test_swapped_arguments_with_an_extensionless_model_say_the_order(tmp_path, capsys):
    model, configs = tmp_path / "model", tmp_path / "c.csv"
    assert main(["fit", "bundled", "-o", str(model), "--bootstrap", "0"]) == 0
    mlenergy_v2().head(3).to_csv(configs, index=False)
    capsys.readouterr()
    assert main(["predict", str(configs), str(model), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"the order is MODEL first, then CONFIGS: energylens predict {model} {configs} -o OUTPUT" in err, err
    assert not (tmp_path / "o.csv").exists()
