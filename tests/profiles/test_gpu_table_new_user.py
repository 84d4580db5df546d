"""A new user's GPU table, as they write it: the H100's numbers under another name are priced as the H100
(predict's memory column and the search alike), a blank or misspelt vendor is said, and the cells and headers a
datasheet invites (a unit in the header, a one-letter typo, TB/s or bytes/s for GB/s) get an error that says
what to write."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from energylens import EnergyModel
from energylens.cli.main import main as cli_main
from energylens.profiles import datasets, tables
from energylens.profiles.gpu_table import GpuTableError
from energylens.profiles.model_table import clear_user_models

H100 = "H100-SXM5-80GB"
COLUMNS = ("name,vendor,memory_gb,hbm_bw_gbs,peak_fp32_tflops,peak_fp16_tflops,peak_bf16_tflops,peak_fp8_tflops,"
           "peak_int8_tops,tdp_w,interconnect_bw_gbs,scale_up_domain_gpus,scale_out_bw_gbs")


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()
    clear_user_models()  # fit --model-table registers one: a later file's "no user model" check met it


def _h100_row(name: str, vendor: str = "nvidia") -> str:
    s = tables.gpu_spec(H100)
    return ",".join([name, vendor] + [f"{getattr(s, c):g}" for c in COLUMNS.split(",")[2:]])


def _table(tmp_path, *rows: str, header: str = COLUMNS):
    path = tmp_path / "my_gpus.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rows = datasets.mlenergy_v2()
    path = tmp_path_factory.mktemp("model") / "h100.json"
    EnergyModel().fit(rows[rows["gpu"].str.contains("H100")]).save(path)
    return path


def _predict(tmp_path, model_file, gpu: str, table) -> pd.DataFrame:
    rows = datasets.mlenergy_v2()
    rows = rows[rows["gpu"].str.contains("H100")].head(40).assign(gpu=gpu)
    rows = pd.concat([rows, rows.assign(tp=8, pp=1, dp=1, n_gpus=8, batch_size=rows["batch_size"] * 2)])
    configs, out = tmp_path / f"{gpu}.csv", tmp_path / f"{gpu}_pred.csv"
    rows.to_csv(configs, index=False)
    args = ["predict", str(model_file), str(configs), "-o", str(out)] + (["--gpu-table", str(table)] if table else [])
    assert cli_main(args) == 0
    return pd.read_csv(out)


def test_the_h100_row_under_another_name_predicts_as_the_h100(tmp_path, model_file):
    table = _table(tmp_path, _h100_row("Acme-H1"))
    mine, h100 = _predict(tmp_path, model_file, "Acme-H1", table), _predict(tmp_path, model_file, H100, None)
    for column in ("energy_j_pred", "energy_j_lo", "energy_j_hi", "ttft_s_pred", "tpot_s_pred", "gpu_memory_gib"):
        np.testing.assert_array_equal(mine[column].to_numpy(), h100[column].to_numpy(), err_msg=column)
    assert mine["fits_memory"].tolist() == h100["fits_memory"].tolist()


def test_the_h100_spec_under_another_name_searches_as_the_h100():
    import energylens

    spec = dataclasses.replace(tables.gpu_spec(H100), name="Acme-H1", aliases=())
    tables.register_gpu(spec)
    res = energylens.search("meta-llama/Llama-3.1-70B-Instruct", ["H100", "Acme-H1"], input_tokens=[1000, 8000],
                            output_tokens=[300, 2000], tp=[2, 4, 8], max_num_seqs=[16, 256, 1024], top=500,
                            bootstrap=False).to_frame()
    mine, h100 = (res[res["gpu"] == g].sort_values(["tp", "max_num_seqs", "input_tokens", "output_tokens"])
                  .reset_index(drop=True) for g in ("Acme-H1", H100))
    assert len(mine) == len(h100) > 0
    for column in ("energy_j", "ttft_s", "tpot_s", "memory_gib_per_gpu"):
        np.testing.assert_array_equal(mine[column].to_numpy(), h100[column].to_numpy(), err_msg=column)


def test_a_blank_vendor_is_said_when_the_table_is_registered(tmp_path, model_file, capsys):
    table = _table(tmp_path, _h100_row("Acme-H1", vendor=""), _h100_row("Acme-H2"))
    _predict(tmp_path, model_file, "Acme-H1", table)
    (note,) = [line for line in capsys.readouterr().err.splitlines() if "no vendor" in line]
    assert "Acme-H1" in note and "NVLS" in note and "vendor column" in note
    assert "Acme-H2" not in note  # a row with its vendor gets no note


@pytest.mark.parametrize(("vendor", "hint"), [("nvida", "'nvidia'"), ("NVDIA", "'nvidia'"), ("amdd", "'amd'")])
def test_a_misspelt_vendor_is_an_error_naming_the_cell(tmp_path, vendor, hint):
    table = _table(tmp_path, _h100_row("Acme-H1", vendor=vendor))
    with pytest.raises(GpuTableError, match=rf"data row 1 .*column 'vendor'.*{vendor!r}.*{hint}"):
        tables.load_gpu_table(table)


@pytest.mark.parametrize(("vendor", "want"), [("NVIDIA", "nvidia"), ("NVIDIA Corporation", "nvidia"),
                                              ("Advanced Micro Devices, Inc.", "amd"), ("AMD", "amd"),
                                              ("Intel", "intel"), ("", "user")])
def test_a_vendor_as_people_write_it(tmp_path, vendor, want):
    cell = f'"{vendor}"' if "," in vendor else vendor
    (spec,) = tables.load_gpu_table(_table(tmp_path, _h100_row("Acme-H1", vendor=cell)))
    assert spec.vendor == want


@pytest.mark.parametrize(("header", "said"), [
    ("name,hbm_bw_gb,tdp_w,interconnect_bw_gbs,peak_bf16_tflops", "'hbm_bw_gb' (did you mean 'hbm_bw_gbs'?)"),
    ("name,hbm_bw_gbs (GB/s),tdp_w,interconnect_bw_gbs,peak_bf16_tflops",
     "'hbm_bw_gbs (GB/s)' (did you mean 'hbm_bw_gbs'?)"),
    ("name,hbm_bw_gbs,tdp,interconnect_bw_gbs,peak_bf16_tflops", "'tdp' (did you mean 'tdp_w'?)"),
    ("name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflop",
     "'peak_bf16_tflop' (did you mean 'peak_bf16_tflops'?)"),
    ("name,HBM BW (TB/s),tdp_w,interconnect_bw_gbs,peak_bf16_tflops",
     "'HBM BW (TB/s)' (did you mean 'hbm_bw_gbs'? its values are in GB/s, not TB/s)"),
])
def test_a_header_like_a_column_is_named_with_it(tmp_path, header, said):
    table = _table(tmp_path, "Acme-H1,3350,700,900,989", header=header)
    with pytest.raises(GpuTableError, match=re.escape(f"column(s) {said}")):
        tables.load_gpu_table(table)


@pytest.mark.parametrize(("value", "hint"), [("3.35", "TB/s"), ("3.35e12", "bytes/s"), ("3.35e6", "MB/s")])
def test_a_bandwidth_in_another_unit_says_which_and_what_to_write(tmp_path, value, hint):
    table = _table(tmp_path, f"Acme-H1,{value},700,900,989",
                   header="name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflops")
    with pytest.raises(GpuTableError, match=rf"column 'hbm_bw_gbs'.*GB/s.*{hint}.*write 3350\b"):
        tables.load_gpu_table(table)


def test_a_peak_in_pflops_or_flops_says_what_to_write(tmp_path):
    for value, hint in (("0.989", "PFLOP/s"), ("9.89e14", "FLOP/s")):
        table = _table(tmp_path, f"Acme-H1,3350,700,900,{value}",
                       header="name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflops")
        with pytest.raises(GpuTableError, match=rf"column 'peak_bf16_tflops'.*TFLOP/s.*{hint}.*write 989\b"):
            tables.load_gpu_table(table)


def _inline_profile(n: int = 30, **cols) -> pd.DataFrame:
    df = pd.DataFrame(dict(model="meta-llama/Llama-3.1-8B-Instruct", params_b=8.03, gpu="Acme-H1", tp=1, pp=1,
                           batch_size=8, input_tokens=500, output_tokens=300, energy_j=100.0,
                           gpu_hbm_bw_gbs=3350, gpu_tdp_w=700, gpu_interconnect_bw_gbs=900,
                           gpu_peak_bf16_tflops=989), index=range(n))
    for column, value in cols.items():
        df[column] = value
    df.attrs["source"] = "runs.csv"
    return df


def test_spec_columns_that_disagree_name_the_odd_rows_not_every_row():
    df = _inline_profile()
    df.loc[[5, 17], "gpu_tdp_w"] = 650
    with pytest.raises(GpuTableError) as ei:
        tables.gpu_specs_for_profiles(df)
    said = str(ei.value)
    assert said.startswith("runs.csv: data rows 6, 18 (1-based, header not counted), column 'gpu_tdp_w'"), said
    assert "650" in said and "700 on its other 28 rows (data rows 1, 2, 3, ...)" in said
    assert ei.value.rows == [5, 17] and ei.value.column == "gpu_tdp_w"


@pytest.mark.parametrize(("column", "value", "said"), [
    ("gpu_hbm_bw_gb", 3350, "'gpu_hbm_bw_gb' is not read: name it 'gpu_hbm_bw_gbs'"),
    ("gpu_hbm_bw (TB/s)", 3.35, "'gpu_hbm_bw (TB/s)' is not read: name it 'gpu_hbm_bw_gbs'"),
    ("gpu_tdp_kw", 0.7, "'gpu_tdp_kw' is not read: name it 'gpu_tdp_w'"),
])
def test_a_missing_spec_column_names_the_column_written_for_it(column, value, said):
    wanted = {"gpu_hbm_bw_gb": "gpu_hbm_bw_gbs", "gpu_hbm_bw (TB/s)": "gpu_hbm_bw_gbs", "gpu_tdp_kw": "gpu_tdp_w"}
    df = _inline_profile(**{column: value}).drop(columns=[wanted[column]])
    with pytest.raises(GpuTableError, match=re.escape(said)) as ei:
        tables.gpu_specs_for_profiles(df)
    assert f"lacks {wanted[column]}" in str(ei.value)


def test_fit_says_the_model_file_does_not_keep_the_gpu_table(tmp_path, capsys):
    """The model file holds the template's parameters, no GPU: predict / search on the user's GPU need the table
    again, and fit says so where it registers it (before, the second call met 'unknown GPU' with no word why)."""
    table = _table(tmp_path, _h100_row("Acme-H1"))
    rows = datasets.mlenergy_v2()
    profile = tmp_path / "runs.csv"
    rows[rows["gpu"].str.contains("H100")].assign(gpu="Acme-H1").to_csv(profile, index=False)
    models = tmp_path / "my_models.csv"
    models.write_text("name,architecture,params_b,active_params_b,n_layers,d_model,n_heads,n_kv_heads,head_dim,"
                      "n_experts,experts_per_token\nacme/Coder-8B,dense,8.03,8.03,32,4096,32,8,128,1,1\n")
    assert cli_main(["fit", str(profile), "--gpu-table", str(table), "--model-table", str(models),
                     "-o", str(tmp_path / "m.json")]) == 0
    err = capsys.readouterr().err
    assert f"m.json keeps no GPU table: pass --gpu-table {table} again to predict or search on Acme-H1" in err
    assert f"m.json keeps no model table: pass --model-table {models} again" in err


@pytest.mark.parametrize(("field", "value", "said"), [
    ("hbm_bw_gbs", 3.35, "field 'hbm_bw_gbs': 3.35 is outside the sane range [50, 50000] (GB/s): is 3.35 in TB/s? "
                         "write 3350"),
    ("peak_bf16_tflops", 9.89e14, "field 'peak_bf16_tflops': 9.89e+14 is outside the sane range"),
    ("tdp_w", "700 W", "field 'tdp_w': '700 W' is not a number"),
    ("scale_up_domain_gpus", 8.5, "field 'scale_up_domain_gpus': 8.5 is not a whole number of GPUs"),
    ("vendor", "nvida", "field 'vendor': 'nvida' is not a vendor energylens knows: did you mean 'nvidia'?"),
])
def test_a_gpu_spec_made_in_python_passes_the_checks_of_a_table_cell(field, value, said):
    """Before, search(gpus=[spec]) with the bandwidth in TB/s priced the GPU (9476 J where the H100 costs 61)."""
    import energylens

    spec = dataclasses.replace(tables.gpu_spec(H100), name="Acme-H1", aliases=(), **{field: value})
    with pytest.raises(GpuTableError, match=re.escape(f"search(gpus=...): GpuSpec 'Acme-H1', {said}")):
        energylens.search("meta-llama/Llama-3.1-8B-Instruct", [spec], input_tokens=1000, output_tokens=300,
                          bootstrap=False)
    with pytest.raises(GpuTableError, match=re.escape(f"register_gpu: GpuSpec 'Acme-H1', {said}")):
        tables.register_gpu(spec)
    assert tables.user_gpus() == ()


def test_a_gpu_spec_vendor_as_a_company_name_is_read_as_the_vendor():
    spec = dataclasses.replace(tables.gpu_spec(H100), name="Acme-H1", aliases=(), vendor="NVIDIA Corporation")
    assert tables.register_gpu(spec).vendor == "nvidia"



def test_a_row_naming_a_bundled_gpu_is_said_to_fill_the_bundled_row(tmp_path, model_file, capsys):
    """Which wins when a user row names a bundled GPU: the bundled row (a row may only fill its blank cells); the
    registration line said 'registered: H100-SXM5-80GB' as for a GPU of the user's own."""
    table = _table(tmp_path, "H100,3350,700,900,989", "Acme-H1,3350,700,900,989",
                   header="name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflops")
    _predict(tmp_path, model_file, "Acme-H1", table)
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "registered" in x]
    assert line.endswith("2 GPU(s) registered: H100-SXM5-80GB (the bundled row, its blank cells filled from this "
                         "table), Acme-H1"), line


