"""Single sign-on routes, and what a login page needs to know before anyone is logged in.

- ``GET /auth/oidc/login?next=/path``: sends the browser to the provider (302), with a
  short-lived HttpOnly cookie that binds the login to this browser.
- ``GET /auth/oidc/callback``: where the provider sends it back; on success the session cookie
  of a password login and a 303 to ``next`` (a path on this server, ``/`` by default).

These two take no credentials (nor does ``GET /auth/config`` in ``governance.api``, which
tells a login page whether to show a "Sign in with SSO" button) (they are how one gets some). The login cookie is
``SameSite=Lax``, not Strict like the session's: the provider's redirect back is a cross-site
navigation, and a Strict cookie would not come with it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clew.core.errors import NotFound
from clew.governance.api import set_session_cookie
from clew.governance.oidc_login import STATE_TTL_S, OidcLoginService
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["identity"])

#: The cookie that binds a login in flight to its browser; sent back only to the callback.
LOGIN_COOKIE = "clew_oidc"
CALLBACK_PATH = "/api/v1/auth/oidc"
Text = Annotated[str | None, Query(max_length=4096)]


def _service(request: Request) -> OidcLoginService:
    found: OidcLoginService | None = getattr(request.app.state, "oidc", None)
    if found is None:
        raise NotFound("Single sign-on is not configured on this server",
                       code="OIDC_NOT_CONFIGURED")  # fmt: skip
    return found


@router.get("/auth/oidc/login", status_code=302, response_class=RedirectResponse)
async def oidc_login(
    request: Request, return_to: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    """Start a single sign-on: a redirect to the identity provider."""
    service = _service(request)
    redirect_uri = service.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
    started = await run_in_threadpool(service.begin, redirect_uri, return_to)
    response = RedirectResponse(started.url, status_code=302)
    response.headers["cache-control"] = "no-store"
    response.set_cookie(LOGIN_COOKIE, started.browser, max_age=STATE_TTL_S, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https",
                        path=CALLBACK_PATH)  # fmt: skip
    return response


@router.get("/auth/oidc/callback", status_code=303, response_class=RedirectResponse)
async def oidc_callback(
    request: Request,
    state: Text = None,
    code: Text = None,
    error: Text = None,
) -> Response:
    """The provider's redirect back: the code is exchanged and checked, the user logged in."""
    service = _service(request)
    browser = request.cookies.get(LOGIN_COOKIE)
    done = await run_in_threadpool(service.finish, state, code, browser, error)
    response = RedirectResponse(done.return_to, status_code=303)
    response.headers["cache-control"] = "no-store"
    set_session_cookie(response, request, done.secret)
    response.delete_cookie(LOGIN_COOKIE, path=CALLBACK_PATH)
    return response
