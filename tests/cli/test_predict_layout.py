"""``predict`` flags the layouts the search rejects and vLLM refuses (``fits_layout`` and one stderr line per
rule), with the search's own rules (energylens.search.layout): 70B at TP3 and Qwen2.5-7B at TP8 were predicted
with fits_memory True and no word, though the README calls predict's columns the search's checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import energylens
from energylens.cli.main import main
from energylens.profiles import tables
from energylens.profiles.datasets import mlenergy_v2
from energylens.search.api import bundled_model
from energylens.search.layout import LAYOUT_REASONS, LAYOUT_RULES

BASE = dict(gpu="H100", pp=1, dp=1, ep=1, batch_size=8, input_tokens=512, output_tokens=256)
ROWS = [  # (model, tp, dp, ep) -> the search's reason, or None
    (("meta-llama/Llama-3.1-70B-Instruct", 4, 1, 1), None),
    (("meta-llama/Llama-3.1-70B-Instruct", 3, 1, 1), "tp_heads"),
    (("Qwen/Qwen2.5-7B-Instruct", 8, 1, 1), "tp_heads"),
    (("meta-llama/Llama-3.1-8B-Instruct", 16, 1, 1), "tp_node"),
    (("meta-llama/Llama-3.1-8B-Instruct", 2, 1, 2), "ep_without_moe"),
    (("mistralai/Mixtral-8x7B-Instruct-v0.1", 2, 1, 3), "ep_experts"),
    (("mistralai/Mixtral-8x7B-Instruct-v0.1", 2, 1, 4), "ep_group"),
    (("mistralai/Mixtral-8x7B-Instruct-v0.1", 2, 2, 4), None),
]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("layout")
    profiles = folder / "p.csv"
    mlenergy_v2().head(40).to_csv(profiles, index=False)
    path = folder / "m.json"
    assert main(["fit", str(profiles), "-o", str(path), "--bootstrap", "0"]) == 0
    return path


def _table(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame([{**BASE, "model": m, "params_b": tables.model_spec(m).params_b, "tp": tp, "dp": dp, "ep": ep,
                          "batch_size": 8 * dp} for (m, tp, dp, ep), _ in rows])


def test_predict_flags_the_layouts_the_search_rejects(model, tmp_path, capsys):
    # the profile schema itself refuses ep > 1 on a dense model and an ep that does not divide tp x pp x dp
    rows = [(row, why) for row, why in ROWS if why not in ("ep_without_moe", "ep_experts", "ep_group")]
    rows.append((("mistralai/Mixtral-8x7B-Instruct-v0.1", 2, 2, 2), "ep_group"))  # 4 GPUs, an EP group of 2
    configs, out = tmp_path / "configs.csv", tmp_path / "out.csv"
    _table(rows).to_csv(configs, index=False)
    assert main(["predict", str(model), str(configs), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    table = pd.read_csv(out)
    assert table["fits_layout"].tolist() == [why is None for _, why in rows]
    for name in ("tp_heads", "tp_node", "ep_group"):
        shown = [str(i + 1) for i, (_, why) in enumerate(rows) if why == name]
        assert (f"{len(shown)} of {len(rows)} rows of {configs} have a layout vLLM refuses ({name}: "
                f"{LAYOUT_RULES[name]}; data row{'s' if len(shown) > 1 else ''} {', '.join(shown)}; column fits_layout)") in err
    assert err.count("have a layout vLLM refuses") == 3


def test_the_same_rows_the_search_rejects_for_the_same_reasons():
    r = energylens.search(candidates=_table(), energy_model=bundled_model(), top=10, bootstrap=False)
    expected = {name: sum(why == name for _, why in ROWS) for name in LAYOUT_REASONS}
    assert {name: r.rejected[name] for name in LAYOUT_REASONS} == expected
