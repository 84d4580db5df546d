"""The store on its own: atomic parts, temporaries cleaned, statuses, and load_profiles(DIR)."""

from __future__ import annotations

import os
import tempfile
import warnings

import pytest

from energylens.cli.main import main as cli_main
from energylens.errors import FailedRowsWarning, ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiling import Store
from energylens.profiling.store import atomic_write_bytes

ROW = {"config_id": "abc", "status": "ok", "error": "", "model": "meta-llama/Llama-3.1-8B-Instruct",
       "params_b": 8.03, "gpu": "H100", "tp": 1, "pp": 1, "batch_size": 4.0, "input_tokens": 100.0,
       "output_tokens": 50.0, "energy_j": 120.0}


@pytest.fixture
def own_temp_dir(tmp_path, monkeypatch):
    """The system's temporary directory, a folder of the test's own: a part that cannot be written is rescued
    there when the store refuses it too (every run left folders in the real one's energylens-rescued/)."""
    (tmp_path / "systemp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "systemp"))


@pytest.mark.usefixtures("own_temp_dir")
def test_a_failed_write_leaves_no_part_and_no_temporary(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.init({"spec_hash": "h"}, resume=False)
    store.write("abc", ROW)
    before = store.part_path("abc").read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.write("abc", {**ROW, "energy_j": 1.0})
    monkeypatch.undo()
    assert store.part_path("abc").read_bytes() == before  # the old part is untouched
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.usefixtures("own_temp_dir")
def test_a_full_disk_names_the_file_being_written(tmp_path, monkeypatch):
    import errno

    store = Store(tmp_path)
    store.init({"spec_hash": "h"}, resume=False)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write/fsync raises it: no file named

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as err:
        store.write("abc", ROW)
    assert err.value.errno == errno.ENOSPC and str(store.part_path("abc")) in str(err.value)
    monkeypatch.undo()
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("fails", ["mkstemp", "replace", "no errno"])
def test_a_failed_write_names_the_file_not_its_temporary(tmp_path, monkeypatch, fails):
    """mkstemp's and os.replace's errors name the hidden temporary file (``.x.json.abc.tmp``); an OSError
    without an errno read ``[Errno None]``. Both now name the file being written (until 2026-12-05)."""
    import errno

    target = tmp_path / "x.json"
    if fails == "mkstemp":
        def broken(*a, **k):
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".x.json.abc.tmp"))
        monkeypatch.setattr(tempfile, "mkstemp", broken)
    else:
        def broken(src, dst):
            if fails == "no errno":
                raise OSError("the mount went away")
            raise OSError(errno.EXDEV, "Invalid cross-device link", src, None, dst)
        monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError) as err:
        atomic_write_bytes(target, b"x")
    text = str(err.value)
    assert str(target) in text and ".tmp" not in text and "Errno None" not in text, text
    if fails == "mkstemp":
        assert isinstance(err.value, PermissionError)
    monkeypatch.undo()
    assert not list(tmp_path.rglob("*.tmp"))


def test_temporaries_of_a_killed_writer_are_removed_on_resume(tmp_path):
    store = Store(tmp_path)
    store.init({"spec_hash": "h"}, resume=False)
    (store.parts / ".x.parquet.123.tmp").write_bytes(b"half")
    (tmp_path / ".energylens-store.json.4nb2.tmp").write_bytes(b"half a marker")
    mine = [tmp_path / ".notes.md.tmp", store.parts / ".draft.tmp"]  # a user's files: not the store's to delete
    for p in mine:
        p.write_text("keep")
    Store(tmp_path).init({"spec_hash": "h"}, resume=True)
    assert sorted(tmp_path.rglob("*.tmp")) == sorted(mine)


