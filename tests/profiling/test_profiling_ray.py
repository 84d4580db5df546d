"""A sweep on a local Ray cluster: one task per configuration, rows gathered into the same store."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from energylens.cli import main
from energylens.profiles import load_profiles
from energylens.profiling import Store, parse_spec
from energylens.profiling import store as store_module
from energylens.profiling.ray_runner import gpu_shortage

pytestmark = [pytest.mark.ray, pytest.mark.torch]


def _spec(path, tiny_model: str, sweep: str = "", max_num_seqs: str = "[1, 2]", output_len: str = "[3, 4]"):
    """A sweep spec of the tiny model on the transformers backend (``sweep``: extra [sweep] lines)."""
    path.write_text(f'[sweep]\nbackend = "transformers"\ngpu = "H100"\nwarmup = 0\n{sweep}'
                    f'[grid]\nmodels = ["{tiny_model}"]\nprecision = ["fp32"]\nmax_num_seqs = {max_num_seqs}\n'
                    f'input_len = [8]\noutput_len = {output_len}\n')
    return path


def test_local_ray_sweep(tiny_model, tmp_path, capsys):
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model)
    out = tmp_path / "store"
    rc = main(["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus",
               "--power-source", "synthetic:150"])
    assert rc == 0
    assert "on Ray local" in capsys.readouterr().out
    df = load_profiles(out)
    assert len(df) == 4 and df["config_id"].is_unique and df["ray_node"].notna().all()
    assert (df["power_source"] == "synthetic:150").all()
    # Resuming on Ray runs nothing more.
    assert main(["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus", "--resume",
                 "--power-source", "synthetic:150"]) == 0
    assert len(Store(out).statuses()) == 4


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
    line's, so SIGTERM stops it as it stops a local sweep: 143, one line, the unit's worker ended."""
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model, 'isolation = "process"\nmin_window_s = 60.0\n', "[1]", "[3]")
    before = set(_worker_pids())
    sweep = subprocess.Popen([sys.executable, "-m", "energylens.cli.main", "profile", str(spec), "-o",
                              str(tmp_path / "store"), "--ray", "local", "--ray-no-gpus", "--power-source",
                              "synthetic:150"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not set(_worker_pids()) - before and sweep.poll() is None:
            time.sleep(0.2)
        workers = set(_worker_pids()) - before
        assert workers, "the unit's worker never started"
        time.sleep(1.0)
        sweep.send_signal(signal.SIGTERM)
        out, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 143, err
    assert "energylens profile: terminated (SIGTERM)" in err and "SIGTERM received" not in err
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and workers & set(_worker_pids()):
        time.sleep(0.2)
    assert not workers & set(_worker_pids()), "the unit's worker outlived the stopped sweep"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_sigterm_while_ray_starts_exits_143(tiny_model, tmp_path):
    """A SIGTERM that arrives while ray.init is still starting the local cluster meets the command line's
    handler too (Ray's would exit 15 or 1), and the half-started cluster is shut down."""
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model, "", "[1]", "[3]")
    sweep = subprocess.Popen([sys.executable, "-m", "energylens.cli.main", "profile", str(spec), "-o",
                              str(tmp_path / "store"), "--ray", "local", "--ray-no-gpus", "--power-source",
                              "synthetic:150"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = sweep.stdout.readline()
        while line and "on Ray local" not in line:
            line = sweep.stdout.readline()
        assert line, "the sweep never announced its Ray run"
        time.sleep(0.5)  # inside ray.init: a local cluster takes seconds to start
        sweep.send_signal(signal.SIGTERM)
        out, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 143, err
    assert "energylens profile: terminated (SIGTERM)" in err
    assert not Store(tmp_path / "store").statuses(), "no unit ran"


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


def _disk_full_after_the_first_part(monkeypatch, parts: Path) -> None:
    """In the driver: the first part file is written, every later one fails as a full disk fails it (rescue
    folders in the store still take rows)."""
    real, written = store_module.atomic_write_bytes, []

    def write(path, data):
        if Path(path).parent == parts and str(path).endswith(".parquet"):
            if written:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            written.append(path)
        return real(path, data)

    monkeypatch.setattr(store_module, "atomic_write_bytes", write)


def test_a_failed_part_write_on_ray_keeps_the_rows_of_the_units_in_flight(tiny_model, tmp_path, monkeypatch,
                                                                          capsys):
    """The driver stopped at the first part it could not write and shut Ray down, killing the units still
    running on the cluster (their GPU minutes lost, --resume measured them again): it now starts no new unit,
    waits for those in flight, keeps each one's row as the local sweep keeps its one, and exits 2 with one line."""
    ray = pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = _spec(tmp_path / "ray.toml", tiny_model, "min_window_s = 1.0\n", "[1, 2, 3, 4, 5]", "[3]")
    out = tmp_path / "store"
    argv = ["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus", "--power-source", "synthetic:150"]
    _disk_full_after_the_first_part(monkeypatch, out / "parts")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    # Two units run at a time; Ray starts a queued unit as soon as one finishes, before the driver has written
    # (and failed to write) the finished one's part. So at the failed write one or two units are in flight on a
    # quiet box, and on a slow one the driver may see the failure only after a third has started: every unit
    # the gate let in is waited for and kept (2-4 of the 4 after the first), the rest never start.
    try:
        assert main(argv) == 2
    finally:
        ray.shutdown()
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("energylens profile")]
    assert len(lines) == 1 and lines[0].startswith("energylens profile: error: "), lines
    parts = sorted(p.stem for p in (out / "parts").glob("*.parquet"))
    kept = {p.stem: pd.read_parquet(p) for p in (out / "rescued").glob("*.parquet")}
    assert len(parts) == 1 and 2 <= len(kept) <= 4, (parts, sorted(kept))
    assert f"{len(kept)} measured units' rows are kept in {out / 'rescued'}" in lines[0]
    assert all(k in lines[0] for k in kept) and all(len(r) == 1 and r["status"].iloc[0] == "ok" for r in kept.values())
    not_started = 5 - 1 - len(kept)
    assert bool(re.search(r"\d+ units? not started", lines[0])) == (not_started > 0), lines[0]
    if not_started:
        assert re.search(rf"{not_started} units? not started", lines[0]), lines[0]

    monkeypatch.undo()  # room made on the disk
    assert main(argv + ["--resume"]) == 0
    printed = capsys.readouterr().out
    assert f"took in {len(kept)} rows kept aside" in printed and f"running {not_started} " in printed
    rows = load_profiles(out).set_index("config_id")
    assert len(rows) == 5 and not list((out / "rescued").glob("*.parquet"))
    for k, row in kept.items():  # taken in as measured, not measured again
        assert rows.loc[k, "wall_s"] == row["wall_s"].iloc[0] and rows.loc[k, "energy_j"] == row["energy_j"].iloc[0]


@pytest.mark.parametrize("model", ["./models/tiny", "models/tiny"])
def test_a_relative_model_path_is_the_drivers_folder_on_every_ray_worker(tiny_model, tmp_path, monkeypatch, model):
    """A Ray worker's working directory need not be the sweep's (a runtime_env working_dir, a cluster started with
    `ray start` elsewhere): a relative model path is resolved where `energylens profile` runs, as without Ray, before
    the units are dispatched; the row keeps the spec's spelling in model and the folder loaded in model_path. Before,
    each worker read it against its own directory and every unit failed."""
    ray = pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "models").mkdir(parents=True)
    (work / "models" / "tiny").symlink_to(tiny_model)
    elsewhere.mkdir()
    (elsewhere / "README").write_text("the Ray workers' working directory: no models/ here\n")
    monkeypatch.chdir(work)
    _spec(work / "ray.toml", model, max_num_seqs="[1]", output_len="[3]")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"working_dir": str(elsewhere)})
    try:
        rc = main(["profile", "ray.toml", "-o", "store", "--ray", "local", "--ray-no-gpus",
                   "--power-source", "synthetic:100"])
    finally:
        ray.shutdown()
    rows = Store(work / "store").rows(include_failed=True)
    assert rc == 0, rows["error"].tolist()
    assert len(rows) == 1 and rows["status"].iloc[0] == "ok"
    assert rows["model"].iloc[0] == model and rows["model_path"].iloc[0] == str(work / "models" / "tiny")
    assert rows["ray_node"].notna().all()
