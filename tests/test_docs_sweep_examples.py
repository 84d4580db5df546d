"""The documented sweep files and profiling command lines hold as written: every fenced ```toml block of
README.md and docs/*.md, and every command line of the ```bash blocks of docs/*.md (docs/profiling.md's
``energylens profile sweep.toml -o runs/ ...``). tests/test_docs_examples.py runs the python blocks and the
README's "Using it" lines; before this file nothing read the sweep spec example or profiling.md's commands, so
a renamed key or option in them went unnoticed.

Rules:

* Every toml block is listed in ``TOML_BLOCKS`` (found by a line of its own text) and
  ``test_every_toml_block_is_listed`` fails on one that is not. A whole spec is read by
  ``profiling.load_spec`` (what ``energylens profile`` reads it with), expanded into its units
  (``SweepSpec.configs()``: one per grid combination and repetition), its model folders checked by
  ``check_local_models`` (what a run checks before the store is written) and planned by
  ``energylens profile SPEC.toml -o runs/ --dry-run`` in-process, which runs and writes nothing. A block that is
  only part of a spec is declared ``fragment`` with the reason, and is read inside the ``around`` TOML that
  completes it (so it is still read, never skipped).
* Model folders a block names as placeholders (``/models/my-checkpoint``) are given by the entry's
  ``folders``: a folder with a ``config.json`` of the heads written there, put in its place.
* Each command line of a bash block of docs/*.md (continuations joined, comments dropped) that starts with
  ``energylens`` is parsed by ``cli.main.build_parser()`` (the parser ``energylens`` runs), so a renamed or
  removed option, or a value out of an option's choices, fails. ``energylens profile`` lines are also run with
  ``--dry-run`` on the page's own sweep spec, which makes the command's checks across options (``--retry-failed``
  needs ``--resume``) and the planner's. Other lines (pip, vllm serve, ray start) are listed in ``NOT_CHECKED``
  with the reason; an unlisted one fails.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shlex
import sys
from pathlib import Path

import pytest

from energylens.cli.main import build_parser
from energylens.cli.main import main as cli_main
from energylens.profiling import load_spec
from energylens.profiling.requirements import check_local_models

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser as the tomli package
    import tomli as tomllib

from test_docs_examples import DOCS, ROOT, _blocks_in


@dataclasses.dataclass(frozen=True)
class TomlBlock:
    doc: str                          # path from the repository root
    needle: str                       # a line of the block's own text that finds it
    folders: tuple[tuple[str, int], ...] = ()  # (placeholder model path, its attention heads) given here
    fragment: str = ""                # why the block is not a whole spec
    around: str = ""                  # for a fragment: the TOML that completes it into a spec


TOML_BLOCKS = [
    TomlBlock("docs/profiling.md", 'name = "llama-tp"', folders=(("/models/my-checkpoint", 32),)),
]

#: prefix of a bash line that is not an energylens command -> why it is not checked here
NOT_CHECKED = {
    "pip ": "installs packages (network; what it installs is the packaging's concern, tests/test_extras*.py)",
    "vllm serve": "vLLM's own command (not installed here, no GPU)",
    "ray start": "Ray's own command (starts a cluster)",
}


def _find(block: TomlBlock) -> str:
    hits = [b for b in _blocks_in((ROOT / block.doc).read_text(), "toml") if block.needle in b]
    assert len(hits) == 1, f"{block.doc}: {len(hits)} toml blocks hold {block.needle!r} (expected 1)"
    return hits[0]


def test_every_toml_block_is_listed():
    """A toml block no entry of TOML_BLOCKS finds would never be read: list it (whole, or a fragment with why)."""
    listed = {(b.doc, _find(b)) for b in TOML_BLOCKS}
    found = {(str(p.relative_to(ROOT)), text) for p in DOCS for text in _blocks_in(p.read_text(), "toml")}
    missing = sorted(f"{doc}: {text.splitlines()[0]!r}" for doc, text in found - listed)
    assert not missing, "toml blocks with no entry in TOML_BLOCKS: " + "; ".join(missing)
    assert all(bool(b.fragment) == bool(b.around) for b in TOML_BLOCKS), "a fragment says why and what completes it"


def _spec_file(block: TomlBlock, folder: Path) -> Path:
    """The block written as ``folder/sweep.toml`` (a fragment inside its ``around``), its placeholder model
    folders replaced by folders made under ``folder`` with a ``config.json`` and a weights file (a folder without
    weights is refused)."""
    text = _find(block)
    for placeholder, heads in block.folders:
        assert text.count(f'"{placeholder}"') == 1, f"{block.doc}: the block no longer names {placeholder!r} once"
        given = folder / "models" / Path(placeholder).name
        given.mkdir(parents=True)
        (given / "config.json").write_text(json.dumps({"num_attention_heads": heads}))
        (given / "model.safetensors").write_bytes(b"\0" * 2048)
        text = text.replace(f'"{placeholder}"', json.dumps(str(given)))
    if block.fragment:
        text = f"{block.around}\n{text}"
    path = folder / "sweep.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("block", TOML_BLOCKS, ids=lambda b: f"{b.doc}:{b.needle[:40]}")
def test_toml_block_is_a_sweep_spec(block, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = _spec_file(block, tmp_path)
    spec = load_spec(path)  # SweepSpecError names the file, line and key the parser refuses
    configs = spec.configs()
    raw_grid = tomllib.loads(path.read_text())["grid"]
    for key, values in raw_grid.items():  # every value written is swept (none dropped or merged)
        assert len(spec.grid[key]) == len(values), f"{block.doc}: grid.{key}"
    expected = math.prod(len(v) for v in spec.grid.values()) * spec.sweep["repetitions"]
    assert len(configs) == expected > 0
    assert len({c.config_id for c in configs}) == len(configs)
    check_local_models(spec)  # what a run checks before the store is written (its model folders here)
    rc = cli_main(["profile", str(path), "-o", "runs/", "--dry-run"])
    out = capsys.readouterr()
    assert rc == 0, f"{block.doc}: energylens profile --dry-run exited {rc}:\n{out.err[-3000:]}"
    assert re.match(rf"{len(configs)} units?;", out.out.splitlines()[-1]), out.out[-500:]
    assert not (tmp_path / "runs").exists()


# ---- the bash blocks' command lines -------------------------------------------------------------------------

def _bash_lines() -> list[tuple[str, str]]:
    """(doc, command) for each line of each bash block of docs/*.md, continuations joined, comments dropped."""
    lines = []
    for page in DOCS[1:]:  # (README.md's command lines: tests/test_docs_examples.py)
        for block in _blocks_in(page.read_text(), "bash"):
            for raw in block.replace("\\\n", " ").splitlines():
                command = raw.split("  #", 1)[0].strip()
                if command and not command.startswith("#"):
                    lines.append((str(page.relative_to(ROOT)), command))
    return lines


def test_bash_lines_are_found():
    """docs/profiling.md's block of profile and fit lines is read (an empty list would check nothing)."""
    assert sum(doc == "docs/profiling.md" and cmd.startswith("energylens profile ") for doc, cmd in _bash_lines()) >= 5


def _end(words: list[str]) -> int:
    """Where the command's own options end (``--`` starts a command ``monitor`` runs)."""
    return words.index("--") if "--" in words else len(words)


def _page_spec(doc: str, folder: Path) -> Path:
    """The sweep spec a page's profile lines name: the page's own (whole) toml block."""
    whole = [b for b in TOML_BLOCKS if b.doc == doc and not b.fragment]
    assert len(whole) == 1, f"{doc}: its profile lines need one whole sweep spec block to run on"
    return _spec_file(whole[0], folder)


@pytest.mark.parametrize("doc, command", _bash_lines(), ids=lambda x: x)
def test_bash_line_parses(doc, command, tmp_path, monkeypatch, capsys):
    words = shlex.split(command, comments=True)
    if words[0] != "energylens":
        why = next((why for prefix, why in NOT_CHECKED.items() if command.startswith(prefix)), "")
        assert why, f"{doc}: {command!r} is no energylens command and NOT_CHECKED does not say why it is not checked"
        pytest.skip(f"{doc}: {command!r}: {why}")
    try:
        build_parser().parse_args(words[1:])
    except SystemExit as exc:  # argparse's error: an option it does not know, a bad value
        pytest.fail(f"{doc}: {command!r} is refused by the parser (exit {exc.code}):\n{capsys.readouterr().err}")
    command_parser = build_parser()._subparsers._group_actions[0].choices[words[1]]
    known = {o for action in command_parser._actions for o in action.option_strings}
    spelled = {w.split("=", 1)[0] for w in words[2:_end(words)] if w.startswith("-")}
    assert spelled <= known, (f"{doc}: {command!r}: options not spelled as the parser has them (argparse takes a "
                              f"prefix, so a renamed option's old name can pass): {sorted(spelled - known)}")
    if words[1] != "profile":
        return
    monkeypatch.chdir(tmp_path)
    spec = _page_spec(doc, tmp_path)
    assert words[2].endswith(".toml"), f"{doc}: {command!r} names no SPEC.toml first"
    words[2] = str(spec)  # the spec file the line names: the page's own
    rc = cli_main([*words[1:], "--dry-run"])
    out = capsys.readouterr()
    assert rc == 0, f"{doc}: {command!r} --dry-run exited {rc}:\n{out.err[-3000:]}"
    assert out.out.rstrip().endswith("nothing was run or written"), out.out[-500:]
