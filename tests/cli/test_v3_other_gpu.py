"""The workflow a user with an ML.ENERGY v3 export of another GPU runs (evaluate, fit, predict, and a
transfer from the H100 export), end to end through the CLI, on the shared H100 rows relabelled at run
time (never stored): a B200 file, a file of models the model table lacks, and a task the reader does not
know. Skipped cleanly when /work/shared is absent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_paths import V3 as V3_CSV
from energylens.cli.main import main as cli_main

V3 = V3_CSV
pytestmark = [pytest.mark.filterwarnings("ignore::energylens.ExtrapolationWarning"),
              pytest.mark.filterwarnings("ignore::energylens.profiles.tables.EstimatedArchitectureWarning")]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    if not V3.is_file():
        pytest.skip("ML.ENERGY v3 rows not present (/work/shared)")
    return pd.read_csv(V3)


def _write(tmp_path: Path, frame: pd.DataFrame, name: str) -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def _predictions(path: str) -> pd.DataFrame:
    out = pd.read_csv(path)
    for col in ("energy_j_pred", "energy_j_lo", "energy_j_hi", "ttft_s_pred", "tpot_s_pred"):
        v = out[col].to_numpy(dtype=float)
        assert np.isfinite(v).all() and (v > 0).all(), col
    return out


def test_evaluate_fit_predict_and_transfer_on_a_b200_export(raw, tmp_path, capsys):
    b200 = _write(tmp_path, raw.assign(gpu_model="B200"), "llm_configs_b200.csv")
    assert cli_main(["evaluate", b200, "--splits", "random", "--methods", "energylens", "--repeats", "2",
                     "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "worst tasks" in text and "worst groups" in text and "| B200" in text
    assert cli_main(["evaluate", b200, "--splits", "random", "--methods", "energylens", "--repeats", "2",
                     "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "energylens" in json.dumps(summary)
    model = str(tmp_path / "b200.json")
    assert cli_main(["fit", b200, "-o", model]) == 0
    assert cli_main(["predict", model, b200, "-o", str(tmp_path / "pred.csv")]) == 0
    pred = _predictions(str(tmp_path / "pred.csv"))
    assert (pred["gpu"] == "B200").all() and pred["parallelism_relabelled"].any()
    # transfer: the H100 export's fit predicts the B200 rows (faster GPU: less time per token at equal config)
    h100 = str(tmp_path / "h100.json")
    assert cli_main(["fit", str(V3), "-o", h100]) == 0
    assert cli_main(["predict", h100, b200, "-o", str(tmp_path / "tr.csv")]) == 0
    assert cli_main(["predict", h100, str(V3), "-o", str(tmp_path / "same.csv")]) == 0
    tr, same = _predictions(str(tmp_path / "tr.csv")), _predictions(str(tmp_path / "same.csv"))
    assert np.median(tr["tpot_s_pred"] / same["tpot_s_pred"]) < 1.0


def test_evaluate_a_file_of_models_the_table_lacks(raw, tmp_path, capsys):
    frame = raw.assign(gpu_model="MI300X")
    names = {m: f"acme/model-{i}" for i, m in enumerate(frame["model_id"].unique())}
    path = _write(tmp_path, frame.assign(model_id=frame["model_id"].map(names)), "unknown_models.csv")
    assert cli_main(["evaluate", path, "--splits", "random", "--methods", "energylens", "--repeats", "2",
                     "--no-progress"]) == 0
    assert "worst groups" in capsys.readouterr().out
    model = str(tmp_path / "m.json")
    assert cli_main(["fit", path, "-o", model]) == 0
    assert cli_main(["predict", model, path, "-o", str(tmp_path / "p.csv")]) == 0
    _predictions(str(tmp_path / "p.csv"))
    # the search over the export's rows (before: UnknownModelError, then a negative dense part for a MoE)
    capsys.readouterr()
    assert cli_main(["search", "--candidates", path, "--model-file", model, "--top", "3"]) == 0
    assert "J/request" in capsys.readouterr().out


def test_an_unknown_task_names_the_input_tokens_remedy_and_takes_it(raw, tmp_path, capsys):
    frame = raw.assign(gpu_model="B200")
    frame.loc[frame.index[:30], "task"] = "aime-2025"
    path = _write(tmp_path, frame, "new_task.csv")
    assert cli_main(["fit", path, "-o", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "aime-2025" in err and "'input_tokens' column" in err and "data rows 1, 2" in err
    frame["input_tokens"] = np.where(frame["task"] == "aime-2025", 250.0, np.nan)
    path = _write(tmp_path, frame, "new_task_with_lengths.csv")
    model = str(tmp_path / "y.json")
    assert cli_main(["fit", path, "-o", model]) == 0
    assert cli_main(["predict", model, path, "-o", str(tmp_path / "p.csv")]) == 0
    pred = _predictions(str(tmp_path / "p.csv"))
    new = pred["task"] == "aime-2025"
    assert (pred.loc[new, "input_tokens"] == 250.0).all() and not pred.loc[new, "input_tokens_assumed"].any()
    assert pred.loc[~new, "input_tokens_assumed"].all()


def test_a_gpu_the_table_lacks_works_by_both_remedies_the_error_names(raw, tmp_path, capsys):
    frame = raw.assign(gpu_model="Z9000").head(120)
    path = _write(tmp_path, frame, "z.csv")
    assert cli_main(["fit", path, "-o", str(tmp_path / "z.json")]) == 2
    err = capsys.readouterr().err
    assert "unknown GPU 'Z9000'" in err and "gpu_hbm_bw_gbs" in err and "--gpu-table FILE" in err
    # (1) GPU spec columns in the export itself (before: the v3 reader rejected them as an unknown GPU)
    spec = dict(gpu_hbm_bw_gbs=6000, gpu_tdp_w=900, gpu_interconnect_bw_gbs=1800, gpu_peak_bf16_tflops=2000,
                gpu_peak_fp8_tflops=4000)
    inline = _write(tmp_path, frame.assign(**spec), "z_inline.csv")
    assert cli_main(["fit", inline, "-o", str(tmp_path / "z1.json")]) == 0
    assert cli_main(["predict", str(tmp_path / "z1.json"), inline, "-o", str(tmp_path / "p1.csv")]) == 0
    _predictions(str(tmp_path / "p1.csv"))
    missing = _write(tmp_path, frame.assign(**spec).drop(columns=["gpu_interconnect_bw_gbs"]), "z_missing.csv")
    assert cli_main(["fit", missing, "-o", str(tmp_path / "z2.json")]) == 2
    assert "gpu_interconnect_bw_gbs" in capsys.readouterr().err
    # (2) a user GPU table
    table = tmp_path / "gpus.csv"
    table.write_text("name," + ",".join(k[4:] for k in spec) + "\nZ9000," + ",".join(map(str, spec.values())) + "\n")
    try:
        assert cli_main(["fit", path, "--gpu-table", str(table), "-o", str(tmp_path / "z3.json")]) == 0
    finally:
        from energylens.profiles import tables
        tables.clear_user_gpus()
