"""The two things every route needs, as FastAPI dependencies: the platform and the caller.

Feature routers import ``PlatformDep`` and ``ActorDep`` from here and nothing else of the
server, so the platform is never a module-level global (it lives on ``app.state``) and
authentication plugs in at ``get_actor`` alone.

Both are ``async def`` on purpose: they do no I/O, and a sync dependency would cost each request
an extra hop through the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from clew.core.actor import Actor
from clew.platform import Platform

#: With authentication off every request acts as this actor, and the server refuses to bind a
#: non-loopback address (``clew.server.main.serve``). Identity headers such as ``X-Clew-User``
#: are deliberately ignored: trusting them would let anyone forge an identity (security.md §5
#: item 29).
ANONYMOUS = Actor(name="anonymous")


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def get_actor(request: Request) -> Actor:
    """Who is calling: with authentication on, whom the request's credentials name
    (``server.auth``; 401 without any); else ``ANONYMOUS``."""
    authenticator = request.app.state.authenticator
    if authenticator is None:
        return ANONYMOUS
    actor: Actor = await authenticator.actor(request)
    return actor


PlatformDep = Annotated[Platform, Depends(get_platform)]
ActorDep = Annotated[Actor, Depends(get_actor)]
