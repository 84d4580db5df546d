"""The ML.ENERGY v3 reader (energylens.profiles.mlenergy_v3): format recognised by header, parallelism
relabelled as vLLM ran it, assumed input lengths flagged; every error names file, column and rows.

Format tests use a few HAND-WRITTEN rows in the v3 layout (made-up numbers) written to a tmp dir;
the real export is read from /work/shared/data (skipped when absent) and never copied.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_paths import V3 as V3_CSV
from energylens.errors import ProfileSchemaError
from energylens.profiles import read_profiles
from energylens.profiles.bare_fp4 import AmbiguousPrecisionWarning
from energylens.profiles.mlenergy_v3 import (
    MLENERGY_V3_PROMPT_TOKENS,
    encoded_video_frames,
    is_mlenergy_v3_table,
    mlenergy_v3,
)
from energylens.profiles.tables import EstimatedArchitectureWarning, find_model

REAL = V3_CSV

HEADER = ["task", "activated_params_billions", "architecture", "avg_batch_size", "avg_output_len", "avg_power_watts",
          "data_parallel", "energy_per_request_joules", "energy_per_token_joules", "expert_parallel", "gpu_model",
          "max_num_seqs", "median_itl_ms", "model_id", "nickname", "num_gpus", "output_throughput_tokens_per_sec",
          "p90_itl_ms", "p95_itl_ms", "p99_itl_ms", "tensor_parallel", "total_params_billions", "weight_precision"]


def row(**kw) -> dict:
    base = dict(task="lm-arena-chat", activated_params_billions=14.0, architecture="Dense Transformer",
                avg_batch_size=15.9, avg_output_len=600.0, avg_power_watts=900.0, data_parallel=1,
                energy_per_request_joules=300.0, energy_per_token_joules=0.5, expert_parallel=1, gpu_model="H100",
                max_num_seqs=16, median_itl_ms=20.0, model_id="Qwen/Qwen3-14B", nickname="x", num_gpus=2,
                output_throughput_tokens_per_sec=800.0, p90_itl_ms=22.0, p95_itl_ms=23.0, p99_itl_ms=25.0,
                tensor_parallel=2, total_params_billions=14.0, weight_precision="bfloat16")
    base.update(kw)
    return base


MOE = dict(model_id="Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", architecture="MoE", activated_params_billions=22.0,
           total_params_billions=235.0, weight_precision="fp8", num_gpus=4, tensor_parallel=1, expert_parallel=4)


def excerpt(tmp_path, rows, name="llm_configs_h100.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows, columns=HEADER).to_csv(path, index=False)
    return path


def test_recognised_by_header_and_relabelled(tmp_path):
    path = excerpt(tmp_path, [
        row(),
        row(**MOE, max_num_seqs=64, avg_batch_size=63.5),
        row(**{**MOE, "num_gpus": 8, "data_parallel": 8, "expert_parallel": 8}),
        row(task="video-chat", model_id="Qwen/Qwen3-VL-8B-Instruct", num_gpus=1, tensor_parallel=1),
        row(task="gpqa", model_id="nvidia/NVIDIA-Nemotron-Nano-9B-v2", architecture="Mamba-Transformer Hybrid",
            num_gpus=1, tensor_parallel=1),
        row(task="image-chat", model_id="google/gemma-3-27b-it", num_gpus=1, tensor_parallel=1),
        row(task="gpqa", model_id="openai/gpt-oss-20b", architecture="MoE", weight_precision="mxfp4",
            num_gpus=1, tensor_parallel=1),
    ])
    assert is_mlenergy_v3_table(tuple(pd.read_csv(path, nrows=0).columns))
    df = read_profiles(str(path))  # the CLI / API entry point dispatches on the header
    pd.testing.assert_frame_equal(df, mlenergy_v3(path))
    assert df["tp"].tolist() == [2, 4, 1, 1, 1, 1, 1]                # EP rows: attention TP = num_gpus / dp
    assert df["dp"].tolist() == [1, 1, 8, 1, 1, 1, 1]
    assert df["ep"].tolist() == [1, 4, 8, 1, 1, 1, 1]                # experts over every GPU
    assert df["n_gpus"].tolist() == [2, 4, 8, 1, 1, 1, 1]
    assert df["parallelism_relabelled"].tolist() == [False, True, True, False, False, False, False]
    assert df["max_num_seqs"].tolist() == [16, 64, 16, 16, 16, 16, 16]
    assert df["architecture"].tolist() == ["dense", "moe", "moe", "dense", "hybrid", "dense", "moe"]
    assert df["precision"].tolist() == ["bf16", "fp8", "fp8", "bf16", "bf16", "bf16", "mxfp4"]
    assert df["modality"].tolist() == ["text", "text", "text", "video", "text", "image", "text"]
    assert df["input_tokens"].iloc[5] == MLENERGY_V3_PROMPT_TOKENS["image-chat"] + 256  # Gemma 3: 256 per image
    assert df["input_tokens_assumed"].all()
    # the benchmark ran its hybrids with mamba-ssm-cache-dtype float32
    assert df["mamba_ssm_cache_dtype"].tolist() == ["auto"] * 4 + ["float32"] + ["auto"] * 2
    np.testing.assert_allclose(df["tpot_s"], 0.020)
    np.testing.assert_allclose(df["batch_size"].iloc[1], 63.5)
    vl = find_model("Qwen/Qwen3-VL-8B-Instruct")
    # the 32-frame clip at 30 fps (1.07 s) is re-sampled by Qwen3-VL's processor at 2 fps, >= 4 frames
    assert df["input_tokens"].iloc[3] == MLENERGY_V3_PROMPT_TOKENS["video-chat"] + 4 * vl.video_tokens_per_frame
    assert df["video_frames"].iloc[3] == 4 and np.isnan(df["video_frames"].iloc[0])
    assert df["input_tokens"].iloc[0] == MLENERGY_V3_PROMPT_TOKENS["lm-arena-chat"]


def test_unknown_task_names_file_column_and_rows(tmp_path):
    path = excerpt(tmp_path, [row(), row(task="audio-chat"), row(task="audio-chat")])
    with pytest.raises(ProfileSchemaError, match=r"column 'task'.*unknown v3 task.*data rows 2, 3") as ei:
        mlenergy_v3(path)
    assert str(path) in str(ei.value) and ei.value.rows == [1, 2]  # zero-based; the message says 2, 3


def test_inconsistent_parallelism_labels_are_errors(tmp_path):
    path = excerpt(tmp_path, [row(), row(num_gpus=4, tensor_parallel=2)])
    with pytest.raises(ProfileSchemaError, match=r"column 'tensor_parallel'.*data row 2"):
        mlenergy_v3(path)
    path = excerpt(tmp_path, [row(num_gpus=4, data_parallel=3, tensor_parallel=1)], "b.csv")
    with pytest.raises(ProfileSchemaError, match=r"column 'data_parallel'.*must divide num_gpus"):
        mlenergy_v3(path)


def test_unknown_architecture_and_gpu(tmp_path):
    with pytest.raises(ProfileSchemaError, match="column 'architecture'"):
        mlenergy_v3(excerpt(tmp_path, [row(architecture="RNN")]))
    with pytest.raises(ProfileSchemaError, match="column 'gpu_model'"):
        mlenergy_v3(excerpt(tmp_path, [row(gpu_model="Z9000")], "g.csv"))


def test_a_latency_that_is_not_a_number_is_an_error_and_a_blank_one_is_not_measured(tmp_path):
    """'14.4 ms' was read as a blank: the row silently left the latency model's data."""
    path = excerpt(tmp_path, [row(), row(), row(median_itl_ms="14.4 ms")])
    with pytest.raises(ProfileSchemaError, match=r"column 'median_itl_ms': non-numeric value.*data row 3") as ei:
        mlenergy_v3(path)
    assert str(path) in str(ei.value) and ei.value.rows == [2]
    df = mlenergy_v3(excerpt(tmp_path, [row(), row(median_itl_ms="")], "blank.csv"))
    assert df["tpot_s"].isna().tolist() == [False, True]


