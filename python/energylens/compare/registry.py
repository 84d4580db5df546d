"""Which methods a comparison runs: the built-in ones (ours first, then the baselines) and those other
modules register (:func:`register_method`), made fresh and seeded by :func:`default_methods`.

Imports :mod:`energylens.compare.methods`, :mod:`energylens.compare.baselines` and
:mod:`energylens.compare.inputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from energylens.compare.baselines import EnsembleRegressor, LatencyProxy, LLMCarbonRoofline, WilkinsClosedForm
from energylens.compare.inputs import GpuSpecFn
from energylens.compare.methods import ClosedForm, Method

__all__ = ["METHOD_NAMES", "register_method", "unregister_method", "method_names", "default_methods"]

METHOD_NAMES = ("energylens", "latency_proxy", "wilkins2024", "llmcarbon", "random_forest",
                "gradient_boosting", "xgboost")


#: Methods added by other modules (e.g. a discovered symbolic-regression expression), by name:
#: ``factory(seed, gpu_spec) -> method``. See :func:`register_method`.
_REGISTERED: dict[str, Callable[[int, GpuSpecFn | None], Method]] = {}


def register_method(name: str, factory: Callable[[int, GpuSpecFn | None], Method]) -> None:
    """Add a method to every default comparison (after the built-in ones).

    ``factory(seed, gpu_spec)`` returns a fresh, unfitted object with the :class:`Method`
    interface. This is how a discovered expression joins the comparison
    without editing this module. ``ValueError`` if the name is taken.
    """
    if name in METHOD_NAMES or name in _REGISTERED:
        raise ValueError(f"a method named {name!r} already exists")
    _REGISTERED[name] = factory


def unregister_method(name: str) -> None:
    """Remove a method added by :func:`register_method` (``KeyError`` if it was not added)."""
    del _REGISTERED[name]


def method_names() -> tuple[str, ...]:
    """Every method name :func:`default_methods` knows: built-in, then registered."""
    return METHOD_NAMES + tuple(_REGISTERED)


def default_methods(seed: int = 0, gpu_spec: GpuSpecFn | None = None,
                    include: tuple[str, ...] | None = None) -> list[Method]:
    """Fresh, unfitted instances of the compared methods (ours first), seeded with ``seed``.

    ``include`` picks a subset by name (from :func:`method_names`); ``ValueError`` on an unknown
    name or one named twice.
    """
    known = method_names()
    names = known if include is None else tuple(include)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(known)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:  # each would run, and their rows be merged into one line of the summary
        raise ValueError(f"method(s) {repeated} named more than once; name each once")
    factories: Mapping[str, Callable[[], Method]] = {
        "energylens": lambda: ClosedForm(seed=seed),
        "latency_proxy": LatencyProxy,
        "wilkins2024": lambda: WilkinsClosedForm(gpu_spec=gpu_spec),
        "llmcarbon": lambda: LLMCarbonRoofline(gpu_spec=gpu_spec),
        "random_forest": lambda: EnsembleRegressor("rf", seed=seed, gpu_spec=gpu_spec),
        "gradient_boosting": lambda: EnsembleRegressor("gb", seed=seed, gpu_spec=gpu_spec),
        "xgboost": lambda: EnsembleRegressor("xgb", seed=seed, gpu_spec=gpu_spec),
    }
    return [factories[n]() if n in factories else _REGISTERED[n](seed, gpu_spec) for n in names]
