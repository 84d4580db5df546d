"""A scheduler's view of the model: one fitted model called per request for days. What such a process keeps
from call to call must stay bounded (the scheduler audit of 2026-12-06)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens import warning_sink
from energylens.errors import ExtrapolationWarning
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0, n_starts=1).fit(data.sample(60, random_state=0))
    request = pd.DataFrame({c: data[c].to_numpy()[:2] for c in COLUMNS})
    return model, request


def _registry_entries() -> int:
    """Texts this module's warnings registry holds (its 'version' key aside)."""
    return sum(1 for key in globals().get("__warningregistry__", {}) if key != "version")


def test_extrapolation_texts_are_not_remembered_without_bound(fitted, monkeypatch):
    # Each request's text differs (row counts, extreme values); under the default action warnings.warn kept
    # every one in the caller's __warningregistry__ for the life of the process (6412 entries after 60000
    # random one-request predicts, still growing).
    model, request = fitted
    monkeypatch.setattr(warning_sink, "REGISTRY_ENTRIES", 16)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("default")
        for i in range(60):
            model.predict(request.assign(input_tokens=[1e6 + 1000 * i, 1e6]))
    assert len(got) == 60 and all(issubclass(w.category, ExtrapolationWarning) for w in got)
    assert got[0].filename == __file__  # still attributed to the caller of predict
    assert _registry_entries() == 0
    assert all(len(r) <= 16 + 2 for r in warning_sink._registries.values())


def test_a_repeated_text_still_shows_once_under_the_default_action(fitted):
    model, request = fitted
    far = request.assign(input_tokens=[3e6, 3e6])
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("default")
        for _ in range(5):
            model.predict(far)  # one source line: one location
    assert len(got) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)  # the filters still decide
        with pytest.raises(ExtrapolationWarning):
            model.predict(far)
    assert np.isfinite(model.predict(far, check_range=False)).all()


def test_a_warning_to_a_python_dash_c_caller_is_shown_not_an_import_error():
    """warn_bounded passed the caller's globals to warnings.warn_explicit, which then asked ``python -c``'s
    __main__ loader (the BuiltinImporter) for source: ImportError "'__main__' is not a built-in module" in place
    of every energylens warning to such a caller (an unknown model's estimate here)."""
    import subprocess
    import sys

    code = ("import pandas as pd\nfrom energylens.profiles import load_profiles\n"
            "load_profiles(pd.DataFrame([dict(model='acme/Mystery-30B', params_b=30, gpu='H100', tp=1, pp=1, "
            "batch_size=8, input_tokens=512, output_tokens=256)]), require_energy=False)\nprint('done')\n")
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "done" in out.stdout and "Warning" in out.stderr


def test_a_mapping_is_one_row_and_a_list_of_mappings_rows():
    """A scheduler's request as a dict: predict(dict) raised 'load_profiles takes a path ... or a DataFrame', naming a
    function the caller never called. A mapping is one row, a list of mappings rows; other types name what is taken."""
    import pandas as pd
    import pytest

    from energylens.search.api import bundled_model

    model = bundled_model()
    row = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, pp=1, batch_size=64, input_tokens=512,
               output_tokens=256)
    frame = pd.DataFrame([row, dict(row, tp=2)])
    assert model.predict(row).tolist() == model.predict(frame.iloc[:1]).tolist()
    assert model.predict([row, dict(row, tp=2)]).tolist() == model.predict(frame).tolist()
    with pytest.raises(TypeError, match=r"a mapping \(one row: column -> value\) or a list of mappings, not int"):
        model.predict(3)


def test_a_mapping_takes_the_light_path_of_a_raw_frame(fitted, monkeypatch):
    """A dict went through the full schema (load_configs -> as_profiles, then the re-check of the validated
    frame): 9.2 ms a call against 0.5 ms for the same row as a raw frame on the light path. It is a raw frame:
    the schema must not run, and every call gives what the frame gives."""
    from energylens.model import base, configs
    from energylens.profiles import schema

    model, request = fitted
    rows = request.to_dict("records")
    expected = model.predict(request)
    phases = model.predict_phases(request)

    def no_schema(*args, **kwargs):
        raise AssertionError("a plain mapping must not take the schema pass")

    monkeypatch.setattr(configs, "as_profiles", no_schema)
    monkeypatch.setattr(base, "load_configs", no_schema)
    monkeypatch.setattr(schema, "as_profiles", no_schema)
    assert model.predict(rows).tolist() == expected.tolist()
    assert model.predict(rows[1]).tolist() == expected[1:].tolist()
    pd.testing.assert_frame_equal(model.predict_phases(rows), phases.reset_index(drop=True))


def test_a_bad_mapping_is_named_as_a_frame_would_be(fitted):
    model, request = fitted
    row = request.to_dict("records")[0]
    with pytest.raises(ValueError, match="gpu") as bad_gpu:
        model.predict(dict(row, gpu="H1000"))
    with pytest.raises(ValueError, match="gpu") as bad_gpu_frame:
        model.predict(pd.DataFrame([dict(row, gpu="H1000")]))
    # the same error, the row named as what the caller gave (tests/profiles/test_request_row_names.py), and the
    # inline remedy its keys rather than the frame's columns (tests/model/test_request_gpu_remedies.py)
    assert str(bad_gpu.value) == str(bad_gpu_frame.value).replace(
        "<DataFrame>: data row 1 of the DataFrame (1-based position; index label 0)", "<request>: the request").replace(
        "GPU spec columns in the DataFrame", "GPU spec keys in the request")
    with pytest.raises(ValueError, match="batch_size"):
        model.predict({k: v for k, v in row.items() if k != "batch_size"})
