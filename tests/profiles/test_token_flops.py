"""A token's FLOPs and the encoders of a MoE (accuracy round 10, follow-up; docs/model.md; profiles/step_weights.py
token_params, switch features.TOKEN_FLOPS_AND_ENCODERS): the ``active_params`` feature (2 FLOP each per token, in
decode and prefill) leaves out the input embedding, a lookup that multiplies nothing; the lm_head GEMM counts (tied:
the one matrix, once). Qwen3-Omni's audio tower (~0.65 B, prefill only) is no routed expert. Each value is worked
out by hand from the model table's counts; the native row path (cpp/src/row_features.cpp) gives the same bits."""
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
OMNI = "Qwen/Qwen3-Omni-30B-A3B-Instruct"           # its thinker: + vision 0.58 B + audio tower; no vocab in the table
LLAVA = "llava-hf/llava-1.5-7b-hf"                  # no vocab_size in the table


def _row(model: str, precision: str = "bf16", **kw) -> dict:
    return {"model": model, "params_b": tables.model_spec(model).params_b, "gpu": "H100", "tp": 1, "pp": 1,
            "batch_size": 1.0, "input_tokens": 512.0, "output_tokens": 256.0, "precision": precision, **kw}


def _feature(name: str, *rows: dict) -> np.ndarray:
    return build_features(pd.DataFrame(list(rows)))[name]


def test_untied_model_multiplies_its_lm_head_not_its_input_embedding(monkeypatch):
    """Llama-3.1-8B: 8.030 B less one 128256 x 4096 matrix, 0.935x the FLOPs per token, whatever the format."""
    head = 128256 * 4096
    got = _feature("active_params", _row(LLAMA8), _row(LLAMA8, "fp8", batch_size=64.0, tp=2))
    np.testing.assert_allclose(got, 8.030e9 - 2 * head + head, rtol=1e-12)  # 7.505 B
    monkeypatch.setattr(features, "TOKEN_FLOPS_AND_ENCODERS", False)  # the ablation: every active parameter
    np.testing.assert_allclose(_feature("active_params", _row(LLAMA8)), 8.030e9, rtol=1e-12)


def test_tied_model_counts_its_one_matrix_once_as_the_lm_head():
    assert _feature("active_params", _row(LLAMA3B))[0] == pytest.approx(3.213e9, rel=1e-12)


def test_moe_active_count_loses_the_input_embedding():
    s = tables.model_spec(QWEN_MOE)
    head = 151936 * 2048
    got = _feature("active_params", _row(QWEN_MOE), _row(QWEN_MOE, batch_size=300.0, dp=2.0))
    np.testing.assert_allclose(got, s.active_params_b * 1e9 - head, rtol=1e-12)  # 3.042 B, not 3.353


def test_unknown_vocabulary_keeps_the_count_and_a_small_given_count_is_the_lm_head():
    spec = tables.model_spec(LLAVA)
    got = _feature("active_params", _row(LLAVA), _row(LLAMA8, active_params_b=0.5))
    np.testing.assert_allclose(got, [spec.active_params_b * 1e9, 128256 * 4096], rtol=1e-12)


def test_prefill_and_decode_flops_both_follow(monkeypatch):
    """The template's decode FLOPs B (2 N_act + a ctx) and prefill FLOPs 2 N_act L_in + ... read the one feature:
    each falls by 2 FLOP per input-embedding parameter per token (the reference implementation's F and F_p)."""
    from energylens.model import reference

    df = pd.DataFrame([_row(LLAMA8, batch_size=8.0)])
    on = build_features(df)
    monkeypatch.setattr(features, "TOKEN_FLOPS_AND_ENCODERS", False)
    off = build_features(df)
    c_on, c_off = (reference._core(f, 0.5, 0.5, 0.5, 0.4, 1e-4, 1e-5, 2e-4, 0.5) for f in (on, off))
    emb = 128256 * 4096
    assert c_off["F"][0] - c_on["F"][0] == pytest.approx(8 * 2 * emb, rel=1e-9)       # B x 2 x N_emb
    assert c_off["Fp"][0] - c_on["Fp"][0] == pytest.approx(512 * 2 * emb, rel=1e-9)   # L_in x 2 x N_emb


def test_omni_audio_tower_is_not_counted_as_routed_experts(monkeypatch):
    """Qwen3-Omni's thinker (31.719 B) holds the Qwen3-30B-A3B text model, the vision encoder and the audio tower;
    before, the tower's 0.648 B sat in params_b - active_params_b and counted as 0.69 B of experts (and -0.04 B of
    shared weights). The table has no vocabulary for it: the embeddings stay in the count."""
    s = tables.model_spec(OMNI)
    frac = 8 / 128
    touch = 1 - (1 - frac) ** 64

    def hand(encoders_b: float) -> float:
        lm = (s.params_b - encoders_b) * 1e9
        n_exp = (lm - s.active_params_b * 1e9) / (1 - frac)
        return 2.0 * (lm - n_exp) + touch * 2.0 * n_exp

    row = _row(OMNI, batch_size=64.0, modality="image")
    got = _feature("weight_bytes_per_step", row)[0]
    assert got == pytest.approx(hand(s.vision_params_b + s.audio_params_b), rel=1e-12)
    monkeypatch.setattr(features, "TOKEN_FLOPS_AND_ENCODERS", False)  # the ablation: the tower as experts
    assert _feature("weight_bytes_per_step", row)[0] == pytest.approx(hand(s.vision_params_b), rel=1e-12)
    assert got < _feature("weight_bytes_per_step", row)[0]


def test_omni_audio_tower_size_from_its_config():
    """config.json audio_config: 32 layers of d_model 1280 (q, k, v, out with biases; two LayerNorms), FFN 5120;
    three 3x3 conv2d of 480 channels over 128 mel bins (16 left after three stride-2 convs), conv_out 7680 -> 1280
    without bias, proj1 1280 -> 1280, proj2 1280 -> 2048 (the thinker's width), ln_post: 647.9 M."""
    d, f, c = 1280, 5120, 480
    layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d
    convs = (9 * c + c) + 2 * (9 * c * c + c)
    audio = 32 * layer + convs + c * 16 * d + (d * d + d) + (d * 2048 + 2048) + 2 * d
    assert audio == 647_927_168
    assert tables.model_spec(OMNI).audio_params_b == pytest.approx(audio / 1e9, abs=5e-4)
    others = tables.models()
    assert others.loc[others["name"] != OMNI, "audio_params_b"].isna().all()  # no other model has one


@pytest.mark.parametrize("on", [True, False])
def test_native_row_path_gives_the_same_bits(monkeypatch, on):
    monkeypatch.setattr(features, "TOKEN_FLOPS_AND_ENCODERS", on)
    rows = [_row(m, p, batch_size=b, tp=t) for m in (LLAMA8, LLAMA3B, QWEN_MOE, QWEN_VL, OMNI, LLAVA)
            for p in ("bf16", "fp8") for b in (1.0, 7.0, 300.0) for t in (1, 4)]
    assert_native_rows_match(pd.DataFrame(rows), ("active_params", "weight_bytes_per_step"))  # the full path (schema) as well
