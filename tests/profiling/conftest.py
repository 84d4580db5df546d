"""Shared fixtures of the profiling tests: a tiny random Llama built locally (no download)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    pytest.importorskip("torch", reason="the transformers backend needs torch (pip install 'energylens[profile]')")
    pytest.importorskip("transformers", reason="needs transformers (pip install 'energylens[profile]')")
    from energylens.profiling.testing import build_tiny_llama

    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama"))


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory):
    pytest.importorskip("torch", reason="needs torch (pip install 'energylens[profile]')")
    pytest.importorskip("transformers", reason="needs transformers (pip install 'energylens[profile]')")
    pytest.importorskip("PIL", reason="the image processor needs pillow")
    from energylens.profiling.testing import build_tiny_llava

    return str(build_tiny_llava(tmp_path_factory.mktemp("tiny") / "tiny-llava"))