def test_a_damaged_marker_is_an_error_naming_it(tmp_path, capsys):
    from energylens.cli import main

    store = Store(tmp_path / "s")
    store.init({"spec_hash": "h"}, resume=False)
    store.manifest_path.write_text(store.manifest_path.read_text()[:5])
    with pytest.raises(ValueError, match=r"energylens-store.json: the store's marker is damaged"):
        store.check({"spec_hash": "h"}, resume=True)
    store.manifest_path.write_text("[1]")
    with pytest.raises(ValueError, match=r"energylens-store.json: the store's marker is not a JSON object"):
        store.check({"spec_hash": "h"}, resume=True)
    spec = tmp_path / "sweep.toml"
    spec.write_text('[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\n'
                    'max_num_seqs = [2]\ninput_len = [8]\noutput_len = [4]\n')
    assert main(["profile", str(spec), "-o", str(store.dir), "--resume", "--dry-run", "--power-source", "none"]) == 2
    err = capsys.readouterr().err
    assert f"{store.manifest_path}: the store's marker is not a JSON object" in err and "Traceback" not in err


def test_statuses_done_and_profile_reading(tmp_path):
    store = Store(tmp_path)
    store.init({"spec_hash": "h"}, resume=False)
    with pytest.raises(ProfileSchemaError, match="no finished"):
        load_profiles(tmp_path)
    store.write("abc", ROW)
    store.write("bad", {**ROW, "config_id": "bad", "status": "failed", "error": "out of memory",
                        "energy_j": float("nan")})
    assert store.statuses() == {"abc": "ok", "bad": "failed"}
    assert store.done() == {"abc", "bad"} and store.done(retry_failed=True) == {"abc"}
    with pytest.warns(FailedRowsWarning, match=r"1 of the sweep store's 2 units failed and are not read .*"
                                               r"--resume --retry-failed`"):  # fit left them out unsaid; the command it gives must run
        df = load_profiles(tmp_path)
    assert list(df["config_id"]) == ["abc"] and df.attrs["schema_version"] == 1
    assert len(store.rows(include_failed=True)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", FailedRowsWarning)
        assert len(store.rows()) == 1  # the sweep's own reads (active profiling refits) stay quiet


def test_energylens_fit_on_a_store_says_how_many_units_failed(tmp_path, capsys):
    store = Store(tmp_path / "runs")
    store.init({"spec_hash": "h"}, resume=False)
    for i in range(14):
        store.write(f"u{i}", {**ROW, "config_id": f"u{i}", "batch_size": float(2 ** (i % 7)), "tp": 1 + i // 7,
                              "energy_j": 100.0 / (1 + i % 7) * (1 + i // 7)})
    for i in range(3):
        store.write(f"f{i}", {**ROW, "config_id": f"f{i}", "status": "failed", "error": "out of memory",
                              "energy_j": float("nan")})
    with pytest.warns(FailedRowsWarning, match="3 of the sweep store's 17 units failed and are not read"):
        assert cli_main(["fit", str(tmp_path / "runs"), "-o", str(tmp_path / "m.json"), "--bootstrap", "0",
                         "--no-latency"]) == 0  # the command line shows it on stderr as every warning
    assert "on 14 rows" in capsys.readouterr().out


def test_atomic_write_replaces_whole(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"one")
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two" and [x.name for x in tmp_path.iterdir()] == ["f.bin"]


def _lock_holder(store_dir):
    """A second process that holds ``store_dir``'s sweep lock (as a running sweep does) until killed."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from energylens.profiling import Store\n"
         "with Store(sys.argv[1]).lock():\n    print('held', flush=True); time.sleep(60)", str(store_dir)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def _tiny_spec():
    from energylens.profiling import parse_spec

    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1, 2], "input_len": [8], "output_len": [4]}})


def _fake(cfg, power_source):
    return {**ROW, "config_id": cfg.config_id, "status": "failed" if cfg.max_num_seqs == 2 else "ok",
            "error": "fake failure" if cfg.max_num_seqs == 2 else ""}


def test_a_second_sweep_on_a_held_store_is_refused_and_touches_nothing(tmp_path):
    """Two sweeps on one directory would both measure, and the second's start would delete the first's
    in-flight temporary part; the second is refused naming the first's process instead."""

    from energylens.profiling import run_sweep

    store_dir = tmp_path / "s"
    holder = _lock_holder(store_dir)
    try:
        (store_dir / "parts").mkdir()
        in_flight = store_dir / "parts" / ".x.parquet.123.tmp"
        in_flight.write_bytes(b"half a part")
        with pytest.raises(ValueError, match=rf"another sweep is writing this store \(pid {holder.pid} on "):
            run_sweep(_tiny_spec(), str(store_dir), power_source="none", run_one=_fake)
        assert in_flight.read_bytes() == b"half a part" and not Store(store_dir).exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder died: the kernel dropped its lock, so no stale lock file blocks the next run
    res = run_sweep(_tiny_spec(), str(store_dir), power_source="none", run_one=_fake)
    assert (res.ok, res.failed) == (1, 1)


def test_a_dry_run_of_a_store_another_sweep_is_writing_says_so(tmp_path, capsys):
    """--dry-run lists each unit's state in the store; while another sweep writes it those states move, and until
    2026-12-06 nothing said so (a run would then be refused)."""

    from energylens.cli.main import main as cli_main
    from energylens.profiling import run_sweep

    store_dir, spec = tmp_path / "s", tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\n'
                    'max_num_seqs = [1, 2]\ninput_len = [8]\noutput_len = [4]\n')
    run_sweep(_tiny_spec(), str(store_dir), power_source="none", run_one=_fake, budget=1)
    argv = ["profile", str(spec), "-o", str(store_dir), "--power-source", "none", "--resume", "--dry-run"]
    assert cli_main(argv) == 0 and "another sweep" not in capsys.readouterr().err
    holder = _lock_holder(store_dir)
    try:
        assert cli_main(argv) == 0
        out, err = capsys.readouterr()
        assert f"note: another sweep is writing {store_dir} now (pid {holder.pid} on " in err, err
        assert "the states below are as of now" in err and out.splitlines()[-1].startswith("2 units; ")
    finally:
        holder.kill()
        holder.wait()
    # the dry run's look holds a shared lock for a moment: a sweep starting then is not refused for it
    import fcntl
    import os
    import threading

    fd = os.open(store_dir / ".energylens-store.lock", os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    threading.Timer(0.08, os.close, [fd]).start()
    with Store(store_dir).lock():
        pass


def test_resume_says_how_many_skipped_units_failed(tmp_path, capsys):
    from energylens.profiling import run_sweep

    run_sweep(_tiny_spec(), str(tmp_path / "s"), power_source="none", run_one=_fake)
    capsys.readouterr()
    res = run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, power_source="none", run_one=_fake)
    assert res.ran == 0
    assert "2 done already (1 of them failed; --retry-failed runs them again)" in capsys.readouterr().out
    res = run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, retry_failed=True, power_source="none",
                    run_one=_fake)
    assert res.ran == 1 and "of them failed" not in capsys.readouterr().out


def test_a_store_path_that_is_a_file_is_a_clear_error(tmp_path, capsys):
    from energylens.cli import main

    target = tmp_path / "runs.csv"
    target.write_text("keep me")
    spec = tmp_path / "sweep.toml"
    spec.write_text('[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\n'
                    'max_num_seqs = [2]\ninput_len = [8]\noutput_len = [4]\n')
    assert main(["profile", str(spec), "-o", str(target), "--power-source", "none"]) == 2
    err = capsys.readouterr().err
    assert "runs.csv is a file; the sweep store is a directory" in err and "Traceback" not in err
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("damage", ["truncated", "empty_table"])
def test_a_damaged_part_is_named_with_the_way_to_recover(tmp_path, damage):
    from energylens.profiling import run_sweep

    run_sweep(_tiny_spec(), str(tmp_path / "s"), power_source="none", run_one=_fake)
    store = Store(tmp_path / "s")
    part = sorted(store.parts.glob("*.parquet"))[0]
    if damage == "truncated":
        part.write_bytes(part.read_bytes()[:100])  # a copy cut short
    else:
        import pandas as pd

        pd.DataFrame({"status": pd.Series([], dtype=str)}).to_parquet(part)
    for read in (store.statuses, lambda: load_profiles(tmp_path / "s"),
                 lambda: run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, power_source="none", run_one=_fake)):
        with pytest.raises(ProfileSchemaError) as info:
            read()
        assert part.name in str(info.value) and "--resume" in str(info.value) and part.stem in str(info.value)
    part.unlink()  # as the message says: the unit is measured again, the other part kept
    res = run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, power_source="none", run_one=_fake)
    assert (res.ran, res.skipped) == (1, 1)


