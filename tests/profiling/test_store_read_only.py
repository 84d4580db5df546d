"""``-o DIR`` where nothing can be written (a read-only file system, a folder without write permission): the run said
only ``error: [Errno 30] Read-only file system: 'ro/.energylens-store.lock'`` (a file the user never named), and
``--dry-run`` listed every unit as ``run K`` and exit 0 for a run that could not start. Both now name the directory,
why it cannot be written and what to do, exit 2, before anything runs."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from energylens.cli.main import main


@pytest.fixture
def read_only(tmp_path):
    """A real folder nothing can be written in: without root, a folder of mode 555; as root (whom permissions do
    not stop), a read-only tmpfs mounted there, where the container allows it."""
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() != 0:
        d.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield d
        d.chmod(stat.S_IRWXU)
        return
    mount = shutil.which("mount")
    if mount is None or subprocess.run([mount, "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(d)],
                                       capture_output=True).returncode != 0:
        pytest.skip("root here, and no read-only file system can be mounted to test with")
    try:
        yield d
    finally:
        subprocess.run([shutil.which("umount") or "umount", str(d)], check=False)


def _spec(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (tmp_path / "m" / "config.json").write_text('{"num_attention_heads": 2}')
    p = tmp_path / "sweep.toml"
    p.write_text(f'[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["{tmp_path / "m"}"]\n'
                 'max_num_seqs = [1]\ninput_len = [8]\noutput_len = [4]\n')
    return p


@pytest.mark.parametrize("below", ["", "store"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_store_that_cannot_be_written_is_refused_naming_it(tmp_path, read_only, capsys, below, dry_run):
    out = read_only / below if below else read_only
    rc = main(["profile", str(_spec(tmp_path)), "-o", str(out), "--power-source", "none"]
              + ["--dry-run"] * dry_run)
    captured = capsys.readouterr()
    assert rc == 2, captured.out
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{out}: the sweep store cannot be written here" in err, err
    assert str(read_only) in err and ("read-only file system" in err or "no write permission" in err), err
    assert "choose a directory you can write (-o DIR)" in err, err
    assert ".energylens-store.lock" not in err and "run 1" not in captured.out
