"""The per-stage memory tests' brute-force check (test_search_memory_hybrid_stages.py, ..._sliding_stages.py):
engine and oracle agree on random spaces of a model whose stages differ, at pp values up to 12 (one slot per
stage, and the bound above 8), and the spaces tried hold both feasible candidates and memory rejections."""
import numpy as np
from test_search_exact import _compare, _random_params

from energylens.search.api import bundled_model
from energylens.search.space import build_space


def stage_spaces_agree(model_name: str, rng_seed: int, long_prompt: int) -> None:
    """Up to 12 spaces of ``model_name`` beside Llama 3.1 8B on L40S / H100 (``long_prompt``: the longer of the
    two prompt lengths, sized so that some candidates run out of KV-cache memory) until both kinds are seen."""
    model = bundled_model()
    rng = np.random.default_rng(rng_seed)
    memory = feasible = 0
    for _ in range(12):
        space = build_space([model_name, "llama-3.1-8b"], gpus=["L40S", "H100"], tp=[1, 2],
                            pp=sorted(rng.choice([1, 2, 3, 4, 5, 6, 9, 12], 3, replace=False).tolist()),
                            dp=[1], ep=[1], max_num_seqs=[1, 16, 256], precision=["bf16", "fp8"],
                            input_tokens=[512, long_prompt], output_tokens=[256, 1024])
        theta, phi = _random_params(model, rng)
        out, ref = _compare(space, theta, phi, {"top": 20}, 2)
        memory += ref["rejected"]["memory_kv_cache"]
        feasible += out.feasible
        if feasible and memory:
            break
    assert feasible > 0 and memory > 0
