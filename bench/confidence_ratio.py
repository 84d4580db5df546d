"""How far the upper P-quantile of a configuration's TPOT sits above its point prediction (docs/search.md,
"Why one effective limit"): R(x) = q_P(TPOT(x)) / TPOT(x) over a Llama-3.1-70B space (H100 and H200, TP 1-8,
batch 1-256), with a model fitted on 50 random ML.ENERGY v3 H100 rows (seed 0, 100 bootstrap refits), and
the residual part alone (the P-quantile of the measurement factors, the same for every row).

    python bench/confidence_ratio.py         # JSON to bench/results/confidence_ratio.json (~1 min)
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from data_paths import V3
from energylens.model import EnergyModel
from energylens.profiles import read_profiles
from energylens.search import build_space
from energylens.search.api import native_options
from energylens.search.confidence import upper_quantiles

OUT = Path(__file__).parent / "results" / "confidence_ratio.json"


def residual_part(latency_model, p: float) -> float:
    """The P-quantile of the TPOT measurement factors (output 1: a LatencyModel's output 0 is TTFT, whose
    sample is empty, factor 1, when no training row measured it, as in ML.ENERGY v3)."""
    return float(np.quantile(latency_model.measurement_factors(1), p))


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    warnings.simplefilter("ignore")
    if not V3.is_file():
        print(f"needs the ML.ENERGY v3 rows at {V3}", file=sys.stderr)
        return 1
    v3 = read_profiles(str(V3))
    train = v3.iloc[np.random.default_rng(0).permutation(len(v3))[:50]]
    model = EnergyModel(bootstrap=100, seed=0).fit(train)
    space = build_space("meta-llama/Llama-3.1-70B-Instruct", "H100,H200", input_tokens=[512, 2048],
                        output_tokens=[256, 128], tp=[1, 2, 4, 8], max_num_seqs=[1, 4, 16, 64, 256])
    out = {}
    for p in (0.8, 0.9):
        q = upper_quantiles(space, model.theta, model.latency_model, native_options(), np.arange(space.size), p)
        ok = q["relevant"] & (q["tpot"] > 0)
        ratio = q["tpot_q"][ok] / q["tpot"][ok]
        out[str(p)] = {"ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
                       "ratio_median": float(np.median(ratio)), "candidates": int(ok.sum()),
                       "residual_part": residual_part(model.latency_model, p)}
    print(json.dumps(out, indent=1))
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
