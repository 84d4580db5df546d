"""Every warning class energylens emits is reachable as ``energylens.<Name>`` (and listed in ``__all__``), so a
user can filter or escalate it (``warnings.filterwarnings("error", category=energylens.SampleGapWarning)``)
without knowing which submodule defines it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import energylens


def _warning_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(energylens.__path__, prefix="energylens."):
        if info.name.startswith("energylens._") or ".cli." in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError as exc:  # a module behind an optional extra that is not installed here
            if "energylens" in str(exc):
                raise
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Warning) and cls.__module__ == module.__name__ and not name.startswith("_"):
                found[name] = cls
    return found


WARNINGS = _warning_classes()


def test_the_walk_finds_the_warnings_of_several_subpackages():
    # guards the test itself: an import failure or a changed walk must not leave it checking nothing
    modules = {cls.__module__.split(".")[1] for cls in WARNINGS.values()}
    assert {"errors", "measure", "profiles"} <= modules, modules
    assert len(WARNINGS) >= 10


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_warning_is_exported_at_top_level(name):
    assert getattr(energylens, name) is WARNINGS[name]
    assert name in energylens.__all__
    assert name in dir(energylens)


def test_every_lazy_name_resolves():
    for name in energylens.__all__:
        assert getattr(energylens, name) is not None, name
