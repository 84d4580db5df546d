"""help() on the public API: every name in ``energylens.__all__`` and the subpackages' ``__all__`` (and each public
method / property of their classes) has a docstring of its own, and the main entry points say what they return and
what they raise (docs/STYLE.md; an API audit found six undocumented ExpressionEnergyModel members and entry points
without their errors)."""

from __future__ import annotations

import importlib
import inspect

import pytest

import energylens

SUBPACKAGES = ("measure", "model", "search", "profiles", "compare")


def _public_objects():
    seen: dict[int, str] = {}
    modules = [energylens, *(importlib.import_module(f"energylens.{p}") for p in SUBPACKAGES)]
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and id(obj) not in seen:
                seen[id(obj)] = f"{module.__name__}.{name}"
                yield seen[id(obj)], obj


def _members(cls):
    """Public methods and properties defined on the class itself (not dataclass plumbing or exceptions' own)."""
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if isinstance(value, property) or inspect.isfunction(target):
            yield name, target


def _undocumented():
    missing = []
    for label, obj in _public_objects():
        if not (obj.__doc__ or "").strip():
            missing.append(label)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            missing += [f"{label}.{n}" for n, m in _members(obj) if not (m.__doc__ or "").strip()]
    return missing


def test_every_public_name_and_member_has_a_docstring():
    assert _undocumented() == []


def test_the_check_finds_a_missing_docstring(monkeypatch):
    from energylens.measure.sampler import PowerSampler

    monkeypatch.setattr(PowerSampler, "running", property(lambda self: True))
    assert "energylens.PowerSampler.running" in _undocumented()


ENTRY_POINTS = {
    "search": lambda: energylens.search.search,
    "EnergyModel.fit": lambda: energylens.EnergyModel.fit,
    "EnergyModel.predict": lambda: energylens.EnergyModel.predict,
    "EnergyModel.predict_interval": lambda: energylens.EnergyModel.predict_interval,
    "EnergyMonitor": lambda: energylens.EnergyMonitor,
    "attribute": lambda: energylens.attribute,
    "attribute_phases": lambda: energylens.attribute_phases,
    "load_profiles": lambda: energylens.load_profiles,
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_points_state_their_errors(name):
    doc = inspect.getdoc(ENTRY_POINTS[name]()) or ""
    assert "Raises" in doc, f"{name}: no 'Raises' in its docstring"
    assert "Error" in doc.split("Raises", 1)[1], f"{name}: its 'Raises' names no error class"


def test_help_on_the_callable_search_package_shows_its_arguments():
    text = __import__("pydoc").render_doc(energylens.search, renderer=__import__("pydoc").plaintext)
    assert "tpot_limit_s" in text and "Raises" in text and "help(energylens.search.search)" in text
