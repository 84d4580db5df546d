"""One result, several views: the table ``energylens search`` prints, ``to_frame()``, ``result.top`` and the
Pareto fronts, and ``to_json()`` say the same numbers (a price not given is no price in every view), and the
numbers agree with each other (energy = prefill + decode = static + dynamic terms, GPUs = tp x pp x dp x replicas,
rejections sum to the candidates, the interval holds the point, the deciding term is the largest)."""

import json
import math

import numpy as np

import energylens
from energylens.search.result import TERMS

L8 = "meta-llama/Llama-3.1-8B-Instruct"
QWEN = "Qwen/Qwen3-30B-A3B-Instruct-2507"


def test_frame_and_json_agree_on_a_price_not_given(model):
    """An energy search's frame read price_per_gpu_hour 0.0 (a free GPU-hour) where its JSON read null."""
    kw = dict(input_tokens=1500, output_tokens=300, energy_model=model, bootstrap=False, top=2, tp=1)
    r = energylens.search(QWEN, "H100", carbon_g_per_kwh=400, **kw)
    for frame in (r.to_frame(), r.top, r.pareto_tpot, r.pareto_ttft):
        assert len(frame) and frame["price_per_gpu_hour"].isna().all(), frame["price_per_gpu_hour"].tolist()
    doc = json.loads(r.to_json())
    assert all(row["price_per_gpu_hour"] is None for part in ("top", "pareto_tpot", "pareto_ttft") for row in doc[part])
    priced = energylens.search(QWEN, "H100", price_per_gpu_hour={"H100": 0}, **kw)  # a free GPU-hour given: 0
    assert priced.to_frame()["price_per_gpu_hour"].tolist() == [0.0, 0.0]
    assert [row["price_per_gpu_hour"] for row in json.loads(priced.to_json())["top"]] == [0.0, 0.0]


def _searches(model):
    kw = dict(energy_model=model, top=6)
    yield energylens.search("openai/gpt-oss-120b", "H100,B200", input_tokens=1000, output_tokens=500, rate_per_s=5,
                            per_token=True, **kw)  # load mode: idle headroom, collapsed caps, per output token
    yield energylens.search("meta-llama/Llama-3.1-70B-Instruct", "H100,H200,B200", input_tokens=512, output_tokens=256,
                            rate_per_s=10, price_per_gpu_hour={"H100": 2.5, "H200": 3.5, "B200": 6.0}, **kw)
    yield energylens.search("Qwen/Qwen3-235B-A22B", "H100,H200", input_tokens=1500, output_tokens=300, precision="fp8",
                            tp=[4, 8], dp=[1, 2], ep=[1, 8], carbon_g_per_kwh=400, **kw)


def test_the_numbers_of_a_result_agree_with_each_other_and_across_views(model):
    """Audit of realistic searches: energy = prefill + decode + idle = the five terms; static_j is the template's
    static part (prefill_static_j + decode_static_j), the idle headroom apart; the interval holds the point; GPUs =
    tp x pp x dp x replicas; the deciding term is the largest; rejections and feasible sum to the candidates; JSON
    rows are the frame's at full precision, and the printed table the frame's at 4 digits."""
    for r in _searches(model):
        assert sum(r.rejected.values()) + r.feasible == r.candidates
        f, doc = r.to_frame(), json.loads(r.to_json())
        assert len(f) == 6 and len(doc["top"]) == 6
        terms = f[list(TERMS)].to_numpy()
        np.testing.assert_allclose(f["prefill_j"] + f["decode_j"] + f["idle_j"], f["energy_j"], rtol=1e-12)
        np.testing.assert_allclose(terms.sum(axis=1), f["energy_j"], rtol=1e-9)
        np.testing.assert_allclose(f["prefill_static_j"] + f["decode_static_j"], f["static_j"], rtol=1e-9)
        assert ((f["energy_j_lo"] <= f["energy_j"]) & (f["energy_j"] <= f["energy_j_hi"])).all()
        assert (f["gpus"] == f["tp"] * f["pp"] * f["dp"] * f["replicas"]).all()
        assert list(f["decided_by"]) == [TERMS[i] for i in terms.argmax(axis=1)]
        for row, rec in zip(f.to_dict(orient="records"), doc["top"], strict=True):
            for k, v in row.items():
                if isinstance(v, float) and math.isnan(v):
                    assert rec[k] is None, k
                elif isinstance(v, (float, np.floating)):
                    assert rec[k] == float(v), k
        lines = r.table().splitlines()[1:]
        for line, (_, row) in zip(lines, f.iterrows(), strict=True):
            assert line.strip().startswith(row["config"]) and f" {row['energy_j']:.4g} " in line, line
            if "(" in r.objective and not r.objective.startswith("energy (J per request"):
                assert f" {row['objective']:.4g} " in line, line
