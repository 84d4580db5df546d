"""Shared fixtures of the profiling tests: a tiny random Llama built locally (no download), and the small
transformers sweep of it that the kill / stop tests run through the CLI in a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: ``[sys.executable, "-c", PROFILE_RUN, "profile", ...]`` runs the CLI as ``energylens`` does, in a fresh process.
PROFILE_RUN = "import sys; from energylens.cli import main; raise SystemExit(main(sys.argv[1:]))"

FAKE_NVML_C = Path(__file__).resolve().parents[1] / "measure" / "data" / "fake_nvml.c"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


@pytest.fixture(scope="module")
def fake_nvml(tmp_path_factory):
    """The stand-in libnvidia-ml (tests/measure/data/fake_nvml.c, 2 GPUs), built once per module that asks."""
    if CC is None:
        pytest.skip("no C compiler to build the stand-in NVML")
    out = tmp_path_factory.mktemp("fake_nvml") / "libfake_nvml.so"
    subprocess.run([CC, "-shared", "-fPIC", "-O2", "-o", str(out), str(FAKE_NVML_C)], check=True)
    return out


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


@pytest.fixture
def tiny_sweep(tiny_model, tmp_path):
    """``tiny_sweep(output_len)`` -> (the spec file, the ``energylens profile SPEC -o tmp_path/store
    --power-source synthetic:200`` command): the tiny model on the transformers backend over max_num_seqs 1-3,
    input lengths 8 and 16 and ``output_len`` (3 x 2 x len(output_len) units, each a fraction of a second)."""

    def make(output_len: list[int]):
        spec = tmp_path / "sweep.toml"
        spec.write_text(textwrap.dedent(f"""
            [sweep]
            backend = "transformers"
            gpu = "H100"
            warmup = 0
            [grid]
            models = ["{tiny_model}"]
            precision = ["fp32"]
            max_num_seqs = [1, 2, 3]
            input_len = [8, 16]
            output_len = {output_len}
        """))
        cmd = [sys.executable, "-c", PROFILE_RUN, "profile", str(spec), "-o", str(tmp_path / "store"),
               "--power-source", "synthetic:200"]
        return spec, cmd

    return make
