"""``energylens search`` errors name the option a user typed and a remedy that works:

* ``--top 100001`` said "top must be at most 100,000", and ``--input-tokens 200,500,2000 --output-tokens 100,250``
  "input_tokens has 3 workload points, output_tokens 2": the Python argument names, not the options;
* ``--carbon 400 --price 2`` said to add ``--objective cost`` (or carbon), which was then refused with "carbon_g_per_kwh
  (--carbon) would be ignored with objective 'cost': drop it": the first message sent the user into the second;
  --top's help did not say its limit, nor that P(best) is the chance of being the cheapest of the rows kept;
  and --carbon / --price help said each minimised its objective "unless --objective says otherwise", which is refused."""

import pytest

from energylens.cli.main import build_parser, main
from energylens.search.options import MAX_TOP

ARGS = ["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H100", "--input-tokens", "512",
        "--output-tokens", "256", "--tp", "1", "--max-num-seqs", "8,16"]


def _run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_a_top_over_the_limit_names_the_option(small_model_file, capsys):
    code, err = _run([*ARGS, "--model-file", str(small_model_file), "--top", "100001"], capsys)
    assert code == 2 and "--top" in err and "100,000" in err and "100001" in err


def test_the_top_help_states_the_limit_and_what_p_best_is_among(small_model_file, capsys):
    text = _help("--top")
    assert f"at most {MAX_TOP:,}" in text and "P(best)" in text
    code, err = _run([*ARGS, "--model-file", str(small_model_file), "--top", str(MAX_TOP + 1)], capsys)
    assert code == 2 and f"at most {MAX_TOP:,}" in err


def _help(option: str) -> str:
    sub = next(a for a in build_parser()._subparsers._group_actions[0].choices.values() if a.prog.endswith(" search"))
    return next(a.help for a in sub._actions if option in a.option_strings)


def test_unequal_workload_points_name_the_options(small_model_file, capsys):
    argv = list(ARGS)
    argv[argv.index("--input-tokens") + 1], argv[argv.index("--output-tokens") + 1] = "200,500,2000", "100,250"
    code, err = _run([*argv, "--model-file", str(small_model_file)], capsys)
    assert code == 2 and "--input-tokens" in err and "--output-tokens" in err and "3" in err and "2" in err


def test_carbon_and_price_together_get_a_remedy_that_works(small_model_file, capsys):
    base = [*ARGS, "--model-file", str(small_model_file)]
    code, err = _run([*base, "--carbon", "400", "--price", "2"], capsys)
    assert code == 2 and "drop --price" in err and "drop --carbon" in err
    for objective in ("carbon", "cost"):  # what the message used to propose: still refused (one input is unused)
        code, _ = _run([*base, "--carbon", "400", "--price", "2", "--objective", objective], capsys)
        assert code == 2
    assert "--objective" not in err  # so the message does not propose it
    for kept in (["--carbon", "400"], ["--price", "2"]):  # each remedy it gives runs
        code, _ = _run([*base, *kept], capsys)
        assert code == 0


@pytest.mark.parametrize(("given", "other"), [(["--carbon", "400"], ["--objective", "energy"]),
                                              (["--carbon", "400"], ["--objective", "cost", "--price", "2"]),
                                              (["--price", "2"], ["--objective", "energy"]),
                                              (["--price", "2"], ["--objective", "carbon", "--carbon", "400"])])
def test_the_help_says_another_objective_is_refused(small_model_file, capsys, given, other):
    text = _help(given[0])
    assert "unless --objective says otherwise" not in text and "nor with --objective" in text
    code, err = _run([*ARGS, "--model-file", str(small_model_file), *given, *other], capsys)
    assert code == 2 and "would be ignored" in err


@pytest.mark.parametrize("name", ["nosuch.csv", "nosuch.parquet", "header-only.csv"])
def test_a_candidate_table_that_is_not_there_is_named_by_its_option(tmp_path, small_model_file, capsys, name):
    """``--candidates nosuch.csv`` said "profile table not found": the search was given no profile table."""
    (tmp_path / "header-only.csv").write_text("model,gpu,tp,batch_size,input_tokens,output_tokens\n")
    code, err = _run(["search", "--candidates", str(tmp_path / name), "--model-file", str(small_model_file)], capsys)
    assert code == 2 and "candidate table (--candidates)" in err and "profile table" not in err and name in err


@pytest.mark.parametrize("price, says", [("=3", "a GPU name before each '=' (got '=3' with none)"),
                                         ("H100=2,=3", "a GPU name before each '=' (got '=3' with none)"),
                                         ("H100=2,H100=3", "H100 more than once")])
def test_a_price_pair_without_a_gpu_name_says_so(price, says, capsys):
    """``--price =3`` read "each GPU once in GPU=price pairs", as if a GPU were named twice."""
    with pytest.raises(SystemExit) as exit_:
        main([*ARGS, "--price", price])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err, err


@pytest.mark.parametrize("value", ["1.5", "2"])
def test_a_max_utilization_over_one_names_the_option(value, capsys):
    """``--max-utilization 1.5`` read "max_utilization must be a finite number in (0, 1]" (the Python name), where
    ``--max-utilization 0`` named the option."""
    with pytest.raises(SystemExit) as exit_:
        main([*ARGS, "--rate", "10", "--max-utilization", value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --max-utilization: must be in (0, 1]" in err and value in err, err


def test_a_node_size_over_the_gpu_count_names_the_option(capsys):
    """``--node-size 100000000`` (no --tp) read "tp: 2097152 is not a whole number in [1, 1048576]": a tp the user
    never gave, from the default tp's powers of two up to the node."""
    code, err = _run([*ARGS[:-4], "--node-size", "100000000"], capsys)
    assert code == 2 and "node_size (--node-size) must be at most 1,048,576" in err and "100000000" in err, err
    assert "tp:" not in err
