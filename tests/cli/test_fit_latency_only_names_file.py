"""`energylens fit` on profiles with latency but no energy column (or with --latency-only) on too few rows: the
error read "LatencyModel.fit: 5 measurements for 10 parameters ..." (the class, not the file), while the energy
fit's names the profiles file (29d475c6). The latency-only fit now names the file too."""
from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


@pytest.mark.parametrize("drop_energy", [True, False])
def test_too_few_latency_rows_name_the_profiles_file(tmp_path, capsys, drop_energy):
    path, out = tmp_path / "lat.csv", tmp_path / "m.json"
    frame = mlenergy_v2().head(5)
    (frame.drop(columns=["energy_j"]) if drop_energy else frame).to_csv(path, index=False)
    extra = [] if drop_energy else ["--latency-only"]
    assert main(["fit", str(path), "--bootstrap", "0", "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: 5 measurements for 10 parameters" in err, err
    assert "LatencyModel.fit" not in err
    assert not out.exists()