def test_resume_with_another_power_source_is_refused(tmp_path):
    from energylens.profiling import run_sweep

    run_sweep(_tiny_spec(), str(tmp_path / "s"), power_source="synthetic:100", run_one=_fake)
    with pytest.raises(ValueError, match=r"measured with --power-source synthetic:100; resume with the same source"):
        run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, power_source="none", run_one=_fake)
    assert run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, power_source="synthetic:100",
                     run_one=_fake).ran == 0


def test_a_grid_listed_in_another_order_resumes_as_the_same_sweep(tmp_path):
    from energylens.profiling import parse_spec, run_sweep

    def spec(seqs, lens):
        return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                           "grid": {"models": ["org/m"], "max_num_seqs": seqs, "input_len": lens, "output_len": [4]}})

    run_sweep(spec([1, 2], [8, 16]), str(tmp_path / "s"), power_source="none", run_one=_fake)
    assert run_sweep(spec([2, 1], [16, 8]), str(tmp_path / "s"), resume=True, power_source="none",
                     run_one=_fake).skipped == 4
    with pytest.raises(ValueError, match="made by another spec"):  # another set of units is still refused
        run_sweep(spec([2, 1, 4], [16, 8]), str(tmp_path / "s"), resume=True, power_source="none", run_one=_fake)


