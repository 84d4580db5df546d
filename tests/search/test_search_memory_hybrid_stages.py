"""Pipeline stages of hybrid (Mamba / linear-attention + attention) models against hand arithmetic
(docs/search.md "Feasibility"): the model table's ``layer_pattern`` places the attention layers (KV cache) and
the state layers (recurrent state), and each stage holds the cache and state of the layers it holds.
Nemotron-Nano-9B-v2's 4 attention layers of 56 sit at layers 14, 21, 30 and 39 (its hybrid_override_pattern),
so at pp 3 (19, 19, 18 layers) the stages hold 1, 2 and 1 of them. Before 2026-12-07 each stage held its
layers' share (19 / 56 x 4 = 1.36 attention layers on the fullest), and the middle stage's KV cache was 47 %
larger than counted: the search called layouts feasible that vLLM (every worker's KV cache sized from the most
constrained one) cannot run."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from stage_spaces import stage_spaces_agree

import energylens
from energylens.profiles import load_profiles, tables
from energylens.profiles.features import features_of
from energylens.profiles.layer_pattern import parse_layer_pattern
from energylens.profiles.model_checks import spec_problem
from energylens.profiles.model_table import ModelTableError, load_model_table
from energylens.search.api import bundled_model
from energylens.search.memory import gpu_memory
from energylens.search.stage_cache import MAX_PATTERN_STAGES, stage_pattern_layers

GIB = 2.0**30
NANO9 = "nvidia/NVIDIA-Nemotron-Nano-9B-v2"
NEXT = "Qwen/Qwen3-Next-80B-A3B-Instruct"
NANO9_PATTERN = "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-"  # notes column / model card
KV_LAYER = 2 * 8 * 128 * 2  # bf16 K and V, 8 KV heads x 128, per token and attention layer
STATE = 36384768 * 2  # one sequence's SSM + conv state (bf16) over the 27 Mamba layers
RESERVE = 1.5 * GIB
ACTIVATIONS = 8192 * 4480 * 24


def _search(model, gpu, input_tokens, output_tokens, seqs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(model, gpu, input_tokens=input_tokens, output_tokens=output_tokens,
                                 max_num_seqs=[seqs], energy_model=bundled_model(), bootstrap=False, **kw)


def _rows(model, tp, pp, **kw):
    return load_profiles(pd.DataFrame([{"model": model, "gpu": "H100", "precision": "bf16", "tp": tp, "pp": pp,
                                        "batch_size": 1, "input_tokens": 512, "output_tokens": 256,
                                        "energy_j": 1.0, **kw}]))


def _nano9_stages():
    """Weights per GPU of the three stages at tp 1 pp 3 (bf16): 19 / 56, 19 / 56, 18 / 56 of the weights outside
    the embedding and the untied lm_head (131072 x 4480 each), plus the embedding first, the lm_head last."""
    matrix = 131072 * 4480 * 2.0
    layer = (8.89e9 * 2 - 2 * matrix) / 56
    return [19 * layer + matrix, 19 * layer, 18 * layer + matrix]


def _nano9_hand(tokens, seqs):
    """(new, old) bytes per GPU at tp 1 pp 3: every stage by its attention / Mamba layers (1 / 10, 2 / 8,
    1 / 9 of 4 / 27), the largest; before, the heaviest (first) stage with its layers' share (19 / 56)."""
    w = _nano9_stages()
    kv = [w[0] + tokens * 1 * KV_LAYER + seqs * STATE * 10 / 27, w[1] + tokens * 2 * KV_LAYER + seqs * STATE * 8 / 27,
          w[2] + tokens * 1 * KV_LAYER + seqs * STATE * 9 / 27]
    old = w[0] + (tokens * 4 * KV_LAYER + seqs * STATE) * 19 / 56
    return max(kv) + RESERVE + ACTIVATIONS, old + RESERVE + ACTIVATIONS


def test_pattern_places_the_attention_and_state_layers():
    att, rec = parse_layer_pattern(tables.model_spec(NANO9).layer_pattern)
    assert tables.model_spec(NANO9).layer_pattern == NANO9_PATTERN
    assert np.flatnonzero(att).tolist() == [14, 21, 30, 39] and int(rec.sum()) == 27
    assert stage_pattern_layers(NANO9_PATTERN, 3) == [(19, 1, 10), (19, 2, 8), (18, 1, 9)]
    # Qwen3-Next: full attention in every 4th layer (full_attention_interval 4), Gated DeltaNet in the rest
    att, rec = parse_layer_pattern(tables.model_spec(NEXT).layer_pattern)
    assert np.flatnonzero(att).tolist() == list(range(3, 48, 4)) and int(rec.sum()) == 36
    # layers 0-8, 9-18, 19-28, 29-38, 39-47: attention at 3, 7 | 11, 15 | 19, 23, 27 | 31, 35 | 39, 43, 47
    assert stage_pattern_layers("(MMM*)x12", 5) == [(9, 2, 7), (10, 2, 8), (10, 3, 7), (10, 2, 8), (9, 3, 6)]


