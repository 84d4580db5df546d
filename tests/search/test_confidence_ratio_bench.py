"""bench/confidence_ratio.py's residual part (docs/search.md, "Why one effective limit"): the TPOT residuals'
quantile, not the TTFT ones, which are empty (factor 1) for a model fitted on rows without a measured TTFT."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import confidence_ratio as C  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402


def test_residual_part_reads_the_tpot_residuals():
    rows = mlenergy_v2().sample(50, random_state=0)       # ML.ENERGY rows: TPOT measured, TTFT not
    assert rows["ttft_s"].isna().all() and rows["tpot_s"].notna().all()
    latency = EnergyModel(bootstrap=20, seed=0).fit(rows).latency_model
    part = C.residual_part(latency, 0.9)
    assert part == float(np.quantile(latency.measurement_factors(1), 0.9))
    assert part > 1.0                                      # 1.0 exactly is the empty TTFT sample
