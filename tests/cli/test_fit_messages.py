"""What `energylens fit` prints must be true: --prior with --prior-weight 0 is refused (exit 2) instead of
saying the parameters are pulled toward a prior that has no weight; a parameter without a bootstrap interval
(fewer than 10 refits) says so instead of printing [nan, nan]; the long-fit notice names only the models
that are refitted (--no-latency: the energy model alone)."""
from __future__ import annotations

from energylens.cli import fit as fit_cli
from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


def _profiles(tmp_path):
    path = tmp_path / "p.csv"
    mlenergy_v2().head(60).to_csv(path, index=False)
    return str(path)


def test_prior_weight_zero_with_a_prior_is_refused(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["fit", _profiles(tmp_path), "-o", str(out), "--bootstrap", "0", "--prior", "bundled",
                 "--prior-weight", "0"]) == 2
    captured = capsys.readouterr()
    assert "--prior-weight 0" in captured.err and "pulled toward" not in captured.out
    assert not out.exists()


def test_too_few_refits_print_no_interval_instead_of_nan(tmp_path, capsys):
    assert main(["fit", _profiles(tmp_path), "-o", str(tmp_path / "m.json"), "--bootstrap", "5"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    assert "[no interval: fewer than 10 bootstrap refits]" in out


def test_the_long_fit_notice_leaves_out_the_latency_model_with_no_latency(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fit_cli, "LONG_FIT_ROW_FITS", 1)
    assert main(["fit", _profiles(tmp_path), "-o", str(tmp_path / "m.json"), "--bootstrap", "10", "--no-latency"]) == 0
    err = capsys.readouterr().err
    assert "bootstrap refits of the energy model (each" in err and "latency" not in err.split("this may")[0]
