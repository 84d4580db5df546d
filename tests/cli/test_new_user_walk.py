"""Findings of a new user's walk through the documented commands (2026-12-05): each test failed before its fix.

Run in-process through ``energylens.cli.main.main``, as the bad-input harness does.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data_paths import SPLITWISE, V3
from energylens import _core
from energylens.cli.main import main as cli_main
from energylens.cli.options import note_assumed_inputs
from energylens.profiles.datasets import mlenergy_v2


def test_monitor_duration_that_is_not_a_number_names_the_expectation(capsys):
    """`--duration abc` said "invalid _positive value: 'abc'": the name of a private function."""
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        cli_main(["monitor", "--source", "synthetic", "--duration", "abc"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --duration: expected a number of seconds, got 'abc'" in err
    assert "_positive" not in err


def test_monitor_force_without_output_is_an_error(tmp_path, capsys, monkeypatch):
    """`--force` without `-o` sampled and exited 0: the option did nothing (no trace is saved without -o)."""
    monkeypatch.chdir(tmp_path)
    assert cli_main(["monitor", "--source", "synthetic", "--duration", "0.1", "--force"]) == 2
    captured = capsys.readouterr()
    assert "--force replaces an earlier trace at -o FILE" in captured.err
    assert "sampled" not in captured.out  # refused before sampling
    assert list(tmp_path.iterdir()) == []


def test_fit_on_the_bundled_data_says_its_input_lengths_are_assumed(tmp_path, capsys):
    """The ML.ENERGY exports record no prompt lengths; `fit`, `predict` and `evaluate` used the readers' per-task
    assumptions without a word (only `demo` said so), while prefill energy and TTFT scale with them."""
    assert cli_main(["fit", "bundled", "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    err = capsys.readouterr().err
    assert "energylens fit: note: input_tokens of all 356 rows of bundled are assumed per task" in err
    assert "chat 140, " in err and "code 130" in err  # the values as read, per task
    assert "image and video rows" in err  # image-chat rows add the model's image tokens


def test_v3_export_says_its_input_lengths_are_assumed_and_a_given_column_is_not(tmp_path, capsys):
    """A v3 export's `input_tokens` column overrides the assumption row by row: only the blank rows are named."""
    if not V3.exists():
        pytest.skip(f"needs the shared ML.ENERGY v3 rows ({V3})")
    raw = pd.read_csv(V3)
    raw = raw[raw["task"] == "gpqa"].head(30).copy()
    raw["input_tokens"] = [512.0] * 20 + [None] * 10
    path = tmp_path / "v3.csv"
    raw.to_csv(path, index=False)
    assert cli_main(["fit", "bundled", "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    capsys.readouterr()
    assert cli_main(["predict", str(tmp_path / "m.json"), str(path), "-o", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err
    assert f"input_tokens of 10 of 30 rows of {path} are assumed per task, not measured" in err
    assert "gpqa 300" in err and "image and video" not in err


def test_a_measured_table_gets_no_note_on_input_lengths(capsys):
    """Rows without the readers' flags (a sweep's, the user's own table) are measured: nothing is said."""
    note_assumed_inputs(pd.DataFrame({"input_tokens": [512.0]}), "p.csv", "fit")
    note_assumed_inputs(pd.DataFrame({"input_tokens": [512.0], "input_tokens_assumed": [False]}), "p.csv", "fit")
    assert capsys.readouterr().err == ""


def test_demo_repeats_with_no_compare_is_an_error(tmp_path, capsys, monkeypatch):
    """`demo --no-compare --repeats 3` ran and ignored --repeats (the repeats of the comparison it skipped), while
    `--no-compare --report DIR` was already refused."""
    monkeypatch.chdir(tmp_path)
    assert cli_main(["demo", "--no-compare", "--repeats", "3"]) == 2
    captured = capsys.readouterr()
    assert "--repeats is an option of the closing comparison, which --no-compare skips" in captured.err
    assert captured.out == ""  # refused before the fit


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate", "discover"])
def test_profiles_help_names_every_input_the_readers_take(command, capsys):
    """The PROFILES help of fit / evaluate / discover (and predict's CONFIGS) named a schema-v1 table, a v2 CSV and
    'bundled' only, while each also reads an ML.ENERGY v3 export and a sweep's store folder (README, "Using it")."""
    with pytest.raises(SystemExit):
        cli_main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "v3 export" in text and "store folder" in text, text


def test_discover_help_explains_target_and_backend_and_its_table_its_marks(tmp_path, capsys):
    """`--target` and `--backend` had no help, and the front's 'T' and '*' marks were not explained."""
    pytest.importorskip("pyoperon", reason="discover's default backend (pip install 'energylens[sr]')")
    with pytest.raises(SystemExit):
        cli_main(["discover", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "log(energy_j / template)" in text and "operon (pyoperon" in text
    out = tmp_path / "d.json"
    assert cli_main(["discover", "bundled", "--generations", "10", "--quiet", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    chosen = json.loads(out.read_text())["chosen"]
    assert f"*: the chosen expression ({chosen}: the lowest cross-validated error" in printed


def test_evaluate_worst_tasks_are_not_padded_to_the_width_of_group_labels(capsys):
    """Every worst-list label was padded to 70 characters: 'code' was followed by 66 spaces before its MAPE."""
    assert cli_main(["evaluate", "bundled", "--repeats", "1", "--splits", "random", "--methods", "energylens",
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    tasks = out.split("worst tasks")[1].split("\n\n")[0].splitlines()[1:]
    assert tasks and all(line.index("MAPE") <= len("  image-chat  ") for line in tasks), tasks


@pytest.fixture(scope="module")
def bundled_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.json"
    assert cli_main(["fit", "bundled", "-o", str(path), "--bootstrap", "0"]) == 0
    return path


def test_predict_names_the_output_rows_of_a_table_its_reader_rebuilt(tmp_path, bundled_model, capsys):
    """A Splitwise table's repeats are averaged (1260 lines, 152 rows): "data rows 7, 8, ... of perf_model.csv"
    named lines of the file that held other configurations. The rows listed are the output's."""
    if not SPLITWISE.exists():
        pytest.skip(f"needs the shared Splitwise table ({SPLITWISE})")
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert cli_main(["predict", str(bundled_model), str(SPLITWISE), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "column fits_context" in x)
    assert f"rows of {SPLITWISE} as read (a Splitwise table, its repeats averaged: the data rows are the output's)" \
        in line
    listed = line.split("(data rows ")[1].split(";")[0].replace(" ...", "").split(", ")
    too_long = pd.read_csv(out)["fits_context"].eq(False).to_numpy().nonzero()[0] + 1
    assert [int(r) for r in listed] == too_long[:10].tolist()


def test_predict_on_a_schema_table_names_the_file_and_one_row_in_the_singular(tmp_path, bundled_model, capsys):
    """A schema-v1 file's rows are its data rows (named as before); one row was "wrote 1 rows"."""
    configs = tmp_path / "c.csv"
    configs.write_text("model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens\n"
                       "meta-llama/Llama-3.1-8B-Instruct,8,H100,1,1,64,100000,100000\n")
    capsys.readouterr()
    assert cli_main(["predict", str(bundled_model), str(configs), "-o", str(tmp_path / "o.csv")]) == 0
    captured = capsys.readouterr()
    assert f"1 of 1 rows of {configs} are longer" in captured.err and "as read" not in captured.err
    assert f"wrote 1 row to {tmp_path / 'o.csv'}" in captured.out


@pytest.mark.parametrize("argv", [
    ["fit", "bundled", "--bootstrap", "0", "-o"],
    ["predict", "{model}", "bundled", "-o"],
    ["discover", "bundled", "--quiet", "--generations", "5", "-o"],
    ["monitor", "--source", "synthetic", "--duration", "0.1", "-o"],
])
def test_a_file_output_named_like_a_folder_is_refused(argv, tmp_path, bundled_model, capsys):
    """`-o runs/` wrote a file named `runs` (the trailing '/' dropped) and said "wrote runs/"."""
    argv = [a.replace("{model}", str(bundled_model)) for a in argv] + [f"{tmp_path / 'out'}/"]
    capsys.readouterr()
    assert cli_main(argv) == 2
    assert "ends in '/', which names a folder, but this writes a file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_fit_says_when_a_sweeps_energies_came_from_a_test_power_source(tmp_path, capsys):
    """Rows of `energylens profile --power-source synthetic` (a square wave) carry energy_measured True; `fit` fitted
    the signal and said nothing. Rows measured otherwise (nvml) get no note."""
    rows = mlenergy_v2().head(20).assign(power_source=["synthetic:300"] * 15 + ["nvml"] * 5)
    path = tmp_path / "p.csv"
    rows.to_csv(path, index=False)
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    err = capsys.readouterr().err
    assert (f"energylens fit: note: energy_j of 15 of 20 rows of {path} comes from power source synthetic:300 "
            "(energylens profile --power-source)") in err
    assert cli_main(["predict", str(tmp_path / "m.json"), str(path), "-o", str(tmp_path / "o.csv")]) == 0
    assert "power source" not in capsys.readouterr().err  # predict does not use energy_j


def test_fit_says_why_it_fitted_no_latency_model_and_names_a_latency_column_it_did_not_read(tmp_path, capsys):
    """Profiles with TPOT as `tpot_ms` fitted the energy model alone, said nothing of latency, and predict then gave
    no TTFT / TPOT; the column was ignored without a word."""
    rows = mlenergy_v2().head(40)
    rows = rows[["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j"]]
    path = tmp_path / "p.csv"
    rows.assign(tpot_ms=mlenergy_v2().head(40)["tpot_s"] * 1000).to_csv(path, index=False)
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "latency model: not fitted: no ttft_s / tpot_s measurements" in out
    assert "column 'tpot_ms' is not read" in out
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0", "--no-latency"]) == 0
    assert "latency model" not in capsys.readouterr().out  # asked for: nothing to explain


def test_profile_help_states_its_exit_statuses(capsys):
    """A sweep with failed units exits 3, which neither --help nor the docs said."""
    with pytest.raises(SystemExit):
        cli_main(["profile", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "3 when some failed" in text


def test_evaluate_help_says_a_failed_method_exits_2(capsys):
    """evaluate printed its full table, then exited 2 for a method that failed in some folds; --help did not say."""
    with pytest.raises(SystemExit):
        cli_main(["evaluate", "--help"])
    assert "also when a method failed in some of its fits" in " ".join(capsys.readouterr().out.split())


def test_predict_with_model_and_configs_swapped_says_the_order(tmp_path, bundled_model, capsys):
    """`predict configs.csv model.json` said "configs.csv: not a JSON model file (Expecting value: line 1 column 1
    (char 0))", the JSON parser's words."""
    configs = tmp_path / "c.csv"
    mlenergy_v2().head(3).to_csv(configs, index=False)
    capsys.readouterr()
    assert cli_main(["predict", str(configs), str(bundled_model), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"the order is MODEL first, then CONFIGS: energylens predict {bundled_model} {configs} -o OUTPUT" in err
    assert not (tmp_path / "o.csv").exists()


def test_evaluate_on_profiles_without_tasks_says_so_and_lists_no_blank_task(tmp_path, capsys):
    """A table without `task` (the default --group-by's first column) printed a worst-task list of one blank label
    and group labels starting ' | ', and said nothing of choices now spanning every workload of a (model, GPU)."""
    path = tmp_path / "p.csv"
    mlenergy_v2().drop(columns=["task"]).to_csv(path, index=False)
    assert cli_main(["evaluate", str(path), "--repeats", "1", "--splits", "random", "--methods", "energylens",
                     "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert f"every row of {path} leaves task blank, so the choices are among the rows of one (model, gpu)" \
        in captured.err
    assert "worst tasks" not in captured.out
    groups = captured.out.split("worst groups")[1].splitlines()[1:]
    assert groups and not any(line.lstrip().startswith("|") for line in groups), groups


def test_fit_does_not_call_an_unperturbed_start_value_perturbed(tmp_path, capsys):
    """On the v3 rows (no pp > 1) pp_bubble stays at the template's own start value, 0.5 (the first start is not
    perturbed), and fit said it was "a perturbed start value". One start: the first (since accuracy round 10's
    weight count a perturbed one of three wins on these rows, and pp_bubble is then its value)."""
    if not V3.exists():
        pytest.skip(f"needs the shared ML.ENERGY v3 rows ({V3})")
    out = tmp_path / "m.json"
    assert cli_main(["fit", str(V3), "-o", str(out), "--bootstrap", "0", "--starts", "1"]) == 0
    printed = capsys.readouterr().out
    start = dict(zip(*(lambda d: (d.param_names, d.init))(_core.describe_template("energy")), strict=True))
    assert json.loads(out.read_text())["energy"]["params"]["pp_bubble"] == start["pp_bubble"]
    assert "a perturbed start value" not in printed
    assert "the value is where the fit started it (the template's start value" in printed


@pytest.mark.parametrize(("cells", "named"), [(["yes", ""], 0), ([2.5, 0], 0), ([1, 0], 1), (["True", None], 1)])
def test_a_users_own_flag_column_of_any_type_never_stops_predict(cells, named, tmp_path, bundled_model, capsys):
    """A table carrying its own input_tokens_assumed column ('yes', 2.5) must not end predict in a traceback; only
    true cells are named as assumed."""
    configs = tmp_path / "c.csv"
    pd.DataFrame({"model": ["meta-llama/Llama-3.1-8B-Instruct"] * 2, "params_b": [8.0] * 2, "gpu": ["H100"] * 2,
                  "tp": [1, 1], "pp": [1, 1], "batch_size": [64, 32], "input_tokens": [512, 512],
                  "output_tokens": [256, 256], "input_tokens_assumed": cells}).to_csv(configs, index=False)
    capsys.readouterr()
    assert cli_main(["predict", str(bundled_model), str(configs), "-o", str(tmp_path / "o.csv")]) == 0
    err = capsys.readouterr().err
    assert ("input_tokens of 1 of 2 rows" in err) == bool(named)


def test_a_text_column_named_like_latency_does_not_stop_fit(tmp_path, capsys):
    """The hint for a TTFT/TPOT-like column read it as numbers: a text column `ttft_comment` ended the fit with
    "could not convert string to float"."""
    rows = mlenergy_v2().head(40)[["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens",
                                   "output_tokens", "energy_j"]]
    path = tmp_path / "p.csv"
    rows.assign(ttft_comment="slow").to_csv(path, index=False)
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "latency model: not fitted: no ttft_s / tpot_s measurements" in out and "ttft_comment" not in out


def test_the_assumed_input_note_of_a_one_row_table_reads_as_english(tmp_path, capsys, bundled_model):
    """It read 'input_tokens of 1 of 1 rows of FILE are assumed'."""
    configs = tmp_path / "one.csv"
    pd.DataFrame({"model": ["meta-llama/Llama-3.1-8B-Instruct"], "params_b": [8.0], "gpu": ["H100"], "tp": [1],
                  "pp": [1], "batch_size": [64], "input_tokens": [512], "output_tokens": [256],
                  "input_tokens_assumed": [True]}).to_csv(configs, index=False)
    capsys.readouterr()
    assert cli_main(["predict", str(bundled_model), str(configs), "-o", str(tmp_path / "o.csv")]) == 0
    assert f"note: input_tokens of the row of {configs} is assumed per task" in capsys.readouterr().err
