"""Result tables built on first access: :class:`Deferred` holds the function that builds one, and
:func:`built_on_read` makes an attribute of :class:`~energylens.search.result.SearchResult` build it at its first
read and keep it (the Pareto fronts, which a scheduler reading only ``top`` does not pay for;
:func:`energylens.search.frames.result_tables`)."""

from __future__ import annotations

__all__ = ["Deferred", "built_on_read"]


class Deferred:
    """A table not built yet: ``build()`` builds it."""

    __slots__ = ("build",)

    def __init__(self, build) -> None:
        self.build = build


def built_on_read(name: str) -> property:
    """An attribute that may hold a :class:`Deferred`: built at its first read (stored in the instance's
    ``__dict__`` under ``name``), then kept; set as any attribute."""
    def get(self):
        value = self.__dict__[name]
        if isinstance(value, Deferred):
            value = self.__dict__[name] = value.build()
        return value

    def put(self, value) -> None:
        self.__dict__[name] = value
    get.__doc__ = f"``{name}`` (a table built at its first read where the search deferred it)"
    return property(get, put)
