"""The one flavor registry: every flavor, built-in or not, comes from the ``clew.model_flavors``
entry-point group, so the extension path is the path Clew itself uses.

An entry point names a flavor instance or a class to instantiate with no arguments. Discovery
is cached per process (entry points are read from installed metadata, which does not change
under a running program); ``clear_cache()`` exists for tests that install one.
"""

from __future__ import annotations

import functools
import importlib.metadata
from typing import Any

from clew.core.errors import InvalidInput, InvalidModel
from clew.models.flavors.base import Flavor

GROUP = "clew.model_flavors"


@functools.cache
def _discover() -> tuple[Flavor, ...]:
    found: list[Flavor] = []
    for ep in importlib.metadata.entry_points(group=GROUP):
        obj = ep.load()
        flavor = obj() if isinstance(obj, type) else obj
        for attr in ("name", "loader_modules", "priority", "can_save", "save", "load", "pyfunc"):
            if not hasattr(flavor, attr):
                raise InvalidModel(f"Flavor entry point {ep.name!r} has no {attr!r}")
        found.append(flavor)
    return tuple(sorted(found, key=lambda f: (f.priority, f.name)))


def clear_cache() -> None:
    _discover.cache_clear()


def flavors() -> dict[str, Flavor]:
    """Installed flavors by name, in auto-detection order."""
    return {f.name: f for f in _discover()}


def get_flavor(name: str) -> Flavor:
    aliases = {"pyfunc": "python_function"}
    found = flavors().get(aliases.get(name, name))
    if found is None:
        raise InvalidModel(f"No model flavor {name!r} is installed", flavor=name)
    return found


def flavor_for_object(obj: Any) -> Flavor:
    """The first flavor (by priority) whose ``can_save`` accepts ``obj``."""
    for flavor in _discover():
        if flavor.can_save(obj):
            return flavor
    raise InvalidInput(
        f"No installed model flavor can save a {type(obj).__module__}.{type(obj).__qualname__}",
        flavors=[f.name for f in _discover()],
    )


def flavor_for_loader(loader_module: str) -> Flavor | None:
    for flavor in _discover():
        if loader_module in flavor.loader_modules:
            return flavor
    return None
