"""An interrupt that lands where Python cannot raise it (a ctypes callback, as xgboost's data iterator is, or a
finaliser) still stops the command with 130 / 143, no traceback and no output: ``energylens.cli.main`` sends it
again instead of letting it be printed and lost. Before that, such a SIGINT during ``evaluate`` under load
printed "Exception ignored on calling ctypes callback function ... Traceback ... KeyboardInterrupt", the
evaluation ran to its end and wrote its report (tests/cli/test_kill_outputs.py failed with it)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import time

import pytest

import energylens.cli.fit as fit_cmd
from energylens.cli.main import main
from energylens.outputs import atomic_file

_CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))


def _signal_inside_a_ctypes_callback(signum: int) -> None:
    """libc's qsort with a Python comparison: the signal is sent from inside it, so Python's handler runs (and
    its exception is swallowed by ctypes) inside the callback, as in xgboost's DMatrix construction."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    values = (ctypes.c_int * 64)(*range(64, 0, -1))
    sent = []

    def compare(a, b) -> int:
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signum)
            for _ in range(1000):  # Python runs the handler at one of these instructions, in the callback
                pass
        return a[0] - b[0]

    libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), _CMP(compare))
    # qsort returns: the callback's exception was swallowed (its result taken as 0) and the caller carries on


def _signal_inside_a_finaliser(signum: int) -> None:
    class Sends:
        def __del__(self) -> None:
            os.kill(os.getpid(), signum)
            for _ in range(1000):
                pass

    Sends()  # freed at once: __del__ runs, and the handler's exception is swallowed in it


class FailsToFinalise:
    """Like xgboost's DataIter after an interrupt in its __init__: its __del__ raises."""

    def __del__(self) -> None:
        raise AttributeError("'FailsToFinalise' object has no attribute '_temporary_data'")


@pytest.mark.parametrize("where", [_signal_inside_a_ctypes_callback, _signal_inside_a_finaliser])
@pytest.mark.parametrize("signum,status,said", [(signal.SIGINT, 130, "interrupted (Ctrl-C);"),
                                                (signal.SIGTERM, 143, "terminated (SIGTERM);")])
def test_a_swallowed_interrupt_still_stops_the_command(monkeypatch, tmp_path, capsys, where, signum, status, said):
    out = tmp_path / "m.json"
    reached: list[str] = []

    def command(args) -> int:
        half_built = FailsToFinalise()  # noqa: F841 - freed when the interrupt unwinds this frame
        where(signum)
        reached.append("after the swallowed signal")
        deadline = time.monotonic() + 10.0  # the rest of the work: the re-sent signal must stop it
        while time.monotonic() < deadline:
            time.sleep(0.01)
        with atomic_file(out) as tmp:
            tmp.write_text("{}")
        reached.append("end")
        return 0

    monkeypatch.setattr(fit_cmd, "_cmd_fit", command)
    hook = sys.unraisablehook
    assert main(["fit", "bundled", "-o", str(out)]) == status
    err = capsys.readouterr().err
    # stopped within the 10 s of work, not run to its end (a lost signal would reach "end": then 130 / 143 still)
    assert reached == ["after the swallowed signal"], err
    assert not out.exists() and not list(tmp_path.iterdir())
    assert said in err and "lost" not in err and "Traceback" not in err, err
    assert "after the interrupt, AttributeError ignored in FailsToFinalise.__del__: " in err, err
    assert sys.unraisablehook is hook  # restored
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_unraisable_errors_without_an_interrupt_still_reach_the_previous_hook(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(type(u.exc_value).__name__))

    def command(args) -> int:
        FailsToFinalise()
        return 0

    monkeypatch.setattr(fit_cmd, "_cmd_fit", command)
    assert main(["fit", "bundled", "-o", str(tmp_path / "m.json")]) == 0
    assert seen == ["AttributeError"]


