"""``energylens monitor``'s exit status on Ctrl-C: 0 without --duration (Ctrl-C is its normal stop), 130 when
Ctrl-C cuts a given --duration short (the trace still saved, stderr saying how much of the duration it covers),
so that ``monitor --duration 60 -o t.parquet && analyse t.parquet`` does not go on with a cut-short trace."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from energylens.measure.trace import Trace


def _start(args: list[str]) -> subprocess.Popen:
    cli = [sys.executable, "-c", "import sys; from energylens.cli.main import main; sys.exit(main())"]
    return subprocess.Popen([*cli, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _ctrl_c_after_start(proc: subprocess.Popen, signum: int = signal.SIGINT) -> tuple[str, str]:
    """Ctrl-C (SIGINT to the process group; or ``signum``) once the readiness line is on stderr; stdout drained
    meanwhile."""
    out: list[str] = []
    lines: queue.Queue[str] = queue.Queue()
    readers = [threading.Thread(target=lambda: out.extend(iter(lambda: proc.stdout.read(256), "")), daemon=True),
               threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True)]
    for r in readers:
        r.start()
    try:
        first = lines.get(timeout=60)  # "energylens monitor: sampling ...": the sampler runs
    except queue.Empty:
        first = ""
    if "sampling" not in first:
        proc.kill()
    assert "sampling" in first, first
    os.killpg(proc.pid, signum)
    try:
        proc.wait(timeout=60)
    finally:
        proc.kill()
    for r in readers:
        r.join(timeout=30)
    return "".join(out), first + "".join(lines.queue)


@pytest.mark.parametrize("duration", [None, "60"])
def test_ctrl_c_exits_130_only_when_it_cuts_a_given_duration_short(tmp_path, duration):
    out = tmp_path / "run.parquet"
    args = ["monitor", "--source", "synthetic", "--interval", "0.1", "-o", str(out)]
    proc = _start([*args, "--duration", duration] if duration else args)
    started = time.monotonic()
    stdout, err = _ctrl_c_after_start(proc)
    assert time.monotonic() - started < 30, "Ctrl-C did not stop the run"
    assert "Traceback" not in err and "[interrupted]" in stdout, err
    assert len(Trace.load(out).samples) > 0  # saved either way
    if duration is None:
        assert proc.returncode == 0, err
        assert "of the" not in err
    else:
        assert proc.returncode == 130, err
        m = re.search(r"interrupted \(Ctrl-C\) after ([0-9.]+) s of the 60 s --duration", err)
        assert m and 0 <= float(m.group(1)) < 60, err
        assert str(out) in err


def test_sigterm_cutting_a_duration_short_is_named_as_sigterm(tmp_path):
    """SIGTERM (a scheduler ending the job, kill) cut --duration 60 short with 'interrupted (Ctrl-C) after ...'
    on stderr, exit 143: no Ctrl-C was typed. It now names SIGTERM."""
    out = tmp_path / "run.parquet"
    proc = _start(["monitor", "--source", "synthetic", "--interval", "0.1", "-o", str(out), "--duration", "60"])
    stdout, err = _ctrl_c_after_start(proc, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert "interrupted (Ctrl-C)" not in err and "[interrupted]" in stdout, err
    m = re.search(r"terminated \(SIGTERM\) after ([0-9.]+) s of the 60 s --duration", err)
    assert m and 0 <= float(m.group(1)) < 60, err
    assert len(Trace.load(out).samples) > 0


def test_a_duration_that_ran_its_course_exits_0(tmp_path, capsys):
    from energylens.cli.main import main

    assert main(["monitor", "--source", "synthetic", "--duration", "0.3", "--interval", "0.1"]) == 0
    err = capsys.readouterr().err
    assert "sampling" in err and "for 0.3 s" in err and "interrupted" not in err


@pytest.mark.parametrize("ignored", [True, False])
def test_a_sigint_while_closing_the_run_is_ignored_where_monitor_ignores_sigint(monkeypatch, capsys, ignored):
    """Under nohup-like parents that ignore SIGINT (SIG_IGN, inherited), a SIGINT while the run was being closed
    and saved marked it '[interrupted]': the handler that notes a second Ctrl-C there was set over SIG_IGN. It is
    now left ignored, as the signals sent on to a command are; with SIGINT not ignored the note is kept."""
    import energylens.cli.monitor as cli_monitor
    from energylens.cli.main import main

    close = cli_monitor._close

    def sigint_then_close(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # (a handler runs here, in the main thread)
        return close(*args, **kwargs)

    monkeypatch.setattr(cli_monitor, "_close", sigint_then_close)
    before = signal.signal(signal.SIGINT, signal.SIG_IGN if ignored else signal.default_int_handler)
    try:
        assert main(["monitor", "--source", "synthetic", "--duration", "0.2"]) == 0
        assert signal.getsignal(signal.SIGINT) is (signal.SIG_IGN if ignored else signal.default_int_handler)
    finally:
        signal.signal(signal.SIGINT, before)
    out = capsys.readouterr().out
    assert ("[interrupted]" in out) != ignored, out
