"""An empty result's remedies name each model as the user gave it: a search of Qwen/Qwen3-235B-A22B-FP8 (an alias of
the table's Qwen/Qwen3-235B-A22B row, searched in its fp8 format) at --tp 8 --ep 16 was told "Qwen/Qwen3-235B-A22B:
--ep 8", the bf16 checkpoint's name, until 2026-12-07; the same for the experts' remedy. The table's rows keep the
table's short name with the format ("Qwen3-235B-A22B H100 fp8 ...")."""

import pandas as pd
from quiet_search import quiet_search

from energylens import search

QWEN_FP8 = "Qwen/Qwen3-235B-A22B-FP8"


def test_the_ep_group_remedy_names_the_checkpoint_asked_for(model):
    r = quiet_search(model, QWEN_FP8, "H100", tp=[8], ep=[16], max_num_seqs=[8])
    text = r.why_empty()
    assert r.settings["model_names_given"] == {"Qwen/Qwen3-235B-A22B": QWEN_FP8}
    assert f"{QWEN_FP8}: --ep 8 (tp x dp" in text, text
    assert "Qwen/Qwen3-235B-A22B:" not in text, text


def test_the_experts_and_weights_remedies_name_the_checkpoint_asked_for(model):
    # ep 3 divides Kimi-K2's 384 experts, not Qwen's 128 (ep_experts); Kimi's weights fit no 3 H100s (memory_weights)
    r = quiet_search(model, [QWEN_FP8, "moonshotai/Kimi-K2-Instruct"], "H100", tp=[1], dp=[3], ep=[3],
                     max_num_seqs=[8])
    text = r.why_empty()
    assert f"{QWEN_FP8} has 128 experts" in text, text
    assert "Qwen/Qwen3-235B-A22B " not in text, text


def test_a_name_as_the_table_spells_it_records_nothing(model):
    r = quiet_search(model, "Qwen/Qwen3-235B-A22B", "H100", tp=[8], ep=[16], max_num_seqs=[8])
    assert r.settings["model_names_given"] is None
    assert "Qwen/Qwen3-235B-A22B: --ep 8 (tp x dp" in r.why_empty()


def test_a_candidate_tables_remedy_names_the_checkpoint_of_its_rows(model):
    rows = pd.DataFrame([dict(model=QWEN_FP8, gpu="H100", tp=8, dp=1, ep=16, input_tokens=1024, output_tokens=256,
                              max_num_seqs=64)])
    r = search(candidates=rows, energy_model=model, bootstrap=False)
    text = r.why_empty()
    assert r.settings["model_names_given"] == {"Qwen/Qwen3-235B-A22B": QWEN_FP8}
    assert f"{QWEN_FP8}: ep 8 (tp x dp" in text and "Qwen/Qwen3-235B-A22B:" not in text, text
