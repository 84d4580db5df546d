"""``energylens search --tensor-parallel-size 8`` / ``--quantization fp8`` (vLLM's option names) read argparse's bare
"unrecognized arguments", where the Python ``search(tensor_parallel_size=8)`` names ``tp``: the command line now
names its own option (and the closest options for another unknown one), exit status 2 as argparse."""

from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.cli.parsers.unknown import VLLM_OPTIONS
from energylens.search.options import VLLM_NAMES


@pytest.mark.parametrize(("argv", "said"), [
    (["--tensor-parallel-size", "8"], "--tensor-parallel-size: vLLM's name; here --tp"),
    (["--tensor-parallel-size=8"], "--tensor-parallel-size: vLLM's name; here --tp"),
    (["-tp", "8"], "-tp: vLLM's name; here --tp"),
    (["--quantization", "fp8"], "--quantization: vLLM's name; here --precision, the weights' format"),
    (["--enable-expert-parallel"], "--enable-expert-parallel: vLLM's name; here --ep"),
    (["--pipeline-parallel-size", "2"], "here --pp"),
    (["--max-num-sqes", "8"], "--max-num-sqes: did you mean --max-num-seqs?"),
])
def test_search_names_its_option_for_an_unknown_one(argv, said, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H100", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: energylens search" in err and "unrecognized arguments: " + " ".join(argv) in err, err
    assert said in err, err


def test_a_command_without_the_option_gets_no_vllm_hint(capsys):
    """predict has no --tp: its error says only what argparse says."""
    with pytest.raises(SystemExit) as exc:
        main(["predict", "m.json", "c.csv", "-o", "o.csv", "--tensor-parallel-size", "8"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --tensor-parallel-size 8" in err and "vLLM" not in err, err


def test_the_copy_names_what_the_library_names():
    """Each vLLM keyword the Python search points to a parameter is one here, pointing to that parameter's option."""
    long = {k: v[0] for k, v in VLLM_OPTIONS.items() if k.startswith("--")}
    assert long == {"--" + k.replace("_", "-"): "--" + v[0] for k, v in VLLM_NAMES.items()}
