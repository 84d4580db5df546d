"""docs/model.md's "Tried and not adopted: one offset per GPU" table is what bench/gpu_calibration.py wrote
(bench/results/gpu_calibration.json, rounded as printed): a figure changed in the doc or the result file alone
fails here; rerun ``python bench/gpu_calibration.py`` and update both. The trial stays a bench-side key: the
package still names ``family`` and ``model`` only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from energylens.model.calibration import check_calibration_key

ROOT = Path(__file__).resolve().parents[2]
HEADING = "#### Tried and not adopted: one offset per GPU"


def _table() -> list[list[str]]:
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    section = text[text.index(HEADING):]
    rows = [line for line in section.splitlines() if line.startswith("| A100") or line.startswith("| H100")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in rows]


def _pair(a: float, b: float, fmt: str = ".3f") -> str:
    return f"{a:{fmt}} -> {b:{fmt}}"


def test_the_docs_table_is_the_bench_result():
    result = json.loads((ROOT / "bench" / "results" / "gpu_calibration.json").read_text(encoding="utf-8"))
    table = _table()
    assert len(table) == len(result["transfer"]) == 8
    for row, t in zip(table, result["transfer"], strict=True):
        d, g, f = t["default"]["target"], t["gpu"]["target"], t["fixed_tau"]
        lo, hi = t["gpu_factor_of_target"]["min"], t["gpu_factor_of_target"]["max"]
        want = [f"{t['src'].split('-')[0]} -> {t['dst'].split('-')[0]}", str(t["k"]),
                _pair(d["mape"], g["mape"]), _pair(d["top1"], g["top1"]), _pair(d["coverage"], g["coverage"]),
                _pair(d["median_log_bias"], g["median_log_bias"], "+.3f"),
                str(t["shrinkage_k"]["fits_all_offsets_zero"]), f"x{lo:.3f}-x{hi:.3f}",
                f"{f['mape']:.3f}, {f['median_log_bias']:+.3f}", f"{f['oracle_mape']:.3f}",
                _pair(t["default"]["seen"]["coverage"], t["gpu"]["seen"]["coverage"])]
        assert row == want
        assert d["top1"] == g["top1"]  # one GPU per choice group: one factor, the same pick


def test_the_one_gpu_run_left_the_default_exactly():
    result = json.loads((ROOT / "bench" / "results" / "gpu_calibration.json").read_text(encoding="utf-8"))
    if "v3_h100_50_rows" not in result:
        pytest.skip("the result file was written without the v3 export")
    one = result["v3_h100_50_rows"]["one_gpu"]
    assert one == {"max_abs_factor_minus_1": 0.0, "max_rel_diff_vs_default": 0.0}
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    section = text[text.index(HEADING):]
    v3 = result["v3_h100_50_rows"]
    assert re.search(rf"Top-1 {v3['energylens']['top1']:.3f} and MAPE {v3['energylens']['mape']:.3f} for both", section)


def test_the_package_has_no_gpu_key():
    with pytest.raises(ValueError, match="'gpu' is not supported"):
        check_calibration_key("gpu")
