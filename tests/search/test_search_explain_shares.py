"""The explanation's shares add up: "prefill X% + decode Y% + idle headroom Z%" and "static S%, dynamic D%" each
sum to 100. Rounded one by one they read 99 % or 101 % in a quarter of load-mode explanations before 2026-12-07
("4774 J/request = prefill 1% + decode 36% + idle headroom 64%", Llama-3.1-8B on H100 at 0.05 requests/s)."""

import re

import pytest

import energylens

MODELS = "meta-llama/Llama-3.1-8B-Instruct,meta-llama/Llama-3.1-70B-Instruct"


@pytest.mark.parametrize("rate", [None, 0.05, 0.5, 5])
def test_explained_shares_sum_to_100_and_round_each_share(model, rate):
    r = energylens.search(MODELS, "H100,L40S", input_tokens=1000, output_tokens=300, rate_per_s=rate,
                          energy_model=model, top=30)
    assert len(r.top) > 5
    for i, row in r.top.iterrows():
        head = r.explain(i).split(". Energy decided")[0]
        phases, split = head.split(" = ")[1].split("; ")
        shown = [int(v) for v in re.findall(r"(\d+)%", phases)]
        static = [int(v) for v in re.findall(r"(\d+)%", split)]
        assert sum(shown) == 100 and sum(static) == 100, head
        e = row["energy_j"]
        exact = [row["prefill_j"] / e, row["decode_j"] / e] + ([row["idle_j"] / e] if row["idle_j"] > 0 else [])
        exact_static = [(row["prefill_static_j"] + row["decode_static_j"] + row["idle_j"]) / e,
                        (row["prefill_dynamic_j"] + row["decode_dynamic_j"]) / e]
        for got, want in zip(shown + static, exact + exact_static, strict=True):
            assert abs(got - 100 * want) < 1, head
