"""``energylens predict`` with each kind of model file: run twice to the same -o, the second run replaces the
first one's table (a latency model file's table has no energy_j_pred and was refused as someone else's file)."""

import re

import numpy as np
import pandas as pd
import pytest

from energylens.cli import main
from energylens.cli.main import build_parser
from energylens.model import EnergyModel, LatencyModel
from energylens.profiles.datasets import load_profiles_or_bundled


@pytest.fixture(scope="module")
def bundled():
    return load_profiles_or_bundled("bundled").reset_index(drop=True)


@pytest.mark.parametrize("kind", ["latency", "energy"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_replaces_its_own_output_for_every_model_kind(bundled, tmp_path, capsys, kind, suffix):
    model = (LatencyModel(bootstrap=0) if kind == "latency" else EnergyModel(bootstrap=0)).fit(bundled)
    model.save(tmp_path / "m.json")
    data, out = tmp_path / "p.csv", tmp_path / f"out{suffix}"
    bundled.head(4).to_csv(data, index=False)
    args = ["predict", str(tmp_path / "m.json"), str(data), "-o", str(out)]
    assert main(args) == 0
    assert main(args) == 0, capsys.readouterr().err
    assert f"replaced existing {out}" in capsys.readouterr().err
    got = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert len(got) == 4 and "tpot_s_pred" in got


def test_predict_still_refuses_a_table_it_did_not_write(bundled, tmp_path, capsys):
    LatencyModel(bootstrap=0).fit(bundled).save(tmp_path / "m.json")
    data, out = tmp_path / "p.csv", tmp_path / "mine.csv"
    bundled.head(4).to_csv(data, index=False)
    out.write_text("a,b\n1,2\n")
    assert main(["predict", str(tmp_path / "m.json"), str(data), "-o", str(out)]) == 2
    assert "mine.csv: exists and is not a table energylens predict wrote" in capsys.readouterr().err
    assert out.read_text() == "a,b\n1,2\n"


def test_predict_writes_the_bits_the_model_predicts_for_a_calibrated_model(bundled, tmp_path):
    """energy_j_pred of a calibrated model was prefill x f + decode x f, while predict() scales the sum:
    1 ulp apart on a third of the rows."""
    model = EnergyModel(bootstrap=12, calibration="family").fit(bundled)
    model.save(tmp_path / "m.json")
    data, out = tmp_path / "p.csv", tmp_path / "out.parquet"
    bundled.to_csv(data, index=False)
    assert main(["predict", str(tmp_path / "m.json"), str(data), "-o", str(out)]) == 0
    got = pd.read_parquet(out)
    np.testing.assert_array_equal(got["energy_j_pred"].to_numpy(), model.predict(bundled))
    np.testing.assert_array_equal(model.predict_phases(bundled)["energy_j_pred"].to_numpy(), model.predict(bundled))
    for col, want in model.predict_interval(bundled).items():
        np.testing.assert_array_equal(got[col].to_numpy(), want.to_numpy())


def test_every_compressed_name_the_help_gives_is_written(bundled, tmp_path, capsys):
    """The -o help said "compressed for a .csv.gz, .bz2, .xz or .zip name", but out.zip was refused: each
    name ending the help lists is one predict writes."""
    sub = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices and "predict" in a.choices)
    help_text = next(a.help for a in sub.choices["predict"]._actions if "--output" in a.option_strings)
    endings = re.search(r"compressed for a (.*?) name", help_text).group(1).replace(" or ", ", ").split(", ")
    assert len(endings) == 4
    EnergyModel(bootstrap=0).fit(bundled).save(tmp_path / "m.json")
    data = tmp_path / "p.csv"
    bundled.head(3).to_csv(data, index=False)
    for ending in endings:
        out = tmp_path / f"out{ending}"
        assert main(["predict", str(tmp_path / "m.json"), str(data), "-o", str(out)]) == 0, capsys.readouterr().err
        assert len(pd.read_csv(out)) == 3
