"""``energylens monitor [options] -- CMD [ARGS...]`` runs CMD and samples over its lifetime (python/energylens/cli/
monitor.py): the command's output passes through untouched, monitor's own lines go to stderr, the report gives the
command's window (between the marks ``command start`` / ``command exit``), and monitor exits with the command's
status (128+N when signal N killed it; 127 / 126 when it cannot be started, nothing sampled). Real subprocesses on
``--source synthetic`` (its 150 W / 450 W square wave of 0.5 s steps)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from energylens.cli.main import main
from energylens.measure.trace import Trace

CLI = [sys.executable, "-c", "import sys; from energylens.cli.main import main; sys.exit(main())",
       "monitor", "--source", "synthetic"]
PY = sys.executable


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, timeout=30, **kw)


def _start(args: list[str]) -> subprocess.Popen:
    """monitor in a session of its own (as a terminal's foreground job), Ctrl-C as a shell leaves it."""
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _ran_s(err: str) -> float:
    m = re.search(r"^  ran ([0-9.]+) s, ", err, re.M)
    assert m, err
    return float(m[1])


@pytest.mark.parametrize("status", [0, 3])
def test_monitor_exits_with_the_commands_status(status):
    res = _run(["--", "sh", "-c", f"exit {status}"])
    err = res.stderr.decode()
    assert res.returncode == status, err
    assert f"command: sh -c 'exit {status}'" in err and f"exit status {status}" in err and "Traceback" not in err


def test_a_command_killed_by_a_signal_gives_128_plus_the_signal():
    res = _run(["--", "sh", "-c", "kill -KILL $$"])
    err = res.stderr.decode()
    assert res.returncode == 128 + signal.SIGKILL, err
    assert "killed by SIGKILL (exit status 137)" in err


def test_the_window_covers_the_commands_run_and_the_trace_marks_it(tmp_path):
    out = tmp_path / "run.parquet"
    res = _run(["-o", str(out), "--", "sleep", "0.5"])
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert 0.45 <= _ran_s(err) < 0.7, err
    window = re.search(r"its window: ([0-9.]+) s +([0-9.]+) J +avg ([0-9.]+) W", err)
    assert window and 0.45 <= float(window[1]) < 0.7, err
    assert 150.0 <= float(window[3]) <= 450.0, err  # the square wave's power over it
    sampled = float(re.search(r"sampled ([0-9.]+) s", err)[1])
    assert sampled >= float(window[1]), err  # sampling began before the spawn and ended after the exit
    trace = Trace.load(out)
    marks = dict(zip(trace.marks["label"], trace.marks["t_ns"], strict=False))
    span_s = (marks["command exit"] - marks["command start"]) * 1e-9
    assert 0.45 <= span_s < 0.7
    t = trace.samples["t_ns"]
    assert t.min() <= marks["command start"] and t.max() >= marks["command exit"]
    assert f"wrote {out}" in err  # on stderr: stdout is the command's


def test_the_commands_output_passes_through_untouched_and_monitor_writes_only_stderr():
    res = _run(["--", "sh", "-c", r"printf 'a\000b\nno newline'; printf 'to stderr\n' >&2"])
    assert res.returncode == 0
    assert res.stdout == b"a\x00b\nno newline"
    err = res.stderr.decode()
    assert "to stderr\n" in err and "sampling GPU0 (synthetic) while sh -c" in err and "total:" in err


@pytest.mark.parametrize(("sig", "how"), [(signal.SIGTERM, "pid"), (signal.SIGINT, "group")])
def test_sigterm_and_ctrl_c_are_sent_on_to_the_command_and_the_run_is_saved(tmp_path, sig, how):
    """SIGTERM to monitor alone (a scheduler, kill PID) and Ctrl-C (the terminal signals monitor's process group,
    not the command's own) both reach the command, which here says so and exits 7; monitor then reports, saves
    and exits 7."""
    out = tmp_path / "run.parquet"
    child = ("import signal, sys, time\n"
             "def stop(signum, frame):\n"
             "    print('got', signal.Signals(signum).name, flush=True); sys.exit(7)\n"
             "signal.signal(signal.SIGTERM, stop); signal.signal(signal.SIGINT, stop)\n"
             "print('ready', flush=True)\n"
             "time.sleep(20)\n")
    proc = _start(["-o", str(out), "--", PY, "-c", child])
    try:
        assert proc.stdout.readline() == b"ready\n"
        (os.kill if how == "pid" else os.killpg)(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    err = stderr.decode()
    assert stdout == f"got {sig.name}\n".encode(), err
    assert proc.returncode == 7, err
    assert f"exit status 7 (sent {sig.name})" in err and "[interrupted]" in err
    assert len(Trace.load(out).samples) > 0


def test_a_command_that_ignores_the_signal_is_killed_after_the_grace(tmp_path):
    proc = _start(["--grace", "0.3", "--", "sh", "-c", "trap '' TERM; echo ready; sleep 20 & wait"])
    try:
        assert proc.stdout.readline() == b"ready\n"
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    err = stderr.decode()
    assert proc.returncode == 137, err
    assert "did not exit within 0.3 s of SIGTERM: killing it (SIGKILL)" in err
    assert "(sent SIGTERM, then SIGKILL)" in err and "total:" in err


@pytest.mark.parametrize(("program", "status", "says"), [
    ("energylens-no-such-command", 127, "energylens-no-such-command: command not found (not on PATH)"),
    ("./no-such-file", 127, "./no-such-file: no such file"),
    ("./script.sh", 126, "./script.sh: not executable"),
])
def test_a_command_that_cannot_be_started_is_a_shell_status_and_nothing_is_sampled(tmp_path, program, status, says):
    (tmp_path / "script.sh").write_text("echo hi\n")  # no execute permission
    out = tmp_path / "run.parquet"
    res = _run(["-o", str(out), "--", program, "arg"], cwd=tmp_path)
    err = res.stderr.decode()
    assert res.returncode == status, err
    assert says in err and "nothing was sampled" in err
    assert "sampling" not in err.replace("nothing was sampled", "") and not out.exists()
    assert res.stdout == b""


def test_duration_with_a_command_is_refused_naming_what_to_use(capsys):
    assert main(["monitor", "--source", "synthetic", "--duration", "5", "--", "sleep", "1"]) == 2
    err = capsys.readouterr().err
    assert "--duration 5 with a command: the command's lifetime is the run" in err
    assert "energylens monitor -- timeout 5 sleep 1" in err
    assert main(["monitor", "--source", "synthetic", "--"]) == 2
    assert "-- is followed by nothing" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::energylens.measure.monitor.ShortWindowWarning")  # it ran ~4 ms
def test_a_sigterm_while_the_command_is_being_started_still_reaches_it(monkeypatch, capsys):
    """A signal between the spawn and the forwarding handlers stopped monitor (143, no report) and left the
    command running on its own; the handlers are set before the spawn, and what arrived meanwhile is sent on."""
    import time

    import energylens.cli.monitor_command as command_run

    spawn = command_run.spawn

    def spawn_then_sigterm(command, child):
        proc = spawn(command, child)
        os.kill(os.getpid(), signal.SIGTERM)  # (its handler runs here, before spawn returns)
        return proc

    monkeypatch.setattr(command_run, "spawn", spawn_then_sigterm)
    started = time.monotonic()
    assert main(["monitor", "--source", "synthetic", "--", "sleep", "5"]) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 3.0
    err = capsys.readouterr().err
    assert "killed by SIGTERM (exit status 143) (sent SIGTERM)" in err, err


@pytest.mark.parametrize(("script", "status"), [("sleep 0.6", 1), ("sleep 0.6; exit 4", 4)])
def test_sampling_lost_mid_run_leaves_the_command_running_and_its_status_first(monkeypatch, capsys, script, status):
    """The GPU lost after 0.2 s does not stop the command: it runs to its end; monitor reports what was recorded,
    and exits with the command's status, or 1 (sampling stopped) where the command exited 0."""
    import energylens.cli.monitor as cli_monitor
    from energylens.measure.sampler import PowerSampler

    monkeypatch.setattr(cli_monitor, "_sampler", lambda args: PowerSampler.synthetic(
        [([0.0], [200.0])], chain=("sample_buffer",), fail_after_s={"sample_buffer": 0.2}, buffer_poll_s=0.02))
    assert main(["monitor", "--source", "synthetic", "--", "sh", "-c", script]) == status
    err = capsys.readouterr().err
    assert _ran_s(err) >= 0.55 and f"exit status {status if status != 1 else 0}" in err, err
    assert "sampling stopped after" in err and "GPU is lost" in err, err
    window = re.search(r"its window: ([0-9.]+) s +([0-9.]+) J", err)
    assert window and 0.0 < float(window[1]) < 0.5, err  # what was recorded of it
