"""The ``energylens`` command line: one module per command in this package, assembled here.

Each command module has ``add_parser(subparsers)`` that registers its parser and handler. Commands import
the library at module level; this module imports a command's module only when building the parser, so
``energylens --version`` stays fast. The library never imports :mod:`energylens.cli`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser", "COMMANDS"]

#: Command name -> module (``energylens.cli.<module>``), in the order ``--help`` lists them.
COMMANDS = {
    "doctor": "doctor",
    "demo": "demo",
    "fit": "fit",
    "predict": "predict",
    "evaluate": "evaluate",
    "monitor": "monitor",
    "discover": "discover",
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``argv``, only the named command's module is imported (fast start-up)."""
    from energylens.cli.doctor import dist_version

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a located, explained error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    from energylens.errors import EnergyLensError

    try:
        return int(args.func(args) or 0)
    except EnergyLensError as exc:
        print(f"energylens {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as exc:
        print(f"energylens {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
