"""When neither latency limit is met and every tp and max_num_seqs 1 were searched, the empty result says so once:
before 2026-12-07 "every tp a model's heads allow within a node, and max_num_seqs 1, were searched" stood twice in
one sentence, once for TPOT and once for TTFT."""

import energylens

CLAUSE = "every tp a model's heads allow within a node, and max_num_seqs 1, were searched"


def test_the_searched_clause_is_said_once_for_both_limits(model):
    r = energylens.search("meta-llama/Llama-3.1-70B-Instruct", "H100", input_tokens=512, output_tokens=256,
                          ttft_limit_s=0.01, tpot_limit_s=0.03, energy_model=model)
    text = r.why_empty()
    assert text.count(CLAUSE) == 1, text
    assert "only a higher --tpot-limit" in text and "only a higher --ttft-limit" in text, text
    assert "; ;" not in text and ";;" not in text


def test_one_unmet_limit_keeps_the_clause(model):
    r = energylens.search("meta-llama/Llama-3.1-70B-Instruct", "H100", input_tokens=512, output_tokens=256,
                          tpot_limit_s=0.03, energy_model=model)
    assert r.why_empty().count(CLAUSE) == 1