def test_bundled_patterns_fit_their_rows():
    """Every bundled row's pattern agrees with its n_layers, n_attention_layers and state (spec_problem); the
    Nemotron 12B rows quote no pattern in the repo and keep the proportional rule."""
    with_pattern = [s for s in map(tables.model_spec, tables.models()["name"]) if s.layer_pattern]
    assert {s.name for s in with_pattern if "M" in s.layer_pattern} == {NANO9, NEXT}  # the sliding ones: S
    assert all(spec_problem(s) is None for s in with_pattern)
    assert tables.model_spec("nvidia/NVIDIA-Nemotron-Nano-12B-v2").layer_pattern == ""


def test_nano9_pp3_middle_stage_kv_by_hand():
    """64 sequences of 8192 + 1024 tokens (the running batch at the mean context, 64 x 8704 tokens): the middle
    stage (2 attention layers) binds, its KV cache 2 / (19 / 56 x 4) = 1.47 x what the old rule counted."""
    tokens, seqs = 64 * (8192 + 512), 64
    new, old = _nano9_hand(tokens, seqs)
    w = _nano9_stages()
    middle_kv = tokens * 2 * KV_LAYER
    assert new == w[1] + middle_kv + seqs * STATE * 8 / 27 + RESERVE + ACTIVATIONS  # the middle stage binds
    assert middle_kv / (tokens * 4 * KV_LAYER * 19 / 56) == pytest.approx(1.4737, abs=1e-4)
    rows = _rows(NANO9, 1, 3)
    mem = gpu_memory(rows, features_of(rows), np.full(1, 64.0), 8192.0, 1024.0)
    assert mem.fixed[0] + mem.kv[0] == pytest.approx(new, rel=1e-12)
    got = _search(NANO9, "H200", 8192, 1024, seqs, tp=[1], pp=[3]).to_frame()
    assert got["memory_gib_per_gpu"].iloc[0] == pytest.approx(new / GIB, rel=1e-12)
    assert new > old  # the old rule counted the first stage (the embedding, 19 / 56 of the KV and state)


def test_near_the_limit_a_layout_feasible_before_is_refused():
    """On an L40S (48 GB) at tp 1 pp 3, 8192 + 1024 tokens: the smallest batch whose middle stage overflows,
    which the old rule (19 / 56 of the KV cache and state on the heaviest stage) still fitted. vLLM sizes every
    worker's cache from the most constrained one: the search now refuses it for the KV cache."""
    usable = 0.9 * tables.gpu_spec("L40S").memory_gb * GIB
    refused = next(b for b in range(1, 2000) if _nano9_hand(b * 8704, b)[0] > usable)
    assert _nano9_hand(refused * 8704, refused)[1] <= usable  # feasible by the old rule
    # docs/search.md, "Feasibility" quotes these: 417 sequences, 43.26 GiB (usable 43.2) where the old rule counted 36.67
    assert refused == 417 and usable / GIB == pytest.approx(43.2, rel=1e-12)
    assert [round(b / GIB, 2) for b in _nano9_hand(refused * 8704, refused)] == [43.26, 36.67]
    r = _search(NANO9, "L40S", 8192, 1024, refused, tp=[1], pp=[3])
    assert len(r.to_frame()) == 0 and {k: v for k, v in r.rejected.items() if v} == {"memory_kv_cache": 1}
    fits = _search(NANO9, "L40S", 8192, 1024, refused - 1, tp=[1], pp=[3]).to_frame()
    assert fits["memory_gib_per_gpu"].iloc[0] == pytest.approx(_nano9_hand((refused - 1) * 8704, refused - 1)[0]
                                                               / GIB, rel=1e-12)


@pytest.mark.parametrize(("tp", "pp", "seqs"), [(1, 1, 64), (1, 2, 64), (2, 3, 1), (1, 4, 256), (1, 7, 64),
                                                (1, 8, 64), (1, 9, 64), (2, 12, 256)])
def test_memory_module_agrees_with_the_engine(tp, pp, seqs):
    """memory.py (the oracle's and `energylens predict`'s) and the engine count the same stage, up to pp 8 each
    stage by its layers, above the largest attention and state layers together (pp 9, 12: an upper bound)."""
    rows = _rows(NANO9, tp, pp)
    mem = gpu_memory(rows, features_of(rows), np.full(1, float(seqs)), 4096.0, 1024.0)
    engine = _search(NANO9, "H200", 4096, 1024, seqs, tp=[tp], pp=[pp]).to_frame()["memory_gib_per_gpu"].iloc[0]
    assert (mem.fixed[0] + mem.kv[0]) / GIB == pytest.approx(engine, rel=1e-12)
    if pp > MAX_PATTERN_STAGES:  # the bound: no stage counts more
        stages = stage_pattern_layers(NANO9_PATTERN, pp)
        top_a, top_m = max(s[1] for s in stages), max(s[2] for s in stages)
        tokens = seqs * (4096 + 512)
        cache = tokens * top_a * KV_LAYER / tp + seqs * STATE * top_m / 27 / tp
        assert mem.kv[0] == pytest.approx(cache, rel=1e-12)


