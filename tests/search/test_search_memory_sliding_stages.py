"""Pipeline stages of models that alternate sliding-window and full attention layers (Gemma 2 / 3, gpt-oss)
against hand arithmetic (docs/search.md "Feasibility"): the model table's ``layer_pattern`` marks the sliding
layers ``S``, and each stage holds the KV cache of its own full layers (every position) and sliding layers (at
most the window). gemma-3-12b-it, ``(SSSSS*)x8``, at pp 3 (16 layers each) holds 2, 3 and 3 full layers; before
2026-12-07 every stage held the model's window share (8 full of 48: 2.67 per stage), so the last stage's KV cache
(its weights are the first's: the lm_head is the tied embedding's copy, the vision encoder on every stage) was
(1 - r) / 3 full layers of KV short, r = min(context, window) / context."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from stage_spaces import stage_spaces_agree

import energylens
from energylens.profiles import load_profiles, tables
from energylens.profiles.features import features_of
from energylens.profiles.model_checks import spec_problem
from energylens.search.api import bundled_model
from energylens.search.memory import gpu_memory
from energylens.search.stage_cache import stage_pattern_layers, stage_sliding_layers

GIB = 2.0**30
GEMMA3 = "google/gemma-3-12b-it"
GEMMA2 = "google/gemma-2-2b-it"
KV_LAYER = 2 * 8 * 256 * 2  # gemma-3-12b: bf16 K and V, 8 KV heads x 256, per token and attention layer


def _search(model, input_tokens, output_tokens, seqs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = energylens.search(model, "H200", input_tokens=input_tokens, output_tokens=output_tokens,
                                max_num_seqs=[seqs], energy_model=bundled_model(), bootstrap=False, **kw)
    return out.to_frame()["memory_gib_per_gpu"].iloc[0]


def test_stages_hold_their_own_full_and_sliding_layers():
    assert [s[:2] for s in stage_pattern_layers("(SSSSS*)x8", 3)] == [(16, 16)] * 3
    assert stage_sliding_layers("(SSSSS*)x8", 3) == [14, 13, 13]  # full: 2, 3, 3
    assert stage_sliding_layers("(S*)x21", 4) == [5, 6, 5, 5]  # 10, 11, 11, 10 layers: full 5, 5, 6, 5


def test_gemma3_at_pp3_binds_on_the_stage_with_more_full_layers():
    """By hand: the last stage (3 full, 13 sliding) against the old rule's first (8 / 3 full, 40 / 3 sliding),
    at the same weights: (3 + 13 r) - (8 + 40 r) / 3 = (1 - r) / 3 layers of KV per token more."""
    spec = tables.model_spec(GEMMA3)
    blank = dataclasses.replace(spec, name="user/gemma-3-12b-no-pattern", layer_pattern="")
    seqs, li, lo = 64, 8192, 1024
    ctx = li + lo / 2
    tokens, r = seqs * ctx, 1024 / ctx
    new, old = _search(spec, li, lo, seqs, tp=[1], pp=[3]), _search(blank, li, lo, seqs, tp=[1], pp=[3])
    assert (new - old) * GIB == pytest.approx(tokens * KV_LAYER * (1 - r) / 3, rel=1e-9)  # 1.25 GiB
    assert (new - old) == pytest.approx(1.25, rel=1e-9)
    short = _search(spec, 512, 256, seqs, tp=[1], pp=[3]), _search(blank, 512, 256, seqs, tp=[1], pp=[3])
    assert short[0] == short[1]  # inside the window (r = 1) every layer holds every position: no change


@pytest.mark.parametrize("name", [GEMMA3, GEMMA2, "google/gemma-2-9b-it", "openai/gpt-oss-20b"])
def test_pp1_is_unchanged_bit_for_bit(name):
    spec = tables.model_spec(name)
    blank = dataclasses.replace(spec, layer_pattern="")  # its name: gpt-oss's checkpoint format (mxfp4) goes by it
    for li, lo in ((2048, 1024), (512, 256)):
        assert _search(spec, li, lo, 64, tp=[1], pp=[1]) == _search(blank, li, lo, 64, tp=[1], pp=[1])


@pytest.mark.parametrize(("name", "tp", "pp", "li", "lo"), [(GEMMA3, 1, 3, 8192, 1024), (GEMMA3, 2, 4, 8192, 1024),
                                                         (GEMMA3, 1, 9, 8192, 1024), (GEMMA3, 1, 12, 4096, 512),
                                                         (GEMMA2, 1, 3, 6000, 1000), (GEMMA2, 1, 5, 512, 256)])
def test_memory_module_agrees_with_the_engine(name, tp, pp, li, lo):
    rows = load_profiles(pd.DataFrame([{"model": name, "gpu": "H200", "precision": "bf16", "tp": tp, "pp": pp,
                                        "batch_size": 64, "input_tokens": li, "output_tokens": lo, "energy_j": 1.0}]))
    mem = gpu_memory(rows, features_of(rows), np.full(1, 64.0), float(li), float(lo))
    assert (mem.fixed[0] + mem.kv[0]) / GIB == pytest.approx(_search(name, li, lo, 64, tp=[tp], pp=[pp]), rel=1e-12)


def test_bundled_sliding_patterns_fit_their_rows():
    """Each bundled sliding model's pattern gives its n_sliding_layers; a pattern whose S count differs is
    refused naming the field."""
    rows = tables.models()
    for name in rows.loc[rows["layer_pattern"].fillna("").str.contains("S"), "name"]:
        spec = tables.model_spec(name)
        assert spec_problem(spec) is None, name
    spec = tables.model_spec(GEMMA3)
    bad = dataclasses.replace(spec, layer_pattern="(SSS*)x12")
    assert spec_problem(bad)[0] == "layer_pattern"
    assert "36 sliding-window layers ('S') where n_sliding_layers is 40" in spec_problem(bad)[2]


@pytest.mark.parametrize("seed", range(2))
def test_sliding_stage_spaces_match_brute_force(seed):
    """The engine and the oracle agree on top-k, fronts, rejections and memory per GPU on spaces of the sliding
    models at pp values up to 12 (one slot per stage, and the bound above 8)."""
    stage_spaces_agree([GEMMA3, GEMMA2][seed], 700 + seed, 6000)
