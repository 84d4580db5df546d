"""The ``gpu_model`` spellings an ML.ENERGY v3 export of another GPU may carry (the H100 file says ``H100``; the
held-out files are other GPUs): each resolves to its GPU-table row through the v3 reader, with that row's
bandwidth in the features; an unknown or ambiguous one is an error naming the file, the rows and the column.

Spellings: the export's short names, ``nvidia-smi`` / NVML names (``NVIDIA B200``, ``NVIDIA H100 80GB HBM3``,
``NVIDIA B300 SXM6 AC``), NVIDIA's MLPerf part names (``B200-SXM-180GB``), and ``rocm-smi --showproductname``'s card series on AMD (``AMD Instinct MI300X OAM``,
``AMD Instinct MI355X OAM``: the OAM module names, as the MI325X row already had)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import tables
from energylens.profiles.features import build_features
from energylens.profiles.mlenergy_v3 import mlenergy_v3

SPELLINGS = {
    "B200": "B200", "b200": "B200", "NVIDIA B200": "B200", "B200 SXM": "B200", "HGX B200": "B200",
    "H200": "H200-SXM-141GB", "NVIDIA H200": "H200-SXM-141GB", "H200 SXM": "H200-SXM-141GB",
    "H100": "H100-SXM5-80GB", "H100 SXM": "H100-SXM5-80GB", "NVIDIA H100 80GB HBM3": "H100-SXM5-80GB",
    "NVIDIA A100-SXM4-40GB": "A100-SXM4-40GB", "A100 80GB": "A100-SXM4-80GB",
    "GB200": "GB200", "NVIDIA GB200": "GB200", "GB300": "GB300", "NVIDIA GB300": "GB300",
    "B300": "B300", "NVIDIA B300 SXM6 AC": "B300",
    # NVIDIA's own part names in its MLPerf Inference system files (the B200 / B300 / GB200 rows' memory sizes)
    "B200-SXM-180GB": "B200", "B300-SXM-270GB": "B300", "GB200-186GB": "GB200",
    "MI300X": "MI300X", "mi300x": "MI300X", "AMD Instinct MI300X": "MI300X", "AMD Instinct MI300X OAM": "MI300X",
    "MI325X": "MI325X", "AMD Instinct MI325X OAM": "MI325X",
    "MI355X": "MI355X", "AMD Instinct MI355X": "MI355X", "AMD Instinct MI355X OAM": "MI355X",
}

HEADER = ["task", "activated_params_billions", "architecture", "avg_batch_size", "avg_output_len", "avg_power_watts",
          "data_parallel", "energy_per_request_joules", "energy_per_token_joules", "expert_parallel", "gpu_model",
          "max_num_seqs", "median_itl_ms", "model_id", "nickname", "num_gpus", "output_throughput_tokens_per_sec",
          "p90_itl_ms", "p95_itl_ms", "p99_itl_ms", "tensor_parallel", "total_params_billions", "weight_precision"]


def _row(gpu: str) -> dict:
    return dict(task="lm-arena-chat", activated_params_billions=14.0, architecture="Dense Transformer",
                avg_batch_size=15.9, avg_output_len=600.0, avg_power_watts=900.0, data_parallel=1,
                energy_per_request_joules=300.0, energy_per_token_joules=0.5, expert_parallel=1, gpu_model=gpu,
                max_num_seqs=16, median_itl_ms=20.0, model_id="Qwen/Qwen3-14B", nickname="Qwen 3 14B", num_gpus=2,
                output_throughput_tokens_per_sec=800.0, p90_itl_ms=22.0, p95_itl_ms=23.0, p99_itl_ms=25.0,
                tensor_parallel=2, total_params_billions=14.0, weight_precision="bfloat16")


def _export(tmp_path, gpus, name="llm_configs_x.csv"):
    path = tmp_path / name
    pd.DataFrame([_row(g) for g in gpus], columns=HEADER).to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()


@pytest.mark.parametrize("spelling, row", SPELLINGS.items())
def test_each_spelling_resolves_to_its_row(spelling, row):
    assert tables.gpu_spec(spelling).name == row


def test_a_v3_export_of_every_spelling_reads_with_each_rows_bandwidth(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = mlenergy_v3(_export(tmp_path, list(SPELLINGS)))
        feats = build_features(df)
    expected = [tables.gpu_spec(r).hbm_bw_gbs * 1e9 for r in SPELLINGS.values()]
    assert feats["hbm_bytes_per_s"].tolist() == expected


@pytest.mark.parametrize("gpu, says", [
    ("Z9000", "unknown GPU 'Z9000'"),
    ("A100", "GPU name 'A100' is ambiguous"),  # four A100 parts differ in bandwidth and power
])
def test_an_unknown_or_ambiguous_gpu_names_file_rows_and_column(tmp_path, gpu, says):
    path = _export(tmp_path, ["B200", gpu, "B200", gpu], "llm_configs_z.csv")
    with pytest.raises(ProfileSchemaError) as info:
        mlenergy_v3(path)
    text = str(info.value)
    assert text.startswith(f"{path}: column 'gpu_model': ")
    assert says in text and "data rows 2, 4 (1-based)" in text
    assert info.value.rows == [1, 3]


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_a_blank_gpu_model_cell_is_named_as_blank(tmp_path, blank):
    """A blank cell was reported as "unknown GPU nan" (or '') with the list of known GPUs and remedies for a
    new GPU; it is a missing value, named as such."""
    path = _export(tmp_path, ["B200", "B200", "B200"], "llm_configs_blank.csv")
    df = pd.read_csv(path)
    df["gpu_model"] = df["gpu_model"].astype(object)
    df.loc[1, "gpu_model"] = blank
    df.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError) as info:
        mlenergy_v3(path)
    text = str(info.value)
    assert text.startswith(f"{path}: column 'gpu_model': blank cell")
    assert "data row 2 (1-based)" in text and "nan" not in text and "Known GPUs" not in text
    assert info.value.rows == [1]
