"""What several search test files share: a search with the bundled model's range notes silenced (the notes are
about the 2024 fit's range, not what these tests check), and the workload the remedy tests search."""

from __future__ import annotations

import warnings

import energylens

#: The workload every remedy test searches (1500-token prompts, 300-token outputs), no bootstrap.
KW = dict(input_tokens=1500, output_tokens=300, bootstrap=False)


def quiet_search(model, models, gpus, **kw):
    """``energylens.search(models, gpus, energy_model=model, **KW, **kw)`` without the range warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(models, gpus, energy_model=model, **{**KW, **kw})


def search_quietly(**kw):
    """``energylens.search(**kw)`` without the range warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(**kw)