def test_active_choice_without_energy_is_refused_before_the_store(tmp_path):
    from energylens.profiling import run_sweep

    with pytest.raises(ValueError, match="--power-source none measures none"):
        run_sweep(_tiny_spec(), str(tmp_path / "s"), power_source="none", strategy="active", run_one=_fake)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("content", [None, b"", b"not parquet"])
def test_an_unreadable_replay_source_is_refused_before_the_store(tmp_path, content):
    from energylens.profiling import run_sweep

    trace = tmp_path / "power.parquet"
    if content is not None:
        trace.write_bytes(content)
    with pytest.raises(ValueError, match=r"--power-source 'replay:.*power\.parquet'.*(no such trace|not a readable)"):
        run_sweep(_tiny_spec(), str(tmp_path / "s"), power_source=f"replay:{trace}", run_one=_fake)
    assert not (tmp_path / "s").exists()


def test_resume_of_a_directory_without_a_store_says_it_starts_a_new_one(tmp_path, capsys):
    from energylens.profiling import run_sweep

    run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, power_source="none", run_one=_fake)
    assert f"--resume, but {tmp_path / 's'} held no sweep store: started a new one" in capsys.readouterr().out
    run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=True, power_source="none", run_one=_fake)
    assert "held no sweep store" not in capsys.readouterr().out  # a real resume says nothing of the kind


def test_parts_without_a_marker_are_not_taken_as_this_sweeps_units(tmp_path):
    from energylens.profiling import run_sweep

    run_sweep(_tiny_spec(), str(tmp_path / "s"), power_source="none", run_one=_fake)
    (tmp_path / "s" / "energylens-store.json").unlink()
    for resume in (False, True):
        with pytest.raises(ValueError, match="parts/ holds part files but there is no energylens-store.json"):
            run_sweep(_tiny_spec(), str(tmp_path / "s"), resume=resume, power_source="none", run_one=_fake)


