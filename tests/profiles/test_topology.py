"""Scale-up domains and scale-out bandwidth (energylens.profiles.topology, docs/search.md "Topology"): the
GPU table's columns, the features of rows that leave a domain, old GPU tables without the columns, and the
native row path's hand-over of such rows to features.py."""
import math

import numpy as np
import pandas as pd
import pytest

from energylens.model import reference
from energylens.profiles import tables
from energylens.profiles.features import FEATURE_NAMES, build_features, features_of
from energylens.profiles.gpu_table import (
    DEFAULT_SCALE_OUT_BW_GBS,
    DEFAULT_SCALE_UP_DOMAIN_GPUS,
    GpuTableError,
)
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import feature_rows, row_inputs

OLD_COLUMNS = ("name,aliases,vendor,memory_gb,hbm_bw_gbs,peak_fp32_tflops,peak_fp16_tflops,peak_bf16_tflops,"
               "peak_fp8_tflops,peak_int8_tops,peak_fp4_tflops,tdp_w,interconnect_bw_gbs,source")


@pytest.fixture(autouse=True)
def _no_user_gpus():
    yield
    tables.clear_user_gpus()


@pytest.mark.parametrize("row", tables.gpus().itertuples(index=False), ids=lambda r: r.name)
def test_every_row_has_a_domain_and_cites_every_source(row):
    assert row.scale_up_domain_gpus >= 1 and row.scale_up_domain_gpus == int(row.scale_up_domain_gpus)
    assert math.isnan(row.scale_out_bw_gbs) or 1 <= row.scale_out_bw_gbs <= row.interconnect_bw_gbs
    for url in row.source.split(";"):
        assert url.startswith("https://") and " " not in url, url


@pytest.mark.parametrize(("gpu", "domain", "out_gbs"), [
    ("GB200", 72, 100), ("GB300", 72, 200), ("H100", 8, 100), ("H200", 8, 100), ("B200", 8, 100), ("B300", 8, 200),
    ("MI300X", 8, 100), ("MI355X", 8, 100), ("H100 NVL", 2, DEFAULT_SCALE_OUT_BW_GBS), ("L40S", 8, 12.5),
    ("A100-SXM4-40GB", 8, 50)])
def test_platform_values(gpu, domain, out_gbs):
    spec = tables.gpu_spec(gpu)
    assert spec.domain_gpus() == domain
    assert spec.scale_out_gbs() == out_gbs


def _rows(**cols) -> pd.DataFrame:
    base = {"model": "Qwen/Qwen3-30B-A3B", "gpu": "H100", "tp": 1, "pp": 1, "dp": 1, "ep": 1, "batch_size": 64.0,
            "input_tokens": 512.0, "output_tokens": 256.0, "params_b": 30.5}
    n = max((len(v) for v in cols.values() if isinstance(v, list)), default=1)
    return pd.DataFrame({**base, **cols}, index=range(n))


def test_rows_inside_one_domain_price_at_the_link():
    f = build_features(_rows(tp=[1, 2, 8, 4, 1], pp=[1, 4, 1, 2, 1], dp=[1, 1, 1, 1, 8], ep=[1, 1, 8, 1, 8]))
    np.testing.assert_array_equal(f["a2a_bytes_per_s"], f["link_bytes_per_s"])
    np.testing.assert_array_equal(f["link_bytes_per_s"], 450e9)
    np.testing.assert_array_equal(f["pp_scale_out_hops"], 0.0)
    np.testing.assert_array_equal(f["scale_out_bytes_per_s"], 50e9)


def test_crossing_rows_by_hand():
    # H100: D = 8, link 450 GB/s, scale-out 50 GB/s per direction
    f = build_features(_rows(tp=[8, 4, 2, 1, 16], pp=[2, 4, 8, 1, 1], dp=[1, 1, 1, 16, 1], ep=[1, 1, 1, 16, 1]))
    np.testing.assert_array_equal(f["pp_scale_out_hops"], [1, 1, 1, 0, 0])  # 2 / 4 stages per domain
    share = 8 / 16
    assert f["a2a_bytes_per_s"][3] == pytest.approx(1 / (share / 450e9 + (1 - share) / 50e9), rel=1e-15)
    assert f["link_bytes_per_s"][4] == 50e9  # a TP group over two domains all-reduces over scale-out
    np.testing.assert_array_equal(f["link_bytes_per_s"][:4], 450e9)


def test_profile_column_overrides_the_table_and_is_validated():
    f = build_features(_rows(tp=[8, 8], pp=[2, 2], scale_up_domain_gpus=[16, np.nan]))
    np.testing.assert_array_equal(f["pp_scale_out_hops"], [0, 1])
    with pytest.raises(ValueError, match="column 'scale_up_domain_gpus': must be a whole number of GPUs >= 1 in data "
                                         r"row 1 of the DataFrame \(1-based"):  # the schema's error: column and 1-based row
        build_features(_rows(scale_up_domain_gpus=[2.5]))


