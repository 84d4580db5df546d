"""The parsers of the ``energylens`` commands, one module per command, kept apart from the commands' code.

``energylens --help``, ``energylens COMMAND --help`` and an argument error need the parsers only, and a
command's module imports the library (pandas, the model, the profiling runner: ~1 s on a loaded 2-core box)
at module level. So each module here imports nothing heavier than :mod:`argparse` and
:mod:`energylens.cli.parsers.common`, and sets the command's ``func`` to a :class:`Run`, which imports the
command's module (``energylens.cli.<module>``) when the command runs. A value of the library that a help
text shows is copied here, and tests/cli/test_cli_startup.py checks each copy against the library and
that no parser pulls in pandas or a library subpackage.
"""

from __future__ import annotations

import argparse
import importlib

__all__ = ["Run"]


class Run:
    """A command's run function, named by its module in :mod:`energylens.cli` and its attribute there,
    imported on the first call (the parsers stay light; see the module docstring)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = f"energylens.cli.{module}", name

    def resolve(self):
        """The function itself (importing its module)."""
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, args: argparse.Namespace) -> int | None:
        return self.resolve()(args)

    def __repr__(self) -> str:
        return f"Run({self.module}.{self.name})"
