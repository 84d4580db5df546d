"""``python -m energylens``: the same command line as the ``energylens`` console script."""

from energylens.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
