"""An expression model (EnergyModel.from_expression, ``energylens fit --expression``) recorded no fitted GPUs, so
its predictions for a GPU the data never showed (an H200 beside A100 / H100 rows) came without the unseen_gpu flag
or UnseenGpuWarning that the template's give: its fit now records them (``summary.gpus``), its file keeps them,
and predict, predict_interval and ``unseen_gpu`` flag and name such rows as the template's do. A file written
before (no ``gpus`` in its fit summary) still loads and flags nothing."""

from __future__ import annotations

import json
import warnings

import pytest
from tests.model.expression_fixtures import bundled_rows, fitted_expression

from energylens.errors import UnseenGpuWarning
from energylens.model import load_model

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]


@pytest.fixture(scope="module")
def fitted():
    rows = bundled_rows()  # A100-SXM4-40GB and H100-SXM5-80GB rows
    model = fitted_expression(rows, bootstrap=20)
    few = rows[COLUMNS].head(3).reset_index(drop=True)
    return model, few


def _unseen(call):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in got if issubclass(w.category, UnseenGpuWarning)]


def test_fit_records_the_gpus_and_predict_names_an_unseen_one(fitted):
    model, rows = fitted
    assert model.summary.gpus == ("A100-SXM4-40GB", "H100-SXM5-80GB")
    h200 = rows.assign(gpu=["H100", "H200", "H200"])
    for call, name in ((model.predict, "predict"), (model.predict_interval, "predict_interval")):
        _, got = _unseen(lambda c=call: c(h200))
        assert len(got) == 1, name
        assert got[0].startswith(f"ExpressionEnergyModel.{name}: 2 of 3 rows are on GPUs the model was not fitted "
                                 "on (H200-SXM-141GB: 2 row(s); "), got[0]
        assert "it was fitted on A100-SXM4-40GB, H100-SXM5-80GB" in got[0]
    flags, detail = model.unseen_gpu(h200)
    assert flags.tolist() == [False, True, True] and "H200-SXM-141GB: 2 row(s)" in detail
    _, got = _unseen(lambda: model.predict(rows))  # fitted GPUs: nothing said
    assert got == []
    _, got = _unseen(lambda: model.predict(h200, check_range=False))
    assert got == []


def test_the_file_keeps_the_gpus_and_an_older_file_loads(fitted, tmp_path):
    model, rows = fitted
    path = tmp_path / "expr.json"
    model.save(path)
    loaded = load_model(path)
    assert loaded.summary.gpus == model.summary.gpus
    assert loaded.unseen_gpu(rows.assign(gpu="H200"))[0].all()
    doc = json.loads(path.read_text())
    del doc["energy"]["fit"]["gpus"], doc["energy"]["fit"]["gpu_rows"]  # a file written before the GPUs were recorded
    path.write_text(json.dumps(doc))
    older = load_model(path)
    assert older.summary.gpus == ()
    _, got = _unseen(lambda: older.predict(rows.assign(gpu="H200")))
    assert got == []
    flags, detail = older.unseen_gpu(rows.assign(gpu="H200"))
    assert not flags.any() and detail is None
