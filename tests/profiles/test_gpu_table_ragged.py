"""A user GPU table row with more fields than the header is an error naming the file and its 1-based data row:
pandas took a first such row's leading field as an index and shifted every value one column left (MyGPU's
memory_gb read as its name, the GPU then unknown) without a word."""

import pytest

from energylens.cli.main import main
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table

HEADER = "name,memory_gb,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\n"
GOOD = "MyGPU,48,960,180,300,64\n"


@pytest.mark.parametrize("body, row", [
    ("MyGPU,48,960,180,300,64,5\n", 1),
    (GOOD + "\nOther,80,2000,400,700,450\nThird,80,2000,400,700,450,9\n", 3),  # blank lines are not rows
])
def test_an_extra_field_names_the_file_and_data_row(tmp_path, body, row):
    path = tmp_path / "gpus.csv"
    path.write_text(HEADER + body)
    with pytest.raises(GpuTableError, match=rf"^{path}: data row {row} \(1-based, header not counted\) has more "
                                            r"fields than the header's 6 columns") as exc:
        load_gpu_table(path)
    assert exc.value.rows == [row - 1] and exc.value.source == str(path)


def test_rows_as_wide_as_the_header_or_shorter_still_read(tmp_path):
    path = tmp_path / "gpus.csv"
    path.write_text(HEADER.rstrip() + ",scale_up_domain_gpus\n" + GOOD.rstrip() + ",4\n"
                    + "Short,80,2000,400,700,450\n")  # a missing trailing cell is a blank one
    specs = load_gpu_table(path)
    assert specs[0].name == "MyGPU" and specs[0].memory_gb == 48 and specs[0].scale_up_domain_gpus == 4
    assert specs[1].name == "Short" and specs[1].interconnect_bw_gbs == 450 and specs[1].domain_gpus() == 8


def test_cli_exits_2_with_the_message(tmp_path, capsys):
    path = tmp_path / "g.csv"
    path.write_text(HEADER + "MyGPU,48,960,180,300,64,5\n")
    assert main(["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "MyGPU", "--tp", "1",
                 "--input-tokens", "512", "--output-tokens", "256", "--gpu-table", str(path)]) == 2
    assert f"{path}: data row 1 (1-based, header not counted) has more fields" in capsys.readouterr().err
