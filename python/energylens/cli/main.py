"""The ``energylens`` command line: one module per command in this package, assembled here.

Each command's parser is in :mod:`energylens.cli.parsers` (``add_parser(subparsers)`` registers it and its
handler), apart from the command's module, which imports the library at module level: the handler imports
that module when the command runs. This module imports only the parsers, :mod:`energylens.errors` and
:mod:`energylens.extras` (all light), so ``energylens --help``, ``energylens COMMAND --help``, ``--version``
and an argument error never load pandas, the model or the profiling runner (tests/cli/test_cli_startup.py).
The library never imports :mod:`energylens.cli`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence

from energylens.cli.parsers.unknown import unknown_options_message
from energylens.cli.pipe import pipe_safe_output
from energylens.errors import EnergyLensError
from energylens.extras import dist_version

__all__ = ["main", "build_parser", "COMMANDS", "Terminated", "EXIT_SIGINT", "EXIT_SIGTERM"]

#: Command name -> its module (``energylens.cli.<module>``, its parser ``energylens.cli.parsers.<module>``), in the
#: order ``--help`` lists them.
COMMANDS = {
    "doctor": "doctor",
    "demo": "demo",
    "fit": "fit",
    "predict": "predict",
    "evaluate": "evaluate",
    "search": "search",
    "monitor": "monitor",
    "discover": "discover",
    "profile": "profile",
}


class _Version(argparse._VersionAction):
    """``--version``, its number looked up when it is asked for: reading it loads importlib.metadata (~30 ms),
    which every command paid when the parser was built."""

    def __call__(self, parser, namespace, values, option_string=None):
        self.version = f"%(prog)s {dist_version('energylens')}"
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    """The full parser: every command's, from :mod:`energylens.cli.parsers` (none imports a command's module)."""
    parser = argparse.ArgumentParser(
        prog="energylens",
        description="Energy models and measurement for LLM serving configurations.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(f"energylens.cli.parsers.{module}").add_parser(sub)
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``, but arguments the command does not take are its parser's error (its usage,
    exit 2) naming the command's option for each vLLM name and the closest ones for another unknown option
    (:mod:`energylens.cli.parsers.unknown`), where argparse said only "unrecognized arguments"."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        command = sub.choices[args.command]
        command.error(unknown_options_message(command, extras))
    return args


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception, so that ``finally`` blocks and atomic writers clean up (and a
    command that stops on Ctrl-C, such as ``monitor``, also stops and saves on SIGTERM)."""


#: Exit statuses of a command ended by a signal (128 + signal number, as a shell reports them).
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


_signalled = {"SIGTERM": False, "SIGINT": False}

#: Commands whose normal way to stop is Ctrl-C (they save and choose their exit status: monitor 0, 130 for a cut-short
#: --duration).
_STOPPED_BY_CTRL_C = frozenset({"monitor"})


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line: one line with the category, no source line."""
    return f"energylens: {category.__name__}: {message}\n"


def _raise_terminated(signum: int, frame: object) -> None:
    _signalled["SIGTERM"] = True
    raise Terminated()


def _raise_interrupt(signum: int, frame: object) -> None:
    # Recorded as well as raised: Python drops an exception raised while a finaliser (__del__, a weakref
    # callback) runs, and a Ctrl-C lost that way must still not end in a silent exit 0.
    _signalled["SIGINT"] = True
    raise KeyboardInterrupt()


class _Resender:
    """Sends a swallowed interrupt to this process again, a moment later, from a helper thread (started on the
    first one): Python runs the handler in the main thread at its next instruction, by then (usually) out of
    the callback that swallowed it. One send at a time: the next is asked for only when that one is lost too."""

    def __init__(self) -> None:
        self.pending, self.lock = threading.Event(), threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopped, self.signum = False, signal.SIGINT

    def ask(self, signum: int) -> None:
        """Called in the hook; itself interruptible by the send in flight, which then is lost too: ask again."""
        while True:
            try:
                self.signum = signum
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="energylens-resend", daemon=True)
                    self.thread.start()
                self.pending.set()
                return
            except KeyboardInterrupt:
                continue

    def _run(self) -> None:
        while True:
            self.pending.wait()
            self.pending.clear()
            time.sleep(0.005)
            with self.lock:
                if self.stopped:
                    return
                os.kill(os.getpid(), self.signum)

    def stop(self, collect: bool) -> None:
        """No more sends; one that lands meanwhile is the interrupt already being handled. With ``collect``,
        the interrupted work's half-built objects are finalised now (under the hook)."""
        while True:
            try:
                with self.lock:
                    self.stopped = True
                self.pending.set()
                if self.thread is not None:
                    self.thread.join()
                if collect:
                    gc.collect()
                return
            except KeyboardInterrupt:
                continue