def _h100_inline(n: int = 4, **cols) -> pd.DataFrame:
    s = tables.gpu_spec(H100)
    spec_cols = {f"gpu_{c}": getattr(s, c) for c in ("memory_gb", "hbm_bw_gbs", "peak_bf16_tflops", "peak_fp16_tflops",
                                                     "peak_fp8_tflops", "peak_int8_tops", "peak_fp32_tflops", "tdp_w",
                                                     "interconnect_bw_gbs", "scale_up_domain_gpus", "scale_out_bw_gbs")}
    return _inline_profile(n, **spec_cols, **cols)


def test_gpu_spec_columns_can_say_the_vendor():
    """Before, a GPU described by spec columns was always vendor 'user': the H100's numbers so described lacked
    the NVLS memory an H100 has at TP > 2, with no column to say it is an NVIDIA part."""
    from energylens.search.memory import nvls_capable

    spec = tables.gpu_specs_for_profiles(_h100_inline(gpu_vendor="NVIDIA"))["Acme-H1"]
    assert spec.vendor == "nvidia" and nvls_capable(spec)
    assert dataclasses.replace(spec, name=H100, aliases=(), source="") == dataclasses.replace(
        tables.gpu_spec(H100), aliases=(), source="")
    assert tables.gpu_specs_for_profiles(_h100_inline())["Acme-H1"].vendor == "user"  # blank: as before


