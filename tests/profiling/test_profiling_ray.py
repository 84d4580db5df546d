"""A sweep on a local Ray cluster: one task per configuration, rows gathered into the same store. These tests need a
cluster of their own (started by the sweep itself, or in a subprocess they signal); the sweeps that can share one
are in test_profiling_ray_cluster.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from energylens.cli import main
from energylens.profiles import load_profiles
from energylens.profiling import Store, parse_spec
from energylens.profiling.ray_runner import gpu_shortage

pytestmark = [pytest.mark.ray, pytest.mark.torch]


def _spec(path, tiny_model: str, sweep: str = "", max_num_seqs: str = "[1, 2]", output_len: str = "[3, 4]"):
    """A sweep spec of the tiny model on the transformers backend (``sweep``: extra [sweep] lines)."""
    path.write_text(f'[sweep]\nbackend = "transformers"\ngpu = "H100"\nwarmup = 0\n{sweep}'
                    f'[grid]\nmodels = ["{tiny_model}"]\nprecision = ["fp32"]\nmax_num_seqs = {max_num_seqs}\n'
                    f'input_len = [8]\noutput_len = {output_len}\n')
    return path


def _ray_sweep(spec, store, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``energylens profile SPEC -o STORE --ray local --ray-no-gpus`` in a process of its own, output piped."""
    return subprocess.Popen([sys.executable, "-m", "energylens.cli.main", "profile", str(spec), "-o", str(store),
                             "--ray", "local", "--ray-no-gpus", "--power-source", "synthetic:150"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _terminated(sweep: subprocess.Popen, ready) -> str:
    """SIGTERM to ``sweep`` once ``ready()`` returns; its stderr, after checking it exited 143 with the command
    line's one line (the process killed if anything failed first)."""
    try:
        ready()
        sweep.send_signal(signal.SIGTERM)
        _, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 143, err
    assert "energylens profile: terminated (SIGTERM)" in err
    return err


def _worker_pids() -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if b"energylens.profiling.worker" in f.read():
                    out.append(int(p))
        except (OSError, ValueError):
            continue
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_of_a_ray_sweep_exits_143_without_rays_crash_dump(tiny_model, tmp_path):
    """ray.init installs its own SIGTERM handler (a C++ stack dump, exit 1); the sweep keeps the command
    line's, so SIGTERM stops it as it stops a local sweep: 143, one line, the unit's worker ended and its
    energylens-worker-* folder removed. (The sweep ran with the default temporary directory, and each full test
    run left one such folder, holding config.json, in /tmp: it now runs in a temporary directory of its own,
    checked empty of them.)"""
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model, 'isolation = "process"\nmin_window_s = 60.0\n', "[1]", "[3]")
    before = set(_worker_pids())
    temp = Path(tempfile.mkdtemp(prefix="el-ray-"))  # short: Ray's socket paths go under TMPDIR too
    workers: set[int] = set()
    try:
        sweep = _ray_sweep(spec, tmp_path / "store", dict(os.environ, TMPDIR=str(temp)))

        def started() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not set(_worker_pids()) - before and sweep.poll() is None:
                time.sleep(0.2)
            workers.update(set(_worker_pids()) - before)
            assert workers, "the unit's worker never started"
            assert list(temp.glob("energylens-worker-*")), "the unit's worker folder is not in the sweep's TMPDIR"
            time.sleep(1.0)

        err = _terminated(sweep, started)
        assert "SIGTERM received" not in err
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and workers & set(_worker_pids()):
            time.sleep(0.2)
        assert not workers & set(_worker_pids()), "the unit's worker outlived the stopped sweep"
        left = list(temp.glob("energylens-worker-*"))
        assert not left, f"the stopped unit's worker folder was left behind: {[sorted(os.listdir(d)) for d in left]}"
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_in_a_ray_units_cooldown_stops_at_once_and_keeps_its_row(tiny_model, tmp_path):
    """The Ray task slept cooldown_s in one time.sleep, which Ray's cancellation (a KeyboardInterrupt scheduled in
    the task, not a signal) does not end: SIGTERM in the pause waited out the driver's grace (15 s) and lost the
    unit's row, measured before the pause. The pause now ends at the cancellation, and the row is recorded, as a
    local sweep keeps it."""
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model, 'isolation = "process"\ncooldown_s = 600.0\n', "[1]", "[3]")
    before, store = set(_worker_pids()), tmp_path / "store"
    temp = Path(tempfile.mkdtemp(prefix="el-ray-"))  # short: Ray's socket paths go under TMPDIR too
    signalled: list[float] = []
    try:
        sweep = _ray_sweep(spec, store, dict(os.environ, TMPDIR=str(temp)))

        def cooling() -> None:  # the unit's worker started and ended: the task is in its cooldown
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not set(_worker_pids()) - before and sweep.poll() is None:
                time.sleep(0.05)
            workers = set(_worker_pids()) - before
            assert workers, "the unit's worker never started"
            while time.monotonic() < deadline and workers & set(_worker_pids()):
                time.sleep(0.1)
            assert not workers & set(_worker_pids()), "the unit's worker never ended"
            time.sleep(2.0)
            signalled.append(time.monotonic())

        _terminated(sweep, cooling)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    stopped_in = time.monotonic() - signalled[0]
    assert stopped_in < 10.0, f"the stop took {stopped_in:.1f} s"
    assert list(Store(store).statuses().values()) == ["ok"], "the unit measured before the pause lost its row"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_sigterm_while_ray_starts_exits_143(tiny_model, tmp_path):
    """A SIGTERM that arrives while ray.init is still starting the local cluster meets the command line's
    handler too (Ray's would exit 15 or 1), and the half-started cluster is shut down."""
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model, "", "[1]", "[3]")
    sweep = _ray_sweep(spec, tmp_path / "store")

    def starting() -> None:
        line = sweep.stdout.readline()
        while line and "on Ray local" not in line:
            line = sweep.stdout.readline()
        assert line, "the sweep never announced its Ray run"
        time.sleep(0.5)  # inside ray.init: a local cluster takes seconds to start

    _terminated(sweep, starting)
    assert not Store(tmp_path / "store").statuses(), "no unit ran"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_ctrl_c_of_a_ray_sweep_leaves_no_worker_folders_and_resume_finishes_it(tiny_model, tmp_path):
    """Ctrl-C of a `--ray local` sweep shut Ray down under its running units: Ray killed each isolated worker
    before the task could remove the unit's energylens-worker-* folder (one per running unit left in the
    temporary directory; the local sweep removes its one). The running units are now stopped as the local
    sweep stops its one, their folders removed, and --resume measures what had not finished."""
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model, 'isolation = "process"\nmin_window_s = 1.0\n', "[1, 2]", "[3]")
    store = tmp_path / "store"
    temp = Path(tempfile.mkdtemp(prefix="el-ray-"))  # short: Ray's socket paths go under TMPDIR too
    try:
        sweep = _ray_sweep(spec, store, dict(os.environ, TMPDIR=str(temp)))
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not list(temp.glob("energylens-worker-*")) and sweep.poll() is None:
                time.sleep(0.1)
            assert list(temp.glob("energylens-worker-*")), "no unit's worker started"
            sweep.send_signal(signal.SIGINT)
            _, err = sweep.communicate(timeout=120)
        finally:
            if sweep.poll() is None:
                sweep.kill()
        assert sweep.returncode == 130, err
        assert "energylens profile: interrupted (Ctrl-C)" in err
        time.sleep(1.0)  # (nothing may remove a folder after the sweep exited: a late removal is not one)
        assert not list(temp.glob("energylens-worker-*")), "the interrupted units' worker folders were left behind"
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert len(Store(store).statuses()) < 2
    assert main(["profile", str(spec), "-o", str(store), "--ray", "local", "--ray-no-gpus", "--resume",
                 "--power-source", "synthetic:150"]) == 0
    assert sorted(load_profiles(store)["max_num_seqs"]) == [1, 2]


