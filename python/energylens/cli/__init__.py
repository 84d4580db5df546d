"""The ``energylens`` command line (top layer): one module per command, assembled by :mod:`.main`.

May import every library subpackage; nothing in the library imports it.
"""

from energylens.cli.main import main

__all__ = ["main"]
