"""docs/sampler.md's example (record a known square wave with two marks, save it, measure between the marks of
the loaded trace) runs as written and prints what the page says it printed: 300 J over 1 s from the driver
buffer, the counter within the range the page gives. It had no test: the page's figure came from a one-off run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data_paths import SHARED_DATA

DOC = Path(__file__).resolve().parents[2] / "docs" / "sampler.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "# record: a known 150 W / 450 W square wave" in b]
    return code


def test_the_record_and_measure_example_prints_what_the_page_says(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_example(), str(DOC), "exec"), {"__name__": "__doc_example__"})
    line = capsys.readouterr().out.strip()
    got = re.fullmatch(r"([\d.]+) J over ([\d.]+) s \((\w+)\), counter ([\d.]+) J", line)
    assert got, line
    energy, duration, source, counter = float(got[1]), float(got[2]), got[3], float(got[4])
    text = " ".join(DOC.read_text().split())  # the page wraps its sentences
    page = re.search(r"it printed `([\d.]+) J over ([\d.]+) s \((\w+)\), counter ([\d.]+) J`", text)
    assert page and source == page[3] == "nvml_samples"
    # marks a second apart: a late wake-up adds its time at the 150 W the wave holds around both marks
    assert abs(duration - float(page[2])) < 0.05, line
    assert abs(energy - float(page[1]) - 150.0 * (duration - 1.0)) < 1.0, line
    low, high = (float(x) for x in re.search(r"moves with when the recording read the counter, ([\d.]+)-([\d.]+) J",
                                            text).groups())
    assert low - 3.0 <= counter <= high + 3.0, line  # the page's range of four runs, +- 1 % of the window
    assert (tmp_path / "run.parquet").is_file()


MEASURING = DOC.parent / "measuring.md"


def test_the_example_loading_another_tools_nvml_polls_prints_what_the_page_says(capsys):
    """docs/measuring.md's 'A trace recorded by another tool' (there was no documented way to load an external
    NVML trace): the shared H200 trace's raw polls become a Trace, attributed, its phases summing to the model
    over the marks' span and agreeing with the counter; the printed line is the page's."""
    csv = SHARED_DATA / "h200-nvml-trace" / "nvml_trace.csv"
    if not csv.is_file():
        pytest.skip(f"{csv} is absent (ENERGYLENS_SHARED_DATA)")
    blocks = re.findall(r"```python\n(.*?)```", MEASURING.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "# load another tool's NVML polls" in b]
    code = code.replace('"shared/data/h200-nvml-trace/nvml_trace.csv"', repr(str(csv)))
    exec(compile(code, str(MEASURING), "exec"), {"__name__": "__doc_example__"})
    line = capsys.readouterr().out.strip()
    text = " ".join(MEASURING.read_text().split())
    page = re.search(r"It printed `(idle [^`]*)`", text)
    assert page and line == page[1], line
    numbers = [float(x) for x in re.findall(r"([\d.]+) J", line)]
    idle, load, total, counter = numbers
    assert total == pytest.approx(idle + load, abs=0.11) and total == pytest.approx(counter, rel=0.005)
