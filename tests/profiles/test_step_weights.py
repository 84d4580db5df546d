"""The weight bytes a decode step streams (accuracy round 10, docs/model.md; profiles/step_weights.py): the input
embedding is a lookup (not streamed; tied: read in full as the lm_head), the lm_head is read in full at 16 bits
whatever the checkpoint's format, a vision encoder only in the prefill. Each value is worked out by hand from the
model table's counts; the native row path (cpp/src/row_features.cpp) gives the same bits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from native_parity import assert_native_rows_match

from energylens.profiles import features, tables
from energylens.profiles.features import build_features

LLAMA8 = "meta-llama/Meta-Llama-3.1-8B-Instruct"   # untied, vocab 128256, d 4096
LLAMA3B = "meta-llama/Llama-3.2-3B-Instruct"        # tied, vocab 128256, d 3072
QWEN_MOE = "Qwen/Qwen3-30B-A3B"                     # untied, vocab 151936, d 2048, 128 experts, top 8
QWEN_VL = "Qwen/Qwen3-VL-30B-A3B-Instruct"          # the same language model and a 0.58 B vision encoder
QWEN_VL_DENSE = "Qwen/Qwen3-VL-8B-Instruct"         # untied, vocab 151936, d 4096, 0.58 B vision encoder


def _row(model: str, precision: str = "bf16", **kw) -> dict:
    return {"model": model, "params_b": tables.model_spec(model).params_b, "gpu": "H100", "tp": 1, "pp": 1,
            "batch_size": 1.0, "input_tokens": 512.0, "output_tokens": 256.0, "precision": precision, **kw}


def _weights(*rows: dict) -> np.ndarray:
    return build_features(pd.DataFrame(list(rows)))["weight_bytes_per_step"]


def test_the_table_counts_hold_the_embeddings_and_active_params_no_vision_encoder():
    """What the correction subtracts from: Llama-3.1-8B's 8.030 B hold its two 128256 x 4096 matrices
    (config.json's count, as Hugging Face's), a VL model's active count leaves its vision encoder out."""
    s = tables.model_spec(LLAMA8)
    assert (s.vocab_size, s.tie_word_embeddings, s.d_model) == (128256, 0, 4096)
    assert s.active_params_b == s.params_b == pytest.approx(8.030)
    vl = tables.model_spec(QWEN_VL_DENSE)
    assert vl.active_params_b == pytest.approx(vl.params_b - vl.vision_params_b)


def test_dense_untied_streams_the_lm_head_not_the_input_embedding(monkeypatch):
    head = 128256 * 4096
    w = _weights(_row(LLAMA8), _row(LLAMA8, batch_size=64.0, tp=2))
    np.testing.assert_allclose(w, 2.0 * (8.030e9 - 2 * head) + 2.0 * head, rtol=1e-12)  # 13.01 GB, not 16.06
    monkeypatch.setattr(features, "DECODE_WEIGHT_READS", False)  # the ablation: today's count before round 10
    np.testing.assert_allclose(_weights(_row(LLAMA8)), 2.0 * 8.030e9, rtol=1e-12)


def test_tied_embedding_is_read_in_full_as_the_lm_head():
    head = 128256 * 3072
    bf16, fp8 = _weights(_row(LLAMA3B), _row(LLAMA3B, "fp8"))
    assert bf16 == pytest.approx(2.0 * 3.213e9, rel=1e-12)  # tied, 16-bit: every parameter as before
    assert fp8 == pytest.approx(1.0 * (3.213e9 - head) + 2.0 * head, rel=1e-12)  # the tied matrix stays 16-bit


def test_fp8_dense_streams_its_lm_head_at_16_bits():
    head = 128256 * 4096
    fp8, int4 = _weights(_row(LLAMA8, "fp8"), _row(LLAMA8, "int4"))
    assert fp8 == pytest.approx(1.0 * (8.030e9 - 2 * head) + 2.0 * head, rel=1e-12)  # 8.08 GB, not 8.03
    assert int4 == pytest.approx(tables.bytes_per_param("int4") * (8.030e9 - 2 * head) + 2.0 * head, rel=1e-12)


