"""`energylens fit` says up front when a fit will take a while (rows x (1 + bootstrap refits) above a
threshold): the native bootstrap reports no progress of its own."""
from __future__ import annotations

from energylens.cli import fit as fit_cli
from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


def test_a_long_fit_is_announced_and_a_short_one_is_not(tmp_path, capsys, monkeypatch):
    path = tmp_path / "p.csv"
    mlenergy_v2().head(60).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "a.json"), "--bootstrap", "10"]) == 0
    assert "this may take a while" not in capsys.readouterr().err
    monkeypatch.setattr(fit_cli, "LONG_FIT_ROW_FITS", 60 * 11)  # this very fit counts as long
    assert main(["fit", str(path), "-o", str(tmp_path / "b.json"), "--bootstrap", "10"]) == 0
    err = capsys.readouterr().err
    assert "fitting 60 rows, then 10 bootstrap refits" in err and "--bootstrap 0 skips them" in err