def test_a_file_system_without_locks_warns_and_runs(tmp_path, monkeypatch):
    import errno

    from energylens.profiling import run_sweep
    from energylens.profiling import store as store_module

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(store_module.fcntl, "flock", no_locks)
    with pytest.warns(UserWarning, match="cannot lock the store \\(No locks available\\)"):
        res = run_sweep(_tiny_spec(), str(tmp_path / "s"), power_source="none", run_one=_fake)
    assert res.ran == 2


def test_active_on_a_device_the_gpu_table_lacks_draws_the_rest_at_random(tmp_path, capsys):
    """Active profiling predicts from the GPU's specs; units that ran on a device the table lacks (the CPU,
    an unlisted GPU) used to stop the sweep after its first unit (a feature error): now the budget is spent
    on random draws, said once."""
    from energylens.profiling import parse_spec, run_sweep

    spec = parse_spec({"sweep": {"backend": "transformers"},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "max_num_seqs": [1, 2, 4, 8],
                                "input_len": [8], "output_len": [4]}})

    def on_cpu(cfg, power_source):
        return {**ROW, "config_id": cfg.config_id, "gpu": "cpu", "batch_size": float(cfg.max_num_seqs),
                "energy_j": 100.0 / cfg.max_num_seqs, "energy_measured": True}

    res = run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:100", strategy="active", budget=3,
                    run_one=on_cpu)
    assert res.ok == 3
    assert "and cpu is not in the GPU table" in capsys.readouterr().err
    assert (Store(tmp_path / "s").rows()["chosen_by"] == "random").sum() == 2  # after the first unit


def test_dry_run_plans_what_a_run_would_measure_and_writes_nothing(tmp_path, capsys):
    """--dry-run makes a run's checks (store against spec, --resume, power source) and lists each unit's state
    in the store and the units a run would measure now, in the order the run then measures them."""
    import textwrap

    from energylens.cli import main
    from energylens.profiling import load_spec, run_sweep

    spec_path = tmp_path / "sweep.toml"
    spec_path.write_text(textwrap.dedent("""
        [sweep]
        backend = "transformers"
        gpu = "H100"
        [grid]
        models = ["org/m"]
        max_num_seqs = [1, 2, 3, 4, 5, 6]
        input_len = [8]
        output_len = [4]
    """))
    spec, store = load_spec(spec_path), tmp_path / "s"
    run_sweep(spec, str(store), power_source="none", budget=2, run_one=_fake)  # bs 1 ok, bs 2 failed
    before = sorted(p.name for p in store.rglob("*"))
    assert main(["profile", str(spec_path), "-o", str(store), "--dry-run"]) == 2  # a run would be refused too
    assert "already holds a sweep store; pass --resume" in capsys.readouterr().err
    args = ["profile", str(spec_path), "-o", str(store), "--dry-run", "--resume", "--power-source", "none",
            "--strategy", "random", "--budget", "4"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    planned = [cid for _, cid in sorted((int(line.split()[2]), line.split()[0]) for line in out if "  run " in line)]
    assert sum("done (ok)" in line for line in out) == 1 and sum("done (failed)" in line for line in out) == 1
    assert sum("  later " in line for line in out) == 2 and len(planned) == 2
    assert len({line.index(" transformers/") for line in out[:-1]}) == 1  # one column ('done (failed)' pushed it)
    assert out[-1] == (f"6 units; {store} holds 2 of them done (1 of them failed; --retry-failed runs them again); a run "
                       "would measure 2 now (random order, --budget 4); nothing was run or written")
    assert sorted(p.name for p in store.rglob("*")) == before  # nothing written
    measured = []
    run_sweep(spec, str(store), resume=True, power_source="none", strategy="random", budget=4,
              run_one=lambda cfg, src: measured.append(cfg.config_id) or _fake(cfg, src))
    assert measured == planned  # the plan is what the run did
    assert main(args[:-4] + ["--power-source", "synthetic:100"]) == 2  # another source: refused, as a run is
    assert "measured with --power-source none" in capsys.readouterr().err


@pytest.mark.parametrize("strategy", ["grid", "random"])
def test_retried_units_run_first_and_the_store_never_exceeds_the_budget(tmp_path, strategy):
    """--budget N bounds the units the store holds: a retried unit replaces its failed row, a new one adds
    a row. Before 2026-12-05 a retry run with a budget could measure new units instead and end past it."""
    from energylens.profiling import parse_spec, plan_sweep, run_sweep

    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1, 2, 3, 4, 5, 6], "input_len": [8],
                                "output_len": [4]}})
    store = tmp_path / "s"
    run_sweep(spec, str(store), power_source="none", budget=2, run_one=_fake)  # bs 1 ok, bs 2 failed
    failed = [k for k, s in Store(store).statuses().items() if s == "failed"]
    measured = []

    def ok(cfg, src):
        measured.append(cfg.config_id)
        return {**ROW, "config_id": cfg.config_id, "status": "ok", "error": ""}

    kw = dict(resume=True, retry_failed=True, power_source="none", strategy=strategy)
    plan = plan_sweep(spec, str(store), budget=2, **kw)
    assert plan.n_run == 1 and [c.config_id for c in plan.run] == failed
    res = run_sweep(spec, str(store), budget=2, run_one=ok, **kw)
    assert (res.ran, res.skipped, measured) == (1, 1, failed)
    assert set(Store(store).statuses().values()) == {"ok"} and len(Store(store).statuses()) == 2
    measured.clear()
    assert run_sweep(spec, str(store), budget=3, run_one=ok, **kw).ran == 1 and len(Store(store).statuses()) == 3
    assert failed[0] not in measured


