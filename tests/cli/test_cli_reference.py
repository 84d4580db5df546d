"""docs/cli.md is the parsers' own help (energylens.cli.reference): an option added, renamed or re-described
without regenerating the file fails here."""
from __future__ import annotations

from pathlib import Path

from energylens.cli.reference import cli_reference

DOC = Path(__file__).parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_the_generated_reference():
    assert DOC.read_text() == cli_reference(), (
        "docs/cli.md differs from the parsers: run `python -m energylens.cli.reference > docs/cli.md`")


def test_every_command_and_long_option_is_in_it():
    text = DOC.read_text()
    for command in ("doctor", "demo", "fit", "predict", "evaluate", "search", "monitor", "discover", "profile"):
        assert f"## energylens {command}" in text
    for option in ("--latency-only", "--no-latency", "--loss", "--starts", "--level", "--no-compare", "--source",
                   "--ttft-limit", "--gpu-memory-utilization"):
        assert option in text
