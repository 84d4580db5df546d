"""Reading a large profile table (``energylens fit/evaluate/predict FILE``) said nothing and ignored Ctrl-C and
SIGTERM while pandas parsed it: given the path of a CSV of 5 MB or more, pandas parses it on worker threads and
waits for all of them (1e6 rows, 337 MB: 1.6 s of a ~5 s read and check on 2 cores; `fit` exited 2.8 s after a
Ctrl-C sent 1 s into it). A CSV of ``files.LARGE_CSV_BYTES`` or more is now read from a counting handle on the
main thread: 'reading FILE (N MB) ...' on stderr as it starts, how far it has got every 5 s, 'read FILE (N MB in
T s); checking its rows ...' at its end, and a signal stops it within a 256 KiB block (exit 130 / 143, nothing
written)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from energylens.cli import options
from energylens.model import EnergyModel
from energylens.profiles import files
from energylens.profiles.datasets import mlenergy_v2

PROMPT_S = 3.0
#: The readiness line comes within a second or two of the start; a run without it is killed then.
READY_S = 30.0


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """(a ~200 MB profile CSV, about 600,000 rows; a model file)."""
    folder = tmp_path_factory.mktemp("readint")
    df = mlenergy_v2()
    header, _, body = df.to_csv(index=False).partition("\n")
    big = folder / "big.csv"
    with open(big, "w") as fh:
        fh.write(header + "\n")
        for _ in range(200 * 2**20 // len(body) + 1):
            fh.write(body)
    assert big.stat().st_size > files.LARGE_CSV_BYTES
    model = folder / "model.json"
    EnergyModel(bootstrap=0).fit(df, latency=False).save(model)
    return big, model


def _run_and_signal(argv: list[str], sig: int, cwd) -> tuple[int, float, str]:
    code = f"import sys\nfrom energylens.cli.main import main\nsys.exit(main({argv!r}))\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    watchdog = threading.Timer(READY_S, proc.kill)  # without the line the command would read, fit and write
    watchdog.start()
    seen = ""
    try:
        while "reading " not in seen:
            line = proc.stderr.readline()
            if not line:
                proc.wait()
                pytest.fail(f"no 'reading FILE (N MB) ...' line on stderr: {seen[-2000:]}")
            seen += line
    finally:
        watchdog.cancel()
    time.sleep(0.3)  # into the read (~1-3 s for 200 MB)
    assert proc.poll() is None, seen
    sent = time.monotonic()
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, time.monotonic() - sent, seen + err


@pytest.mark.parametrize("command,sig,status", [
    ("fit", signal.SIGINT, 130), ("fit", signal.SIGTERM, 143),
    ("predict", signal.SIGINT, 130), ("evaluate", signal.SIGINT, 130)])
def test_a_signal_stops_a_large_tables_read_promptly_and_writes_nothing(inputs, tmp_path, command, sig, status):
    big, model = inputs
    out = tmp_path / ("report" if command == "evaluate" else "out.json" if command == "fit" else "out.csv")
    argv = {"fit": ["fit", str(big), "-o", str(out)], "predict": ["predict", str(model), str(big), "-o", str(out)],
            "evaluate": ["evaluate", str(big), "--report", str(out)]}[command]
    rc, after, err = _run_and_signal(argv, sig, tmp_path)
    assert rc == status, err
    assert after < PROMPT_S, f"exited {after:.1f} s after the signal: {err[-1500:]}"
    assert f"energylens {command}: reading {big} (" in err, err
    assert "checking its rows" not in err, f"the read ran to its end: {err[-1500:]}"
    assert err.count("interrupted (Ctrl-C)" if sig == signal.SIGINT else "terminated (SIGTERM)") == 1, err
    assert "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing written, no temporary left"


def test_the_read_progress_lines(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(options.time, "perf_counter", lambda: clock[0])
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    report = options._read_printer("fit")
    total = 400_000_000
    for t, done in [(0.0, 0), (1.0, 50_000_000), (5.5, 100_000_000), (6.0, 150_000_000), (11.0, 300_000_000),
                    (13.0, total), (13.5, total)]:
        clock[0] = 100.0 + t
        report("big.csv", done, total)
    assert err.getvalue().splitlines() == [
        "energylens fit: reading big.csv (400 MB) ...",
        "energylens fit: read 100 of 400 MB of big.csv (6 s; about 16 s left)",
        "energylens fit: read 300 of 400 MB of big.csv (11 s; about 4 s left)",
        "energylens fit: read big.csv (400 MB in 13.0 s); checking its rows ...",
    ]


@pytest.mark.parametrize("progress", [True, False])
def test_the_lines_come_with_the_commands_progress_and_not_without(tmp_path, monkeypatch, capsys, progress):
    """``evaluate --no-progress`` (no progress bar) reads a large table without its lines too."""
    path = tmp_path / "t.csv"
    mlenergy_v2().to_csv(path, index=False)
    monkeypatch.setattr(files, "LARGE_CSV_BYTES", 0)
    frame = options.read_profiles_with_rows(str(path), command="evaluate", progress=progress)
    assert len(frame) == len(mlenergy_v2())
    err = capsys.readouterr().err
    size = f"{path.stat().st_size / 1e6:.0f} MB"
    if progress:
        assert f"energylens evaluate: reading {path} ({size}) ...\n" in err, err
        assert f"energylens evaluate: read {path} ({size} in " in err and "checking its rows ...\n" in err, err
    else:
        assert f"reading {path}" not in err and f"read {path}" not in err, err
