"""avg_power_w written in kilowatts (docs/profile-schema.md, "Plausibility limits").

The column is watts summed over the row's GPUs, and a number alone says no unit: a table that gave the mean power
in kW (0.65 for an H100 at 650 W, 4.8 for eight of them) loaded as 0.65 W and 4.8 W without a word, since the only
bound was a milliwatt. No GPU that serves a model draws under 5 W, so a row below that per GPU (avg_power_w /
n_gpus, n_gpus = tp * pp * dp where not given) is an error naming the file, the 1-based row, the column and the
unit slip, on every path that reads a table (a CSV, a DataFrame, the light path, the command line).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main as cli_main
from energylens.errors import ProfileSchemaError
from energylens.profiles import as_profiles, build_features, limits, load_profiles
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table
from energylens.profiles.light import light_profiles


def _frame(power: list[float], tp: list[int]) -> pd.DataFrame:
    n = len(power)
    return pd.DataFrame({
        "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * n, "params_b": [8.03] * n,
        "gpu": ["NVIDIA H100 80GB HBM3"] * n, "tp": tp, "pp": [1] * n,
        "batch_size": [16.0 * (i + 1) for i in range(n)], "input_tokens": [200.0] * n,
        "output_tokens": [300.0] * n, "energy_j": [50.0 + i for i in range(n)], "avg_power_w": power,
    })


def test_power_in_kilowatts_names_file_row_column_and_unit(tmp_path):
    path = tmp_path / "runs.csv"
    _frame([650.0, 0.7, 4.8, 2400.0], [1, 1, 8, 4]).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(path)
    head = str(info.value).splitlines()[0]
    assert head.startswith(f"{path}: profile table violates schema v1: column 'avg_power_w': must be at least 5 W "
                           "per GPU"), head
    assert "in data rows 2, 3 (1-based, header not counted)" in head and "value(s): 0.7, 4.8" in head, head
    assert "kilowatts" in head and "x 1000" in head, head
    assert info.value.column == "avg_power_w" and info.value.rows == [1, 2]


def test_the_command_line_exits_non_zero_naming_the_row(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    _frame([0.65, 700.0, 690.0, 680.0], [1, 1, 1, 1]).to_csv(path, index=False)
    assert cli_main(["evaluate", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "column 'avg_power_w': must be at least 5 W per GPU" in err and "data row 1 (1-based" in err, err


def test_a_frame_and_the_light_path_take_the_same_check():
    frame = _frame([650.0, 5.6, 700.0, 690.0], [1, 8, 1, 1])  # 5.6 kW on 8 GPUs read as 0.7 W each
    assert light_profiles(_frame([650.0, 5600.0, 700.0, 690.0], [1, 8, 1, 1]), require_energy=True) is not None
    assert light_profiles(frame, require_energy=True) is None  # the full path then names it
    with pytest.raises(ProfileSchemaError, match="must be at least 5 W per GPU") as info:
        as_profiles(frame)
    assert info.value.rows == [1]


def test_the_floor_is_per_gpu_counting_every_replica_and_stage():
    ok = _frame([5.0, 40.0, 40.0, 600.0], [1, 8, 2, 1])
    ok["pp"] = [1, 1, 2, 1]
    ok["dp"] = [1, 1, 2, 1]  # 2 x 2 x 2 = 8 GPUs at 5 W each: the floor itself
    assert np.allclose(as_profiles(ok)["avg_power_w"], [5.0, 40.0, 40.0, 600.0])
    assert limits.MIN_GPU_POWER_W == 5.0
    low = _frame([5.0, 39.0, 600.0, 600.0], [1, 1, 1, 1])
    low["n_gpus"] = [1, 8, 1, 1]  # n_gpus given (dp 8) decides the count
    with pytest.raises(ProfileSchemaError) as info:
        as_profiles(low)
    assert info.value.rows == [1]


def test_blank_power_is_not_measured_and_passes():
    frame = _frame([np.nan, 650.0, np.nan, 700.0], [1, 1, 2, 1])
    assert as_profiles(frame)["avg_power_w"].isna().sum() == 2


@pytest.mark.parametrize(("cell", "write"), [("0.7 kW", "700"), ("700 W", "700"), ("700W", "700")])
def test_a_gpu_tdp_with_its_unit_says_the_number_to_write(tmp_path, cell, write):
    """A GPU table's tdp_w (and a profile's gpu_tdp_w) of '0.7 kW' said "text after the number ('kW') ... write the
    number alone, in that unit", so 0.7 was a likely next try; the power units are known there as in avg_power_w."""
    path = tmp_path / "gpus.csv"
    path.write_text(f"name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs,memory_gb\n"
                    f"Acme-X1,4000,800,{cell},400,96\n")
    with pytest.raises(GpuTableError) as info:
        load_gpu_table(path)
    assert f"column 'tdp_w': {cell!r} is not a number: a unit after the number; column 'tdp_w' is in watts (W)" \
           in str(info.value) and f"write {cell!r} as {write}" in str(info.value), str(info.value)
    runs = tmp_path / "runs.csv"
    runs.write_text("model,params_b,gpu,tp,batch_size,input_tokens,output_tokens,energy_j,gpu_hbm_bw_gbs,"
                    f"gpu_peak_bf16_tflops,gpu_tdp_w,gpu_interconnect_bw_gbs,gpu_memory_gb\n"
                    f"acme/x-8b,8,Acme-Y,1,32,512,256,120,4000,800,{cell},400,96\n")
    with pytest.raises(GpuTableError) as info:
        build_features(load_profiles(runs))
    assert f"column 'gpu_tdp_w': {cell!r} is not a number: a unit after the number; column 'gpu_tdp_w' is in watts " \
           f"(W)" in str(info.value) and f"write {cell!r} as {write}" in str(info.value), str(info.value)
