"""Suite-wide settings: generated expression kernels go to a temporary cache, never the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache(tmp_path_factory):
    """Every evaluation that builds a kernel (in the background, after 65536 rows) writes it here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENERGYLENS_CACHE_DIR", str(tmp_path_factory.mktemp("kernel-cache")))
        yield
