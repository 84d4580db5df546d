"""``energylens evaluate --report DIR`` printed where energylens is worst on the random split (the five tasks and
groups of highest MAPE, with their Top-1, Top-1 @TPOT, parallelism and pairwise), but report.md did not hold them:
read later, the report could not say which groups the model misses most (the ML.ENERGY v3 export: Qwen3-VL-235B
video-chat at 34.4 %, Llama-3.1-70B lm-arena-chat at 32.9 %). report.md now has both lists, with the figures
the command printed and its notes for a figure averaged over fewer repeats."""
from __future__ import annotations

import re

from energylens.cli import main


def _printed(out: str, by: str) -> dict[str, list[str]]:
    """The printed worst list of ``by``: label -> [MAPE, Top-1, @TPOT, parallelism, pairwise] as printed."""
    block = out.split(f"energylens: worst {by}s")[1].split("\n\n")[0]
    rows = {}
    for line in block.splitlines()[1:]:
        m = re.match(r"  (\S.*?)\s+MAPE\s+(\S+) %  Top-1\s+(\S+)  @TPOT\s+(\S+)  parallelism\s+(\S+)  pairwise\s+(\S+)$",
                     line)
        if m:
            rows[m.group(1)] = list(m.groups()[1:])
    return rows


def _reported(page: str, by: str) -> dict[str, list[str]]:
    block = page.split(f"### Worst {by}s")[1].split("\n#")[0]
    rows = {}
    for line in block.splitlines():  # a group's " | " is escaped in its cell
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if line.startswith("| ") and len(cells) == 6 and cells[0] != by and not cells[0].startswith("---"):
            rows[cells[0]] = cells[1:]
    return rows


def test_the_report_holds_the_worst_tasks_and_groups_the_command_printed(tmp_path, capsys):
    report = tmp_path / "rep"
    assert main(["evaluate", "bundled", "--splits", "random", "--repeats", "5", "--methods", "energylens",
                 "--no-progress", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    page = (report / "report.md").read_text()
    assert "## Where energylens is worst" in page
    for by in ("task", "group"):
        printed, reported = _printed(out, by), _reported(page, by)
        assert len(printed) == 5 if by == "group" else len(printed) == 3, printed
        assert list(map(_cut, reported)) == list(printed), (by, reported, printed)  # the same keys in order
        assert list(reported.values()) == list(printed.values()), (by, reported, printed)
    notes = [line.strip()[len("note: "):] for line in out.split("energylens: worst groups")[1].splitlines()
             if line.strip().startswith("note: ")]
    assert notes and all(n.split(": ", 1)[1] in page for n in notes), notes
    assert "\\| google/codegemma-1.1-2b \\|" in page  # a group's " | " does not split its Markdown cell


def _cut(text: str, width: int = 70) -> str:
    """A label as the command prints it (cut in the middle past 70 characters)."""
    return text if len(text) <= width else text[: width // 2 - 2] + "..." + text[-(width - width // 2 - 1):]
