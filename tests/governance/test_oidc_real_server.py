"""Single sign-on over the wire: a real ``clew server`` with two workers (the login may start
in one and come back to the other) and the test provider, driven by an HTTP client that keeps
cookies as a browser does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.governance.oidc_provider import OidcTestProvider
from tests.server.test_real_server import Server

pytestmark = pytest.mark.server
CALLBACK = "/api/v1/auth/oidc/callback"


@pytest.fixture
def sso(tmp_path: Path) -> Iterator[tuple[OidcTestProvider, Server]]:
    with OidcTestProvider(user={"sub": "s-carol", "preferred_username": "carol"}) as idp:
        env = {"CLEW_AUTH": "true", "CLEW_ADMIN_USERNAME": "root",
               "CLEW_ADMIN_PASSWORD": "correct horse battery",
               "CLEW_PASSWORD_HASH_MEMORY_KIB": "1024", "CLEW_OIDC_ISSUER": idp.issuer,
               "CLEW_OIDC_CLIENT_ID": idp.client_id,
               "CLEW_OIDC_CLIENT_SECRET": idp.client_secret, "CLEW_OIDC_AUTO_CREATE": "true",
               "CLEW_PIPELINE_WORKER": "false", "CLEW_WEBHOOK_DISPATCHER": "false"}  # fmt: skip
        # Two workers take a while to start on a loaded machine; waiting longer costs nothing.
        server = Server(tmp_path / "home", workers=2, extra_env=env, start_timeout_s=120)
        idp.redirect_uri = server.url + CALLBACK
        try:
            yield idp, server
        finally:
            server.stop()


def test_a_browser_signs_in_through_a_real_server(
    sso: tuple[OidcTestProvider, Server],
) -> None:
    idp, server = sso
    with httpx.Client(base_url=server.url, follow_redirects=False) as browser:
        config = browser.get("/api/v1/auth/config").json()
        assert (config["auth"], config["password"], config["oidc"]) == (True, True, True)
        assert config["user"] is None
        for _ in range(3):  # several logins, across both workers
            browser.cookies.clear()
            start = browser.get("/api/v1/auth/oidc/login", params={"next": "/models"})
            assert start.status_code == 302, start.text
            approved = httpx.get(start.headers["location"], follow_redirects=False)
            assert approved.headers["location"].startswith(server.url + CALLBACK)
            done = browser.get(approved.headers["location"])
            assert done.status_code == 303 and done.headers["location"] == "/models", done.text
            me = browser.get("/api/v1/auth/me")
            assert me.status_code == 200 and me.json()["name"] == "carol"
            assert browser.get(approved.headers["location"]).status_code == 400  # used up
    assert len(idp.issued) == 3  # one ID token per login, none for the replays
