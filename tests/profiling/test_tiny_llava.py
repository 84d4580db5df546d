"""The tiny LLaVA the image sweeps run on: transformers loads it, and its processor turns one 64 x 64
image into the 16 tokens its 16-pixel patches make (what vLLM's LLaVA processor counts too)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch


def test_tiny_llava_processor_and_model_agree(tiny_llava):
    import torch
    from PIL import Image
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(tiny_llava)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8))
    inputs = processor(text="<image> t5 t6 t7", images=image, return_tensors="pt")
    ids = inputs["input_ids"][0].tolist()
    assert ids.count(255) == 16 and ids[16:] == [5, 6, 7]       # (64 / 16)^2 image tokens, then the text
    assert tuple(inputs["pixel_values"].shape) == (1, 3, 64, 64)  # resized and cropped to the tower's size
    model = LlavaForConditionalGeneration.from_pretrained(tiny_llava)
    with torch.no_grad():
        logits = model(**inputs).logits
    assert tuple(logits.shape) == (1, 19, 256) and torch.isfinite(logits).all()
