"""The ``energylens`` command line: one module per command in this package, assembled here.

Each command module has ``add_parser(subparsers)`` that registers its parser and handler. Commands import
the library at module level; this module imports only :mod:`energylens.errors` and :mod:`energylens.extras`
(both light) and a command's module when building the parser, so ``energylens --version`` stays fast. The library never imports :mod:`energylens.cli`.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from energylens.errors import EnergyLensError
from energylens.extras import dist_version

__all__ = ["main", "build_parser", "COMMANDS", "Terminated", "EXIT_SIGINT", "EXIT_SIGTERM"]

#: Command name -> module (``energylens.cli.<module>``), in the order ``--help`` lists them.
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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``argv``, only the named command's module is imported (fast start-up)."""
    parser = argparse.ArgumentParser(
        prog="energylens",
        description="Energy models and measurement for LLM serving configurations.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {dist_version('energylens')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = [a for a in (argv or []) if a in COMMANDS][:1]
    for name, module in COMMANDS.items():
        if wanted and name != wanted[0]:
            sub.add_parser(name, help=f"see energylens {name} --help")
            continue
        importlib.import_module(f"energylens.cli.{module}").add_parser(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception, so that ``finally`` blocks and atomic writers clean up (and a
    command that stops on Ctrl-C, such as ``monitor``, also stops and saves on SIGTERM)."""


#: Exit statuses of a command ended by a signal (128 + signal number, as a shell reports them).
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


_signalled = {"SIGTERM": False, "SIGINT": False}

#: Commands whose normal way to stop is Ctrl-C (they save and exit 0 on it).
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 success; 2 a located, explained error (bad input, bad argument, an output that cannot be
    written); 130 interrupted by SIGINT, 143 by SIGTERM (finished outputs are kept, unfinished ones
    removed, since every output is written atomically). No traceback for any of these.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = previous_int = None
    _signalled.update(SIGTERM=False, SIGINT=False)
    # Before the command's (heavy) imports: a SIGTERM while they load also ends with 143, no traceback.
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where the shell ignores it
            previous_int = signal.signal(signal.SIGINT, _raise_interrupt)
    command = next((a for a in argv if a in COMMANDS), "")
    try:
        args = build_parser(argv).parse_args(argv)
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
    except EnergyLensError as exc:
        print(f"energylens {command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"energylens {command}: error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"\nenergylens {command}: terminated (SIGTERM); finished outputs were kept, unfinished "
              "ones removed", file=sys.stderr)
        return EXIT_SIGTERM
    except KeyboardInterrupt:
        print(f"\nenergylens {command}: interrupted (Ctrl-C); finished outputs were kept, unfinished "
              "ones removed", file=sys.stderr)
        return EXIT_SIGINT
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


if __name__ == "__main__":
    raise SystemExit(main())