def test_a_shell_that_ignores_sigint_keeps_it_ignored(monkeypatch, tmp_path):
    # background jobs start with SIGINT ignored: the command neither installs its handler nor restores another
    seen = []
    monkeypatch.setattr(fit_cmd, "_cmd_fit", lambda args: seen.append(signal.getsignal(signal.SIGINT)) or 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the conftest fixture puts the default handler back
    assert main(["fit", "bundled", "-o", str(tmp_path / "m.json")]) == 0
    assert seen == [signal.SIG_IGN] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def _buffer_check_meets_the_interrupt(signum: int) -> None:
    """As scikit-learn's Cython buffer validation does when the signal's exception is raised inside it: the
    KeyboardInterrupt is replaced by a ValueError (seen in CI: SIGINT during evaluate exited 2 with
    "error: 'T{d:val:q:i1:q:i2:}' is not a valid PEP 3118 buffer format string")."""
    try:
        os.kill(os.getpid(), signum)
        for _ in range(1000):
            pass
    except KeyboardInterrupt:
        raise ValueError("'T{d:val:q:i1:q:i2:}' is not a valid PEP 3118 buffer format string") from None


@pytest.mark.parametrize("signum,status,said", [(signal.SIGINT, 130, "interrupted (Ctrl-C);"),
                                                (signal.SIGTERM, 143, "terminated (SIGTERM);")])
def test_an_interrupt_a_library_turned_into_another_error_still_reads_as_the_interrupt(monkeypatch, tmp_path, capsys,
                                                                                       signum, status, said):
    out = tmp_path / "m.json"

    def command(args) -> int:
        _buffer_check_meets_the_interrupt(signum)
        with atomic_file(out) as tmp:
            tmp.write_text("{}")
        return 0

    monkeypatch.setattr(fit_cmd, "_cmd_fit", command)
    assert main(["fit", "bundled", "-o", str(out)]) == status
    err = capsys.readouterr().err
    assert said in err and "surfaced inside a library as ValueError: 'T{d:val" in err and "Traceback" not in err
    assert not out.exists()


def test_a_plain_error_without_a_signal_is_still_exit_2(monkeypatch, tmp_path, capsys):
    def command(args) -> int:
        raise ValueError("bad cell in row 3")

    monkeypatch.setattr(fit_cmd, "_cmd_fit", command)
    assert main(["fit", "bundled", "-o", str(tmp_path / "m.json")]) == 2
    assert capsys.readouterr().err == "energylens fit: error: bad cell in row 3\n"


class FailsWithABacktrace:
    """Like xgboost's objects after an interrupt: the error a finaliser raises carries the native stack trace in
    its message (XGBoostError: "[07:52:01] ...: Check failed ...\\nStack trace:\\n  [bt] (0) ..." over 10 lines)."""

    def __del__(self) -> None:
        raise ValueError("[07:52:01] src/data/data.cc:1104: Check failed: valid\nStack trace:\n"
                         + "".join(f"  [bt] ({k}) /lib/libxgboost.so(+0x{k}f00) [0x7f19]\n" for k in range(9)))


def test_a_finaliser_error_after_the_interrupt_is_one_line_even_with_a_native_stack_trace(monkeypatch, tmp_path,
                                                                                         capsys):
    """Before 2026-12-06 the message was printed whole: a SIGINT during `evaluate` ended with xgboost's
    nine [bt] lines of native frames above the 'interrupted' line."""
    def command(args) -> int:
        half_built = FailsWithABacktrace()  # noqa: F841 - freed when the interrupt unwinds this frame
        _signal_inside_a_finaliser(signal.SIGINT)
        time.sleep(10.0)
        return 0

    monkeypatch.setattr(fit_cmd, "_cmd_fit", command)
    assert main(["fit", "bundled", "-o", str(tmp_path / "m.json")]) == 130
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "ignored in" in line]
    assert len(said) == 1, err
    assert said[0].startswith("energylens fit: after the interrupt, ValueError ignored in FailsWithABacktrace.__del__: "
                              "[07:52:01] src/data/data.cc:1104: Check failed: valid"), err
    assert "[bt]" not in err and "Stack trace" not in err, err
