"""Bad search inputs are clear errors before any work: whole-number caps, stray commas and booleans, a
pipeline deeper than the model, the plot's format, GPU rows missing what the search needs, the objective
that --carbon / --price select, prices of GPUs not searched or priced twice, gpu_memory_utilization."""

import dataclasses
import json
import math

import pandas as pd
import pytest

import energylens
import energylens.cli.search as cli_search
import energylens.search.api as api
from energylens.cli.main import main
from energylens.outputs import image_file
from energylens.profiles import tables
from energylens.search import build_space
from energylens.search.plot import PLOT_FORMATS

L8 = "meta-llama/Llama-3.1-8B-Instruct"
L70 = "meta-llama/Llama-3.1-70B-Instruct"
ARGS = ["search", "--model", L8, "--gpus", "H100", "--input-tokens", "512", "--output-tokens", "256", "--tp", "1",
        "--max-num-seqs", "8,16"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, model):
    path = tmp_path_factory.mktemp("model") / "model.json"
    model.save(path)
    return str(path)


@pytest.fixture
def no_search(monkeypatch):
    """The search must not run: the error comes before it."""
    def fail(*a, **k):
        raise AssertionError("the search ran before the bad input was refused")
    monkeypatch.setattr(cli_search, "search", fail)


def _search(em, **kw):
    args = {"input_tokens": 512, "output_tokens": 256, "tp": [1], "max_num_seqs": [8], "energy_model": em,
            "bootstrap": False, **kw}
    return energylens.search(args.pop("model", L8), args.pop("gpus", "H100"), **args)


