"""Fixtures of the search tests."""

import pytest

from energylens.search.api import bundled_model


@pytest.fixture(scope="module")
def model():
    """The bundled EnergyModel (with its latency model), once per test module."""
    return bundled_model()