def test_scale_out_hops_lengthen_the_step_and_raise_the_energy():
    rows = _rows(model="meta-llama/Llama-3.1-70B-Instruct", params_b=70.6, tp=[8, 8], pp=[2, 2],
                 scale_up_domain_gpus=[8, 16])
    f = build_features(rows)
    theta = reference.ENERGY_PARAM_INIT
    e = reference.energy(f, theta)
    _, tpot = reference.latency(f, reference.LATENCY_PARAM_INIT)
    assert e[0] > e[1] and tpot[0] > tpot[1]
    # the difference is the scale-out hop (alpha + 2 B_r d / out) / pp, in the busy time
    gone = {k: v.copy() for k, v in f.items()}
    gone["pp_scale_out_hops"][:] = 0.0
    np.testing.assert_array_equal(reference.energy(gone, theta), e[1])


def test_ep_group_beyond_the_domain_pays_more_all_to_all_time():
    rows = _rows(tp=[1, 1], dp=[16, 16], ep=[16, 16], scale_up_domain_gpus=[8, 16])
    f = build_features(rows)
    assert f["a2a_moe_layers"][0] > 0
    _, tpot = reference.latency(f, reference.LATENCY_PARAM_INIT)
    assert tpot[0] > tpot[1]


def test_old_gpu_table_without_the_columns_gets_the_documented_defaults(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(OLD_COLUMNS + "\nOldGPU-1,,nvidia,80,3000,60,900,900,,,,700,900,https://example.com/old\n")
    (spec,) = tables.register_gpu_table(path)
    assert math.isnan(spec.scale_up_domain_gpus) and math.isnan(spec.scale_out_bw_gbs)
    assert spec.domain_gpus() == DEFAULT_SCALE_UP_DOMAIN_GPUS == 8
    assert spec.scale_out_gbs() == DEFAULT_SCALE_OUT_BW_GBS == 100
    f = build_features(_rows(gpu="OldGPU-1", tp=[8, 8], pp=[1, 2]))
    np.testing.assert_array_equal(f["pp_scale_out_hops"], [0, 1])
    np.testing.assert_array_equal(f["scale_out_bytes_per_s"], 50e9)


def test_user_rows_and_inline_columns_give_the_topology(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(OLD_COLUMNS + ",scale_up_domain_gpus,scale_out_bw_gbs\n"
                    "Rack-1,,nvidia,80,3000,60,900,900,,,,700,900,https://example.com/r,32,400\n")
    (spec,) = tables.register_gpu_table(path)
    assert spec.domain_gpus() == 32 and spec.scale_out_gbs() == 400
    bad = tmp_path / "bad.csv"
    bad.write_text(OLD_COLUMNS + ",scale_up_domain_gpus\nRack-2,,nvidia,80,3000,60,900,900,,,,700,900,x,1.5\n")
    with pytest.raises(GpuTableError, match="scale_up_domain_gpus.*whole number"):
        tables.load_gpu_table(bad)
    inline = _rows(gpu="Inline-1", tp=[4], pp=[2], gpu_hbm_bw_gbs=3000, gpu_tdp_w=700, gpu_interconnect_bw_gbs=900,
                   gpu_peak_bf16_tflops=900, gpu_scale_up_domain_gpus=4, gpu_scale_out_bw_gbs=200)
    f = build_features(inline)
    assert f["pp_scale_out_hops"][0] == 1 and f["scale_out_bytes_per_s"][0] == 100e9


def test_native_rows_price_rows_across_domains_as_features_py():
    """ML.ENERGY v2's TP 8 x PP 2 rows (and TP over a small domain) stay on the native pass, which prices
    their scale-out hops and TP bandwidth with the same expressions, bit for bit."""
    rows = _rows(model="meta-llama/Llama-3.1-8B-Instruct", params_b=8.0, tp=[8, 4], pp=[1, 2]).drop(columns=["dp", "ep"])
    crossing = pd.concat([rows, rows.assign(pp=[2, 4]), rows.assign(gpu="H100 NVL", tp=[4, 8], pp=[1, 2])],
                         ignore_index=True)
    light = light_profiles(crossing, require_energy=False)
    assert light is not None and row_inputs(light) is not None
    native = feature_rows(light)
    want = features_of(light, light.gpu_specs, light.model_specs)
    assert (want["pp_scale_out_hops"] > 0).sum() >= 3 and (want["link_bytes_per_s"] < want["link_bytes_per_s"].max()).any()
    for k, name in enumerate(FEATURE_NAMES):
        np.testing.assert_array_equal(native[k], want[name], err_msg=name)
    own_domain = rows.assign(scale_up_domain_gpus=4)  # a row's own domain column: features.py reads it
    light = light_profiles(own_domain, require_energy=False)
    assert light is None or row_inputs(light) is None
