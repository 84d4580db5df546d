"""The unseen-GPU check of every prediction call looked each GPU up again: a request on a GPU the fit never saw
compared its GPU table row field by field with every fitted GPU's (``same_hardware``) and worded the warning from
both GPUs' specifications again (``spec_outside``), ignored warnings too. The verdict (the GPU's table name, unseen or
not) and the wording are now kept per fitted GPUs and GPU name until the user GPU table changes: later calls pay a
dict look-up, with the same flags, warnings and intervals; a GPU registered, re-registered with other hardware or unregistered between calls is judged anew."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from energylens.errors import UnknownGpuError, UnseenGpuWarning
from energylens.model import EnergyModel, gpu_domain
from energylens.profiles import tables
from energylens.profiles.datasets import mlenergy_v2

H100 = "H100-SXM5-80GB"
REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="B200", tp=1, batch_size=64, input_tokens=512,
               output_tokens=256)


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    data = mlenergy_v2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=20, seed=0).fit(data[data["gpu"].str.contains("H100")].head(60))


def _calls(model, request):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = (model.predict(request), model.predict_interval(request, level=0.9).to_numpy(),
               model.unseen_gpu(request)[0])
    return out, [str(w.message) for w in got if issubclass(w.category, UnseenGpuWarning)]


def test_a_repeated_gpu_is_not_compared_again(model, monkeypatch):
    first, first_warnings = _calls(model, REQUEST)
    compared = []
    for name in ("same_hardware", "spec_outside"):  # the verdict, and the warning's words on the GPU's specifications
        real = getattr(gpu_domain, name)
        monkeypatch.setattr(gpu_domain, name, lambda *a, real=real: compared.append(a) or real(*a))
    again, again_warnings = _calls(model, REQUEST)
    assert compared == []
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert first_warnings == again_warnings and len(first_warnings) == 2  # predict's and predict_interval's
    assert again[2].all()


def _register(name: str, **changes) -> None:
    tables.register_gpu(dataclasses.replace(tables.gpu_spec(H100), name=name, aliases=(), **changes))


def test_a_change_of_the_gpu_table_is_judged_anew(model):
    request = dict(REQUEST, gpu="Acme-H1")
    on_h100 = dict(REQUEST, gpu=H100)
    _register("Acme-H1")  # the H100's hardware under another name: the fitted GPU
    assert not model.unseen_gpu(request)[0].any()
    assert model.predict(request) == model.predict(on_h100)
    _register("Acme-H1", tdp_w=701.0)  # re-registered with one field off: another GPU
    assert model.unseen_gpu(request)[0].all()
    with pytest.warns(UnseenGpuWarning, match="Acme-H1"):
        model.predict(request)
    _register("Acme-H1")
    assert not model.unseen_gpu(request)[0].any()
    tables.unregister_gpu("Acme-H1")
    with pytest.raises(UnknownGpuError, match="Acme-H1"):
        model.predict(request)
    _register("Acme-H1", tdp_w=701.0)
    tables.clear_user_gpus()
    _register("Acme-H1")
    assert not model.unseen_gpu(request)[0].any()


def test_the_same_name_against_other_fitted_gpus(model):
    # the verdict depends on the fitted GPUs: an H100 request is seen by the H100 fit, unseen by an A100 one
    data = mlenergy_v2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a100 = EnergyModel(bootstrap=0).fit(data[data["gpu"].str.contains("A100")].head(40))
    on_h100 = dict(REQUEST, gpu="H100")
    assert not model.unseen_gpu(on_h100)[0].any()
    assert a100.unseen_gpu(on_h100)[0].all()
    assert not model.unseen_gpu(on_h100)[0].any()