def test_pp1_and_unplaced_models_unchanged():
    """pp 1 holds every layer: the pattern changes nothing, bit for bit; a model without a pattern (blank
    cell, the 12B) keeps each stage's layers' share."""
    spec = tables.model_spec(NANO9)
    blank = dataclasses.replace(spec, name="user/nano9-no-pattern", layer_pattern="")
    for pp, same in ((1, True), (3, False)):
        kw = dict(tp=[1], pp=[pp])
        a = _search(spec, "H100", 8192, 1024, 64, **kw).to_frame()["memory_gib_per_gpu"].iloc[0]
        b = _search(blank, "H100", 8192, 1024, 64, **kw).to_frame()["memory_gib_per_gpu"].iloc[0]
        assert (a == b) == same
    tokens, seqs = 64 * 8704, 64
    assert b * GIB == pytest.approx(_nano9_hand(tokens, seqs)[1], rel=1e-12)  # the blank spec: the old rule
    rows = _rows("nvidia/NVIDIA-Nemotron-Nano-12B-v2", 1, 3)  # 62 layers: 21, 21, 20
    one = _rows("nvidia/NVIDIA-Nemotron-Nano-12B-v2", 1, 1)
    m1, m3 = (gpu_memory(r, features_of(r), np.ones(1), 512.0, 256.0) for r in (one, rows))
    assert m3.kv[0] == pytest.approx(m1.kv[0] * 21 / 62, rel=1e-12)


def test_custom_spec_gives_its_pattern_or_a_clear_error():
    """A user's ModelSpec may give layer_pattern (optional): used as the table's; a pattern that does not fit
    its n_layers / n_attention_layers is refused naming the spec and the field."""
    spec = dataclasses.replace(tables.model_spec(NANO9), name="user/nano9")
    got = _search(spec, "H200", 8192, 1024, 64, tp=[1], pp=[3]).to_frame()["memory_gib_per_gpu"].iloc[0]
    assert got * GIB == pytest.approx(_nano9_hand(64 * 8704, 64)[0], rel=1e-12)
    with pytest.raises(ValueError, match=r"ModelSpec 'user/nano9'.*layer_pattern.*gives 55 layers where n_layers is 56"):
        _search(dataclasses.replace(spec, layer_pattern=NANO9_PATTERN[1:]), "H200", 512, 256, 1, tp=[1], pp=[3])
    with pytest.raises(ValueError, match=r"layer_pattern.*5 attention layers .'\*' and 'S'. where n_attention_layers is 4"):
        _search(dataclasses.replace(spec, layer_pattern="*" + NANO9_PATTERN[1:]), "H200", 512, 256, 1, pp=[3])


def test_user_model_table_names_the_row_and_column(tmp_path):
    frame = tables.models()
    row = frame[frame["name"] == NANO9].iloc[0].copy()
    row["name"], row["aliases"], row["layer_pattern"] = "user/nano9", "", "(M-*)x19"
    path = tmp_path / "models.csv"
    pd.DataFrame([row]).to_csv(path, index=False)
    with pytest.raises(ModelTableError, match=r"row 1.*layer_pattern.*57 layers where n_layers is 56"):
        load_model_table(path)
    # a second row may fill the pattern a first left blank; a different pattern is another model
    rows = pd.DataFrame([row, row]).reset_index(drop=True)
    rows.loc[0, "layer_pattern"], rows.loc[1, "layer_pattern"] = "", NANO9_PATTERN
    rows.to_csv(path, index=False)
    assert [s.layer_pattern for s in load_model_table(path)] == [NANO9_PATTERN]
    rows.loc[0, "layer_pattern"] = NANO9_PATTERN.replace("M*", "*M")
    rows.to_csv(path, index=False)
    with pytest.raises(ModelTableError, match=r"row 2.*layer_pattern.*describes a different model"):
        load_model_table(path)


@pytest.mark.parametrize("seed", range(2))
def test_hybrid_stage_spaces_match_brute_force(seed):
    """The engine and the oracle agree on top-k, fronts, rejections and memory per GPU on spaces of the
    hybrids that place their layers, at pp values up to 12 (one per stage, and the bound above 8)."""
    stage_spaces_agree([NANO9, NEXT][seed], 500 + seed, 8000)
