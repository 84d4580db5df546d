"""Sweeps on one local Ray cluster that the module's tests share (a cluster's start, and each new worker's import
of torch, take 10-20 s on the 2-core CI box). The tests that need a cluster of their own (started by
``energylens profile --ray local`` itself, or in a subprocess they signal) are in test_profiling_ray.py.

The shared cluster has 2 CPUs and no GPUs, and its workers run in a folder of their own (a runtime_env
working_dir), not the driver's: a relative model path must be resolved on the driver."""

from __future__ import annotations

import errno
import re
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from energylens.cli import main
from energylens.profiles import load_profiles
from energylens.profiling import Store
from energylens.profiling import store as store_module

pytestmark = [pytest.mark.ray, pytest.mark.torch]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """``(ray, elsewhere)``: Ray started here with 2 CPUs; ``elsewhere`` is its workers' working directory."""
    ray = pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    if ray.is_initialized():  # left up by a failed test elsewhere: these tests need this module's cluster
        ray.shutdown()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "README").write_text("the Ray workers' working directory: no models/ here\n")
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"working_dir": str(elsewhere)})
    try:
        yield ray, elsewhere
    finally:
        ray.shutdown()


def _spec(path, tiny_model: str, sweep: str = "", max_num_seqs: str = "[1, 2]", output_len: str = "[3, 4]"):
    """A sweep spec of the tiny model on the transformers backend (``sweep``: extra [sweep] lines)."""
    path.write_text(f'[sweep]\nbackend = "transformers"\ngpu = "H100"\nwarmup = 0\n{sweep}'
                    f'[grid]\nmodels = ["{tiny_model}"]\nprecision = ["fp32"]\nmax_num_seqs = {max_num_seqs}\n'
                    f'input_len = [8]\noutput_len = {output_len}\n')
    return path


def test_local_ray_sweep(ray_cluster, tiny_model, tmp_path, capsys):
    """`--ray local` where Ray is already up (as a notebook or a driver script has it) runs the units on it and
    leaves it up; test_ray_local_without_gpus_stops_instead_of_waiting_forever checks the cluster a sweep
    starts itself, and shuts down."""
    spec = _spec(tmp_path / "ray.toml", tiny_model)
    out = tmp_path / "store"
    rc = main(["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus",
               "--power-source", "synthetic:150"])
    assert rc == 0 and ray_cluster[0].is_initialized()
    assert "on Ray local" in capsys.readouterr().out
    df = load_profiles(out)
    assert len(df) == 4 and df["config_id"].is_unique and df["ray_node"].notna().all()
    assert (df["power_source"] == "synthetic:150").all()
    # Resuming on Ray runs nothing more.
    assert main(["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus", "--resume",
                 "--power-source", "synthetic:150"]) == 0
    assert len(Store(out).statuses()) == 4


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


def test_a_failed_part_write_on_ray_keeps_the_rows_of_the_units_in_flight(ray_cluster, tiny_model, tmp_path,
                                                                          monkeypatch, capsys):
    """The driver stopped at the first part it could not write and shut Ray down, killing the units still
    running on the cluster (their GPU minutes lost, --resume measured them again): it now starts no new unit,
    waits for those in flight, keeps each one's row as the local sweep keeps its one, and exits 2 with one line."""
    spec = _spec(tmp_path / "ray.toml", tiny_model, "min_window_s = 1.0\n", "[1, 2, 3, 4, 5]", "[3]")
    out = tmp_path / "store"
    argv = ["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus", "--power-source", "synthetic:150"]
    _disk_full_after_the_first_part(monkeypatch, out / "parts")
    # Two units run at a time; Ray starts a queued unit as soon as one finishes, before the driver has written
    # (and failed to write) the finished one's part. So at the failed write one or two units are in flight on a
    # quiet box, and on a slow one the driver may see the failure only after a third has started, or before the
    # queued unit has asked the gate (none in flight: the clean-clone CI on a loaded box saw this once): every unit
    # the gate let in is waited for and kept (1-4 of the 4 after the first), the rest never start.
    assert main(argv) == 2
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("energylens profile")]
    assert len(lines) == 1 and lines[0].startswith("energylens profile: error: "), lines
    parts = sorted(p.stem for p in (out / "parts").glob("*.parquet"))
    kept = {p.stem: pd.read_parquet(p) for p in (out / "rescued").glob("*.parquet")}
    assert len(parts) == 1 and 1 <= len(kept) <= 4, (parts, sorted(kept))
    if len(kept) > 1:  # (one kept: the failed unit's own error, with no unit in flight to add)
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
def test_a_relative_model_path_is_the_drivers_folder_on_every_ray_worker(ray_cluster, tiny_model, tmp_path,
                                                                          monkeypatch, model):
    """A Ray worker's working directory need not be the sweep's (a runtime_env working_dir, a cluster started with
    `ray start` elsewhere): a relative model path is resolved where `energylens profile` runs, as without Ray, before
    the units are dispatched; the row keeps the spec's spelling in model and the folder loaded in model_path. Before,
    each worker read it against its own directory and every unit failed."""
    work = tmp_path / "work"
    (work / "models").mkdir(parents=True)
    (work / "models" / "tiny").symlink_to(tiny_model)
    monkeypatch.chdir(work)
    _spec(work / "ray.toml", model, max_num_seqs="[1]", output_len="[3]")
    rc = main(["profile", "ray.toml", "-o", "store", "--ray", "local", "--ray-no-gpus",
               "--power-source", "synthetic:100"])
    rows = Store(work / "store").rows(include_failed=True)
    assert rc == 0, rows["error"].tolist()
    assert len(rows) == 1 and rows["status"].iloc[0] == "ok"
    assert rows["model"].iloc[0] == model and rows["model_path"].iloc[0] == str(work / "models" / "tiny")
    assert rows["ray_node"].notna().all()


def _units_measuring(model: str) -> int:
    """How many isolated workers (``python -m energylens.profiling.worker CONFIG ...``, each its own process
    group; a process it forks has its command line) of ``model`` run now."""
    groups = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
            if b"energylens.profiling.worker" in argv and model in Path(argv[argv.index(b"-m") + 2].decode()).read_text():
                groups.add((cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[2])
        except (OSError, ValueError, IndexError):  # (a process or its config gone meanwhile)
            pass
    return len(groups)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_a_ray_sweep_runs_no_more_units_at_once_than_the_cluster_has_cpus(ray_cluster, tiny_model, tmp_path):
    """Each task asked the gate with ray.get, and a task blocked in ray.get hands its CPU back to Ray, which
    started a queued unit on it meanwhile: on the 2-CPU cluster 3 units measured at once (seen with ps), each
    slowing the others' timings. The gate's answer is polled now: at most 2."""
    spec = _spec(tmp_path / "ray.toml", tiny_model, 'isolation = "process"\nmin_window_s = 2.0\n', "[1, 2]", "[3, 4]")
    argv = ["profile", str(spec), "-o", str(tmp_path / "store"), "--ray", "local", "--ray-no-gpus",
            "--power-source", "synthetic:150"]
    peak, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], _units_measuring(tiny_model))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert main(argv) == 0
    finally:
        done.set()
        watcher.join()
    assert 1 <= peak[0] <= 2, f"{peak[0]} units measured at once on a cluster of 2 CPUs"