def test_units_that_reserve_more_gpus_than_the_cluster_has_are_named():
    """Ray keeps a task that asks for more GPUs than the cluster has pending, silently: `--ray local` on a CPU
    machine without --ray-no-gpus waited forever."""
    configs = parse_spec({"sweep": {"backend": "vllm", "mode": "server"},
                          "grid": {"models": ["org/m"], "tp": [1, 2], "dp": [1, 2], "max_num_seqs": [2],
                                   "input_len": [8], "output_len": [4]}}).configs()
    assert gpu_shortage(configs, 4, "local") == ""
    msg = gpu_shortage(configs, 2, "local")
    assert msg.startswith("1 of the 4 units reserve more GPUs (tp x pp x dp, up to 4) than the Ray cluster at local "
                          "has in all (2)") and msg.endswith("add --ray-no-gpus")


def test_ray_local_without_gpus_stops_instead_of_waiting_forever(tiny_model, tmp_path, capsys):
    ray = pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model)
    t0 = time.monotonic()
    rc = main(["profile", str(spec), "-o", str(tmp_path / "s"), "--ray", "local", "--power-source", "synthetic:100"])
    assert not ray.is_initialized()
    if rc == 0:
        pytest.skip("this machine has a GPU: the Ray units ran")
    assert rc == 2 and time.monotonic() - t0 < 120
    assert "than the Ray cluster at local has in all (0)" in capsys.readouterr().err
