"""`energylens profile` took its path arguments given as an empty string (`-o "$STORE"` with STORE unset) as
the current folder: `profile s.toml -o "" --dry-run` listed the units with ' holds no store yet' (exit 0; a
run would have written its store's part files into the current folder), and `profile "" -o out` said 'sweep
spec . is a folder'. Both are now argument errors naming the argument and the empty value, before any work
(exit 2), as fit, predict, evaluate, search and discover do (0583abe, 222dc0a)."""

from __future__ import annotations

import pytest
from tests.cli.empty_path import refused_as_empty

from energylens.cli.main import main

SPEC = ('[sweep]\nbackend = "vllm"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1]\n'
        'input_len = [8]\noutput_len = [4]\n')


@pytest.mark.parametrize(("argv", "option"), [
    (["profile", "s.toml", "-o", "", "--dry-run", "--power-source", "synthetic:200"], "-o/--output"),
    (["profile", "s.toml", "--output", "", "--power-source", "none"], "-o/--output"),
    (["profile", "", "-o", "out", "--dry-run"], "SPEC.toml"),
])
def test_an_empty_path_is_an_argument_error(tmp_path, monkeypatch, capsys, argv, option):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(SPEC)
    refused_as_empty(argv, option, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]  # no store in the current folder


def test_the_store_argument_still_takes_a_folder(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SPEC)
    assert main(["profile", str(tmp_path / "s.toml"), "-o", str(tmp_path / "out"), "--dry-run",
                 "--power-source", "synthetic:200"]) == 0
    assert "holds no store yet" in capsys.readouterr().out


@pytest.mark.parametrize("address", ["", " "])
def test_an_empty_ray_address_is_an_argument_error(tmp_path, monkeypatch, capsys, address):
    """`--ray "$RAY_ADDRESS"` with RAY_ADDRESS unset went the Ray way with address '' (ray.init's auto: a cluster
    found or a local one started), skipping this machine's checks; the progress line named no cluster."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(SPEC)
    with pytest.raises(SystemExit) as exit_:
        main(["profile", "s.toml", "-o", "out", "--dry-run", "--power-source", "synthetic:200", "--ray", address])
    out = capsys.readouterr()
    assert exit_.value.code == 2 and "argument --ray: " in out.err and "empty" in out.err, out
    assert out.out == "" and sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]