def test_a_retry_past_the_budget_waits_for_a_larger_one(tmp_path):
    from energylens.profiling import parse_spec, plan_sweep, run_sweep

    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1, 2], "input_len": [8, 16],
                                "output_len": [4]}})
    store = tmp_path / "s"
    run_sweep(spec, str(store), power_source="none", run_one=_fake)  # 2 ok, 2 failed (bs 2)
    plan = plan_sweep(spec, str(store), resume=True, retry_failed=True, power_source="none", budget=3)
    assert plan.n_run == 1 and plan.skipped == 3  # the ok rows leave room for one retry
    plan = plan_sweep(spec, str(store), resume=True, retry_failed=True, power_source="none", budget=2)
    assert plan.n_run == 0 and plan.skipped == 4 and plan.failed_before == 2


def test_failed_units_past_the_budget_are_named_as_waiting(tmp_path, capsys):
    """Failed units a --retry-failed run leaves for a larger --budget are counted as such, by the run and by
    --dry-run (they were counted silently among the units done until 2026-12-05), and an active dry run with
    no room left after its retries marks the new units "later", not "candidate"."""
    from energylens.cli import main
    from energylens.profiling import load_spec, run_sweep

    spec_path = tmp_path / "sweep.toml"
    spec_path.write_text('[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\n'
                         'max_num_seqs = [1, 2]\ninput_len = [8, 16, 32]\noutput_len = [4]\n')
    store = tmp_path / "s"
    run_sweep(load_spec(spec_path), str(store), power_source="synthetic:100", budget=4, run_one=_fake)
    assert sorted(Store(store).statuses().values()) == ["failed", "ok", "ok", "ok"]  # (bs 2 fails)
    capsys.readouterr()
    res = run_sweep(load_spec(spec_path), str(store), resume=True, retry_failed=True, power_source="synthetic:100",
                    budget=3, run_one=_fake)  # the ok rows fill the budget: nothing runs
    assert res.ran == 0
    assert "4 done already (1 of them failed; a larger --budget retries them), running 0" in capsys.readouterr().out
    args = ["profile", str(spec_path), "-o", str(store), "--dry-run", "--resume", "--retry-failed"]
    assert main(args + ["--power-source", "synthetic:100", "--budget", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith(f"6 units; {store} holds 4 of them done (1 of them failed; a larger --budget "
                              "retries them); a run would measure 0 now")
    args += ["--power-source", "synthetic:100", "--strategy", "active", "--budget"]
    assert main(args + ["4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum("  run 1 " in line for line in out) == 1 and sum("candidate" in line for line in out) == 0
    assert sum("  later " in line for line in out) == 2  # the retry fills the budget: no new unit is chosen
    assert main(args + ["5"]) == 0  # room for one new unit: the one active would choose first (2026-12-06)
    out = capsys.readouterr().out.splitlines()
    assert [sum(f"  {mark} " in line for line in out) for mark in ("run 1", "run 2", "later", "candidate")] == [1, 1, 1, 0]
    assert "a run would measure up to 2 (active, --budget 5): first the 2 marked run" in out[-1]


def test_resume_notes_rows_measured_by_another_release(tmp_path):
    """A resumed store whose rows another energylens measured (whose columns may mean something else: e.g. the
    prefill served from vLLM's prefix cache until 2026-12-05) is noted in one line, instead of passing unremarked
    into one fit with the new rows; a store of this release alone says nothing."""
    import io

    from energylens.profiling import run_sweep
    from energylens.profiling.worker import package_versions

    now = package_versions()["energylens_version"]

    def old(cfg, power_source):
        return {**ROW, "config_id": cfg.config_id, "status": "ok", "energylens_version": "0.0.1"}

    def new(cfg, power_source):
        return {**old(cfg, power_source), "energylens_version": now}

    run_sweep(_tiny_spec(), str(tmp_path / "a"), power_source="none", run_one=old, budget=1, out=io.StringIO())
    out = io.StringIO()
    run_sweep(_tiny_spec(), str(tmp_path / "a"), power_source="none", run_one=new, resume=True, out=out)
    assert f"note: 1 of the 1 ok rows in {tmp_path / 'a'} were measured by energylens 0.0.1, this run is {now}" \
        in out.getvalue()
    run_sweep(_tiny_spec(), str(tmp_path / "b"), power_source="none", run_one=new, budget=1, out=io.StringIO())
    out = io.StringIO()
    run_sweep(_tiny_spec(), str(tmp_path / "b"), power_source="none", run_one=new, resume=True, out=out)
    assert "note:" not in out.getvalue()


def test_resume_notes_vllm_rows_without_recorded_engine_args(tmp_path):
    """vLLM rows measured before the engine arguments were recorded (2026-12-06) ran with vLLM's own prefill token
    budget and multimodal limits; --resume counts them as done, so it says how many there are, once. Rows with
    engine_args, and transformers rows (which have none), say nothing."""
    import io

    from energylens.profiling import run_sweep

    def row(backend, engine_args):
        def run_one(cfg, power_source):
            return {**ROW, "config_id": cfg.config_id, "status": "ok", "backend": backend, "engine_args": engine_args}
        return run_one

    cases = {"old": (row("vllm", ""), 1), "recorded": (row("vllm", '{"max_num_batched_tokens": 8192}'), 0),
             "transformers": (row("transformers", ""), 0)}
    for name, (run_one, notes) in cases.items():
        run_sweep(_tiny_spec(), str(tmp_path / name), power_source="none", run_one=run_one, budget=1,
                  out=io.StringIO())
        out = io.StringIO()
        run_sweep(_tiny_spec(), str(tmp_path / name), power_source="none", run_one=run_one, resume=True, out=out)
        lines = [x for x in out.getvalue().splitlines() if "record no engine_args" in x]
        assert len(lines) == notes, (name, out.getvalue())
        if notes:
            assert f"1 of the 1 vLLM rows in {tmp_path / name} record no engine_args" in lines[0]
