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


def test_a_long_bootstrap_says_how_many_refits_are_done(tmp_path, capsys, monkeypatch):
    """Before 2026-12-06 a long fit said 'this may take a while' and then nothing until its end (40,000 rows with
    200 refits: 40 s on 2 cores); the bootstrap now reports its finished refits, a line every 5 s at most."""
    from energylens.cli import fit as fit_module

    now = [0.0]

    def clock() -> float:  # each reading 2 s on
        now[0] += 2.0
        return now[0]
    monkeypatch.setattr(fit_module.time, "perf_counter", clock)
    path = tmp_path / "p.csv"
    mlenergy_v2().to_csv(path, index=False)
    monkeypatch.setattr(fit_cli, "LONG_FIT_ROW_FITS", 10)
    assert main(["fit", str(path), "-o", str(tmp_path / "a.json"), "--bootstrap", "30"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "bootstrap refits done" in line]
    assert lines, err
    assert lines[-1].startswith("energylens fit: LatencyModel: 30 of 30 bootstrap refits done ("), lines
    assert any(line.startswith("energylens fit: EnergyModel: 30 of 30 bootstrap refits done (") for line in lines)
    assert not any(line.endswith("(0 s; about 0 s left)") for line in lines), lines  # no line as a refit starts


def test_a_long_latency_only_fit_is_announced_and_reports_its_refits(tmp_path, capsys, monkeypatch):
    """`fit --latency-only` of 1e6 rows with the default 200 refits took 110 s on 2 cores and said nothing until
    its end (the energy fit's announcement and refit lines were not on its path); it now says both."""
    path = tmp_path / "p.csv"
    mlenergy_v2().to_csv(path, index=False)
    monkeypatch.setattr(fit_cli, "LONG_FIT_ROW_FITS", 10)
    assert main(["fit", str(path), "-o", str(tmp_path / "a.json"), "--bootstrap", "30", "--latency-only"]) == 0
    err = capsys.readouterr().err
    assert "then 30 bootstrap refits of the latency model (" in err, err
    assert "energylens fit: LatencyModel: 30 of 30 bootstrap refits done (" in err, err
    assert "EnergyModel" not in err, err
