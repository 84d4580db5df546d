"""A user GPU table row with more fields than the header is an error naming the file and its 1-based data row:
pandas took a first such row's leading field as an index and shifted every value one column left (MyGPU's
memory_gb read as its name, the GPU then unknown) without a word. A row with fewer fields is refused the same way
(since 2026-12-06; it was padded with blanks, so after a value left out the later ones sat a column left), by the
check profile and model tables share (unreadable.ragged_row_error)."""

import pytest

from energylens.cli.main import main
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table

HEADER = "name,memory_gb,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\n"
GOOD = "MyGPU,48,960,180,300,64\n"


@pytest.mark.parametrize("body, line, row", [
    ("MyGPU,48,960,180,300,64,5\n", 2, 1),
    (GOOD + "\nOther,80,2000,400,700,450\nThird,80,2000,400,700,450,9\n", 5, 3),  # blank lines are not rows
])
def test_an_extra_field_names_the_file_and_data_row(tmp_path, body, line, row):
    path = tmp_path / "gpus.csv"
    path.write_text(HEADER + body)
    with pytest.raises(GpuTableError, match=rf"^{path}: could not read the GPU table: line {line} \(data row {row}\) "
                                            r"has 7 fields where the header has 6") as exc:
        load_gpu_table(path)
    assert exc.value.rows == [row - 1] and exc.value.source == str(path)


def test_rows_as_wide_as_the_header_read_and_a_shorter_one_is_refused(tmp_path):
    """Until 2026-12-06 'Short' read with scale_up_domain_gpus blank; its 5 fields could as well be 6 with a value
    left out in the middle (memory_gb: every later value a column left), which read the same way."""
    path = tmp_path / "gpus.csv"
    path.write_text(HEADER.rstrip() + ",scale_up_domain_gpus\n" + GOOD.rstrip() + ",4\n"
                    + "Short,80,2000,400,700,450,\n")  # a blank cell written as an empty field
    specs = load_gpu_table(path)
    assert specs[0].name == "MyGPU" and specs[0].memory_gb == 48 and specs[0].scale_up_domain_gpus == 4
    assert specs[1].name == "Short" and specs[1].interconnect_bw_gbs == 450 and specs[1].domain_gpus() == 8
    path.write_text(path.read_text().replace("Short,80,2000,400,700,450,", "Short,80,2000,400,700,450"))
    with pytest.raises(GpuTableError, match=r": line 3 \(data row 2\) has 6 field\(s\) where the header has 7: a "
                                            r"value left out\?") as exc:
        load_gpu_table(path)
    assert exc.value.rows == [1]


def test_cli_exits_2_with_the_message(tmp_path, capsys):
    path = tmp_path / "g.csv"
    path.write_text(HEADER + "MyGPU,48,960,180,300,64,5\n")
    assert main(["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "MyGPU", "--tp", "1",
                 "--input-tokens", "512", "--output-tokens", "256", "--gpu-table", str(path)]) == 2
    assert f"{path}: could not read the GPU table: line 2 (data row 1) has 7 fields" in capsys.readouterr().err
