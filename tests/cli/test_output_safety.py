"""Outputs never destroy what a user has: a report folder is replaced only when it is empty or an earlier
energylens report (never one holding the command's inputs, other outputs or the current folder, checked
before the work); no output may be any input (--prior, --gpu-table, --candidates included); replacing an
existing output file is said on stderr."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

import energylens.cli.demo as demo_cmd
from energylens.cli.main import main
from energylens.errors import OutputError
from energylens.outputs import REPORT_MARKER, atomic_dir, check_report_dir
from energylens.profiles.datasets import mlenergy_v2

GPU_TABLE = Path(__file__).resolve().parents[2] / "python" / "energylens" / "data" / "gpus.csv"
EVALUATE = ["--no-progress", "--repeats", "1", "--splits", "random", "--methods", "energylens"]
EVALUATE_REPORT = {"report.md": "# energylens evaluation", "results.csv": "", "summary.csv": ""}


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prof") / "p.csv"
    mlenergy_v2().head(80).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory, profiles) -> Path:
    path = tmp_path_factory.mktemp("model") / "m.json"
    assert main(["fit", str(profiles), "-o", str(path), "--bootstrap", "0"]) == 0
    return path


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _user_folder(tmp_path: Path, profiles: Path, with_input: bool) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep\n")
    if with_input:
        (folder / "profiles.csv").write_bytes(profiles.read_bytes())
    return folder


# -- evaluate --report: the audit's repro (the folder, the input inside it and the user's notes were deleted)

def test_evaluate_refuses_a_report_folder_holding_its_input(tmp_path, profiles, capsys):
    folder = _user_folder(tmp_path, profiles, with_input=True)
    before = _digest(folder)
    rc = main(["evaluate", str(folder / "profiles.csv"), *EVALUATE, "--report", str(folder)])
    err = capsys.readouterr().err
    assert rc == 2
    assert str(folder) in err and "profiles.csv" in err and "input" in err and "Traceback" not in err
    assert _digest(folder) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine.")]  # nothing left aside


def test_evaluate_refuses_a_folder_of_user_files_before_any_work(tmp_path, profiles, capsys):
    folder = _user_folder(tmp_path, profiles, with_input=False)
    before = _digest(folder)
    rc = main(["evaluate", str(profiles), *EVALUATE, "--report", str(folder)])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""  # refused before the evaluation ran
    assert str(folder) in captured.err and "notes.txt" in captured.err and "empty or new folder" in captured.err
    assert _digest(folder) == before


def test_evaluate_refuses_the_current_folder_up_front(tmp_path, profiles, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for report in (".", str(tmp_path.parent)):
        rc = main(["evaluate", str(profiles), *EVALUATE, "--report", report])
        captured = capsys.readouterr()
        assert rc == 2 and captured.out == "", captured.err
        assert "current folder" in captured.err and "busy" not in captured.err
    assert list(tmp_path.iterdir()) == []


def test_evaluate_refuses_a_folder_holding_a_gpu_table(tmp_path, profiles, capsys):
    folder = tmp_path / "rep"
    folder.mkdir()
    (folder / "gpus.csv").write_bytes(GPU_TABLE.read_bytes())
    rc = main(["evaluate", str(profiles), *EVALUATE, "--gpu-table", str(folder / "gpus.csv"), "--report", str(folder)])
    assert rc == 2 and "gpus.csv" in capsys.readouterr().err
    assert (folder / "gpus.csv").read_bytes() == GPU_TABLE.read_bytes()


def test_evaluate_replaces_its_own_earlier_report_and_says_so(tmp_path, profiles, capsys):
    folder = tmp_path / "rep"
    folder.mkdir()  # an empty folder may be written to
    assert main(["evaluate", str(profiles), *EVALUATE, "--report", str(folder)]) == 0
    assert "replaced" not in capsys.readouterr().err
    marker = (folder / REPORT_MARKER).read_text().splitlines()
    assert {"report.md", "results.csv", "summary.csv"} <= set(marker[1:])
    (folder / "report.md").write_text("# energylens evaluation\nstale\n")
    assert main(["evaluate", str(profiles), *EVALUATE, "--report", str(folder)]) == 0
    assert f"replaced the earlier report in {folder}" in capsys.readouterr().err
    assert "stale" not in (folder / "report.md").read_text()
    (folder / "mine.txt").write_text("added by the user")  # now no longer only energylens's files
    assert main(["evaluate", str(profiles), *EVALUATE, "--report", str(folder)]) == 2
    assert "mine.txt" in capsys.readouterr().err and (folder / "mine.txt").exists()


# -- discover --report and -o

def test_discover_refuses_a_folder_of_user_files_or_holding_its_output(tmp_path, profiles, capsys):
    folder = _user_folder(tmp_path, profiles, with_input=False)
    before = _digest(folder)
    assert main(["discover", str(profiles), "-o", str(tmp_path / "d.json"), "--report", str(folder)]) == 2
    assert "notes.txt" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["discover", str(profiles), "-o", str(empty / "d.json"), "--report", str(empty)]) == 2
    assert "d.json" in capsys.readouterr().err
    assert _digest(folder) == before and list(empty.iterdir()) == []


def test_discover_says_it_replaced_its_default_output(tmp_path, profiles, capsys, monkeypatch):
    pytest.importorskip("pyoperon")
    monkeypatch.chdir(tmp_path)
    run = ["discover", str(profiles), "--time-budget", "1", "--generations", "2", "--population", "20",
           "--max-complexity", "8", "--quiet", "--report", "rep"]
    assert main(run) == 0
    captured = capsys.readouterr()
    assert "wrote discovered.json" in captured.out and "replaced" not in captured.err
    assert (tmp_path / "rep" / REPORT_MARKER).is_file()
    assert main(run) == 0
    err = capsys.readouterr().err
    assert "replaced existing discovered.json" in err and "replaced the earlier report in rep" in err


# -- demo --report

def test_demo_checks_its_report_folder_before_any_work(tmp_path, profiles, capsys, monkeypatch):
    monkeypatch.setattr(demo_cmd, "require_extra", lambda *a, **k: None)
    folder = _user_folder(tmp_path, profiles, with_input=False)
    with pytest.raises(OutputError, match="notes.txt"):
        demo_cmd.run_demo(report_dir=str(folder))
    assert capsys.readouterr().out == ""
    assert (folder / "notes.txt").read_text() == "keep\n"


# -- outputs written over inputs

@pytest.mark.parametrize("case", ["prior", "gpu_table"])
def test_fit_refuses_to_write_over_its_prior_or_gpu_table(tmp_path, profiles, model, capsys, case):
    target = tmp_path / ("pr.json" if case == "prior" else "gtab.csv")
    target.write_bytes(model.read_bytes() if case == "prior" else GPU_TABLE.read_bytes())
    before = target.read_bytes()
    extra = ["--prior", str(target)] if case == "prior" else ["--gpu-table", str(target)]
    rc = main(["fit", str(profiles), "-o", str(target), "--bootstrap", "0", *extra])
    assert rc == 2 and "also an input of the command" in capsys.readouterr().err
    assert target.read_bytes() == before


def test_predict_refuses_to_write_over_its_gpu_table(tmp_path, profiles, model, capsys):
    target = tmp_path / "gtab2.csv"
    target.write_bytes(GPU_TABLE.read_bytes())
    rc = main(["predict", str(model), str(profiles), "-o", str(target), "--gpu-table", str(target)])
    assert rc == 2 and "also an input of the command" in capsys.readouterr().err
    assert target.read_bytes() == GPU_TABLE.read_bytes()


def test_search_refuses_a_plot_over_its_candidates(tmp_path, capsys):
    cands = tmp_path / "c.csv"
    cands.write_text("model,gpu\nx,y\n")
    rc = main(["search", "--candidates", str(cands), "--plot", str(cands)])
    assert rc == 2 and "also an input of the command" in capsys.readouterr().err
    assert cands.read_text() == "model,gpu\nx,y\n"


# -- replacing an existing output file is said

def test_fit_and_predict_say_when_they_replace_an_existing_file(tmp_path, profiles, model, capsys):
    out = tmp_path / "m.json"
    assert main(["fit", str(profiles), "-o", str(out), "--bootstrap", "0"]) == 0
    assert "replaced" not in capsys.readouterr().err
    assert main(["fit", str(profiles), "-o", str(out), "--bootstrap", "0"]) == 0
    assert f"replaced existing {out}" in capsys.readouterr().err
    table = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(profiles), "-o", str(table)]) == 0
    assert "replaced" not in capsys.readouterr().err
    assert main(["predict", str(model), str(profiles), "-o", str(table)]) == 0
    assert f"replaced existing {table}" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fit", "predict", "monitor", "search", "discover"])
def test_a_file_the_command_did_not_write_is_not_replaced(tmp_path, profiles, model, capsys, command):
    """fit -o README, predict -o my_measurements.csv: the user's file was replaced (with a note on stderr after
    it was gone); each command now replaces only what it writes itself (a model, a predict table, a trace,
    a plot, an energylens JSON) and refuses anything else before any work."""
    mine = tmp_path / {"fit": "notes.json", "predict": "mine.csv", "monitor": "mine.parquet", "search": "mine.png",
                       "discover": "notes.json"}[command]
    if command == "predict":
        mine.write_bytes(profiles.read_bytes())  # a copy of the measurements: a table, without energy_j_pred
    elif command == "monitor":
        mlenergy_v2().head(3).to_parquet(mine)  # a Parquet file that is not a trace
    else:
        mine.write_text("my own notes\n")
    before = mine.read_bytes()
    argv = {"fit": ["fit", str(profiles), "-o", str(mine), "--bootstrap", "0"],
            "predict": ["predict", str(model), str(profiles), "-o", str(mine)],
            "monitor": ["monitor", "--source", "synthetic", "--duration", "0.2", "-o", str(mine)],
            "search": ["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H100", "--input-tokens",
                       "512", "--output-tokens", "256", "--tp", "1", "--max-num-seqs", "8", "--plot", str(mine)],
            "discover": ["discover", str(profiles), "-o", str(mine)]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{mine}: exists and is not" in err and "refusing to replace it" in err
    assert mine.read_bytes() == before


def test_fit_and_discover_do_not_replace_each_others_output(tmp_path, profiles, model, capsys):
    """discover -o model.json replaced a fitted model ("replaced existing model.json"), which predict then
    refused as a discovery result; each command now replaces only its own kind of energylens JSON."""
    fitted = tmp_path / "model.json"
    fitted.write_bytes(model.read_bytes())
    assert main(["discover", str(profiles), "--time-budget", "1", "-o", str(fitted)]) == 2
    err = capsys.readouterr().err
    assert f"{fitted}: exists and is not a discovery result" in err and "refusing to replace it" in err
    assert fitted.read_bytes() == model.read_bytes()
    found = tmp_path / "found.json"
    found.write_text('{"format": "energylens.discovery", "version": 1}\n')
    assert main(["fit", str(profiles), "-o", str(found), "--bootstrap", "0"]) == 2
    assert f"{found}: exists and is not an energylens model file" in capsys.readouterr().err
    assert main(["fit", str(profiles), "-o", str(fitted), "--bootstrap", "0"]) == 0  # its own: replaced
    assert "replaced existing" in capsys.readouterr().err


def test_predict_on_its_own_output_replaces_the_old_predictions(tmp_path, profiles, model, capsys):
    first, second = tmp_path / "p.csv", tmp_path / "p2.csv"
    assert main(["predict", str(model), str(profiles), "-o", str(first)]) == 0
    assert main(["predict", str(model), str(first), "-o", str(second)]) == 0  # wrote duplicate columns
    assert "already has prefill_energy_j_pred" in capsys.readouterr().err
    a, b = pd.read_csv(first), pd.read_csv(second)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b)
    assert main(["predict", str(model), str(second), "-o", str(tmp_path / "p3.csv")]) == 0  # and it reads back


# -- energylens.outputs directly

def test_check_report_dir_accepts_new_empty_and_earlier_reports(tmp_path):
    check_report_dir(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_report_dir(tmp_path / "empty")
    with atomic_dir(tmp_path / "ours") as tmp:
        (tmp / "report.md").write_text("x")
    check_report_dir(tmp_path / "ours")
    legacy = tmp_path / "legacy"  # written before the marker existed: only report files, the page ours
    legacy.mkdir()
    (legacy / "report.md").write_text("# energylens evaluation\n\n...")
    (legacy / "results.csv").write_text("a\n")
    check_report_dir(legacy, known=EVALUATE_REPORT)
    (legacy / "report.md").write_text("# my own notes\n")
    with pytest.raises(OutputError, match="report.md"):
        check_report_dir(legacy, known=EVALUATE_REPORT)


def test_check_report_dir_refuses_a_link_and_a_forged_marker(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(OutputError, match="symbolic link"):
        check_report_dir(tmp_path / "link")
    (real / REPORT_MARKER).write_text("not ours\n")
    (real / "data.csv").write_text("1\n")
    with pytest.raises(OutputError, match="data.csv"):
        check_report_dir(real)


def test_atomic_dir_keeps_a_folder_that_changed_during_the_work(tmp_path):
    target = tmp_path / "rep"
    with atomic_dir(target) as tmp:
        (tmp / "report.md").write_text("first")
    with pytest.raises(OutputError, match="rep.new"):
        with atomic_dir(target) as tmp:
            (tmp / "report.md").write_text("second")
            (target / "notes.txt").write_text("written while the report was built")
    assert (target / "notes.txt").exists() and (target / "report.md").read_text() == "first"
    assert (tmp_path / "rep.new" / "report.md").read_text() == "second"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert os.access(tmp_path / "rep.new", os.R_OK | os.X_OK)


def test_monitor_keeps_an_earlier_trace_unless_forced(tmp_path, capsys):
    """A trace cannot be recorded again: monitor refuses an existing one at -o before sampling (exit 2, the file
    untouched) and replaces it, saying so, only with --force."""
    out = tmp_path / "t.parquet"
    argv = ["monitor", "--source", "synthetic", "--duration", "0.3", "--interval", "0.1", "-o", str(out)]
    assert main(argv) == 0
    assert "replaced" not in capsys.readouterr().err
    before = out.read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr()
    assert "a trace exists there" in err.err and "--force" in err.err and "sampled" not in err.out
    assert out.read_bytes() == before
    assert main([*argv, "--force"]) == 0
    assert f"replaced existing {out}" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fit", "predict"])
def test_a_closed_pipe_on_stdout_still_writes_the_outputs(tmp_path, profiles, model, command):
    """`energylens fit ... | head`: the reader is gone before the first line (unbuffered, so every print
    meets the broken pipe); the command still writes its file, exits 0 and prints no traceback."""
    import subprocess
    import sys

    out = tmp_path / ("m.json" if command == "fit" else "pred.csv")
    argv = (["fit", str(profiles), "-o", str(out), "--bootstrap", "0"] if command == "fit"
            else ["predict", str(model), str(profiles), "-o", str(out)])
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has already quit
    try:
        proc = subprocess.run([sys.executable, "-m", "energylens.cli.main", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                              timeout=300)
    finally:
        os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert out.is_file() and out.stat().st_size > 0


def test_predict_says_which_configurations_cannot_fit_in_memory(tmp_path, model, capsys):
    """70B bf16 on one 80 GB H100 was predicted without a word; the search's memory check, per row now: does not
    fit at TP 1, fits at TP 2 with a small batch, not at TP 2 with 256 sequences of 768 tokens."""
    rows = pd.DataFrame([dict(model="meta-llama/Llama-3.1-70B-Instruct", params_b=70.6, gpu="H100", tp=tp, pp=1,
                              batch_size=b, input_tokens=512, output_tokens=256) for tp, b in ((1, 8), (2, 8), (2, 256))])
    rows.to_csv(tmp_path / "c.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "c.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert "1 of 3 rows of" in err and "for their weights, runtime reserve and one whole sequence" in err and "(data row 1;" in err
    assert "hold a running batch whose KV cache does not fit" in err and "data row 3;" in err  # (read "data rows 3")
    assert "data rows 1;" not in err and "data rows 3;" not in err
    out = pd.read_csv(tmp_path / "p.csv")
    assert out["fits_memory"].tolist() == [False, True, False]
    weights_gib = 70.6e9 * 2 / 2**30  # bf16: the whole model on one GPU, half on each of two
    assert out["gpu_memory_gib"][0] > weights_gib and weights_gib / 2 < out["gpu_memory_gib"][1] < 0.9 * 80


def test_predict_says_a_sequence_too_long_for_the_memory_would_not_start(tmp_path, model, capsys):
    """Weights fit (70B on two H100s) but one 400k-token sequence's KV cache does not: vLLM would refuse it,
    not run a smaller batch."""
    rows = pd.DataFrame([dict(model="meta-llama/Llama-3.1-70B-Instruct", params_b=70.6, gpu="H100", tp=2, pp=1,
                              batch_size=1, input_tokens=400_000, output_tokens=256)])
    rows.to_csv(tmp_path / "c.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "c.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert "weights, runtime reserve and one whole sequence" in err and "running batch" not in err


def test_predict_says_which_configurations_vllm_would_refuse(tmp_path, model, capsys):
    """predict applied the memory check but not the search's other two: a prompt beyond the context window
    (Llama 3.1: 131072 tokens) and Qwen3-235B-A22B-FP8 at TP 8 without EP (expert shards of 192 columns,
    blocks of 128: vLLM stops loading); TP 8 + EP 8 loads; an unknown model is NA, not a guess."""
    rows = pd.DataFrame([dict(model=m, params_b=p, gpu="H100", tp=tp, pp=1, ep=ep, batch_size=8, input_tokens=li,
                              output_tokens=256, precision=prec)
                         for m, p, tp, ep, li, prec in (
                             ("meta-llama/Llama-3.1-70B-Instruct", 70.6, 4, 1, 200_000, "bf16"),
                             ("meta-llama/Llama-3.1-70B-Instruct", 70.6, 4, 1, 100_000, "bf16"),
                             ("Qwen/Qwen3-235B-A22B-FP8", 235.1, 8, 1, 512, "fp8"),
                             ("Qwen/Qwen3-235B-A22B-FP8", 235.1, 8, 8, 512, "fp8"),
                             ("acme/unknown-13b", 13.0, 1, 1, 512, "fp8"))])
    rows.to_csv(tmp_path / "c.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "c.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert "1 of 5 rows of" in err and "longer (input + output tokens) than the model's context window" in err
    assert "(data row 1; column fits_context)" in err and "(data row 3; column fits_fp8_blocks)" in err
    out = pd.read_csv(tmp_path / "p.csv", dtype={"fits_context": "boolean", "fits_fp8_blocks": "boolean"})
    assert out["fits_context"].tolist() == [False, True, True, True, pd.NA]
    assert out["fits_fp8_blocks"].tolist() == [pd.NA, pd.NA, False, True, pd.NA]


def test_predict_announces_its_stages_on_a_large_table(tmp_path, model, capsys, monkeypatch):
    import energylens.cli.predict as predict_cmd

    monkeypatch.setattr(predict_cmd, "STAGE_ROWS", 3)
    rows = mlenergy_v2().head(4)
    rows.to_csv(tmp_path / "c.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "c.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    stages = [line for line in err.splitlines() if line.endswith("(4 rows) ...")]
    assert [s.split(": ", 1)[1].split(" (")[0] for s in stages] == [
        "predicting", "checking memory, context window, fp8 weight blocks and layout", f"writing {tmp_path / 'p.csv'}"]
