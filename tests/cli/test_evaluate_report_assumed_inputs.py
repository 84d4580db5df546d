"""``energylens evaluate PROFILES --report DIR`` on an ML.ENERGY export (or the bundled rows) notes on stderr that
``input_tokens`` are assumed per task, not measured (prefill energy and TTFT rest on them), but report.md did not:
read later, its figures on the ML.ENERGY v3 H100 export gave no hint that every row's prompt length (gpqa 300,
sourcegraph-fim 1500, video-chat 572-4156 ...) was an assumption. The report now carries the same note; profiles
with measured lengths get none."""
from __future__ import annotations

from energylens.cli import main
from energylens.profiles.datasets import mlenergy_v2

RUN = ["--splits", "random", "--repeats", "1", "--methods", "energylens", "--no-progress"]


def test_the_report_says_what_stderr_says_of_assumed_input_lengths(tmp_path, capsys):
    report = tmp_path / "rep"
    assert main(["evaluate", "bundled", *RUN, "--report", str(report)]) == 0
    err = capsys.readouterr().err
    note = next(line for line in err.splitlines() if "input_tokens of" in line)
    said = note.split("note: ", 1)[1]
    assert "assumed per task" in said
    assert said in (report / "report.md").read_text()


def test_measured_input_lengths_get_no_note(tmp_path, capsys):
    frame = mlenergy_v2().drop(columns=["input_tokens_nominal"])
    csv = tmp_path / "p.csv"
    frame.to_csv(csv, index=False)
    report = tmp_path / "rep"
    assert main(["evaluate", str(csv), *RUN, "--report", str(report)]) == 0
    assert "assumed per task" not in capsys.readouterr().err
    assert "assumed per task" not in (report / "report.md").read_text()