def test_gpu_vendor_cells_are_checked_as_a_table_cell():
    df = _h100_inline(6, gpu_vendor="nvidia")
    df.loc[4, "gpu_vendor"] = "amd"
    with pytest.raises(GpuTableError, match=r"data row 5 .*column 'gpu_vendor': GPU 'Acme-H1' is given different "
                                            r"vendors, amd here but nvidia on its other 5 rows"):
        tables.gpu_specs_for_profiles(df)
    with pytest.raises(GpuTableError, match=r"data row 1 .*column 'gpu_vendor': 'nvida' .*did you mean 'nvidia'"):
        tables.gpu_specs_for_profiles(_h100_inline(gpu_vendor="nvida"))
    bundled = _inline_profile(3, gpu_vendor="amd").assign(gpu=H100)
    with pytest.raises(GpuTableError, match=r"column 'gpu_vendor': GPU 'H100-SXM5-80GB' is in the table with vendor "
                                            r"nvidia; amd describes a different part"):
        tables.gpu_specs_for_profiles(bundled.drop(columns=[c for c in bundled if c.startswith("gpu_") and
                                                            c != "gpu_vendor"]))


def test_a_gpu_spec_needs_only_what_a_table_row_needs():
    """Before, GpuSpec(name=..., hbm_bw_gbs=..., ...) with a table row's required cells was a TypeError for the 10
    other fields (aliases, vendor, memory_gb, every peak, source): a user table needs 5 cells, Python needed 16."""
    import energylens

    spec = tables.GpuSpec(name="Gaudi3", vendor="intel", memory_gb=128, hbm_bw_gbs=3700, peak_bf16_tflops=1835,
                          tdp_w=900, interconnect_bw_gbs=1200)
    assert (spec.aliases, spec.source) == ((), "") and np.isnan(spec.peak_fp8_tflops)
    res = energylens.search("meta-llama/Llama-3.1-8B-Instruct", [spec, "H100"], input_tokens=1000, output_tokens=300,
                            bootstrap=False).to_frame()
    assert set(res["gpu"]) == {"Gaudi3", H100} and (res["energy_j"] > 0).all()
    with pytest.raises(ValueError, match="has no memory_gb"):  # a blank field is blank, as a cell
        energylens.search("meta-llama/Llama-3.1-8B-Instruct", [tables.GpuSpec(
            name="Gaudi3-x", hbm_bw_gbs=3700, peak_bf16_tflops=1835, interconnect_bw_gbs=1200)],
            input_tokens=1000, output_tokens=300, bootstrap=False)


