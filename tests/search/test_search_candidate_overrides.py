"""Candidate rows that override the model table: a dense model's row giving a rounded params_b (8.0 for
Llama-3.1-8B, whose table says 8.03 active) has every parameter active, and an override cell the schema refuses
is an error naming the candidate file and its own 1-based data rows (it named ``<DataFrame>`` and the rows of
an internal frame three times as long)."""

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.cli.main import main
from energylens.search.api import bundled_model
from energylens.search.candidates import candidate_space

ROW = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, pp=1, batch_size=8, input_tokens=512,
           output_tokens=256)


def test_rounded_params_b_of_a_dense_model_is_its_active_count():
    df = pd.DataFrame([{**ROW, "params_b": 8.0}, {**ROW, "params_b": 8.0, "tp": 2}])
    space, index = candidate_space(df)
    assert [dict(c.overrides) for c in space.combos] == [{"params_b": 8.0, "active_params_b": 8.0}]
    r = energylens.search(candidates=df, energy_model=bundled_model(), bootstrap=False)
    assert r.feasible == 2 and np.isfinite(r.top["energy_j"]).all()


def test_moe_row_keeps_the_tables_active_count():
    row = dict(ROW, model="mistralai/Mixtral-8x7B-Instruct-v0.1", tp=2, params_b=46.7)
    space, _ = candidate_space(pd.DataFrame([row]))
    assert "active_params_b" not in dict(space.combos[0].overrides)  # 12.9 of 46.7 active, from the table


def test_a_refused_override_cell_names_the_file_and_its_data_row(tmp_path, capsys):
    path = tmp_path / "cands.csv"
    pd.DataFrame([{**ROW, "params_b": 8.0}, {**ROW, "params_b": 8.0, "tp": 2},
                  {**ROW, "params_b": 8.0, "active_params_b": 9.0, "batch_size": 16}]).to_csv(path, index=False)
    model = tmp_path / "m.json"
    bundled_model().save(model)
    assert main(["search", "--candidates", str(path), "--model-file", str(model)]) == 2
    err = capsys.readouterr().err
    assert (f"{path}: candidate table: column 'active_params_b': must be <= params_b in data row 3 (1-based, "
            "header not counted); value(s): 9") in err
    assert "<DataFrame>" not in err and "drop_invalid" not in err


def test_a_dataframe_row_too():
    df = pd.DataFrame([{**ROW, "params_b": 8.0, "active_params_b": 9.0}])
    with pytest.raises(ValueError, match=r"^candidates: candidate table: column 'active_params_b': must be <= "
                                         r"params_b in data row 1 "):
        candidate_space(df)


def test_row_validation_leaves_the_layout_to_the_engine():
    # ep on a dense model, or an ep that does not divide the GPUs: the profile schema refuses such rows, the
    # search counts them as rejections (ep_without_moe, ep_experts) as it did before rows were validated
    df = pd.DataFrame([{**ROW, "params_b": 8.0, "tp": 2, "ep": 2},
                       {**ROW, "model": "mistralai/Mixtral-8x7B-Instruct-v0.1", "tp": 2, "ep": 3}, ROW])
    r = energylens.search(candidates=df, energy_model=bundled_model(), bootstrap=False)
    assert r.rejected["ep_without_moe"] == 1 and r.rejected["ep_experts"] == 1 and r.feasible == 1


def test_the_checked_frame_is_the_one_built_row_then_column_wise():
    """_check_rows builds its frame in one construction (a DataFrame, an assign and two column writes were ~0.9 ms
    of a one-row table's override pass): the frame, its dtypes and column order, and so the schema's verdict and
    the validated cells, are those of the old construction, for rows of mixed overrides, a text cell in a number
    column included (the schema names it in both)."""
    from energylens.profiles import tables
    from energylens.profiles.schema import load_profiles
    from energylens.search.candidates import _check_rows
    from energylens.search.space import profile_row

    m8, m70 = (tables.model_spec(n) for n in ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"))
    g = tables.gpu_spec("H100")
    axes = {"input_tokens": np.array([512.0, 100.0, 7.0]), "output_tokens": np.array([256.0, 3.0, 9.0])}

    def old(rows):
        frame = pd.DataFrame(rows).assign(tp=1, pp=1, dp=1, ep=1, batch_size=1.0)
        for name, values in axes.items():
            frame[name] = values
        return frame

    rows = [profile_row(m8, g, "bf16", "auto", (("n_layers", 30), ("modality", "image"))),
            profile_row(m70, g, "fp8", "auto", ()),
            profile_row(m8, g, "bf16", "auto", (("compute_precision", "FP8"),))]
    df = pd.DataFrame([ROW] * 3)
    pd.testing.assert_frame_equal(_check_rows(df, rows, axes),
                                  load_profiles(old(rows), require_energy=False, fill_architecture=False))
    bad = [rows[0], {**rows[1], "n_layers": "eighty"}, rows[2]]
    with pytest.raises(ValueError) as new_error:
        _check_rows(df, bad, axes)
    with pytest.raises(Exception) as old_error:
        load_profiles(old(bad), require_energy=False, fill_architecture=False, source="candidates")
    assert "n_layers" in str(new_error.value) and "row 2" in str(new_error.value)
    want = "\n".join(line for line in str(old_error.value).splitlines() if "drop_invalid=True" not in line)
    assert str(new_error.value) == want.replace("profile table violates schema v1: ", "candidate table: ", 1)
