"""The memory check's runtime reserve (docs/search.md, Feasibility): 1.5 GiB per GPU, plus NCCL's NVLS buffers
(2 x 48 MiB per GPU of the group, current NCCL's; 2 x 288 MiB until 2026-12-07, an older NCCL's) where the GPU runs NVLink SHARP (NVSwitch, NVLink >= 900 GB/s) and its TP
group, or a MoE model's EP group (else tp x dp), spans more than 2 GPUs of its NVSwitch domain; an explicit ``runtime_reserve_gib`` / ``--runtime-reserve-gib`` is the whole
reserve, flat. Until 2026-12-06 every GPU was charged 1.5 GiB whatever its group, where vLLM logged 5.2-5.7 GiB
of non-torch memory per GPU at TP 8 on H200, and the CLI had no flag for the reserve."""

import json
import warnings

import numpy as np
import pytest

import energylens
from energylens.cli.main import main
from energylens.profiles import tables
from energylens.search.memory import (
    MEMORY_DEFAULTS,
    NVLS_BYTES_PER_GPU,
    collective_group,
    nvls_capable,
    runtime_reserve,
)

GIB = 2.0**30
L70 = "meta-llama/Llama-3.1-70B-Instruct"


def _per_gpu(model, gpu, **kw):
    """memory_gib_per_gpu of Llama-3.1-70B at batch 1 per searched tp (512 / 256 tokens)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(L70, gpu, input_tokens=512, output_tokens=256, tp=[2, 4, 8], max_num_seqs=[1],
                              energy_model=model, bootstrap=False, **kw)
    df = r.to_frame()
    return dict(zip(df["tp"].astype(int), df["memory_gib_per_gpu"], strict=True)), r


@pytest.mark.parametrize("gpu, nvls", [("H100-SXM5-80GB", True), ("H200-SXM-141GB", True), ("B200", True),
                                       ("GB200", True), ("H20", True), ("A100-SXM4-80GB", False),
                                       ("H100-NVL-94GB", False), ("H200-NVL-141GB", False), ("H100-PCIe-80GB", False),
                                       ("GH200-96GB", False), ("MI300X", False), ("MI355X", False), ("L40S", False)])
def test_nvls_runs_on_nvswitch_nvidia_gpus_only(gpu, nvls):
    assert nvls_capable(tables.gpu_spec(gpu)) is nvls


def test_the_reserve_grows_with_the_group_where_nccl_runs_nvls():
    base, per = MEMORY_DEFAULTS["runtime_reserve_bytes"], NVLS_BYTES_PER_GPU
    assert base == 1.5 * GIB and per == 2 * 48 * 2**20  # 24 channels x 2 x 128 KiB x 8 steps, two communicators
    tp, dp = np.array([1, 2, 4, 8, 1, 2, 4, 4]), np.array([1, 1, 1, 1, 8, 2, 2, 2])
    ep = np.array([1, 1, 1, 1, 8, 4, 1, 8])
    moe = np.array([False, False, False, False, True, True, True, True])
    group = collective_group(tp, dp, ep, moe)  # dense: the TP group; MoE: the EP group, else tp x dp
    assert group.tolist() == [1, 2, 4, 8, 8, 4, 8, 8]
    got = runtime_reserve(group, np.ones(8, dtype=bool)) / GIB
    assert got == pytest.approx([1.5, 1.5, 1.875, 2.25, 2.25, 1.875, 2.25, 2.25])  # no NVLS for 2 GPUs
    assert collective_group(tp, dp, ep, False).tolist() == tp.tolist()  # dense dp replicas share no collective
    # NVLS reaches the NVSwitch domain only: DeepSeek-V3 at TP 8 x DP 2 on HGX H100 (8 per domain) counts 8
    assert collective_group(8, 2, 1, True, 8) == 8 and collective_group(8, 2, 16, True, 72) == 16
    assert runtime_reserve(group, np.zeros(8, dtype=bool)) / GIB == pytest.approx([1.5] * 8)  # A100, PCIe, AMD
    flat = runtime_reserve(group, True, {"runtime_reserve_bytes": 2 * GIB, "nvls_reserve_bytes_per_gpu": 0.0})
    assert flat / GIB == pytest.approx([2.0] * 8)


def test_the_engine_charges_the_nvls_buffers_and_an_explicit_reserve_overrides_them(model):
    """The engine's memory per GPU (kernel::runtime_reserve) against the flat 1.5 GiB given explicitly: 0.75 GiB
    more at TP 8 and 0.375 at TP 4 on H100 SXM, nothing at TP 2; nothing on A100 at any TP."""
    modelled, r = _per_gpu(model, "H100")
    flat, r_flat = _per_gpu(model, "H100", runtime_reserve_gib=1.5)
    assert {t: modelled[t] - flat[t] for t in flat} == pytest.approx({2: 0.0, 4: 0.375, 8: 0.75}, abs=1e-9)
    assert r.settings["runtime_reserve_gib"] is None and r_flat.settings["runtime_reserve_gib"] == 1.5
    a100, _ = _per_gpu(model, "A100-SXM4-80GB")
    a100_flat, _ = _per_gpu(model, "A100-SXM4-80GB", runtime_reserve_gib=1.5)
    assert a100 == pytest.approx(a100_flat, abs=1e-12)
    more, _ = _per_gpu(model, "H100", runtime_reserve_gib=3.0)  # above the model at TP 8: the given value wins
    assert {t: more[t] - flat[t] for t in flat} == pytest.approx({2: 1.5, 4: 1.5, 8: 1.5}, abs=1e-9)


def test_the_assumed_line_states_the_reserve(model):
    _, r = _per_gpu(model, "H100")
    assert ("runtime reserve 1.5 GiB per GPU, plus 0.09375 GiB x the GPUs (at most 32) of a TP / MoE group of "
            "more than 2 on H100 (NCCL's NVLS buffers: 0.75 GiB at TP 8, 2.25 GiB of reserve in all)") in r.summary()
    _, r = _per_gpu(model, "H100", runtime_reserve_gib=2.5)
    assert "runtime reserve 2.5 GiB per GPU (flat, as given)" in r.summary()


ARGS = ["search", "--model", L70, "--gpus", "H100", "--input-tokens", "512", "--output-tokens", "256",
        "--tp", "8", "--max-num-seqs", "1", "--json"]


def test_cli_flag_sets_the_reserve(tmp_path, model, capsys):
    path = tmp_path / "model.json"
    model.save(path)
    assert main([*ARGS, "--model-file", str(path), "--runtime-reserve-gib", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["runtime_reserve_gib"] == 3.0
    flat = doc["top"][0]["memory_gib_per_gpu"]
    assert main([*ARGS, "--model-file", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["runtime_reserve_gib"] is None
    assert doc["top"][0]["memory_gib_per_gpu"] - flat == pytest.approx(2.25 - 3.0, abs=1e-9)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "x"])
def test_cli_flag_is_validated(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*ARGS, "--runtime-reserve-gib", value])
    assert exc.value.code == 2
    assert "argument --runtime-reserve-gib: " in capsys.readouterr().err  # the flag exists and names itself
