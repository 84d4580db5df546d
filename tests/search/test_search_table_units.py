"""The printed table's interval columns carry their unit as the other quantities do ("J/request", "TTFT s"): they
read "lo" and "hi", which a reader could take for TTFT bounds. DataFrame columns and JSON keys keep their names
(``energy_j_lo``, ``energy_j_hi``: the unit is in the name)."""

import json
import warnings

import pytest

import energylens
from energylens.search.api import bundled_model


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=512, output_tokens=256,
                                 energy_model=bundled_model(), top=3)


def _header(text: str) -> list[str]:
    return text.splitlines()[0].split()


def test_the_interval_headers_name_their_unit(result):
    header = _header(result.table())
    assert header[header.index("J/request") + 1:header.index("J/request") + 5] == ["lo", "J/request", "hi", "J/request"]
    assert "TTFT" in header and header[header.index("TTFT") + 1] == "s"
    lo = result.top["energy_j_lo"].iloc[0]
    row = result.table().splitlines()[1].split()
    assert f"{lo:.4g}" in row


def test_the_frame_and_json_keep_their_names(result, tmp_path):
    assert {"energy_j", "energy_j_lo", "energy_j_hi"} <= set(result.to_frame().columns)
    path = tmp_path / "r.json"
    result.to_json(str(path))
    assert {"energy_j_lo", "energy_j_hi"} <= set(json.loads(path.read_text())["top"][0])


def test_without_an_interval_the_columns_stay_out(result):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=512, output_tokens=256,
                              energy_model=bundled_model(), top=3, bootstrap=False)
    assert "lo" not in _header(r.table()) and "hi" not in _header(r.table())
