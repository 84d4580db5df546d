"""`energylens fit` given a table `energylens predict` wrote (out.csv instead of the profiles): its energy_j is
empty, and the "did you mean" proposed the lower interval bound: "did you mean column 'energy_j_lo'? Rename it to
energy_j", i.e. fitting a model on another model's predictions. It now says the table holds predictions."""

from __future__ import annotations

import pandas as pd

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


def test_fit_on_predict_output_says_it_holds_predictions(tmp_path, capsys):
    profiles, model, configs, out = (tmp_path / n for n in ("p.csv", "m.json", "c.csv", "out.csv"))
    mlenergy_v2().head(60).to_csv(profiles, index=False)
    assert main(["fit", str(profiles), "-o", str(model), "--bootstrap", "20"]) == 0
    pd.read_csv(profiles).drop(columns=["energy_j"]).head(5).to_csv(configs, index=False)
    assert main(["predict", str(model), str(configs), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["fit", str(out), "-o", str(tmp_path / "again.json")]) == 2
    err = capsys.readouterr().err
    assert "did you mean" not in err and "energylens predict wrote" in err and "predictions" in err, err
    assert not (tmp_path / "again.json").exists()