def _first_line(exc: BaseException) -> str:
    """An error's message on one line: a library's own error after an interrupt can carry a native stack trace
    (xgboost's "Stack trace:" and nine "[bt] (k) ..." frames), which says nothing to the user."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return (lines[0] + (" ..." if len(lines) > 1 else "")) if lines else ""


def _unraisable_hook(command: str, previous, resender: _Resender):
    """A ``sys.unraisablehook`` for the command's run. Python cannot raise an exception out of a finaliser
    (``__del__``, a weakref callback) or a C callback (a ctypes callback such as xgboost's data iterator), so
    an interrupt landing there would be printed with a traceback and lost (the command would run to its
    end). Here it is sent again instead, so the command still stops; and the errors that the interrupted,
    half-built objects raise in their finalisers afterwards get one line each, not a traceback."""
    def hook(u) -> None:
        exc = u.exc_value
        while True:
            try:
                if isinstance(exc, KeyboardInterrupt):
                    resender.ask(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
                elif _signalled["SIGINT"] or _signalled["SIGTERM"]:
                    where = getattr(u.object, "__qualname__", None) or type(u.object).__name__
                    print(f"energylens {command}: after the interrupt, {type(exc).__name__} ignored in {where}: "
                          f"{_first_line(exc)}", file=sys.stderr)
                else:
                    previous(u)
                return
            except KeyboardInterrupt as again:  # the send in flight landed in this hook: lost too
                exc = again
    return hook


def _stopped(command: str, term: bool, detail: str = "") -> int:
    """Say that the command was stopped by SIGTERM (``term``) or SIGINT, and return that signal's exit status."""
    print(f"\nenergylens {command}: {'terminated (SIGTERM)' if term else 'interrupted (Ctrl-C)'}; finished outputs "
          f"were kept, unfinished ones removed{detail}", file=sys.stderr)
    return EXIT_SIGTERM if term else EXIT_SIGINT


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 success; 2 a located, explained error (bad input, bad argument, an output that cannot be
    written); 130 interrupted by SIGINT, 143 by SIGTERM (finished outputs are kept, unfinished ones
    removed, since every output is written atomically). No traceback for any of these.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = previous_int = None
    _signalled.update(SIGTERM=False, SIGINT=False)
    command = next((a for a in argv if a in COMMANDS), "")
    previous_hook, resender = sys.unraisablehook, _Resender()
    # Before the command's (heavy) imports: a SIGTERM while they load also ends with 143, no traceback.
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where the shell ignores it
            previous_int = signal.signal(signal.SIGINT, _raise_interrupt)
        sys.unraisablehook = _unraisable_hook(command, previous_hook, resender)
    # `energylens fit ... | head` (`2>&1 | head` too) still writes its files and ends with its own status
    streams = contextlib.ExitStack()
    streams.enter_context(pipe_safe_output())
    try:
        args = parse(build_parser(), argv)
        command = args.command
        warnings.formatwarning = _format_warning
        status = int(args.func(args) or 0)
        # A command that stops cleanly on an interrupt (monitor saves its trace) still reports SIGTERM.
        if _signalled["SIGTERM"]:
            return EXIT_SIGTERM
        if _signalled["SIGINT"] and command not in _STOPPED_BY_CTRL_C:
            print(f"\nenergylens {command}: interrupted (Ctrl-C) but the interrupt was lost inside a library; "
                  "the command ran to its end and its outputs are complete", file=sys.stderr)
            return EXIT_SIGINT
        return status
    except (EnergyLensError, ValueError, OSError) as exc:  # OSError: a missing file, a full disk, a read-only folder
        if _signalled["SIGINT"] or _signalled["SIGTERM"]:
            # A library met the interrupt in its own code and raised something else in its place (scikit-learn's
            # Cython buffer check: "'T{d:val:q:i1:q:i2:}' is not a valid PEP 3118 buffer format string"): the
            # command was interrupted, not given bad input (it exited 2); the error is still named.
            return _stopped(command, _signalled["SIGTERM"] and not _signalled["SIGINT"],
                            f" (the interrupt surfaced inside a library as {type(exc).__name__}: {_first_line(exc)})")
        label = type(exc).__name__ if isinstance(exc, EnergyLensError) else "error"
        print(f"energylens {command}: {label}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # (Terminated, or a library's KeyboardInterrupt standing for it: Ray's wait re-raises a signal's
        # exception as a plain KeyboardInterrupt)
        # A command may say what it kept (profile: the store's rows and --resume) in the exception's stopped_detail.
        return _stopped(command, isinstance(exc, Terminated) or (_signalled["SIGTERM"] and not _signalled["SIGINT"]),
                        getattr(exc, "stopped_detail", ""))
    finally:
        resender.stop(collect=_signalled["SIGINT"] or _signalled["SIGTERM"])
        sys.unraisablehook = previous_hook
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
        streams.close()


if __name__ == "__main__":
    raise SystemExit(main())
