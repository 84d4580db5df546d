"""run_evaluation's ``methods=`` is a factory (``lambda seed: [...]``, docs/evaluation.md) and ``method_names=``
the names: a list of names given as ``methods=`` ended, after the profiles were read and split, in
``TypeError: 'list' object is not callable`` from inside the runner, and both given at once ignored the
names without a word. Both are now refused first, naming the argument to use."""

from __future__ import annotations

import pytest

from energylens.compare import evaluate, run_evaluation
from energylens.profiles.datasets import mlenergy_v2


@pytest.mark.parametrize("call", [run_evaluation, evaluate])
def test_a_list_of_names_as_methods_names_method_names(call):
    with pytest.raises(TypeError, match=r"methods= .*callable.*method_names=\['energylens', 'llmcarbon'\]"):
        call(mlenergy_v2(), methods=["energylens", "llmcarbon"], repeats=1, splits=["random"], progress=False)


def test_methods_and_method_names_together_are_refused():
    with pytest.raises(ValueError, match="method_names"):
        run_evaluation(mlenergy_v2(), methods=lambda seed: [], method_names=["energylens"], repeats=1,
                       splits=["random"], progress=False)
