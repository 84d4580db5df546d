"""A profiles argument naming nothing, without a suffix: `energylens fit Bundled` (or `profiles`, a CSV's name
without .csv) said "unsupported file type '(no suffix)'; a profile table is a .csv ...", not that no such file
exists, and never pointed at 'bundled'. It now says the file is not found, and for a near miss of a bundled name
which name is meant."""

from __future__ import annotations

import pytest

from energylens.cli.main import main


@pytest.mark.parametrize(("argv", "expect"), [
    (["fit", "Bundled", "-o", "{dir}/m.json"], ("not found: Bundled", "did you mean 'bundled'")),
    (["fit", "bundled ", "-o", "{dir}/m.json"], ("not found: bundled ", "did you mean 'bundled'")),
    (["evaluate", "MLEnergy-v2"], ("not found: MLEnergy-v2", "did you mean 'mlenergy-v2'")),
    (["fit", "{dir}/profiles", "-o", "{dir}/m.json"], ("not found: {dir}/profiles",)),
    (["fit", "-", "-o", "{dir}/m.json"], ("not found: '-' (standard input is not read",)),
    (["predict", "{dir}/m.json", "{dir}/configs", "-o", "{dir}/p.csv"], ("not found: {dir}/configs",)),
])
def test_a_missing_profiles_name_is_said_to_be_missing(tmp_path, capsys, argv, expect):
    if argv[0] == "predict":
        assert main(["fit", "bundled", "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
        capsys.readouterr()
    argv = [a.replace("{dir}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    for text in expect:
        assert text.replace("{dir}", str(tmp_path)) in err, err
    assert "unsupported file type" not in err
