"""Tiny, randomly initialised models built locally (no download), for tests and device checks.

``build_tiny_llama(path)`` saves a model (2 layers, hidden 64, 2 heads of 32, vocab 256 by default)
that transformers and vLLM can both load from ``path``; a bigger one (``layers=16, hidden=2048``)
makes windows long enough to measure on a GPU (bench/gpu_profiling_check.py).
``build_tiny_llava(path)`` saves a LLaVA (a 2-layer CLIP vision tower on 64 x 64 images in 16-pixel
patches, i.e. 16 image tokens, and the tiny Llama) with its processor, for image sweeps.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["build_tiny_llama", "build_tiny_llava"]


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


def _tokenizer(vocab: int, image_token: str | None = None):
    """A word-level tokenizer whose tokens are ``<pad> <s> </s> <unk> t4 ... t{vocab-1}`` (the last one
    ``image_token`` instead, where given)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, **{f"t{i}": i for i in range(4, vocab)}}
    extra = {}
    if image_token is not None:
        del words[f"t{vocab - 1}"]
        words[image_token] = vocab - 1
        extra = {"extra_special_tokens": {"image_token": image_token}}
    tok = Tokenizer(models.WordLevel(vocab=words, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", model_max_length=1 << 20, **extra)


def _save_tokenizer(out: Path, vocab: int) -> None:
    _tokenizer(vocab).save_pretrained(out)
    (out / "energylens_tiny.json").write_text(json.dumps({"built_by": "energylens.profiling.testing"}))


def build_tiny_llava(path: str | os.PathLike, *, vocab: int = 256, image_size: int = 64, patch: int = 16,
                     seed: int = 0) -> Path:
    """Save a random LLaVA (CLIP vision tower, 2 layers of 64, and a 2-layer Llama of 64; ``<image>`` is
    token ``vocab - 1``) with its processor to ``path``: an image becomes (image_size / patch)^2 tokens."""
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    try:  # transformers 5: the PIL image processor (the default one needs torchvision)
        from transformers import CLIPImageProcessorPil as ImageProcessor
    except ImportError:
        from transformers import CLIPImageProcessor as ImageProcessor

    torch.manual_seed(seed)
    text = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048, bos_token_id=1,
                       eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    vision = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                              image_size=image_size, patch_size=patch, projection_dim=64)
    cfg = LlavaConfig(vision_config=vision, text_config=text, image_token_index=vocab - 1,
                      projector_hidden_act="gelu", vision_feature_layer=-2, vision_feature_select_strategy="default")
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    LlavaForConditionalGeneration(cfg).to(torch.float32).save_pretrained(out)
    images = ImageProcessor(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size})
    LlavaProcessor(image_processor=images, tokenizer=_tokenizer(vocab, "<image>"), patch_size=patch,
                   vision_feature_select_strategy="default", image_token="<image>",
                   num_additional_image_tokens=1).save_pretrained(out)
    (out / "energylens_tiny.json").write_text(json.dumps({"built_by": "energylens.profiling.testing"}))
    return out
