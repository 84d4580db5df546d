"""The GPU table (every row resolves, cites a source, has sane dense numbers), user GPU tables, GPU spec
columns in a profile, the unknown-GPU error, and the precision table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from energylens.compare import inputs, registry
from energylens.errors import UnknownGpuError
from energylens.profiles import precision, tables
from energylens.profiles.features import build_features
from energylens.profiles.gpu_table import GpuTableError

REQUIRED_GPUS = [
    "A10", "A10G", "A30", "A40", "L4", "L40", "L40S", "A100-SXM4-40GB", "A100-SXM4-80GB", "A100-PCIe-40GB",
    "A100-PCIe-80GB", "H100-SXM5-80GB", "H100-PCIe-80GB", "H100-NVL-94GB", "H200-SXM-141GB", "H200-NVL-141GB",
    "H20", "GH200-96GB", "GH200-144GB", "B100", "B200", "GB200", "B300", "GB300", "RTX-6000-Ada",
    "RTX-PRO-6000-Blackwell", "MI250X", "MI300X", "MI325X", "MI355X",
]
NVML_NAMES = {
    "NVIDIA H100 80GB HBM3": "H100-SXM5-80GB", "NVIDIA H200": "H200-SXM-141GB", "NVIDIA B200": "B200",
    "NVIDIA A10G": "A10G", "NVIDIA L40S": "L40S", "NVIDIA A100-SXM4-80GB": "A100-SXM4-80GB",
    "NVIDIA H200 NVL": "H200-NVL-141GB", "NVIDIA RTX 6000 Ada Generation": "RTX-6000-Ada",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": "RTX-PRO-6000-Blackwell", "AMD Instinct MI355X": "MI355X",
    "NVIDIA GH200 480GB": "GH200-96GB", "h100": "H100-SXM5-80GB", "b300": "B300", "mi300x": "MI300X",
}


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()


# --------------------------------------------------------------------------------------------------
# bundled rows
# --------------------------------------------------------------------------------------------------

def test_every_required_gpu_is_a_row():
    assert set(REQUIRED_GPUS) <= set(tables.gpus()["name"])


@pytest.mark.parametrize("row", tables.gpus().itertuples(index=False), ids=lambda r: r.name)
def test_row_resolves_by_name_and_every_alias_and_cites_a_source(row):
    for n in [row.name, *[a for a in row.aliases.split(";") if a]]:
        assert tables.gpu_spec(n).name == row.name, n
        assert tables.gpu_spec(n.upper()).name == row.name
    assert row.source.startswith("https://") and " " not in row.source


@pytest.mark.parametrize("nvml, canon", NVML_NAMES.items())
def test_nvml_and_short_names(nvml, canon):
    assert tables.gpu_spec(nvml).name == canon


NO_FP8 = {"A10", "A10G", "A30", "A40", "A100-SXM4-40GB", "A100-SXM4-80GB", "A100-PCIe-40GB", "A100-PCIe-80GB",
          "V100-SXM2-32GB", "MI250X"}
HAS_FP4 = {"B100", "B200", "GB200", "B300", "GB300", "RTX-PRO-6000-Blackwell", "MI355X"}


@pytest.mark.parametrize("row", tables.gpus().itertuples(index=False), ids=lambda r: r.name)
def test_fp8_and_fp4_only_where_the_silicon_has_them(row):
    """Ampere / Volta / CDNA 2 have no FP8 tensor cores; FP4 is Blackwell and CDNA 4 only."""
    assert math.isnan(row.peak_fp8_tflops) == (row.name in NO_FP8), row.name
    assert (not math.isnan(row.peak_fp4_tflops)) == (row.name in HAS_FP4), row.name


@pytest.mark.parametrize("gpu, column, value", [
    # 2026-12 audit: NVIDIA's MLPerf Inference v6.1 DGX system files give the per-GPU TGP
    ("B200", "tdp_w", 1000), ("B300", "tdp_w", 1100), ("B300", "memory_gb", 270), ("B200", "memory_gb", 180), ("GB200", "tdp_w", 1200), ("GB200", "memory_gb", 186),
    # AMD CDNA 4 white paper: 7 peer links x 153.6 GB/s; CDNA 3: 7 x 128; CDNA 2 endnote 9: 8 x 100 per OAM
    # verda.com GB300 NVL72 per-GPU table; NVIDIA's GB300 NVL72 rack: 1,080 PF dense fp4 / 72 = 15 PF
    ("GB300", "tdp_w", 1400), ("GB300", "memory_gb", 279), ("GB300", "peak_fp4_tflops", 15000),
    ("MI355X", "interconnect_bw_gbs", 1075.2), ("MI300X", "interconnect_bw_gbs", 896),
    ("MI250X", "interconnect_bw_gbs", 800),
    # datasheets' dense halves of the sparse (*) figures
    ("L4", "peak_bf16_tflops", 121), ("L40S", "peak_fp8_tflops", 733), ("L40", "peak_fp8_tflops", 362),
    ("H100-NVL-94GB", "peak_fp8_tflops", 1670.5), ("H200-NVL-141GB", "peak_bf16_tflops", 835.5),
])
def test_audited_values(gpu, column, value):
    assert getattr(tables.gpu_spec(gpu), column) == pytest.approx(value)


@pytest.mark.parametrize("row", tables.gpus().itertuples(index=False), ids=lambda r: r.name)
def test_numbers_are_physically_sane(row):
    assert 300 <= row.hbm_bw_gbs <= 10000 or math.isnan(row.hbm_bw_gbs)
    assert 16 <= row.memory_gb <= 300
    assert math.isnan(row.tdp_w) or 50 <= row.tdp_w <= 1500
    assert math.isnan(row.interconnect_bw_gbs) or 32 <= row.interconnect_bw_gbs <= 1800
    peaks = [row.peak_bf16_tflops if not math.isnan(row.peak_bf16_tflops) else row.peak_fp16_tflops,
             row.peak_fp8_tflops, row.peak_fp4_tflops]
    present = [p for p in peaks if not math.isnan(p)]
    assert present == sorted(present), "dense bf16 <= fp8 <= fp4"
    if len(present) >= 2:  # each lower precision at most doubles the rate (a sparse number would show 4x)
        assert all(b / a <= 3.0 for a, b in zip(present, present[1:], strict=False))
    if not math.isnan(row.peak_fp32_tflops) and present:
        assert row.peak_fp32_tflops < present[0]


def test_full_rows_round_trip_through_a_user_table(tmp_path):
    full = tables.gpus().dropna(subset=["hbm_bw_gbs", "tdp_w", "interconnect_bw_gbs", "peak_bf16_tflops"])
    path = tmp_path / "copy.csv"
    full.to_csv(path, index=False)
    loaded = tables.load_gpu_table(path)
    assert [s.name for s in loaded] == list(full["name"])
    assert all(s == tables.gpu_spec(s.name) for s in loaded)


# --------------------------------------------------------------------------------------------------
# unknown GPU
# --------------------------------------------------------------------------------------------------

def test_unknown_gpu_error_has_close_matches_and_both_remedies():
    with pytest.raises(UnknownGpuError) as ei:
        tables.gpu_spec("H300 SXM")
    msg = str(ei.value)
    assert "Close matches" in msg
    assert "gpu_hbm_bw_gbs" in msg and "gpu_peak_bf16_tflops" in msg and "profile file" in msg
    assert "--gpu-table FILE" in msg


def test_unknown_gpu_in_profiles_names_rows_and_remedies():
    df = pd.DataFrame({"gpu": ["H100", "Mystery-9000", "Mystery-9000"]}, index=[0, 4, 7])
    with pytest.raises(UnknownGpuError, match=r"data rows 5, 8 .*--gpu-table FILE"):
        tables.gpu_specs_for_profiles(df, source="p.csv")


# --------------------------------------------------------------------------------------------------
# user GPU tables
# --------------------------------------------------------------------------------------------------

USER_CSV = """name,aliases,vendor,memory_gb,hbm_bw_gbs,peak_bf16_tflops,peak_fp8_tflops,tdp_w,interconnect_bw_gbs,source
X1000,NVIDIA X1000;x1k,nvidia,120,5000,1200,2400,800,900,https://example.com/x1000
"""


def test_user_table_registers_and_resolves(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(USER_CSV)
    (spec,) = tables.register_gpu_table(path)
    assert tables.gpu_spec("nvidia x1000") is spec and tables.gpu_spec("X1K").hbm_bw_gbs == 5000
    assert spec.peak_flops("fp8") == 2400e12 and spec.peak_flops("mxfp4") == 1200e12
    assert math.isnan(spec.peak_fp4_tflops)
    tables.unregister_gpu("x1k")
    with pytest.raises(UnknownGpuError):
        tables.gpu_spec("X1000")


def test_user_table_fills_blank_cells_of_a_bundled_row(tmp_path):
    path = tmp_path / "fill.csv"
    path.write_text("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\nNVIDIA A10G,600,70,300,64\n")
    tables.register_gpu_table(path)
    spec = tables.gpu_spec("A10G")
    assert spec.name == "A10G" and spec.peak_bf16_tflops == 70 and spec.peak_flops("bf16") == 70e12
    path.write_text("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\nH100,3000,989,700,900\n")
    with pytest.raises(GpuTableError, match=r"fill\.csv: data row 1 .*column 'hbm_bw_gbs'.*3350.*another GPU name"):
        tables.register_gpu_table(path)


@pytest.mark.parametrize("body, row, column, what", [
    ("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\nA,5000,1000,700,900\nB,fast,1000,700,900\n",
     2, "hbm_bw_gbs", "not a number"),
    ("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\nA,5,1000,700,900\n",
     1, "hbm_bw_gbs", "outside the sane range"),
    ("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w\nA,5000,1000,700\n", 1, "interconnect_bw_gbs", "lacks"),
    ("name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs\nA,5000,700,900\n", 1, "peak_bf16_tflops", "lacks"),
    ("name,aliases,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\nA,z,5000,1000,700,900\nB,Z,5000,1000,700,900\n",
     2, "aliases", "two GPUs"),
])
def test_bad_user_table_is_located(tmp_path, body, row, column, what):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(GpuTableError) as ei:
        tables.load_gpu_table(path)
    msg = str(ei.value)
    assert "bad.csv" in msg and f"{row} (1-based" in msg and column in msg and what in msg
    assert ei.value.column == column and ei.value.rows[-1] == row - 1


def test_unknown_column_and_missing_file(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("name,hbm_bandwidth,tdp_w\nA,5000,700\n")
    with pytest.raises(GpuTableError, match="unknown column.*'hbm_bandwidth'"):
        tables.load_gpu_table(path)
    with pytest.raises(FileNotFoundError, match=r"GPU table not found: .*nope\.csv"):
        tables.load_gpu_table(tmp_path / "nope.csv")


# --------------------------------------------------------------------------------------------------
# GPU spec columns in a profile
# --------------------------------------------------------------------------------------------------

def _profile(gpu: str, n: int = 3, **cols) -> pd.DataFrame:
    df = pd.DataFrame({"model": ["meta-llama/Llama-3.1-8B-Instruct"] * n, "gpu": [gpu] * n, "tp": [1] * n,
                       "pp": [1] * n, "batch_size": [8.0] * n, "input_tokens": [500.0] * n,
                       "output_tokens": [200.0] * n, "params_b": [8.03] * n, "energy_j": [100.0] * n})
    for k, v in cols.items():
        df[k] = v
    return df


def test_inline_spec_columns_describe_an_unknown_gpu():
    df = _profile("Z9", gpu_hbm_bw_gbs=4000, gpu_peak_bf16_tflops=800, gpu_tdp_w=600,
                  gpu_interconnect_bw_gbs=400, gpu_peak_fp8_tflops=[1600, np.nan, 1600])
    spec = tables.gpu_specs_for_profiles(df)["Z9"]
    assert (spec.hbm_bw_gbs, spec.peak_fp8_tflops, spec.vendor) == (4000, 1600, "user")
    f = build_features(df)
    assert np.allclose(f["hbm_bytes_per_s"], 4000e9) and np.allclose(f["peak_flops_per_s"], 800e12)
    assert np.allclose(f["link_bytes_per_s"], 200e9)


def test_inline_columns_fill_blank_cells_but_never_change_filled_ones():
    spec = tables.gpu_specs_for_profiles(_profile("A10G", gpu_peak_bf16_tflops=70))["A10G"]
    assert spec.peak_bf16_tflops == 70 and spec.tdp_w == 300
    assert tables.gpu_specs_for_profiles(_profile("H100", gpu_tdp_w=700))["H100"].tdp_w == 700
    with pytest.raises(GpuTableError, match=r"column 'gpu_tdp_w'.*700.*another GPU name") as ei:
        tables.gpu_specs_for_profiles(_profile("H100", gpu_tdp_w=500))
    assert ei.value.rows == [0, 1, 2]


@pytest.mark.parametrize("cols, column, what", [
    (dict(gpu_hbm_bw_gbs=["4000", "x", "4000"], gpu_peak_bf16_tflops=800, gpu_tdp_w=600,
          gpu_interconnect_bw_gbs=400), "gpu_hbm_bw_gbs", "data row 2 .*not a number"),
    (dict(gpu_hbm_bw_gbs=[4000, 4000, 4100], gpu_peak_bf16_tflops=800, gpu_tdp_w=600,
          gpu_interconnect_bw_gbs=400), "gpu_hbm_bw_gbs", "different values"),
    (dict(gpu_hbm_bw_gbs=4000, gpu_peak_bf16_tflops=800, gpu_tdp_w=600), "gpu_interconnect_bw_gbs", "lacks"),
    (dict(gpu_hbm_bw_gbs=4.0, gpu_peak_bf16_tflops=800, gpu_tdp_w=600, gpu_interconnect_bw_gbs=400),
     "gpu_hbm_bw_gbs", "sane range"),
    (dict(gpu_hbm_bw_gbs=4000, gpu_peak_bf16_tflops=0.8, gpu_tdp_w=600, gpu_interconnect_bw_gbs=400),  # PFLOP/s
     "gpu_peak_bf16_tflops", "sane range"),
])
def test_bad_inline_columns_are_located(cols, column, what):
    df = _profile("Z9", **cols)
    df.attrs["source"] = "runs.csv"
    with pytest.raises(GpuTableError, match=what) as ei:
        tables.gpu_specs_for_profiles(df)
    assert ei.value.column == column and "runs.csv" in str(ei.value)


def test_blank_table_cell_the_template_needs_names_the_remedy():
    # no bundled row lacks bandwidth, TDP or interconnect any more: a registered user GPU without a link
    tables.register_gpu(tables.GpuSpec("NoLink-1", (), "user", 80, 3000, 60, 900, 900, math.nan, math.nan,
                                       math.nan, 700, math.nan, "test"))
    with pytest.raises(ValueError, match=r"NoLink-1.*gpu_interconnect_bw_gbs.*--gpu-table"):
        build_features(_profile("NoLink-1"))
    with pytest.raises(ValueError, match=r"gpu_peak_bf16_tflops.*--gpu-table"):
        build_features(_profile("A10G"))
    f = build_features(_profile("A10G", gpu_peak_bf16_tflops=70))
    assert np.allclose(f["peak_flops_per_s"], 70e12)


# --------------------------------------------------------------------------------------------------
# precision table
# --------------------------------------------------------------------------------------------------

def test_precision_table_is_consistent():
    for name, fmt in precision.WEIGHT_FORMATS.items():
        assert fmt.name == name and precision.PRECISION_BYTES[name] == fmt.bits_per_weight / 8
        assert precision.normalize_precision(name) == name
        assert set(fmt.compute) <= set(precision.PEAK_COLUMNS) | set(precision._CONDITIONAL_COMPUTE)
        assert fmt.compute[-1] in ("fp16", "bf16", "fp32"), "every format can run on a 16-bit GPU"
    assert precision.bytes_per_param("mxfp4") == 0.53125 and precision.bytes_per_param("fp8") == 1
    assert precision.bytes_per_param("W4A16") == precision.bytes_per_param("gptq") == 0.53125


@pytest.mark.parametrize("gpu, fmt, compute", [
    ("H100", "mxfp4", "bf16"), ("B200", "mxfp4", "bf16"), ("MI355X", "mxfp4", "bf16"), ("A100 80GB", "fp8", "bf16"),
    ("H100", "fp8", "fp8"), ("L40S", "fp8", "fp8"), ("H100", "int4", "bf16"), ("B300", "int8", "bf16"),
    ("A100 80GB", "int8", "int8"), ("V100 32GB", "bf16", "fp16"), ("GB200", "nvfp4", "fp4"),
    # block-scaled fp8: the fp8 peak only on NVIDIA's FP4 generation (vLLM's DeepGEMM / CUTLASS SM100 kernels);
    # vLLM's ROCm kernels rescale in registers on CDNA 4 as on CDNA 3, so MI355X prices as MI300X does
    ("H100", "fp8_block", "bf16"), ("H200", "fp8_block", "bf16"), ("MI300X", "fp8_block", "bf16"),
    ("B200", "fp8_block", "fp8"), ("MI355X", "fp8_block", "bf16"), ("A100 80GB", "fp8_block", "bf16"),
    ("MI325X", "fp8_block", "bf16"), ("GB200", "fp8_block", "fp8"), ("B300", "fp8_block", "fp8"),
    ("RTX PRO 6000", "fp8_block", "fp8"), ("MI355X", "fp8", "fp8"),
    # nvfp4: W4A4 where vLLM has an FP4 GEMM (Blackwell), weight-only Marlin elsewhere; mxfp4 W4A16 everywhere
    ("H100", "nvfp4", "bf16"), ("B200", "nvfp4", "fp4"), ("RTX PRO 6000", "nvfp4", "fp4"),
    ("RTX PRO 6000", "mxfp4", "bf16"), ("GB200", "mxfp4", "bf16"), ("B200", "int4", "bf16"),
])
def test_compute_precision(gpu, fmt, compute):
    spec = tables.gpu_spec(gpu)
    assert spec.compute_precision(fmt) == compute
    assert spec.peak_flops(fmt) == getattr(spec, precision.PEAK_COLUMNS[compute]) * 1e12


def test_every_bundled_gpu_has_a_peak_for_every_format_or_says_why():
    for spec in map(tables.gpu_spec, tables.gpus()["name"]):
        for fmt in precision.WEIGHT_FORMATS:
            try:
                assert spec.peak_flops(fmt) > 0
            except ValueError as exc:
                assert spec.name in str(exc) and "--gpu-table" in str(exc)
                assert math.isnan(spec.peak_bf16_tflops) or fmt == "fp32"


def test_mxfp4_rows_work_in_every_baseline():
    rng = np.random.default_rng(0)
    rows = []
    for gpu in ("H100", "B200"):
        for prec in ("bf16", "mxfp4", "fp8"):
            for tp in (1, 2, 4):
                for b in (8, 64):
                    e = 50.0 * tp * (2.0 if prec == "bf16" else 1.2) / np.sqrt(b) * np.exp(0.05 * rng.standard_normal())
                    rows.append(dict(model="openai/gpt-oss-120b", params_b=116.8, active_params_b=5.7, gpu=gpu,
                                     tp=tp, pp=1, ep=1, n_gpus=tp, batch_size=b, input_tokens=400.0,
                                     output_tokens=300.0, energy_j=e, tpot_s=0.01 * tp, precision=prec,
                                     task="chat", modality="text", n_layers=36, d_model=2880, n_kv_heads=8,
                                     head_dim=64))
    df = pd.DataFrame(rows)
    x = inputs.baseline_features(df)
    j = inputs.BASELINE_FEATURES.index("precision_bytes")
    assert set(x[df["precision"] == "mxfp4", j]) == {0.53125}
    peak = x[:, inputs.BASELINE_FEATURES.index("peak_flops_per_s")] / 1e12  # the template's compute precision
    assert set(peak[(df["precision"] == "mxfp4") & (df["gpu"] == "H100")]) == {989.0}
    assert set(peak[(df["precision"] == "mxfp4") & (df["gpu"] == "B200")]) == {2250.0}  # W4A16: vLLM's default
    for method in registry.default_methods(seed=0, include=tuple(registry.method_names())):
        pred = method.fit(df).predict_energy(df)
        assert pred.shape == (len(df),) and np.all(np.isfinite(pred)), method.name


def test_block_scaled_fp8_spellings_and_bytes():
    for spelling in ("fp8_block", "FP8-block", "block_fp8", "fp8_blockwise"):
        assert precision.normalize_precision(spelling) == "fp8_block"
    assert precision.bytes_per_param("fp8_block") == precision.bytes_per_param("fp8") == 1.0
    assert tables.gpu_spec("B200").peak_flops("fp8_block") == tables.gpu_spec("B200").peak_flops("fp8")
    assert tables.gpu_spec("H100").peak_flops("fp8_block") == tables.gpu_spec("H100").peak_flops("bf16")
    assert tables.gpu_spec("MI355X").peak_flops("fp8_block") == tables.gpu_spec("MI355X").peak_flops("bf16")


def test_block_scaled_fp8_rate_follows_the_vendor_not_only_the_fp4_peak():
    """vLLM's block-fp8 kernels meet the fp8 rate only on NVIDIA Blackwell (DeepGEMM / CUTLASS SM100); a GPU
    described by the user with fp8 and fp4 peaks is taken as such a GPU, an AMD one is not."""
    from types import SimpleNamespace
    peaks = dict(peak_bf16_tflops=1000.0, peak_fp16_tflops=1000.0, peak_fp8_tflops=2000.0, peak_fp4_tflops=4000.0)
    for vendor, want in (("nvidia", "fp8"), ("user", "fp8"), ("amd", "bf16"), ("AMD ", "bf16")):
        gpu = SimpleNamespace(name="x", vendor=vendor, **peaks)
        assert precision.compute_precision("fp8_block", gpu) == want, vendor
        assert precision.compute_precision("fp8", gpu) == "fp8"
        assert precision.activation_quantised("fp8_block", gpu)  # 1 x 128 activation groups either way
    no_fp4 = SimpleNamespace(name="y", vendor="nvidia", **{**peaks, "peak_fp4_tflops": math.nan})
    assert precision.compute_precision("fp8_block", no_fp4) == "bf16"


def test_rows_run_on_a_cpu_are_told_why_and_what_to_do():
    """A sweep run without a GPU records gpu 'cpu'; fitting its rows listed 30 GPUs as if 'cpu' were a typo."""
    from energylens.profiles import load_profiles

    with pytest.raises(UnknownGpuError, match=r"run on a CPU .*gpu = \"H100\""):
        tables.gpu_spec("cpu")
    frame = pd.DataFrame([dict(model="meta-llama/Llama-3.1-8B-Instruct", params_b=8.0, gpu=g, tp=1, pp=1,
                               batch_size=8, input_tokens=100, output_tokens=10, energy_j=1.0) for g in ("cpu", "X9")])
    with pytest.raises(UnknownGpuError, match=r"unknown GPU 'cpu' at data row 1 .*run on a CPU"):
        build_features(load_profiles(frame))
