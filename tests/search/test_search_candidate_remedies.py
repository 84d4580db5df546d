"""An empty search's remedy names what the user can change. With explicit candidates (--candidates) the axis options
(--tp, --max-num-seqs, --precision, --input-tokens ...) cannot be given, so the remedy names the candidate table's
columns instead: before 2026-12-07 it told a table whose tp 3 divides no heads "--tp 1,2,4,8 do", which the command
then refused ("do not also pass tp"). And the weights' remedy names a combination whose weights do not fit on one GPU:
it named the 8B beside a 70B that needed 2 ("the weights alone need at least 1 GPUs ..., e.g. --tp 1")."""

import re

import pandas as pd
import pytest

import energylens
from energylens.cli.main import main

OPTIONS = re.compile(r"--(tp|pp|dp|ep|precision|max-num-seqs|kv-cache-dtype|input-tokens|output-tokens)\b")
L8, L70 = "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"


def _rows(*rows):
    return pd.DataFrame([dict(zip(("model", "gpu", "tp", "input_tokens", "output_tokens", "max_num_seqs"), r,
                                  strict=True)) for r in rows])


@pytest.mark.parametrize("rows, limits, says", [
    ([(L70, "H100", 3, 512, 256, 64)], {}, r"tp 3 do not divide them \(within a node of 8 GPUs tp 1,2,4,8 do\)"),
    ([(L70, "H100", 1, 512, 256, 64)], {}, r"need at least 2 GPUs per deployment .*e\.g\. tp 2.*precision fp8 or int4"),
    ([(L8, "H100", 1, 512000, 256, 64)], {}, r"keep input_tokens \+ output_tokens within"),
    ([(L8, "H100", 1, 60000, 2000, 256)], {}, r"lower max_num_seqs, store the KV cache in fp8 \(kv_cache_dtype fp8\)"),
    ([(L8, "H100", 1, 512, 256, 64)], {"tpot_limit_s": 0.001}, r"raise --tpot-limit to at least .*\(tp, smaller "
                                                                r"max_num_seqs"),
])
def test_candidate_remedies_name_the_table_columns(model, rows, limits, says):
    r = energylens.search(candidates=_rows(*rows), energy_model=model, **limits)
    text = r.why_empty()
    assert r.empty and re.search(says, text), text
    assert not OPTIONS.search(text), text
    assert "candidate table" in text


def test_axis_remedies_keep_the_options(model):
    r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=1, pp=1, max_num_seqs=64,
                          energy_model=model)
    assert "--tp 2" in r.why_empty()


def test_weights_remedy_names_a_model_whose_weights_do_not_fit(model):
    r = energylens.search(f"{L70},{L8}", "H100", input_tokens=60000, output_tokens=2000, tp=1, max_num_seqs=256,
                          energy_model=model)
    text = r.why_empty()
    assert r.main_rejection == "memory_weights"
    # named as given (an alias of the table's Meta-Llama-3.1-70B-Instruct; tests/search/test_remedy_given_names.py)
    assert f"{L70} in bf16 holds" in text and "need at least 2 GPUs" in text, text


def test_cli_candidate_remedy(tmp_path, capsys):
    path = tmp_path / "configs.csv"
    _rows((L70, "H100", 3, 512, 256, 64)).to_csv(path, index=False)
    assert main(["search", "--candidates", str(path)]) == 1
    err = capsys.readouterr().err
    assert "tp 1,2,4,8 do" in err and not OPTIONS.search(err.split("no feasible")[1]), err


@pytest.mark.parametrize("given, says", [
    ("configs.csv", r"got the path 'configs.csv': read the file with pandas.read_csv\('configs.csv'\)"),
    (pd.DataFrame(columns=["model", "gpu"]), r"got a DataFrame with no rows"),
    ([{"model": L8}], r"got a list: pandas.DataFrame\(rows\)"),
])
def test_candidates_that_are_not_a_table_say_what_was_given(model, given, says):
    """``search(candidates="configs.csv")``, as the command's --candidates takes a file, read "candidates must be a
    non-empty pandas DataFrame", the same line for a path, a list and a table with no rows."""
    with pytest.raises(ValueError, match=says):
        energylens.search(candidates=given, energy_model=model)
