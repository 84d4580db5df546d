"""A profile file naming several GPUs no table knows: one error lists every name with its rows (before: only the
first, so a user with three typos fixed one, reran and met the next), the two remedies said once."""

from __future__ import annotations

import pandas as pd
import pytest

from energylens.cli.main import main as cli_main
from energylens.errors import UnknownGpuError
from energylens.profiles import gpu_spec, gpu_table, tables
from energylens.profiles.features import build_features
from energylens.profiles.gpu_table import GpuTableError, gpu_specs_for_profiles


def _frame(gpus: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"gpu": gpus})


def test_every_unknown_gpu_is_named_with_its_rows_and_the_remedies_once():
    df = _frame(["H100", "Foo-9000", "H100 SXM 94GB", "Foo-9000", "A100", "L4", "Bar-1"])
    with pytest.raises(UnknownGpuError) as ei:
        gpu_specs_for_profiles(df, source="p.csv")
    msg = str(ei.value)
    assert msg.startswith("p.csv, column 'gpu': 4 unknown GPU names (data rows 1-based, header not counted):\n")
    assert "unknown GPU 'Foo-9000' at data rows 2, 4 (no close matches)" in msg
    assert "unknown GPU 'H100 SXM 94GB' at data row 3 (close matches: H100-SXM5-80GB" in msg
    assert "GPU name 'A100' at data row 5 is ambiguous" in msg and "'name,aliases' = 'A100-SXM4-40GB,A100'" in msg
    assert "unknown GPU 'Bar-1' at data row 7" in msg
    assert "'H100'" not in msg and "'L4' at" not in msg  # known GPUs are not listed as unknown
    # in the order of their first rows, and the known GPUs and both remedies once, after them
    assert msg.index("'Foo-9000'") < msg.index("'H100 SXM 94GB'") < msg.index("'A100' at") < msg.index("'Bar-1'")
    assert msg.count("Known GPUs:") == 1 and msg.count("--gpu-table FILE") == 1
    assert msg.count("gpu_hbm_bw_gbs") == 1 and msg.count("describe it inline with GPU spec columns") == 1
    assert msg.count("ML.ENERGY's own A100s") == 1
    assert isinstance(ei.value, KeyError) and isinstance(ei.value, ValueError)


def test_one_unknown_gpu_keeps_the_single_name_message():
    df = pd.DataFrame({"gpu": ["H100", "Mystery-9000", "Mystery-9000"]}, index=[0, 4, 7])
    with pytest.raises(UnknownGpuError) as ei:
        gpu_specs_for_profiles(df, source="p.csv")
    assert str(ei.value) == ("p.csv: data rows 5, 8 (1-based, header not counted), column 'gpu': "
                             + gpu_table.unknown_gpu_message("Mystery-9000"))


def test_very_many_unknown_gpus_are_capped_and_counted():
    df = _frame([f"Zz{i}" for i in range(30)] * 2)
    with pytest.raises(UnknownGpuError) as ei:
        gpu_specs_for_profiles(df, source="p.csv")
    msg = str(ei.value)
    assert "30 unknown GPU names" in msg
    shown = [line for line in msg.splitlines() if line.startswith("  unknown GPU ")]
    assert len(shown) == gpu_table._MAX_NAMES_SHOWN == 10
    assert shown[0] == "  unknown GPU 'Zz0' at data rows 1, 31 (no close matches)"
    assert "  and 20 more unknown GPU names, the first 'Zz10' at data rows 11, 41" in msg
    assert msg.count("--gpu-table FILE") == 1


def test_rows_past_twenty_are_counted_not_dropped():
    assert gpu_spec.rows_text(list(range(25))) == ("data rows " + ", ".join(str(r) for r in range(1, 21))
                                                   + " and 5 more")
    df = _frame(["Mystery-9000"] * 25)
    with pytest.raises(UnknownGpuError, match=r"data rows 1, 2, .*, 20 and 5 more \(1-based"):
        gpu_specs_for_profiles(df, source="p.csv")


def test_gpus_described_inline_are_not_unknown_and_bad_inline_cells_still_fail():
    df = _frame(["X1", "X2", "X3"]).assign(gpu_hbm_bw_gbs=[3000, None, None], gpu_tdp_w=[500, None, None],
                                           gpu_interconnect_bw_gbs=[400, None, None],
                                           gpu_peak_bf16_tflops=[900, None, None])
    with pytest.raises(UnknownGpuError) as ei:
        gpu_specs_for_profiles(df, source="p.csv")
    msg = str(ei.value)
    assert "2 unknown GPU names" in msg and "'X2' at data row 2" in msg and "'X3' at data row 3" in msg
    assert "'X1'" not in msg
    df["gpu_tdp_w"] = df["gpu_tdp_w"].astype(object)
    df.loc[1, "gpu_tdp_w"] = "fast"  # described (badly) inline: the cell is the error, as before
    with pytest.raises(GpuTableError, match=r"data row 2 .*column 'gpu_tdp_w': 'fast' is not a number"):
        gpu_specs_for_profiles(df, source="p.csv")


def test_public_names_stay_importable_from_gpu_table():
    for name in gpu_table.__all__:
        assert getattr(gpu_table, name) is getattr(tables, name, getattr(gpu_table, name))
    assert gpu_table.GpuSpec is gpu_spec.GpuSpec and gpu_table.GpuTableError is gpu_spec.GpuTableError
    assert gpu_table.INLINE_COLUMNS is gpu_spec.INLINE_COLUMNS


def test_the_cli_lists_every_unknown_gpu_and_exits_non_zero(tmp_path, capsys):
    rows = pd.DataFrame(dict(model="meta-llama/Llama-3.1-8B-Instruct", params_b=8.03, gpu=["H100", "Foo-1", "Bar-2"],
                             tp=1, pp=1, batch_size=8, input_tokens=500, output_tokens=300, energy_j=100.0,
                             task="chat"))
    path = tmp_path / "p.csv"
    rows.to_csv(path, index=False)
    code = cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0", "--starts", "1",
                     "--no-latency"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown GPU 'Foo-1' at data row 2" in err and "unknown GPU 'Bar-2' at data row 3" in err
    assert err.count("--gpu-table FILE") == 1


def test_the_feature_builder_names_the_column_once():
    """build_features prefixed "profile column 'gpu': " to a message that names the column already."""
    frame = pd.DataFrame({"model": ["meta-llama/Llama-3.1-8B-Instruct"] * 2, "params_b": [8.0, 8.0],
                          "gpu": ["FooGPU", "BarGPU"], "tp": [1, 1], "pp": [1, 1], "batch_size": [8.0, 8.0],
                          "input_tokens": [100.0, 100.0], "output_tokens": [100.0, 100.0]})
    with pytest.raises(UnknownGpuError) as err:
        build_features(frame)
    assert str(err.value).count("column 'gpu'") == 1 and "FooGPU" in str(err.value) and "BarGPU" in str(err.value)