def test_a_compressed_export_is_recognised_by_its_header(tmp_path):
    """An export saved as .csv.gz was read as a schema table: 'missing required column(s) model, params_b'."""
    plain = excerpt(tmp_path, [row(), row(max_num_seqs=32, avg_batch_size=31.0)])
    packed = excerpt(tmp_path, [row(), row(max_num_seqs=32, avg_batch_size=31.0)], "llm_configs_h100.csv.gz")
    pd.testing.assert_frame_equal(read_profiles(str(packed)), read_profiles(str(plain)))


def test_a_row_with_an_extra_field_is_an_error_naming_the_file(tmp_path):
    path = excerpt(tmp_path, [row(), row(), row()])
    lines = path.read_text().splitlines()
    lines[2] += ",surplus"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProfileSchemaError, match=rf"{path}: could not read the ML.ENERGY v3 export: .*line 3"):
        mlenergy_v3(path)


def test_not_a_v3_file(tmp_path):
    p = tmp_path / "x.csv"
    pd.DataFrame([row()]).drop(columns=["task"]).to_csv(p, index=False)
    with pytest.raises(ProfileSchemaError, match="not an ML.ENERGY v3 export"):
        mlenergy_v3(p)
    with pytest.raises(FileNotFoundError, match=r"ML.ENERGY v3 table not found: .*missing\.csv"):
        mlenergy_v3(tmp_path / "missing.csv")


