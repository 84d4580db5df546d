"""``energylens fit --no-latency`` (``EnergyModel.fit(..., latency=False)``) on a table with 10 of 40 tpot_s values in
milliseconds fitted without a word: the unit check of tpot_s ran only in the latency fit, which was skipped, while the
energy fit still reads tpot_s (its measured step time, --tpot-weight 1 by default) and was fitted on the ms values. The
column is read, so it is checked: the UnitsWarning now names the rows, says the energy fit reads them, and how to
leave them out; with --tpot-weight 0 the column is not read and nothing is said of it."""

from __future__ import annotations

import subprocess
import sys
import warnings

from test_mixed_units_warned import _rows

from energylens import UnitsWarning
from energylens.model import EnergyModel


def _mixed(tmp_path) -> str:
    rows = _rows().drop(columns=["ttft_s"])
    rows.loc[rows.index[:10], "tpot_s"] *= 1000  # data rows 1-10 in ms
    path = tmp_path / "measured.csv"
    rows.to_csv(path, index=False)
    return str(path)


def _said(**kwargs) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kwargs.pop("model").fit(kwargs.pop("path"), **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, UnitsWarning)]


def test_the_energy_fit_alone_still_checks_the_tpot_it_reads(tmp_path):
    said = _said(model=EnergyModel(n_starts=1, bootstrap=0), path=_mixed(tmp_path), latency=False)
    assert len(said) == 1 and "column 'tpot_s'" in said[0] and "data rows 1, 2" in said[0], said
    assert "the energy fit reads" in said[0] and "--tpot-weight 0" in said[0], said


def test_with_the_latency_fit_it_is_said_once(tmp_path):
    said = _said(model=EnergyModel(n_starts=1, bootstrap=0), path=_mixed(tmp_path))
    assert sum("column 'tpot_s'" in s for s in said) == 1, said


def test_a_tpot_column_the_fit_does_not_read_is_not_checked(tmp_path):
    said = _said(model=EnergyModel(n_starts=1, bootstrap=0, tpot_weight=0.0), path=_mixed(tmp_path), latency=False)
    assert not any("tpot_s" in s for s in said), said


def test_the_cli_with_no_latency_says_it(tmp_path):
    out = str(tmp_path / "m.json")
    run = subprocess.run([sys.executable, "-m", "energylens", "fit", _mixed(tmp_path), "-o", out, "--bootstrap", "0",
                          "--no-latency"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "UnitsWarning" in run.stderr and "column 'tpot_s'" in run.stderr and "--tpot-weight 0" in run.stderr