def test_aliases_written_comma_separated_are_an_error_naming_the_cell(tmp_path):
    """Before, '"AX, Acme X1"' was one alias 'AX, Acme X1': neither AX nor Acme X1 resolved, without a word."""
    table = _table(tmp_path, 'Acme-X,"AX, Acme X1",3350,700,900,989',
                   header="name,aliases,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflops")
    with pytest.raises(GpuTableError, match=re.escape("data row 1 (1-based, header not counted), column 'aliases': "
                                                      "'AX, Acme X1' holds a ','; aliases are ';'-separated: write "
                                                      "'AX; Acme X1'")):
        tables.load_gpu_table(table)


def test_the_unknown_gpu_remedy_names_the_vendor_column():
    from energylens.errors import UnknownGpuError

    df = _inline_profile(3).drop(columns=[c for c in _inline_profile(1) if c.startswith("gpu_")]).assign(gpu="MI300A")
    with pytest.raises(UnknownGpuError, match=r"gpu_vendor, \.\.\.; docs/profile-schema.md\), or \(2\) pass a user "
                                              r"GPU table with --gpu-table FILE"):
        tables.gpu_specs_for_profiles(df)


@pytest.mark.parametrize(("cells", "said"), [
    ("989,3958,", "column 'peak_fp8_tflops': 3958 is 4x peak_bf16_tflops (989)"),   # H100's sparse fp8 figure
    ("2250,4500,18000", "column 'peak_fp4_tflops': 18000 is 4x peak_fp8_tflops (4500)"),
])
def test_a_sparse_peak_beside_a_dense_one_is_an_error(tmp_path, cells, said):
    """Datasheets quote 2:4 sparse peaks at 2x dense; one sparse figure beside dense ones priced that format's compute
    at twice its speed without a word (the bundled rows' step from one format to the next is at most 3x)."""
    table = _table(tmp_path, f"Acme-H1,3350,700,900,{cells}",
                   header="name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflops,peak_fp8_tflops,peak_fp4_tflops")
    with pytest.raises(GpuTableError, match=re.escape(said) + r".*sparse"):
        tables.load_gpu_table(table)
    spec = tables.GpuSpec(name="Acme-H2", hbm_bw_gbs=3350, tdp_w=700, interconnect_bw_gbs=900,
                          **dict(zip(("peak_bf16_tflops", "peak_fp8_tflops", "peak_fp4_tflops"),
                                     (float(c) if c else float("nan") for c in cells.split(",")), strict=True)))
    with pytest.raises(GpuTableError, match="sparse"):
        tables.register_gpu(spec)


def test_a_sparse_peak_in_the_spec_columns_is_an_error_at_its_rows():
    with pytest.raises(GpuTableError, match=r"data rows 1, 2, 3 .*column 'gpu_peak_fp8_tflops': GPU 'Acme-H1': 3958 "
                                            r"is 4x peak_bf16_tflops \(989\).*sparse"):
        tables.gpu_specs_for_profiles(_inline_profile(3, gpu_peak_fp8_tflops=3958))
    h100 = _inline_profile(3).drop(columns=[c for c in _inline_profile(1) if c.startswith("gpu_")]).assign(
        gpu=H100, gpu_peak_fp4_tflops=9000)  # fills the H100's blank fp4 cell with 4.5x its fp8 peak
    with pytest.raises(GpuTableError, match=r"column 'gpu_peak_fp4_tflops': GPU 'H100-SXM5-80GB': 9000 is 4.55x"):
        tables.gpu_specs_for_profiles(h100)
