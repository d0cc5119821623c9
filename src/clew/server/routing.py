"""``FeatureRouter``: an ``APIRouter`` that says "not mine" without trying each of its routes.

FastAPI matches a request against every route of every included router in turn, twice for
the router that wins (once to choose it, once to dispatch inside it), at a microsecond or two
per route. The registry sits behind tracking, artifacts and audit, so creating a version paid
for ~55 failed route matches, a sixth of the server's time for the call. A feature router
knows the first path segments its routes start with (``/runs``, ``/registered-models``) and
rejects any other path at once; matching inside it is FastAPI's own.

``by_first_segment`` goes one step further for a surface of many routes (MLflow's ~90 under
one prefix): one router per first segment, so a call tries only its segment's routes.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

_NO_MATCH: Final[tuple[Match, Scope]] = (Match.NONE, {})


class FeatureRouter(APIRouter):
    """Mount it with ``mount_at(prefix)`` and then ``app.include_router(router, prefix=prefix)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mount: str | None = None
        self._segments: frozenset[str] | None = None

    def mount_at(self, prefix: str) -> None:
        """Index the first path segments of the routes defined so far (all of them: feature
        modules define their routes at import). A route whose first segment is a parameter
        turns the shortcut off, since any path could be its."""
        firsts = {route.path.split("/", 2)[1] for route in self.routes if hasattr(route, "path")}
        literal = all(first and "{" not in first for first in firsts)
        self._mount = prefix.rstrip("/")
        self._segments = frozenset(firsts) if literal else None

    def by_first_segment(self) -> list[FeatureRouter]:
        """This router's routes split into one router per first path segment, in first-seen
        order, each with this router's route class and settings (call before ``mount_at``)."""
        groups: dict[str, FeatureRouter] = {}
        for route in self.routes:
            first = getattr(route, "path", "/").split("/", 2)[1]
            if first not in groups:
                groups[first] = FeatureRouter(
                    route_class=self.route_class, include_in_schema=self.include_in_schema
                )
            groups[first].routes.append(route)
        return list(groups.values())

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self._segments is not None and self._mount is not None:
            path: str = get_route_path(scope)
            if not path.startswith(self._mount + "/"):
                return _NO_MATCH
            if path[len(self._mount) + 1 :].split("/", 1)[0] not in self._segments:
                return _NO_MATCH
        return super().matches(scope)
