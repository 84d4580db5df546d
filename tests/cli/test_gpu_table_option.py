"""``--gpu-table FILE`` on fit / predict / evaluate, and GPU spec columns in a profile file, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main as cli_main
from energylens.profiles import tables

GPU_TABLE = ("name,aliases,vendor,memory_gb,hbm_bw_gbs,peak_bf16_tflops,peak_fp8_tflops,tdp_w,interconnect_bw_gbs,source\n"
             "X1000,NVIDIA X1000,nvidia,120,5000,1200,2400,800,900,https://example.com/x1000\n")


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()


def _profiles(gpu: str, seed: int = 0) -> pd.DataFrame:
    """Plausible rows: energy per request falls with batch, rises with tp (static power of more GPUs)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, p in (("meta-llama/Llama-3.1-8B-Instruct", 8.03), ("Qwen/Qwen3-14B", 14.8)):
        for tp in (1, 2, 4):
            for b in (4, 16, 64, 128):
                step = 2 * p * 1e9 / (tp * 5000e9) * (1 + b / 100)
                e = tp * 800 * 0.6 * (300 * step / b + 0.01) * np.exp(0.05 * rng.standard_normal())
                rows.append(dict(model=model, params_b=p, gpu=gpu, tp=tp, pp=1, batch_size=b, input_tokens=500,
                                 output_tokens=300, energy_j=e, task="chat"))
    return pd.DataFrame(rows)


def test_fit_and_predict_with_a_user_gpu_table(tmp_path, capsys):
    prof = tmp_path / "p.csv"
    _profiles("X1000").to_csv(prof, index=False)
    table = tmp_path / "gpus.csv"
    table.write_text(GPU_TABLE)
    model = tmp_path / "m.json"
    assert cli_main(["fit", str(prof), "-o", str(model), "--bootstrap", "0", "--starts", "1", "--no-latency"]) == 2
    err = capsys.readouterr().err
    assert "unknown GPU 'X1000'" in err and "--gpu-table FILE" in err and "gpu_hbm_bw_gbs" in err
    assert cli_main(["fit", str(prof), "-o", str(model), "--bootstrap", "0", "--starts", "1", "--no-latency",
                     "--gpu-table", str(table)]) == 0
    assert "1 GPU(s) registered: X1000" in capsys.readouterr().err
    tables.clear_user_gpus()  # predict registers it again from its own option
    out = tmp_path / "pred.csv"
    assert cli_main(["predict", str(model), str(prof), "-o", str(out), "--gpu-table", str(table)]) == 0
    pred = pd.read_csv(out)
    assert len(pred) == 24 and (pred["energy_j_pred"] > 0).all()
    # the fit learned these X1000 rows: predictions within a factor 2 of the measured energy
    assert np.all(np.abs(np.log(pred["energy_j_pred"] / pred["energy_j"])) < np.log(2))


def test_evaluate_with_a_user_gpu_table_keeps_json_on_stdout(tmp_path, capsys):
    prof = tmp_path / "p.csv"
    pd.concat([_profiles("X1000"), _profiles("H100", seed=1)]).to_csv(prof, index=False)
    table = tmp_path / "gpus.csv"
    table.write_text(GPU_TABLE)
    assert cli_main(["evaluate", str(prof), "--train-size", "20", "--repeats", "2", "--splits", "random",
                     "--methods", "llmcarbon,wilkins2024", "--json", "--no-progress",
                     "--gpu-table", str(table)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["method"] for r in out["summary"]} == {"llmcarbon", "wilkins2024"}


def test_bad_gpu_table_is_a_located_error(tmp_path, capsys):
    prof = tmp_path / "p.csv"
    _profiles("X1000").to_csv(prof, index=False)
    table = tmp_path / "bad.csv"
    table.write_text(GPU_TABLE.replace(",5000,", ",5 TB/s,"))
    assert cli_main(["fit", str(prof), "-o", str(tmp_path / "m.json"), "--gpu-table", str(table)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "data row 1" in err and "'hbm_bw_gbs'" in err and "not a number" in err


def test_fit_with_gpu_spec_columns_in_the_profile(tmp_path):
    df = _profiles("Z9")
    df["gpu_hbm_bw_gbs"] = 5000
    df["gpu_peak_bf16_tflops"] = 1200
    df["gpu_tdp_w"] = 800
    df["gpu_interconnect_bw_gbs"] = 900
    prof = tmp_path / "p.csv"
    df.to_csv(prof, index=False)
    assert cli_main(["fit", str(prof), "-o", str(tmp_path / "m.json"), "--bootstrap", "0", "--starts", "1",
                     "--no-latency"]) == 0


def test_discover_with_a_user_gpu_table(tmp_path, capsys, monkeypatch):
    """discover's unknown-GPU error told users to pass --gpu-table, which discover did not have."""
    sp = pytest.importorskip("sympy")
    pytest.importorskip("pyoperon")
    from energylens.discover import search as ds
    from energylens.discover.variables import energy_variables

    e_mem = sp.Symbol(next(iter(energy_variables())))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])  # the search itself: not here
    prof = tmp_path / "p.csv"
    _profiles("X1000").to_csv(prof, index=False)
    table = tmp_path / "gpus.csv"
    table.write_text(GPU_TABLE)
    args = ["discover", str(prof), "-o", str(tmp_path / "d.json"), "--quiet"]
    assert cli_main(args) == 2
    assert "unknown GPU 'X1000'" in capsys.readouterr().err
    assert cli_main(args + ["--gpu-table", str(table)]) == 0
    assert "1 GPU(s) registered: X1000" in capsys.readouterr().err
    assert json.loads((tmp_path / "d.json").read_text())["front"]
    assert cli_main(["discover", str(prof), "-o", str(table), "--quiet", "--gpu-table", str(table)]) == 2  # an input