def _cli_error(capsys, argv) -> str:
    """The stderr of a command that must exit 2 (at parse time or with an error line)."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2, err
    return err


# 1. max_num_seqs is a whole number ---------------------------------------------------------------

def test_fractional_max_num_seqs_is_refused(model, capsys, no_search):
    assert "expected comma-separated whole numbers, got '1.5'" in _cli_error(capsys, [*ARGS, "--max-num-seqs", "1.5"])
    with pytest.raises(ValueError, match="max_num_seqs: 1.5 is not a whole number"):
        _search(model, max_num_seqs=[1.5])
    with pytest.raises(ValueError, match="max_num_seqs: 8.5 is not a whole number"):
        build_space(L8, "H100", input_tokens=5, output_tokens=5, max_num_seqs=[8, 8.5])


# 2. empty list items and booleans ---------------------------------------------------------------

@pytest.mark.parametrize(("extra", "message"), [
    (["--tp", "1,,2"], "argument --tp: expected comma-separated whole numbers, got '1,,2' (an empty item"),
    (["--max-num-seqs", "8,"], "argument --max-num-seqs: expected comma-separated whole numbers, got '8,' (an empty"),
    (["--input-tokens", "512,,1024"], "argument --input-tokens: expected comma-separated numbers"),
    (["--gpus", "H100,"], "gpus: empty item in 'H100,' (a stray comma?)"),
    (["--model", f"{L8},"], "models: empty item"),
    (["--precision", "bf16,,fp8"], "precision: empty item"),
])
def test_stray_commas_are_refused(model_file, capsys, extra, message):
    assert message in _cli_error(capsys, [*ARGS, *extra, "--model-file", model_file])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tp": True}, "tp: True is a boolean"),
    ({"max_num_seqs": [8, True]}, "max_num_seqs: True is a boolean"),
    ({"input_tokens": True}, "input_tokens: True is a boolean"),
    ({"rate_per_s": True}, "rate_per_s must be a finite number > 0, got True"),
    ({"tpot_limit_s": True}, "tpot_limit_s must be a finite number > 0, got True"),
    ({"top": True}, "top must be a whole number >= 1, got True"),
    ({"gpu_memory_utilization": True}, "gpu_memory_utilization must be a finite number in"),
    ({"objective": "carbon", "carbon_g_per_kwh": True}, "carbon_g_per_kwh must be a finite number > 0, got True"),
    ({"objective": "cost", "price_per_gpu_hour": True}, "price_per_gpu_hour for every GPU: True is not a number"),
    ({"workload_weights": [True]}, "workload_weights: True is a boolean"),
])
def test_booleans_are_not_numbers(model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _search(model, **kwargs)


# 3. a pipeline stage needs a layer --------------------------------------------------------------

def test_pp_above_the_layer_count_is_refused(model, capsys):
    with pytest.raises(ValueError, match=r"pp=33 exceeds the 32 layers of meta-llama/.*Llama-3.1-8B-Instruct"):
        _search(model, pp=[1, 33])
    _search(model, pp=[32], max_num_seqs=[1])  # one layer per stage is allowed
    # several models: the axis must suit each of them (a candidate-level rejection would need the engine)
    with pytest.raises(ValueError, match=r"pp=40 exceeds the 32 layers of .*8B"):
        _search(model, model=[L70, L8], pp=[40])
    assert "pp=33 exceeds the 32 layers" in _cli_error(capsys, [*ARGS, "--pp", "33"])


def test_a_candidate_row_deeper_than_its_model_is_refused(model):
    rows = pd.DataFrame({"model": [L8, L8], "gpu": "H100", "tp": 1, "pp": [2, 33], "input_tokens": 512,
                         "output_tokens": 256, "max_num_seqs": 8})
    with pytest.raises(ValueError, match=r"row 1 \(0-based\) has pp=33, more than the 32 layers"):
        energylens.search(candidates=rows, energy_model=model, bootstrap=False)
    rows["n_layers"] = [32, 40]  # a row's own architecture decides
    assert energylens.search(candidates=rows, energy_model=model, bootstrap=False).candidates == 2


# 4. the plot's format, before the search -------------------------------------------------------

@pytest.mark.parametrize(("name", "message"), [("p.txt", "extension .txt is not a plot format"),
                                               ("p", "has no file extension"),
                                               ("p.pgf", "extension .pgf is not a plot format"),  # needs LaTeX
                                               ("p.raw", "extension .raw is not a plot format")])  # no header
def test_plot_path_is_checked_before_the_search(capsys, tmp_path, no_search, name, message):
    err = _cli_error(capsys, [*ARGS, "--plot", str(tmp_path / name)])
    assert message in err and ".png" in err and ".pdf" in err and ".svg" in err
    assert not (tmp_path / name).exists()


def test_python_plot_refuses_a_path_without_a_format(model, tmp_path):
    r = _search(model)
    with pytest.raises(ValueError, match="has no file extension"):
        r.plot(str(tmp_path / "p"))
    assert not (tmp_path / "p").exists()
    assert open(r.plot(str(tmp_path / "p.SVG")), "rb").read(5) in (b"<?xml", b"<svg ")


@pytest.mark.parametrize("suffix", PLOT_FORMATS)
def test_every_plot_format_is_written_and_replaced_by_a_rerun(capsys, tmp_path, suffix):
    """.eps, .tif, .webp, .gif ... were written once and then refused as "not an image" on the re-run."""
    path = tmp_path / f"p.{suffix}"
    argv = ["search", *ARGS[1:], "--plot", str(path)]
    assert main(argv) == 0 and image_file(path)
    capsys.readouterr()
    assert main(argv) == 0
    assert f"replaced existing {path}" in capsys.readouterr().err


# 5. GPU rows missing what the search needs ------------------------------------------------------

def test_gpu_table_row_without_memory_is_named(model_file, tmp_path, capsys):
    table = tmp_path / "g4.csv"
    table.write_text("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\nNoMem,2000,400,500,400\n")
    try:
        err = _cli_error(capsys, [*ARGS[:3], "--gpus", "NoMem", *ARGS[5:], "--gpu-table", str(table),
                                  "--model-file", model_file])
    finally:
        tables.clear_user_gpus()
    assert (f"GPU 'NoMem' (from {table}) has no memory_gb: the search needs it for the memory check; add it to "
            "NoMem's row there") in err
    assert "memory_bytes" not in err


@pytest.mark.parametrize("field", ["memory_gb", "hbm_bw_gbs", "tdp_w", "interconnect_bw_gbs"])
def test_gpu_spec_without_a_needed_field_is_named(model, field):
    spec = dataclasses.replace(tables.gpu_spec("H100"), name="Partial", aliases=(), **{field: math.nan})
    try:
        with pytest.raises(ValueError, match=f"GPU 'Partial' has no {field}: the search needs it for"):
            _search(model, gpus=[spec])
    finally:
        tables.clear_user_gpus()


def test_a_bundled_gpu_without_a_vendor_peak_says_how_to_supply_it(model_file, capsys):
    """A10G: NVIDIA publishes no datasheet, so the bundled row leaves its peaks blank."""
    err = _cli_error(capsys, [*ARGS[:3], "--gpus", "A10G", *ARGS[5:], "--model-file", model_file])
    assert "GPU 'A10G' has no peak FLOP/s for bf16 weights" in err
    assert "a row for A10G of a --gpu-table FILE" in err and "docs/reference-tables.md" in err


def test_gpu_spec_without_a_peak_for_the_precision_is_named(model):
    spec = dataclasses.replace(tables.gpu_spec("H100"), name="NoPeak", aliases=(), peak_bf16_tflops=math.nan,
                               peak_fp16_tflops=math.nan)
    try:
        with pytest.raises(ValueError, match="GPU 'NoPeak' has no peak FLOP/s for bf16 weights"):
            _search(model, gpus=[spec])
    finally:
        tables.clear_user_gpus()


# 6. --carbon / --price select the objective; prices name searched GPUs once ----------------------

def test_carbon_or_price_alone_selects_the_objective(model):
    carbon = _search(model, carbon_g_per_kwh=400)
    assert carbon.settings["objective"] == "carbon" and carbon.objective.startswith("carbon")
    assert carbon.top["objective"].iloc[0] == pytest.approx(carbon.top["energy_j"].iloc[0] * 400 / 3.6e6, rel=1e-12)
    cost = _search(model, price_per_gpu_hour={"H100": 2.0})
    assert cost.settings["objective"] == "cost" and cost.top["price_per_gpu_hour"].iloc[0] == 2.0
    assert _search(model).settings["objective"] == "energy"
    with pytest.raises(ValueError, match="both given, and a search minimises one of them: drop --price"):
        _search(model, carbon_g_per_kwh=400, price_per_gpu_hour=2)
    with pytest.raises(ValueError, match=r"carbon_g_per_kwh \(--carbon\) would be ignored with objective 'energy'"):
        _search(model, objective="energy", carbon_g_per_kwh=400)
    with pytest.raises(ValueError, match=r"price_per_gpu_hour \(--price\) would be ignored with objective 'carbon'"):
        _search(model, objective="carbon", carbon_g_per_kwh=400, price_per_gpu_hour=2)


def test_cli_carbon_selects_the_carbon_objective(model_file, capsys):
    assert main([*ARGS, "--carbon", "400", "--model-file", model_file, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["objective"] == "carbon" and doc["objective"].startswith("carbon (g CO2")


@pytest.mark.parametrize(("price", "message"), [
    ("H100=2,H100=3", "each GPU once in GPU=price pairs, got 'H100=2,H100=3' (H100 more than once)"),
    ("H100=2,X=3", "names GPU(s) that are not searched: X (searched: H100-SXM5-80GB)"),
    ("H100=2,", "an empty item"),
])
def test_bad_price_lists_are_refused(model_file, capsys, price, message):
    assert message in _cli_error(capsys, [*ARGS, "--price", price, "--model-file", model_file])


def test_a_gpu_priced_twice_under_two_names_is_refused(model):
    with pytest.raises(ValueError, match=r"prices H100-SXM5-80GB more than once \(H100, H100-SXM5-80GB\)"):
        _search(model, price_per_gpu_hour={"H100": 2, "H100-SXM5-80GB": 3})
    rows = pd.DataFrame({"model": [L8], "gpu": "H100", "tp": 1, "input_tokens": 512, "output_tokens": 256,
                         "max_num_seqs": 8})
    with pytest.raises(ValueError, match="not searched: B200"):
        energylens.search(candidates=rows, price_per_gpu_hour={"H100": 2, "B200": 5}, energy_model=model)


# 7. gpu_memory_utilization in (0, 1] before any work --------------------------------------------

def test_gpu_memory_utilization_is_checked_up_front(capsys, monkeypatch, no_search):
    assert "must be in (0, 1]" in _cli_error(capsys, [*ARGS, "--gpu-memory-utilization", "1.5"])
    assert "must be > 0" in _cli_error(capsys, [*ARGS, "--gpu-memory-utilization", "0"])

    def no_fit():
        raise AssertionError("the model was fitted before the option was checked")
    monkeypatch.setattr(api, "bundled_model", no_fit)
    with pytest.raises(ValueError, match=r"gpu_memory_utilization must be a finite number in \(0, 1\], got 1.5"):
        energylens.search(L8, "H100", input_tokens=512, output_tokens=256, gpu_memory_utilization=1.5)


def test_a_repeated_axis_value_is_named_as_given():
    # until 2026-12-07: "tp: repeated values in [1.0, 1.0]", floats for the whole numbers given and no option
    for kw, said in ((dict(tp=[1, 1]), "tp (--tp): 1 is given twice (1, 1); give each value once"),
                     (dict(max_num_seqs=[8, 16, 8, 16]), "max_num_seqs (--max-num-seqs): 8 is given twice (8, 16, 8, "
                                                          "16); give each value once")):
        with pytest.raises(ValueError) as err:
            energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=100, output_tokens=10, **kw)
        assert str(err.value) == said
