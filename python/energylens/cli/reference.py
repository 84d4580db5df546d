"""The command reference (docs/cli.md), generated from the parsers themselves so it cannot drift from
``--help``: ``python -m energylens.cli.reference > docs/cli.md``; tests/cli/test_cli_reference.py checks
that the committed file is what this prints."""

from __future__ import annotations

import os
import sys

from energylens.cli.main import COMMANDS, build_parser

__all__ = ["cli_reference"]

#: Help is wrapped at this width whatever the terminal (argparse reads COLUMNS).
WIDTH = 100

_HEADER = """# Command reference

Every `energylens` command and option, as `energylens COMMAND --help` prints them (this file is generated:
`python -m energylens.cli.reference > docs/cli.md`; a test fails when it differs from the parsers). What
the commands do, with examples: README.md; the details of each: docs/model.md (fit, predict), docs/evaluation.md
(evaluate), docs/search.md (search), docs/measuring.md and docs/sampler.md (monitor), docs/discover.md
(discover), docs/profiling.md (profile), docs/robustness.md (inputs, outputs, signals).
"""


def cli_reference() -> str:
    """Markdown: the top-level help, then each command's help in a code block, in ``--help`` order."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        parser = build_parser()
        sub = next(a for a in parser._actions if a.dest == "command")  # the subcommand registry
        parts = [_HEADER, "```text", parser.format_help().rstrip(), "```"]
        for name in COMMANDS:
            parts += [f"\n## energylens {name}\n", "```text", sub.choices[name].format_help().rstrip(), "```"]
        return "\n".join(parts) + "\n"
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


if __name__ == "__main__":
    sys.stdout.write(cli_reference())
