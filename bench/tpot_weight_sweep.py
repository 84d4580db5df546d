#!/usr/bin/env python3
"""Accuracy round 7: the weight of the TPOT residuals in EnergyModel's joint fit, swept.

For each weight W: v2's unseen-batch split (train on the small batches, predict the large), the v2 and
v3 H100 random splits (50 rows, 20 seeds; ``energylens.compare.run_evaluation`` as ``energylens evaluate``
runs it), the parameters of the in-sample fit on all v2 rows (which time parameters drift as the
TPOT pin weakens), and the unseen-batch test rows ranked by the template fitted on *all* v2 rows (the
form's ceiling on that split: what the split's own fit would reach if it extrapolated perfectly). docs/model.md, "Accuracy round 7"; the full protocol at one weight is
``python bench/family_protocol.py --tpot-weight W``.

    python bench/tpot_weight_sweep.py [--weights 1,0.9,0.8,0.7,0.6,0.5] [--repeats 20]
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import modern_serving as MS  # noqa: E402  (scoring and the method switch)
from energylens.compare import methods as METHODS  # noqa: E402
from energylens.compare.splits import unseen_batch_split  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.profiles import read_profiles  # noqa: E402

OUT = Path(__file__).parent / "results" / "tpot_weight_sweep.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="1,0.9,0.8,0.7,0.6,0.5")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    v2 = read_profiles("bundled")
    v3 = read_profiles(str(MS.V3)) if MS.V3.is_file() else None
    rows = []
    for w in (float(x) for x in args.weights.split(",")):
        rec: dict = {"tpot_weight": w}
        with MS._Switch(METHODS, "EnergyModel", MS.fit_options(tpot_weight=w)):
            rec["v2_unseen_batch"] = MS.scores(v2, args.repeats, splits=("unseen_batch",))["unseen_batch"]
            rec["v2_random"] = MS.scores(v2, args.repeats)["random"]
            if v3 is not None:
                rec["v3_random"] = MS.scores(v3, args.repeats)["random"]
        m = EnergyModel(tpot_weight=w, bootstrap=0).fit(v2, latency=False)
        rec["v2_in_sample_params"] = {k: float(v) for k, v in zip(m.param_names, m.theta, strict=True)}
        test = v2.iloc[unseen_batch_split(v2, ["task", "model", "gpu"])[0].test_idx].reset_index(drop=True)
        pred = m.predict(test)
        hits, conc, tot, _ = MS._group_scores(test, pred)
        rec["v2_unseen_batch_all_rows_fit"] = {"top1": float(sum(hits) / len(hits)), "pairwise": conc / tot,
                                               "mape": float((abs(pred / test["energy_j"].to_numpy() - 1)).mean())}
        rows.append(rec)
        line = " | ".join(f"{k} {MS.fmt(rec[k])}" for k in ("v2_unseen_batch", "v2_random", "v3_random") if k in rec)
        print(f"W {w:g}: {line}", flush=True)
        p = rec["v2_in_sample_params"]
        c = rec["v2_unseen_batch_all_rows_fit"]
        print(f"       v2 in-sample: layer_overhead_us {p['layer_overhead_us']:.0f}, eta_prefill "
              f"{p['eta_prefill']:.3f}, eta_memory {p['eta_memory']:.3f}; unseen-batch rows ranked by it: "
              f"top1 {c['top1']:.3f} pairwise {c['pairwise']:.3f} mape {c['mape']:.3f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"repeats": args.repeats, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
