"""Interrupts and kills leave nothing half-written (issue 13): a few kills of fit / predict / monitor in the
default run (the 20-per-command harness is bench/kill_outputs.py, also run here with ENERGYLENS_KILL_HARNESS=1), SIGTERM
during monitor's sampling saves the trace and exits 143, SIGINT during evaluate exits 130 with no
traceback and no report, and outputs get a plain file's mode."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import kill_outputs as K  # noqa: E402
from energylens.measure.trace import Trace  # noqa: E402
from energylens.outputs import atomic_dir, atomic_file  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return K.setup(tmp_path_factory.mktemp("kill"))


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(K._cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(stream, text: str, timeout_s: float = 120.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    while text not in seen and time.monotonic() < deadline:
        ch = stream.read(1)
        if not ch:
            break
        seen += ch
    assert text in seen, seen[-2000:]
    return seen


@pytest.mark.parametrize("command,delays", [("fit", (0.5, 2.5)), ("predict", (1.5, 4.0)), ("monitor", (3.5,))])
def test_a_few_kills_leave_outputs_whole_or_absent(inputs, tmp_path, command, delays):
    folder = inputs["data"].parent
    for k, delay in enumerate(delays):
        sig = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)[k % 3]
        t = K.trial(command, sig, delay, inputs, folder)
        assert t.output in ("absent", "valid"), t
        assert not K.problems([t]), t


def test_sigterm_during_monitor_sampling_saves_the_trace_and_exits_143(tmp_path):
    out = tmp_path / "run.parquet"
    proc = _start(["monitor", "--source", "synthetic", "--duration", "60", "--interval", "0.1", "-o", str(out)])
    _wait_for(proc.stdout, "GPU0")  # sampling has started
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "[interrupted]" in rest
    assert len(Trace.load(out).samples) > 0


def test_sigint_during_evaluate_stops_cleanly_and_writes_no_report(inputs, tmp_path):
    report = tmp_path / "report"
    proc = _start(["evaluate", str(inputs["data"]), "--report", str(report), "--repeats", "3"])
    # stderr is drained all along, as a terminal would (a full pipe would hold the child in a write).
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stderr.read(256), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while "fit/s" not in "".join(chunks) and "evaluate:" not in "".join(chunks) and time.monotonic() < deadline:
        time.sleep(0.1)  # until the fits are under way (progress on stderr)
    assert "evaluate:" in "".join(chunks), "".join(chunks)[-2000:]
    time.sleep(1.0)
    # 455 fits take ~25 s on a quiet box, so the signal lands among them whatever the load; under load it can
    # land in xgboost's ctypes data-iterator callback, where Python swallows it (test_swallowed_interrupts.py).
    assert proc.poll() is None, "".join(chunks)[-2000:]
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group, workers included
    proc.wait(timeout=120)
    reader.join(timeout=30)
    err = "".join(chunks)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted (Ctrl-C)" in err
    assert not report.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_outputs_get_a_plain_files_mode(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "a.json") as tmp:
            tmp.write_text("{}")
        with atomic_dir(tmp_path / "report") as tmp:
            (tmp / "report.md").write_text("x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "report").stat().st_mode) == 0o755


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("ENERGYLENS_KILL_HARNESS"),
                    reason="80 kills take 10-20 minutes: set ENERGYLENS_KILL_HARNESS=1 (or run bench/kill_outputs.py)")
def test_twenty_kills_per_command_leave_nothing_half_written(tmp_path):
    results = K.run(list(K.COMMANDS), 20, tmp_path)
    assert len(results) == 80
    assert not K.problems(results), K.problems(results)


def test_an_interrupt_a_library_swallowed_still_ends_in_130(monkeypatch, tmp_path, capsys):
    import energylens.cli.fit as fit_cmd
    from energylens.cli.main import main

    def swallowing_command(args) -> int:
        try:  # a library that catches the interrupt (as Python does inside a finaliser) and carries on
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        return 0

    monkeypatch.setattr(fit_cmd, "_cmd_fit", swallowing_command)
    assert main(["fit", "bundled", "-o", str(tmp_path / "m.json")]) == 130
    assert "interrupt was lost" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
