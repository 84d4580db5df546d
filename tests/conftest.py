"""Suite-wide settings: generated expression kernels go to a temporary cache, never the user's; and the small
saved model file the model-file tests (tests/model, tests/cli) read and rewrite."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache(tmp_path_factory):
    """Every evaluation that builds a kernel (in the background, after 65536 rows) writes it here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENERGYLENS_CACHE_DIR", str(tmp_path_factory.mktemp("kernel-cache")))
        yield


@pytest.fixture(scope="session")
def small_model_file(tmp_path_factory):
    """A model file of an EnergyModel fitted on the first 60 bundled rows without bootstrap (read-only: a test
    that edits it writes a copy)."""
    from energylens.model import EnergyModel
    from energylens.profiles.datasets import load_profiles_or_bundled

    path = tmp_path_factory.mktemp("model") / "m.json"
    EnergyModel(bootstrap=0).fit(load_profiles_or_bundled("bundled").head(60)).save(path)
    return path
