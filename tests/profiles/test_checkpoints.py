"""A checkpoint's published weight format (energylens.profiles.checkpoints), the search's default precision:
the name's quantisation token, else the model table's checkpoint_precision cell, else bf16."""

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import tables
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.search import build_space
from energylens.search.api import bundled_model


@pytest.mark.parametrize("name, fmt", [
    ("openai/gpt-oss-120b", "mxfp4"),                        # published only in mxfp4 (table)
    ("gpt-oss-20b", "mxfp4"),                                # an alias of that row
    ("deepseek-ai/DeepSeek-R1", "fp8"),                      # an alias of the fp8 DeepSeek-V3 row
    ("moonshotai/Kimi-K2-Instruct-0905", "fp8"),
    ("moonshotai/Kimi-K2-Thinking", "int4"),                 # the row's alias override
    ("MiniMaxAI/MiniMax-M2.5", "fp8"),
    ("Qwen/Qwen3-8B-FP8", "fp8"),                            # name tokens
    ("Qwen/Qwen2.5-7B-Instruct-AWQ", "int4"),
    ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", "int4"),
    ("nvidia/Llama-3.3-70B-Instruct-FP4", "nvfp4"),          # NVIDIA's -FP4 checkpoints are NVFP4
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic", "fp8"),
    ("nvidia/NVIDIA-Nemotron-Nano-12B-v2-VL-BF16", "bf16"),
    ("meta-llama/Llama-3.1-70B-Instruct", "bf16"),           # the table's blank
    ("someone/not-in-the-table", "bf16"),
])
def test_checkpoint_precision_of_names(name, fmt):
    assert checkpoint_precision(name) == fmt


def test_every_table_cell_parses_to_known_formats_and_real_aliases():
    frame = tables.models()
    cells = frame.loc[frame["checkpoint_precision"].fillna("").str.strip() != "", ["name", "aliases",
                                                                                   "checkpoint_precision"]]
    assert len(cells) >= 5
    for row in cells.itertuples():
        parts = [p.strip() for p in row.checkpoint_precision.split(";")]
        assert "=" not in parts[0], row.name  # the row's own format first
        assert tables.normalize_precision(parts[0]) in tables.WEIGHT_FORMATS
        aliases = {tables.normalize_name(a) for a in row.aliases.split(";") if a}
        for alias, fmt in (p.split("=", 1) for p in parts[1:]):
            assert tables.normalize_name(alias) in aliases, (row.name, alias)
            fmt, *layout = fmt.split()  # layout words: checkpoints.checkpoint_layout (Kimi-K2-Thinking)
            assert tables.normalize_precision(fmt) in tables.WEIGHT_FORMATS
            assert set(layout) <= {"experts", "group32"}, (row.name, layout)


def test_search_defaults_to_the_checkpoint_format_and_says_so():
    model = bundled_model()
    kw = dict(gpus="H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8], energy_model=model,
              bootstrap=False)
    r = energylens.search(model="openai/gpt-oss-120b", **kw)
    # 116.8B parameters: mxfp4 experts (~4.25 bit) fit one 80 GB GPU, bf16 (234 GB) does not
    assert r.settings["checkpoint_precisions"] == {"openai/gpt-oss-120b": "mxfp4"}
    assert r.settings["precisions"] == ["mxfp4"] and r.feasible == 1
    assert "precision: each model in the format its checkpoint is published in (openai/gpt-oss-120b mxfp4)" in r.summary()
    bf16 = energylens.search(model="openai/gpt-oss-120b", precision="bf16", **kw)
    assert bf16.settings["checkpoint_precisions"] is None and bf16.feasible == 0
    assert bf16.rejected["memory_weights"] == 1 and "precision:" not in bf16.summary()
    plain = energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", **kw)
    assert plain.settings["precisions"] == ["bf16"] and "precision:" not in plain.summary()


def test_each_model_of_a_space_gets_its_own_format():
    space = build_space(["Qwen/Qwen3-8B-FP8", "openai/gpt-oss-20b", "meta-llama/Llama-3.1-8B-Instruct"], "H100",
                        input_tokens=512, output_tokens=256)
    assert [(c.model, c.precision) for c in space.combos] == [
        ("Qwen/Qwen3-8B", "fp8"), ("openai/gpt-oss-20b", "mxfp4"), ("meta-llama/Meta-Llama-3.1-8B-Instruct", "bf16")]
    both = build_space(["Qwen/Qwen3-8B-FP8"], "H100", input_tokens=512, output_tokens=256, precision=["bf16", "fp8"])
    assert [c.precision for c in both.combos] == ["bf16", "fp8"] and both.checkpoint_precisions is None


def test_candidate_rows_without_precision_take_the_checkpoint_format():
    df = pd.DataFrame({"model": ["openai/gpt-oss-120b", "openai/gpt-oss-120b", "meta-llama/Llama-3.1-8B-Instruct"],
                       "gpu": "H100", "tp": [1, 2, 1], "max_num_seqs": 8, "input_tokens": 512, "output_tokens": 256,
                       "precision": [None, "bf16", None]})
    r = energylens.search(candidates=df, energy_model=bundled_model(), top=3, bootstrap=False)
    assert sorted(r.settings["precisions"]) == ["bf16", "mxfp4"]
    got = dict(zip(r.top["candidate"], r.top["precision"], strict=True))
    assert got == {0: "mxfp4", 2: "bf16"}  # row 1 (bf16 on 2 GPUs, 117 GB per GPU) does not fit
    assert r.rejected["memory_weights"] == 1


def test_profiles_without_precision_take_the_checkpoint_format():
    """The schema (and the light path, which must agree with it) fills a missing or blank precision with the
    format the row's checkpoint is published in, as the search does; before, every such row was bf16."""
    from energylens.profiles.schema import load_profiles

    df = pd.DataFrame({"model": ["Qwen/Qwen3-8B-FP8", "openai/gpt-oss-20b", "meta-llama/Llama-3.1-8B-Instruct"],
                       "params_b": [8.2, 20.9, 8.0], "gpu": "H100", "tp": 1, "pp": 1, "batch_size": 32.0,
                       "input_tokens": 512.0, "output_tokens": 256.0})
    assert list(load_profiles(df, require_energy=False)["precision"]) == ["fp8", "mxfp4", "bf16"]
    assert list(load_profiles(df.assign(precision=[None, "bf16", ""]), require_energy=False)["precision"]) == [
        "fp8", "bf16", "bf16"]
    m = bundled_model()
    explicit = m.predict(df.assign(precision=["fp8", "mxfp4", "bf16"]))
    np.testing.assert_array_equal(m.predict(df), explicit)             # light path (no other columns)
    np.testing.assert_array_equal(m.predict(df.assign(dp=1)), explicit)  # schema path (a dp column)
    assert m.predict(df)[0] != m.predict(df.assign(precision="bf16"))[0]