def test_moe_shared_part_loses_the_input_embedding_per_replica():
    s = tables.model_spec(QWEN_MOE)
    head, frac = 151936 * 2048, 8 / 128
    n_exp = (s.params_b * 1e9 - s.active_params_b * 1e9) / (1 - frac)
    shared = s.params_b * 1e9 - n_exp
    one, two = _weights(_row(QWEN_MOE), _row(QWEN_MOE, dp=2.0, batch_size=2.0))
    assert one == pytest.approx(2.0 * (shared - 2 * head) + 2.0 * head + frac * 2.0 * n_exp, rel=1e-12)
    # two replicas: each streams its shared part and lm_head; one copy of the experts serves both sequences
    touch2 = 1 - (1 - frac) ** 2
    assert two == pytest.approx(2 * (2.0 * (shared - 2 * head) + 2.0 * head) + touch2 * 2.0 * n_exp, rel=1e-12)


def test_vision_encoder_is_not_streamed_per_decode_step(monkeypatch):
    """A MoE VL row: before, the 0.58 B encoder sat in params_b - active_params_b and was counted as 0.62 B of
    experts (and -0.04 B of shared weights); now the experts are the language model's alone. A dense VL row's
    active count never held the encoder: only the embedding changes there."""
    s = tables.model_spec(QWEN_VL)
    head, frac = 151936 * 2048, 8 / 128
    lm = (s.params_b - s.vision_params_b) * 1e9
    n_exp = (lm - s.active_params_b * 1e9) / (1 - frac)
    shared = lm - n_exp
    rows = (_row(QWEN_VL, batch_size=64.0, modality="image"), _row(QWEN_VL_DENSE, modality="image"))
    moe, dense = _weights(*rows)
    touch = 1 - (1 - frac) ** 64
    assert moe == pytest.approx(2.0 * (shared - 2 * head) + 2.0 * head + touch * 2.0 * n_exp, rel=1e-12)
    dhead = 151936 * 4096
    assert dense == pytest.approx(2.0 * (8.19e9 - 2 * dhead) + 2.0 * dhead, rel=1e-12)
    monkeypatch.setattr(features, "DECODE_WEIGHT_READS", False)
    n_old = (s.params_b - s.active_params_b) * 1e9 / (1 - frac)
    old = 2.0 * (s.params_b * 1e9 - n_old) + touch * 2.0 * n_old
    np.testing.assert_allclose(_weights(*rows), [old, 2.0 * 8.19e9], rtol=1e-12)


def test_unknown_vocabulary_keeps_the_count_and_a_small_given_count_stays_positive():
    llava = "llava-hf/llava-1.5-7b-hf"  # no vocab_size in the table: every active parameter, as before
    spec = tables.model_spec(llava)
    small = _row(LLAMA8, active_params_b=0.5)  # a row's own count below the embeddings: the lm_head alone
    w = _weights(_row(llava), small)
    np.testing.assert_allclose(w, [2.0 * spec.active_params_b * 1e9, 2.0 * 128256 * 4096], rtol=1e-12)


@pytest.mark.parametrize("on", [True, False])
def test_native_row_path_gives_the_same_bits(monkeypatch, on):
    monkeypatch.setattr(features, "DECODE_WEIGHT_READS", on)
    rows = [_row(m, p, batch_size=b, tp=t) for m in (LLAMA8, LLAMA3B, QWEN_MOE, QWEN_VL, QWEN_VL_DENSE)
            for p in ("bf16", "fp8") for b in (1.0, 7.0, 300.0) for t in (1, 4)]
    assert_native_rows_match(pd.DataFrame(rows), ("weight_bytes_per_step",))  # the full path (schema) as well
