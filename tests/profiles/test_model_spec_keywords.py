"""ModelSpec took its 16 required fields by position, and n_layers / d_model / n_heads / n_kv_heads / head_dim are
all ints of similar size: ModelSpec("x", (), "f", "dense", 8, 8, 4096, 32, 32, 8, 128, ...) (d_model and n_layers
swapped) was taken and priced as a 4096-layer model. Every field after ``name`` is now keyword-only, and a
positional call is a TypeError naming the fields to pass by name (every caller in the repository used keywords)."""

from __future__ import annotations

import dataclasses
import math
import pickle

import pytest

from energylens.profiles.tables import ModelSpec, model_spec

KW = dict(aliases=(), family="toy", architecture="dense", params_b=8.0, active_params_b=8.0, n_layers=32,
          d_model=4096, n_heads=32, n_kv_heads=8, head_dim=128, n_experts=1, experts_per_token=1,
          image_tokens_per_image=math.nan, vision_params_b=math.nan, source="test")


def test_fields_after_the_name_are_keyword_only():
    with pytest.raises(TypeError, match=r"ModelSpec\('toy/x', \.\.\.\): .*by keyword.*aliases=, family=.*"
                                        r"15 positional"):
        ModelSpec("toy/x", *KW.values())


def test_the_name_may_still_be_positional_and_keywords_work():
    a = ModelSpec("toy/x", **KW)
    b = ModelSpec(name="toy/x", **KW)
    assert repr(a) == repr(b) and a.n_layers == 32 and a.d_model == 4096


def test_replace_and_pickle_keep_working():
    spec = model_spec("meta-llama/Meta-Llama-3.1-8B-Instruct")
    assert dataclasses.replace(spec, name="other").name == "other"
    assert repr(pickle.loads(pickle.dumps(spec))) == repr(spec)
