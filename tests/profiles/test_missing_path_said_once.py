"""A profiles path that names nothing was checked twice: by the commands (cli/options.py's own check, which said
"'-' (standard input is not read: give the file's path)") and by the library's reader (datasets.dataset_reader,
since d045f341), which said only "profile table not found: -". One check remains, the library's, with the better
message: ``load_profiles("-")`` and ``energylens fit -`` say the same, and every missing name reads the same in
Python and on the command line (exit 2)."""

from __future__ import annotations

import pytest

import energylens
from energylens.cli.main import main


@pytest.mark.parametrize("name", ["-", "Bundled", "{dir}/profiles", "{dir}/runs.csv"])
def test_python_and_the_command_line_say_the_same(tmp_path, capsys, name):
    name = name.replace("{dir}", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        energylens.load_profiles(name)
    assert main(["fit", name, "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert str(info.value) in err, (str(info.value), err)
    if name == "-":
        assert "standard input is not read: give the file's path" in str(info.value)
