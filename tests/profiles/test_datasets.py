"""The bundled ML.ENERGY v2 data: every row converts, every model and GPU resolves."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import REQUIRED_COLUMNS, datasets, load_profiles, tables


@pytest.fixture(scope="module")
def converted() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no estimation, nothing dropped
        return datasets.mlenergy_v2()


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(datasets.bundled_path())


def test_bundled_copy_and_license():
    path = datasets.bundled_path()
    assert path.is_file() and path.name == "llm_configs_flat.csv"
    notice = (path.parent / "NOTICE").read_text()
    assert "76bf85e" in notice and "Chung" in notice and "Apache" in notice
    assert "Apache License" in (path.parent / "LICENSE").read_text()


def test_all_rows_kept_no_nan_in_required(converted):
    assert len(converted) == 356
    assert not converted[list(REQUIRED_COLUMNS)].isna().any().any()
    assert "dropped" not in converted.attrs
    # already valid: loading it again changes nothing and drops nothing
    again = load_profiles(converted, drop_invalid=True)
    assert len(again) == 356 and again.attrs["dropped"].empty


def test_every_model_and_gpu_resolves(raw):
    for gpu in raw["GPU"].unique():
        tables.gpu_spec(gpu)
    for model in raw["Model"].unique():
        assert not tables.model_spec(model).estimated
    assert tables.gpu_spec("NVIDIA A100-SXM4-40GB").name == "A100-SXM4-40GB"
    assert tables.gpu_spec("NVIDIA H100 80GB HBM3").name == "H100-SXM5-80GB"


def test_column_mapping(converted, raw):
    assert converted["model"].tolist() == raw["Model"].tolist()
    assert converted["gpu"].tolist() == raw["GPU"].tolist()
    np.testing.assert_array_equal(converted["tp"], raw["TP"])
    np.testing.assert_array_equal(converted["pp"], raw["PP"])
    np.testing.assert_allclose(converted["batch_size"], raw["Avg BS (reqs)"])
    np.testing.assert_allclose(converted["output_tokens"], raw["Avg Output Tokens"])
    np.testing.assert_allclose(converted["energy_j"], raw["Energy/req (J)"])
    np.testing.assert_allclose(converted["tpot_s"], raw["Avg TPOT (s)"])
    np.testing.assert_array_equal(converted["max_batch_size"], raw["Max BS (reqs)"])
    np.testing.assert_allclose(converted["token_throughput_tok_s"], raw["Token tput (tok/s)"])
    assert converted["source_file"].tolist() == raw["file"].tolist()
    assert (converted["n_gpus"] == raw["TP"] * raw["PP"]).all()
    assert (converted["precision"] == "bf16").all()
    assert converted["input_tokens_nominal"].all()


def test_tasks_and_modalities(converted, raw):
    image = (raw["category"] == "mllm_text_generation").to_numpy()
    assert (converted.loc[image, "task"] == "image-chat").all()
    assert (converted.loc[image, "modality"] == "image").all()
    assert set(converted.loc[~image, "task"]) == {"chat", "code"}
    assert (converted.loc[~image, "modality"] == "text").all()
    assert converted["task"].value_counts().to_dict() == {"chat": 191, "code": 123, "image-chat": 42}


def test_nominal_input_tokens(converted):
    nominal = datasets.MLENERGY_V2_NOMINAL_PROMPT_TOKENS
    text = converted["modality"] == "text"
    assert (converted.loc[text, "input_tokens"] == converted.loc[text, "task"].map(nominal)).all()
    img = converted[~text]
    expected = nominal["image-chat"] + img["image_tokens_per_image"]
    np.testing.assert_allclose(img["input_tokens"], expected)
    llava = converted[converted["model"] == "llava-hf/llava-1.5-7b-hf"]
    assert (llava["input_tokens"] == nominal["image-chat"] + 576).all()


def test_params_and_architecture_from_model_table(converted):
    mix = converted[converted["model"] == "mistralai/Mixtral-8x7B-Instruct-v0.1"].iloc[0]
    assert mix["architecture"] == "moe" and mix["params_b"] == pytest.approx(46.7, abs=0.05)
    assert mix["active_params_b"] == pytest.approx(12.9, abs=0.05) and mix["n_experts"] == 8
    llama = converted[converted["model"] == "meta-llama/Meta-Llama-3.1-70B-Instruct"].iloc[0]
    assert (llama["n_layers"], llama["d_model"], llama["n_heads"], llama["n_kv_heads"]) == (80, 8192, 64, 8)
    assert converted[["n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim"]].notna().all().all()


def test_unknown_gpu_in_source_is_an_error(tmp_path, raw):
    bad = raw.copy()
    bad.loc[[4, 9], "GPU"] = "NVIDIA Z9000"
    path = tmp_path / "flat.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError) as ei:
        datasets.mlenergy_v2(path)
    msg = str(ei.value)
    assert str(path) in msg and "Z9000" in msg and "data rows 5, 10" in msg
    assert ei.value.column == "gpu" and ei.value.rows == [4, 9]


def test_unknown_model_without_a_size_is_an_error(tmp_path, raw):
    bad = raw.copy()
    bad.loc[0, "Model"] = "acme/NotAModel"
    bad.loc[3, "Model"] = "acme/Mixture-8x7B"   # a name does not settle an MoE's sizes
    path = tmp_path / "flat.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match="NotAModel.*add a params_b column") as ei:
        datasets.mlenergy_v2(path)
    assert str(path) in str(ei.value) and ei.value.rows == [0]
    bad.loc[0, "Model"] = raw.loc[0, "Model"]
    bad.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match="Mixture-8x7B") as ei:
        datasets.mlenergy_v2(path)
    assert ei.value.rows == [3]


def test_unknown_model_is_sized_from_its_name_or_a_params_column(tmp_path, raw):
    new = raw.copy()
    new.loc[[0, 1], "Model"] = "acme/Brand-New-7B-Instruct"
    path = tmp_path / "flat.csv"
    new.to_csv(path, index=False)
    with pytest.warns(tables.EstimatedArchitectureWarning, match=r"Brand-New-7B-Instruct \(7B\)"):
        out = datasets.mlenergy_v2(path)
    assert list(out["params_b"].iloc[:2]) == [7.0, 7.0] and len(out) == len(raw)
    assert out["n_layers"].iloc[0] > 0  # estimated architecture
    new["params_b"] = np.nan
    new.loc[[0, 1], "params_b"] = 6.5
    new.to_csv(path, index=False)
    with pytest.warns(tables.EstimatedArchitectureWarning, match=r"6.5B"):
        out = datasets.mlenergy_v2(path)
    assert out["params_b"].iloc[0] == 6.5


@pytest.mark.parametrize(("name", "size"), [("org/Foo-7B-Instruct", 7.0), ("SmolLM-135M", 0.135),
                                            ("x/Qwen2.5-0.5B", 0.5), ("x/Qwen3-30B-A3B", None),
                                            ("x/Mixtral-8x22B", None), ("x/NoSize", None), ("x/A-7B-vs-13B", None)])
def test_params_from_name(name, size):
    assert datasets._params_b_from_name(name) == size


def test_invalid_row_in_source_names_file_row_column(tmp_path, raw):
    bad = raw.copy()
    bad.loc[7, "Energy/req (J)"] = -5.0
    path = tmp_path / "flat.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError) as ei:
        datasets.mlenergy_v2(path)
    assert str(path) in str(ei.value) and "data row 8" in str(ei.value)
    assert ei.value.column == "energy_j"


def test_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ML.ENERGY v2 table not found: .*nope\.csv"):
        datasets.mlenergy_v2(tmp_path / "nope.csv")


def test_leaderboard_format_files_are_recognised_and_converted(tmp_path, raw, capsys):
    from energylens.cli.main import main as cli_main

    part = raw[raw["GPU"].str.contains("H100")]
    path = tmp_path / "other_mlenergy_rows.csv"
    part.to_csv(path, index=False)
    assert datasets.is_mlenergy_v2_table(path)
    got = datasets.load_profiles_or_bundled(str(path))
    want = datasets.mlenergy_v2(path)
    pd.testing.assert_frame_equal(got, want)
    assert len(got) == len(part) and set(got["gpu"]) == set(part["GPU"])
    # The command line takes it like a schema-v1 file.
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0", "--starts", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    # A schema-v1 CSV is not mistaken for one, and other CSVs still get the schema error.
    converted = tmp_path / "schema_v1.csv"
    got.to_csv(converted, index=False)
    assert not datasets.is_mlenergy_v2_table(converted)
    other = tmp_path / "other.csv"
    pd.DataFrame({"Model": ["x"], "energy": [1.0]}).to_csv(other, index=False)
    assert not datasets.is_mlenergy_v2_table(other)
    with pytest.raises(ProfileSchemaError, match="missing required column"):
        datasets.load_profiles_or_bundled(str(other))


def test_python_api_takes_the_same_sources_as_the_command_line(tmp_path, raw):
    from energylens.compare.runner import evaluate
    from energylens.model.closed_form import EnergyModel

    part = raw[raw["task"] == "code"]
    path = tmp_path / "code_rows.csv"
    part.to_csv(path, index=False)
    assert EnergyModel(bootstrap=0, n_starts=1).fit(path).summary.n_rows == len(part)
    assert EnergyModel(bootstrap=0, n_starts=1).fit("bundled").summary.n_rows == len(raw)
    table = evaluate(str(path), repeats=1, splits=("random",), progress=False, method_names=["energylens"])
    assert set(table["task"]) == {"code"}


SPLITWISE_HEADER = ("model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,"
                    "token_time,e2e_time,tensor_parallel")
SPLITWISE_ROWS = (  # the first rows of Splitwise's perf_model.csv (MIT), plus one derived pcap row
    "llama2-70b,a100-80gb,512,1,128,1.0000125,0.73599375,196.2532191537321,54.87951193752838,7168.98,2",
    "llama2-70b,a100-80gb,512,1,128,1.0000125,0.73599375,195.56166394613683,54.85629275859165,7165.27,2",
    "llama2-70b,h100-80gb,512,1,128,0,0,120.0,37.0,4856.0,2",
    "bloom-176b,h100-80gb,1024,4,256,0,0,400.0,60.0,15760.0,8",
    "llama2-70b,h100-80gb-pcap,512,1,128,0,0,156.0,37.0,4892.0,2",
)


def test_splitwise_tables_become_latency_only_profiles(tmp_path):
    from energylens.profiles.schema import DroppedRowsWarning

    path = tmp_path / "perf_model.csv"
    path.write_text("\n".join((SPLITWISE_HEADER, *SPLITWISE_ROWS)) + "\n")
    assert datasets.is_splitwise_table(path) and not datasets.is_mlenergy_v2_table(path)
    with pytest.warns(DroppedRowsWarning, match="1 row.*h100-80gb-pcap"):
        df = datasets.splitwise(path)
    assert len(df) == 3
    assert "energy_j" not in df or df["energy_j"].isna().all()
    first = df[(df["gpu"] == "A100-SXM4-80GB")].iloc[0]
    assert first["model"] == "meta-llama/Llama-2-70b-hf" and first["tp"] == 2 and first["n_repeats"] == 2
    assert first["ttft_s"] == pytest.approx((196.2532191537321 + 195.56166394613683) / 2e3)
    assert first["tpot_s"] == pytest.approx((54.87951193752838 + 54.85629275859165) / 2e3)
    assert first["input_tokens"] == 512 and first["output_tokens"] == 128 and first["precision"] == "fp16"
    with pytest.raises(ProfileSchemaError, match="latency only"):
        datasets.load_profiles_or_bundled(str(path))
    with pytest.warns(DroppedRowsWarning):
        assert len(datasets.load_profiles_or_bundled(str(path), require_energy=False)) == 3

    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join((SPLITWISE_HEADER, *SPLITWISE_ROWS[:3], SPLITWISE_ROWS[3].replace("bloom-176b", "zz-9b")))
                   + "\n")
    with pytest.raises(ProfileSchemaError, match="'zz-9b' is not in the reference tables.*data rows 4") as ei:
        datasets.splitwise(bad)
    assert ei.value.rows == [3]


def test_cli_fits_the_latency_model_on_a_splitwise_table(tmp_path, capsys):
    from energylens.cli.main import main as cli_main

    rows = []
    for tp, b, p, t in ((2, 1, 512, 128), (2, 4, 1024, 256), (4, 1, 512, 128), (4, 8, 2048, 128), (8, 2, 512, 512),
                        (8, 16, 1024, 128), (2, 2, 256, 256), (4, 4, 256, 512), (8, 1, 4096, 128)):
        for hw, scale in (("a100-80gb", 1.6), ("h100-80gb", 1.0)):
            ttft = scale * (0.05 * p * b / tp + 20.0)
            tpot = scale * (30.0 + 2.0 * b / tp + 60.0 / tp)
            rows.append(f"llama2-70b,{hw},{p},{b},{t},0,0,{ttft},{tpot},0,{tp}")
    path = tmp_path / "perf_model.csv"
    path.write_text("\n".join((SPLITWISE_HEADER, *rows)) + "\n")
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "lat.json"), "--bootstrap", "0", "--starts", "2"]) == 0
    assert "fitted the latency model only" in capsys.readouterr().out


@pytest.mark.parametrize("reader", ["splitwise", "mlenergy_v2"])
def test_an_export_missing_a_column_names_the_one_spelled_like_it(tmp_path, reader):
    """The three export readers open a file through one files.read_export: the ML.ENERGY v2 and Splitwise ones now
    name a misspelt column beside the missing one, as the v3 reader did (the message was the bare list)."""
    path = tmp_path / "export.csv"
    if reader == "splitwise":
        path.write_text("\n".join((SPLITWISE_HEADER.replace("prompt_size", "prompt_sise"), *SPLITWISE_ROWS)) + "\n")
        said = "not a Splitwise perf_model table: missing column(s) 'prompt_size' (is 'prompt_sise' a misspelling?)"
    else:
        raw = pd.read_csv(datasets.bundled_path()).head(3).rename(columns={"GPU": "GPUs"})
        raw.to_csv(path, index=False)
        said = "not an ML.ENERGY v2 flat table: missing column(s) 'GPU' (is 'GPUs' a misspelling?)"
    with pytest.raises(ProfileSchemaError) as info:
        getattr(datasets, reader)(path)
    assert said in str(info.value), str(info.value)
    with pytest.raises(FileNotFoundError, match=r"table not found: .*nope\.csv"):
        getattr(datasets, reader)(tmp_path / "nope.csv")
