"""``energylens search`` end to end: the real entry point, the table, JSON, the plot, exit statuses."""

import json
import subprocess
import sys

import pytest

from data_paths import V3 as V3_CSV
from energylens.cli.main import main
from energylens.search.api import bundled_model

ARGS = ["search", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpus", "H100,H200,B200",
        "--input-tokens", "512", "--output-tokens", "256"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.json"
    bundled_model().save(path)
    return str(path)


def test_entry_point_fits_on_bundled_data_and_writes_the_plot(tmp_path):
    plot = tmp_path / "pareto.png"
    proc = subprocess.run([sys.executable, "-m", "energylens.cli.main", *ARGS, "--tpot-limit", "0.1", "--top", "3",
                           "--plot", str(plot)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "fitting the model on the bundled ML.ENERGY v2 data" in proc.stderr
    out = proc.stdout
    assert "searched 108 candidates" in out and "feasible" in out and "tpot_limit" in out
    assert "J/request" in out and "TPOT s" in out and "P(best)" in out and "Energy decided by" in out
    assert len([line for line in out.splitlines() if "Llama-3.1-70B-Instruct" in line and " TP" in line]) >= 3
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_json_output_with_rate(model_file, capsys):
    status = main([*ARGS, "--tpot-limit", "0.1", "--rate", "20", "--model-file", model_file, "--json", "--top", "4"])
    assert status == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "energylens.search" and len(doc["top"]) == 4
    assert doc["settings"]["rate_per_s"] == 20 and doc["model_source"].startswith("model file")
    assert all(row["tpot_s"] <= 0.1 and row["replicas"] >= 1 for row in doc["top"])
    assert sum(doc["rejected"].values()) + doc["feasible"] == doc["candidates"] == 108
    status = main([*ARGS, "--rate", "20", "--max-utilization", "0.5", "--model-file", model_file, "--json", "--top", "1"])
    assert status == 0 and json.loads(capsys.readouterr().out)["settings"]["max_utilization"] == 0.5


def test_empty_result_exits_1_naming_the_reason(model_file, capsys):
    status = main([*ARGS, "--tpot-limit", "0.0001", "--model-file", model_file])
    out, err = capsys.readouterr()
    assert status == 1, err
    assert "most were rejected by tpot_limit" in err
    assert "the lowest predicted TPOT is" in err and "raise --tpot-limit to at least " in err
    assert "0 feasible" in out and "no feasible configuration" not in out  # the reason is said once, on stderr


@pytest.mark.parametrize(("extra", "message"), [
    (["--gpus", "H100,H900"], "unknown GPU 'H900'"),
    (["--tp", "3"], "tp=3 divides the attention heads of none"),
    (["--objective", "carbon"], "carbon_g_per_kwh"),
])
def test_bad_input_exits_2_with_a_clear_message(model_file, capsys, extra, message):
    assert main([*ARGS, "--model-file", model_file, *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("names", "message"), [
    (["--model", "foo/bar-7b"], "a --candidates CSV row may describe it (params_b"),
    (["--gpus", "H100,H900"], "--gpu-table FILE"),
])
def test_unknown_names_stop_before_the_bundled_fit(monkeypatch, capsys, names, message):
    import energylens.search.api as api

    def no_fit():
        raise AssertionError("the bundled model was fitted before the names were checked")

    monkeypatch.setattr(api, "bundled_model", no_fit)
    assert main([*ARGS, *names]) == 2
    err = capsys.readouterr().err
    assert message in err and "fitting the model" not in err


def test_bad_argument_values_are_rejected_at_parse_time(capsys):
    with pytest.raises(SystemExit) as exc:
        main([*ARGS[:5], "--input-tokens", "-5", "--output-tokens", "256"])
    assert exc.value.code == 2 and "expected numbers > 0" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value"), [("--input-tokens", "1,024"), ("--output-tokens", "2,048"),
                                               ("--max-num-seqs", "1,024")])
def test_a_thousands_separator_is_refused_not_read_as_two_points(capsys, option, value):
    argv = [*ARGS[:5], "--input-tokens", "512", "--output-tokens", "256", option, value]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and option in err and "thousands separator" in err
    assert repr(value.replace(",", "")) in err


def test_user_gpu_table(model_file, tmp_path, capsys):
    from energylens.profiles import tables

    table = tmp_path / "gpus.csv"
    table.write_text("name,aliases,vendor,memory_gb,hbm_bw_gbs,peak_bf16_tflops,peak_fp8_tflops,tdp_w,"
                     "interconnect_bw_gbs,source\nX1000,NVIDIA X1000,nvidia,120,5000,1200,2400,800,900,"
                     "https://example.com/x1000\n")
    try:
        status = main([*ARGS[:3], "--gpus", "X1000,H100", *ARGS[5:], "--model-file", model_file,
                       "--gpu-table", str(table), "--json", "--top", "50"])
        captured = capsys.readouterr()
        assert status == 0, captured.err
        assert "1 GPU(s) registered: X1000" in captured.err
        assert {row["gpu"] for row in json.loads(captured.out)["top"]} == {"X1000", "H100-SXM5-80GB"}
    finally:
        tables.clear_user_gpus()


def test_workload_distribution_from_the_cli(model_file, capsys):
    args = ["search", "--model", "llama-3.1-8b", "--gpus", "H100", "--input-tokens", "200,1000,4000",
            "--output-tokens", "100,400,1500", "--workload-weights", "1,2,1", "--tp", "1,2", "--max-num-seqs", "8,64",
            "--model-file", model_file, "--json", "--top", "4"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["candidates"] == 4 and len(doc["top"]) == 4  # one candidate per configuration, not per point


V3 = V3_CSV


@pytest.mark.skipif(not V3.is_file(), reason="ML.ENERGY v3 export not present (development data, never bundled)")
def test_a_measured_v3_export_is_a_candidate_table(model_file, capsys):
    assert main(["search", "--candidates", str(V3), "--tpot-limit", "0.03", "--model-file", model_file, "--json",
                 "--top", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["candidates"] == 405 and len(doc["top"]) == 3
    assert all(r["tpot_s"] <= 0.03 for r in doc["top"])


def test_bootstrap_seed_reaches_the_search_and_bad_seeds_are_refused(model_file, monkeypatch, capsys):
    import energylens.cli.search as cli_search

    seen = {}
    real = cli_search.search

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(cli_search, "search", spy)
    args = ["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H100", "--input-tokens", "512",
            "--output-tokens", "256", "--model-file", str(model_file), "--tp", "1", "--max-num-seqs", "8,16"]
    assert main([*args, "--bootstrap-seed", "7"]) == 0
    assert seen["bootstrap_seed"] == 7
    assert main(args) == 0 and seen["bootstrap_seed"] == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main([*args, "--bootstrap-seed", "-1"])
    assert e.value.code == 2 and "--bootstrap-seed" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"model\tgpu\ttp\tinput_tokens\toutput_tokens\tbatch_size\nmeta-llama/Llama-3.1-8B-Instruct\tH100\t1\t512\t256\t8\n",
     "separated by tabs"),
    (b"model,gpu,tp,input_tokens,output_tokens,batch_size\n", "no data rows"),
    (b"model,gpu,tp,input_tokens,output_tokens,batch_size\nmeta-llama/Llama-3.1-8B-Instruct,H100,1,512,256,8\n"
     b"meta-llama/Llama-3.1-8B-Instruct,H100,0,512,256,8\n", "column 'tp' data row 2 is 0; it must be a whole number"),
    (b"model,gpu,tp,input_tokens,output_tokens,batch_size\nmeta-llama/Llama-3.1-8B-Instruct,H100,1,512,256,8\n"
     b"meta-llama/Llama-3.1-8B-Instruct,H100,1,512,256,8\n", "data rows [1, 2] describe the same configuration"),
    # two tp columns were searched with the first one; a ragged row gave pandas' message without the file
    (b"model,gpu,tp,input_tokens,output_tokens,batch_size,tp\nmeta-llama/Llama-3.1-8B-Instruct,H100,1,512,256,8,8\n",
     "duplicate column header(s) 'tp' (2 times)"),
    (b"model,gpu,tp,input_tokens,output_tokens,batch_size\nmeta-llama/Llama-3.1-8B-Instruct,H100,1,512,256,8\n"
     b"meta-llama/Llama-3.1-8B-Instruct,H100,2,512,256,8,9\n", "could not read the candidate table"),
    # extra fields in the first data row: pandas took the model as an index and shifted every column
    (b"model,gpu,tp,input_tokens,output_tokens,batch_size\nmeta-llama/Llama-3.1-8B-Instruct,H100,1,512,256,8,9,9\n",
     "data row 1 has more fields than the header's 6 columns"),
])
def test_a_bad_candidate_file_is_named_with_its_data_row(model_file, tmp_path, capsys, content, message):
    path = tmp_path / "cands.csv"
    path.write_bytes(content)
    assert main(["search", "--candidates", str(path), "--model-file", model_file]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err and "Traceback" not in err
