"""``energylens.load_profiles`` takes every input a command takes: ``bundled`` (``mlenergy-v2``), an ML.ENERGY v2
flat CSV, an ML.ENERGY v3 export, a Splitwise perf_model CSV (latency only) and a schema-v1 file or store folder.
Until 2026-12-07 ``energylens.load_profiles("bundled")`` failed with "bundled: unsupported file type '(no suffix)'"
and a v2 / v3 / Splitwise file with "missing required column(s) 'model', ...: rename 'Model' for 'model'", while
``energylens fit bundled`` (and ``EnergyModel().predict("bundled")``) read them.

The v3 and Splitwise rows are HAND-WRITTEN in their layouts (made-up numbers; never rows of the shared export).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import energylens
from energylens.errors import ProfileSchemaError
from energylens.profiles import datasets
from energylens.profiles.mlenergy_v3 import mlenergy_v3
from energylens.profiles.schema import DroppedRowsWarning

V3_ROW = dict(task="lm-arena-chat", activated_params_billions=14.0, architecture="Dense Transformer",
              avg_batch_size=15.9, avg_output_len=600.0, avg_power_watts=900.0, data_parallel=1,
              energy_per_request_joules=300.0, energy_per_token_joules=0.5, expert_parallel=1, gpu_model="H100",
              max_num_seqs=16, median_itl_ms=20.0, model_id="Qwen/Qwen3-14B", nickname="x", num_gpus=2,
              output_throughput_tokens_per_sec=800.0, p90_itl_ms=22.0, p95_itl_ms=23.0, p99_itl_ms=25.0,
              tensor_parallel=2, total_params_billions=14.0, weight_precision="bfloat16")

SPLITWISE = ("model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time,"
             "e2e_time,tensor_parallel\n"
             "llama2-70b,h100-80gb,512,1,128,0,0,120.0,37.0,4856.0,2\n"
             "bloom-176b,h100-80gb,1024,4,256,0,0,400.0,60.0,15760.0,8\n")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the v3 reader's assumed input lengths
        return fn(*args, **kwargs)


@pytest.mark.parametrize("name", datasets.BUNDLED_NAMES)
def test_the_bundled_name_reads_the_bundled_rows(name):
    df = energylens.load_profiles(name)
    pd.testing.assert_frame_equal(df, datasets.mlenergy_v2())
    pd.testing.assert_frame_equal(energylens.load_profiles(Path(name)), df)  # as predict(Path(name)) reads it
    assert energylens.profiles.load_profiles is energylens.load_profiles


def test_an_mlenergy_v2_flat_table_is_converted(tmp_path):
    path = tmp_path / "flat.csv"
    pd.read_csv(datasets.bundled_path()).iloc[:20].to_csv(path, index=False)
    for given in (str(path), path):
        pd.testing.assert_frame_equal(energylens.load_profiles(given), datasets.mlenergy_v2(path))


def test_an_mlenergy_v3_export_is_converted(tmp_path):
    path = tmp_path / "llm_configs_h100.csv"
    pd.DataFrame([V3_ROW, dict(V3_ROW, max_num_seqs=32, avg_batch_size=30.0)]).to_csv(path, index=False)
    pd.testing.assert_frame_equal(_quiet(energylens.load_profiles, path), _quiet(mlenergy_v3, path))


def test_a_splitwise_table_is_latency_only(tmp_path):
    path = tmp_path / "perf_model.csv"
    path.write_text(SPLITWISE)
    with pytest.raises(ProfileSchemaError, match=r"latency only.*require_energy=False"):
        energylens.load_profiles(path)
    pd.testing.assert_frame_equal(energylens.load_profiles(path, require_energy=False), datasets.splitwise(path))


def test_a_schema_file_is_read_as_before(tmp_path):
    path = tmp_path / "p.csv"
    datasets.mlenergy_v2().iloc[:5].to_csv(path, index=False)
    pd.testing.assert_frame_equal(energylens.load_profiles(path),
                                  energylens.profiles.schema.load_profiles(path))
    bad = datasets.mlenergy_v2().iloc[:5].copy()
    bad.loc[bad.index[2], "tp"] = 0
    bad.to_csv(path, index=False)
    with pytest.warns(DroppedRowsWarning, match="1 row"):
        df = energylens.load_profiles(str(path), drop_invalid=True, source="mine")  # its options still apply
    assert len(df) == 4 and df.attrs["source"] == "mine"


@pytest.mark.parametrize("option", [dict(drop_invalid=True), dict(fill_architecture=False), dict(source="x"),
                                    dict(column_names={"tp": "TP"})])
def test_options_of_schema_tables_are_refused_for_a_converted_input_by_name(option):
    (name, value), = option.items()
    with pytest.raises(ValueError, match=rf"load_profiles\('bundled'.*{name}=.*mlenergy_v2"):
        energylens.load_profiles("bundled", **option)


def test_a_near_miss_of_the_bundled_name_is_not_found_with_the_name_offered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"profile table not found: Bundled.*did you mean 'bundled'"):
        energylens.load_profiles("Bundled")
    with pytest.raises(FileNotFoundError, match=r"profile table not found: runs$"):
        energylens.load_profiles(Path("runs"))
