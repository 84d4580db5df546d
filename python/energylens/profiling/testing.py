"""A tiny, randomly initialised Llama built locally (no download), for tests and device checks.

``build_tiny_llama(path)`` saves a model (2 layers, hidden 64, 2 heads of 32, vocab 256 by default)
that transformers and vLLM can both load from ``path``; a bigger one (``layers=16, hidden=2048``)
makes windows long enough to measure on a GPU (bench/gpu_profiling_check.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["build_tiny_llama"]


def build_tiny_llama(path: str | os.PathLike, *, layers: int = 2, hidden: int = 64, heads: int = 2,
                     vocab: int = 256, intermediate: int | None = None, max_positions: int = 2048,
                     dtype: str = "float32", seed: int = 0) -> Path:
    """Save a random Llama (config, weights, and a word-level tokenizer over ``vocab`` tokens) to ``path``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if hidden % heads or hidden // heads < 32:
        raise ValueError(f"hidden/heads must be an integer >= 32 (vLLM needs head_dim >= 32), got {hidden}/{heads}")
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=intermediate or 4 * hidden,
                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                      max_position_embeddings=max_positions, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                      torch_dtype=dtype, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).to(getattr(torch, dtype))
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    _save_tokenizer(out, vocab)
    return out


def _save_tokenizer(out: Path, vocab: int) -> None:
    """A word-level tokenizer whose tokens are ``<pad> <s> </s> <unk> t4 ... t{vocab-1}``."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, **{f"t{i}": i for i in range(4, vocab)}}
    tok = Tokenizer(models.WordLevel(vocab=words, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", model_max_length=1 << 20)
    fast.save_pretrained(out)
    (out / "energylens_tiny.json").write_text(json.dumps({"built_by": "energylens.profiling.testing"}))
