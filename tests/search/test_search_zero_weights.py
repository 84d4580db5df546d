"""A workload point of weight 0: the Python API searched it (adding nothing to the energy, yet its memory and
latency at the worst point still rejected configurations) while the CLI refused '1,0' as 'expected numbers > 0'
without naming the point. One rule for both: a zero weight is refused, naming the point, why, and what to do."""

import pytest

import energylens
from energylens.cli.main import main
from energylens.search.api import bundled_model
from energylens.search.space import build_space

L8 = "meta-llama/Llama-3.1-8B-Instruct"
MESSAGE = "point 2 (4096 in, 256 out) has weight 0"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.json"
    bundled_model().save(path)
    return str(path)


def test_python_refuses_a_zero_weight_naming_the_point():
    with pytest.raises(ValueError) as info:
        energylens.search(L8, "H100", input_tokens=[512, 4096], output_tokens=256, workload_weights=[1, 0],
                          tp=[1], energy_model=bundled_model(), bootstrap=False)
    text = str(info.value)
    assert MESSAGE in text and "remove the point" in text and "memory" in text, text


def test_cli_refuses_it_with_the_same_message(model_file, capsys):
    status = main(["search", "--model", L8, "--gpus", "H100", "--input-tokens", "512,4096", "--output-tokens", "256",
                   "--workload-weights", "1,0", "--tp", "1", "--model-file", model_file])
    err = capsys.readouterr().err
    assert status == 2 and MESSAGE in err and "remove the point" in err, err


def test_all_zero_weights_name_the_first_point():
    with pytest.raises(ValueError, match=r"point 1 \(1 in, 1 out\) has weight 0"):
        build_space(L8, "H100", input_tokens=[1, 2], output_tokens=[1, 2], workload_weights=[0, 0])


def test_tiny_positive_weights_still_count():
    space = build_space(L8, "H100", input_tokens=[512, 4096], output_tokens=256, workload_weights=[1, 1e-300],
                        tp=[1], max_num_seqs=[8])
    assert space.workload_weights[1] > 0