@pytest.mark.skipif(not REAL.is_file(), reason="ML.ENERGY v3 export not in /work/shared/data")
def test_real_v3_export_reads_whole():
    df = mlenergy_v3(REAL)
    assert len(df) == 405 and df["model"].nunique() == 29
    ep = df["ep"] > 1
    assert ep.any() and (df.loc[ep, "tp"] * df.loc[ep, "dp"] == df.loc[ep, "n_gpus"]).all()
    assert (df.loc[ep, "ep"] == df.loc[ep, "n_gpus"]).all()
    assert (df["energy_j"] > 0).all() and df["tpot_s"].notna().all()
    assert (df["architecture"] == "hybrid").sum() > 0 and (df["precision"] == "mxfp4").sum() > 0
    # every v3 model is in the model table (no estimated architectures)
    assert all(find_model(m) is not None for m in df["model"].unique())


def test_cli_fits_evaluates_and_predicts_a_v3_export(tmp_path, capsys):
    from energylens.cli.main import main as cli_main

    rows = []
    for i, seqs in enumerate((8, 16, 32, 64, 128, 256, 512)):
        for model, params, gpus in (("Qwen/Qwen3-8B", 8.2, 1), ("Qwen/Qwen3-32B", 32.8, 2)):
            rows.append(row(model_id=model, activated_params_billions=params, total_params_billions=params,
                            num_gpus=gpus, tensor_parallel=gpus, max_num_seqs=seqs, avg_batch_size=seqs * 0.95,
                            energy_per_request_joules=params * 40.0 / (1 + i) ** 0.7 * gpus,
                            median_itl_ms=10.0 + seqs / 20 + params / 4))
    rows.append(row(**MOE, max_num_seqs=64, avg_batch_size=60.0, energy_per_request_joules=900.0))
    path = excerpt(tmp_path, rows)
    model = tmp_path / "m.json"
    assert cli_main(["fit", str(path), "-o", str(model), "--bootstrap", "0"]) == 0
    out = tmp_path / "pred.csv"
    assert cli_main(["predict", str(model), str(path), "-o", str(out)]) == 0
    pred = pd.read_csv(out)
    assert len(pred) == len(rows) and (pred["energy_j_pred"] > 0).all() and pred["ep"].iloc[-1] == 4
    capsys.readouterr()
    assert cli_main(["evaluate", str(path), "--splits", "random", "--methods", "energylens", "--repeats", "2",
                     "--train-size", "12", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "@TPOT" in text and "parallel" in text and "worst tasks" in text


def test_vision_rows_without_a_token_count_warn(tmp_path):
    from energylens.profiles.tables import EstimatedArchitectureWarning

    path = excerpt(tmp_path, [row(task="video-chat", model_id="google/gemma-3-27b-it", num_gpus=1, tensor_parallel=1,
                                  total_params_billions=27.4, activated_params_billions=27.0)])
    with pytest.warns(EstimatedArchitectureWarning, match=r"gemma-3-27b-it \(video\)"):
        df = mlenergy_v3(path)
    assert df["input_tokens"].iloc[0] == MLENERGY_V3_PROMPT_TOKENS["video-chat"]


def test_encoded_video_frames_follow_the_processor_sampling():
    vl, omni = find_model("Qwen/Qwen3-VL-8B-Instruct"), find_model("Qwen/Qwen3-Omni-30B-A3B-Instruct")
    assert encoded_video_frames(vl, 32, 30.0) == 4        # int(32 / 30 * 2) = 2, raised to min_frames 4
    assert encoded_video_frames(vl, 64, 4.0) == 32        # 16 s clip at 2 fps
    assert encoded_video_frames(vl, 8, 1.0) == 8          # never more than the frames sent
    assert encoded_video_frames(omni, 32, 30.0) == 32     # no re-sampling: every frame sent
    assert encoded_video_frames(None, 32, 30.0) == 32


def test_parameter_counts_come_from_the_model_table_where_it_knows_the_model(tmp_path):
    # the export's counts are the nominal ones of the name (30 / 3 for Qwen3-30B-A3B); config.json's differ
    path = excerpt(tmp_path, [
        row(model_id="Qwen/Qwen3-30B-A3B-Instruct-2507", architecture="MoE", total_params_billions=30.0,
            activated_params_billions=3.0, num_gpus=1, tensor_parallel=1),
        row(task="image-chat", model_id="Qwen/Qwen3-Omni-30B-A3B-Instruct", architecture="MoE",
            total_params_billions=30.0, activated_params_billions=3.0, num_gpus=1, tensor_parallel=1),
        row(model_id="acme/not-in-the-table-14b", total_params_billions=14.0, activated_params_billions=14.0),
    ])
    with pytest.warns(EstimatedArchitectureWarning):  # the unknown model's architecture is estimated from its size
        df = mlenergy_v3(path)
    qwen, omni = find_model("Qwen/Qwen3-30B-A3B"), find_model("Qwen/Qwen3-Omni-30B-A3B-Instruct")
    assert df["params_b"].tolist() == [qwen.params_b, omni.params_b, 14.0]
    assert df["active_params_b"].tolist() == [qwen.active_params_b, omni.active_params_b, 14.0]
    assert df["params_from_table"].tolist() == [True, True, False]
    assert df["params_b_nominal"].tolist() == [30.0, 30.0, 14.0]  # the export's, kept
    assert qwen.active_params_b == pytest.approx(3.35, abs=0.01)
    # Qwen3-Omni: vLLM serves the thinker (text + vision + audio tower), not the 35.3 B checkpoint:
    # 31,719,205,488 in the thinker-only checkpoint Qwen/Qwen3-Omni-30B-A3B-Thinking
    assert omni.params_b == pytest.approx(31.719)


def test_relabelling_uses_the_rows_own_gpu_count_not_an_8_gpu_node(tmp_path):
    # a B200 / GB200 NVL72 export may serve one deployment on 16-72 GPUs
    path = excerpt(tmp_path, [
        row(**{**MOE, "gpu_model": "B200", "num_gpus": 16, "expert_parallel": 16}),
        row(**{**MOE, "gpu_model": "NVIDIA GB200", "num_gpus": 72, "data_parallel": 8, "expert_parallel": 72}),
        row(gpu_model="B200", num_gpus=16, tensor_parallel=8, data_parallel=2),
    ])
    df = mlenergy_v3(path)
    assert df["tp"].tolist() == [16, 9, 8] and df["dp"].tolist() == [1, 8, 2]
    assert df["ep"].tolist() == [16, 72, 1] and df["n_gpus"].tolist() == [16, 72, 16]
    assert df["gpu"].tolist() == ["B200", "NVIDIA GB200", "B200"]


def test_unknown_moe_and_hybrid_models_of_an_export_are_estimated_as_such(tmp_path):
    from energylens.profiles import load_profiles
    from energylens.profiles.features import build_features
    path = excerpt(tmp_path, [
        row(**{**MOE, "model_id": "acme/Giant-MoE-671B-A37B", "total_params_billions": 671.0,
               "activated_params_billions": 37.0, "num_gpus": 8, "expert_parallel": 8, "gpu_model": "B200"}),
        row(model_id="acme/Hybrid-30B", architecture="Mamba-Transformer Hybrid", total_params_billions=30.0,
            activated_params_billions=30.0, num_gpus=1, tensor_parallel=1, gpu_model="B200"),
    ])
    with pytest.warns(EstimatedArchitectureWarning, match="acme/Giant-MoE-671B-A37B"):
        df = mlenergy_v3(path)
    assert df["n_experts"].tolist() == [128, 1] and df["architecture"].tolist() == ["moe", "hybrid"]
    f = build_features(df)
    assert all(np.isfinite(v).all() for v in f.values()) and f["state_bytes_per_seq"][1] > 0
    with pytest.warns(EstimatedArchitectureWarning):
        load_profiles(df.iloc[:1].drop(columns=["n_experts", "experts_per_token"]))  # EP row re-validates


def test_an_input_tokens_column_overrides_the_assumption_row_by_row(tmp_path):
    rows = [row(), row(task="audio-chat"), row(task="image-chat", model_id="google/gemma-3-27b-it", num_gpus=1,
                                                tensor_parallel=1)]
    frame = pd.DataFrame(rows, columns=HEADER)
    frame["input_tokens"] = [np.nan, 420.0, 900.0]
    frame["modality"] = ["", "", ""]
    path = tmp_path / "own.csv"
    frame.to_csv(path, index=False)
    df = mlenergy_v3(path)
    assert df["input_tokens"].tolist() == [MLENERGY_V3_PROMPT_TOKENS["lm-arena-chat"], 420.0, 900.0]
    assert df["input_tokens_assumed"].tolist() == [True, False, False]
    assert df["modality"].tolist() == ["text", "text", "image"]
    frame["input_tokens"] = [np.nan, -3.0, 900.0]
    frame.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"column 'input_tokens'.*data row 2"):
        mlenergy_v3(path)


def test_activated_params_column_is_optional(tmp_path):
    frame = pd.DataFrame([row(), row(**MOE)], columns=HEADER).drop(columns=["activated_params_billions"])
    path = tmp_path / "no_active.csv"
    frame.to_csv(path, index=False)
    df = mlenergy_v3(path)  # before: KeyError 'active_params_b'
    qwen = find_model("Qwen/Qwen3-235B-A22B")
    assert df["active_params_b"].iloc[1] == pytest.approx(qwen.active_params_b)
    assert df["active_params_b"].iloc[0] == df["params_b"].iloc[0]


def test_other_architecture_labels_and_quantised_checkpoint_names(tmp_path):
    path = excerpt(tmp_path, [
        row(**{**MOE, "architecture": "Hybrid MoE"}),
        row(architecture="Mamba2-Transformer hybrid", model_id="nvidia/NVIDIA-Nemotron-Nano-9B-v2",
            num_gpus=1, tensor_parallel=1),
        row(architecture="Transformer", model_id="nvidia/Llama-3.3-70B-Instruct-FP4", weight_precision="nvfp4",
            total_params_billions=70.0, activated_params_billions=70.0, gpu_model="B200"),
    ])
    df = mlenergy_v3(path)
    assert df["architecture"].tolist() == ["moe", "hybrid", "dense"]
    # an NVFP4 checkpoint of a table model resolves to it (its counts, not the export's nominal 70)
    assert df["params_from_table"].tolist() == [True, True, True]
    assert df["params_b"].iloc[2] == pytest.approx(find_model("meta-llama/Llama-3.3-70B-Instruct").params_b)
    assert df["precision"].iloc[2] == "nvfp4"


def test_a_bare_fp4_weight_precision_is_the_checkpoints_format(tmp_path):
    """'fp4' in an export names NVFP4 on nvidia/*-FP4 checkpoints (W4A4 on FP4 tensor cores) and MXFP4 on gpt-oss
    (W4A16 as vLLM serves it): the checkpoint decides, where the schema's 'fp4' spelling alone would read mxfp4."""
    path = excerpt(tmp_path, [
        row(architecture="Transformer", model_id="nvidia/Llama-3.3-70B-Instruct-FP4", weight_precision="fp4",
            total_params_billions=70.0, activated_params_billions=70.0, gpu_model="B200"),
        row(**{**MOE, "model_id": "openai/gpt-oss-120b", "weight_precision": "FP4", "total_params_billions": 117.0,
               "activated_params_billions": 5.1, "num_gpus": 1, "expert_parallel": 1}),
        row(weight_precision="fp4", model_id="Qwen/Qwen3-14B"),   # no 4-bit float format named: mxfp4, said
    ])
    with pytest.warns(AmbiguousPrecisionWarning, match=r"'Qwen/Qwen3-14B'; their rows were taken as mxfp4"):
        assert mlenergy_v3(path)["precision"].tolist() == ["nvfp4", "mxfp4", "mxfp4"]
