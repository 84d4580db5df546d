"""On ``device="cuda"`` the engine keeps at most 32 rows (cuda/search.cu kMaxTopK): with MoE deployments priced alike
with and without EP merged into one row (EP1/k) afterwards, ``top=20`` of Qwen3-30B-A3B on TP 2,4 x EP 1,2,4 gave 16
rows where the CPU gave 18, and nothing said so. The result now says it (a warning and ``settings["top_note"]``, a
note under the summary). The CPU engine stands in for the device pass, as tests/test_gpu_search_check_stand_in.py."""

from __future__ import annotations

import warnings

import pytest

import energylens
import energylens.search.api as api
import energylens.search.device as device_mod
from energylens.search.api import bundled_model

QUERY = dict(model="Qwen/Qwen3-30B-A3B", gpus="H100", input_tokens=512, output_tokens=256, tp=[2, 4], ep=[1, 2, 4],
             bootstrap=False)


@pytest.fixture
def stand_in(monkeypatch):
    """device="cuda" runs the CPU engine, with the device's row cap (the rows asked, as the device pass keeps them)."""
    real = api.run_engine

    def on_the_cpu(space, theta, phi, options, progress=None, device="cpu", indices=None):
        return real(space, theta, phi, options, progress, "cpu", indices)

    monkeypatch.setattr(api, "run_engine", on_the_cpu)
    monkeypatch.setattr(device_mod, "unavailable_reason", lambda caps: None)


def _search(**kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = energylens.search(**QUERY, energy_model=bundled_model(), **kw)
    return r, [str(w.message) for w in caught if "rows of the" in str(w.message)]


def test_a_short_device_result_says_so(stand_in):
    cpu, said_cpu = _search(top=20)
    cuda, said = _search(top=20, device="cuda")
    assert len(cpu.top) == 18 and said_cpu == [] and cpu.settings.get("top_note") is None  # the case: all 18 rows
    assert len(cuda.top) < len(cpu.top)
    note = cuda.settings["top_note"]
    assert note and said == [note], (note, said)
    assert f"{len(cuda.top)} rows of the 20 asked" in note and "device='cpu'" in note, note
    assert f"note: {note}" in cuda.summary()


def test_a_device_result_with_every_row_says_nothing(stand_in):
    cuda, said = _search(top=8, device="cuda")
    assert len(cuda.top) == 8 and said == [] and cuda.settings.get("top_note") is None
