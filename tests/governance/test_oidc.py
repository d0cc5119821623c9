"""Single sign-on end to end against a real (small) OIDC provider on loopback: the code flow
with PKCE, the session it opens, and every attack of the flow refused with nothing written."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import func, select, update

from clew.core import schema
from clew.core.actor import Actor
from clew.core.settings import Settings
from tests.governance.oidc_provider import OidcTestProvider, b64url

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

API = "/api/v1"
ADMIN, PASSWORD = "root", "correct horse battery"
ROOT = (ADMIN, PASSWORD)


@pytest.fixture
def idp() -> Iterator[OidcTestProvider]:
    with OidcTestProvider() as provider:
        yield provider


def _server(settings: Settings, idp: OidcTestProvider | None, **extra: Any) -> TestClient:
    from clew.server.app import create_app

    update: dict[str, Any] = {"auth": True, "admin_username": ADMIN,
                              "admin_password": PASSWORD, "auth_cache_s": 0.0,
                              "password_hash_memory_kib": 1024, "password_hash_time_cost": 1}  # fmt: skip
    if idp is not None:
        update.update(oidc_issuer=idp.issuer, oidc_client_id=idp.client_id,
                      oidc_client_secret=idp.client_secret)  # fmt: skip
    update.update(extra)
    return TestClient(create_app(settings.model_copy(update=update)))


@pytest.fixture
def server(settings: Settings, idp: OidcTestProvider) -> Iterator[TestClient]:
    with _server(settings, idp) as client:
        assert client.post(f"{API}/users", json={"name": "alice"}, auth=ROOT).status_code == 201
        yield client


def _to_provider(browser: TestClient, next_: str | None = None) -> str:
    """The browser's visit to the provider: the callback URL it is sent back to."""
    params = {} if next_ is None else {"next": next_}
    start = browser.get(f"{API}/auth/oidc/login", params=params, follow_redirects=False)
    assert start.status_code == 302, start.text
    approved = httpx.get(start.headers["location"], follow_redirects=False)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    return f"{back.path}?{back.query}"


def _browser(server: TestClient) -> TestClient:
    """Another browser on the same server (its own cookies; the app's lifespan is the
    server's)."""
    return TestClient(server.app)


def _sign_in(browser: TestClient, next_: str | None = None) -> httpx.Response:
    return browser.get(_to_provider(browser, next_), follow_redirects=False)


def _written(client: TestClient) -> dict[str, int]:
    """How many rows each table a login could write holds."""
    tables = (schema.users, schema.sessions, schema.audit_events, schema.oidc_identities,
              schema.team_members)  # fmt: skip
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in tables}  # fmt: skip


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert "clew_session" not in response.headers.get("set-cookie", "")


def test_config_says_how_to_log_in(settings: Settings, idp: OidcTestProvider) -> None:
    off = settings.model_copy(update={"oidc_issuer": idp.issuer, "oidc_client_id": "clew"})
    from clew.server.app import create_app

    def how(client: TestClient) -> tuple[bool, bool, bool]:
        config = client.get(f"{API}/auth/config").json()
        return config["auth"], config["password"], config["oidc"]

    with TestClient(create_app(off)) as client:
        assert how(client) == (False, False, False)
    with _server(settings, None) as client:
        assert how(client) == (True, True, False)
        _refused(client.get(f"{API}/auth/oidc/login"), 404, "OIDC_NOT_CONFIGURED")
    with _server(settings, idp) as client:
        assert client.get(f"{API}/auth/config").json()["oidc"] is True


def test_sign_in_opens_the_session_a_password_login_does(server: TestClient) -> None:
    start = server.get(f"{API}/auth/oidc/login", follow_redirects=False)
    sent = parse_qs(urlsplit(start.headers["location"]).query)
    assert sent["code_challenge_method"] == ["S256"] and sent["response_type"] == ["code"]
    assert {"state", "nonce", "code_challenge"} <= set(sent) and "code_verifier" not in sent
    cookie = start.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/api/v1/auth/oidc" in cookie
    assert not server.get(f"{API}/auth/me").is_success  # not logged in yet
    done = _sign_in(server)
    assert done.status_code == 303 and done.headers["location"] == "/"
    session_cookie = next(c for c in done.headers.get_list("set-cookie") if "clew_session" in c)
    assert "httponly" in session_cookie.lower() and "samesite=strict" in session_cookie.lower()
    me = server.get(f"{API}/auth/me")
    assert me.status_code == 200 and me.json()["name"] == "alice", me.text
    csrf = me.json()["csrf_token"]
    made = server.post(f"{API}/users/alice/tokens", json={"name": "t"},
                       headers={"x-csrf-token": csrf})  # fmt: skip
    assert made.status_code == 201
    assert server.post(f"{API}/users/alice/tokens", json={"name": "u"}).status_code == 403
    events = server.get(f"{API}/audit/events", params={"action": "session.login"}, auth=ROOT)
    assert events.status_code == 200, events.text
    logins = [e for e in events.json()["events"] if e["actor"] == "alice"]
    assert logins and logins[-1]["summary"]["method"] == "oidc"


@pytest.mark.parametrize(
    "next_",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
     "/\t/evil.example", "evil.example"],
)  # fmt: skip
def test_the_page_after_login_is_a_path_on_this_server(server: TestClient, next_: str) -> None:
    before = _written(server)
    _refused(server.get(f"{API}/auth/oidc/login", params={"next": next_},
                        follow_redirects=False), 400, "OIDC_REDIRECT_INVALID")  # fmt: skip
    assert _written(server) == before


def test_a_same_origin_path_is_where_the_login_ends(server: TestClient) -> None:
    done = _sign_in(server, "/experiments/3?tab=runs")
    assert done.status_code == 303 and done.headers["location"] == "/experiments/3?tab=runs"


def test_state_works_once_and_only_in_the_browser_that_began(
    server: TestClient, settings: Settings
) -> None:
    callback = _to_provider(server)
    before = _written(server)
    other = _browser(server)  # another browser: no login cookie
    _refused(other.get(callback, follow_redirects=False), 400, "OIDC_STATE_MISMATCH")
    other.cookies.set("clew_oidc", "a-guess", path="/api/v1/auth/oidc")
    _refused(other.get(callback, follow_redirects=False), 400, "OIDC_STATE_MISMATCH")
    assert _written(server) == before
    assert server.get(callback, follow_redirects=False).status_code == 303  # still usable
    _refused(server.get(callback, follow_redirects=False), 400, "OIDC_STATE_MISMATCH")  # replay
    forged = callback.replace("state=", "state=x")
    _refused(server.get(forged, follow_redirects=False), 400, "OIDC_STATE_MISMATCH")


def test_a_login_that_took_too_long_is_refused(server: TestClient) -> None:
    callback = _to_provider(server)
    with server.app.state.platform.db.write() as conn:  # type: ignore[attr-defined]
        conn.execute(update(schema.oidc_logins).values(expires_at=0))
    before = _written(server)
    _refused(server.get(callback, follow_redirects=False), 400, "OIDC_STATE_EXPIRED")
    assert _written(server) == before


def test_a_denied_login(server: TestClient, idp: OidcTestProvider) -> None:
    idp.deny = True
    before = _written(server)
    _refused(_sign_in(server), 401, "OIDC_LOGIN_DENIED")
    assert _written(server) == before


def _encode(part: dict[str, Any]) -> str:
    return b64url(json.dumps(part).encode())


def _alg_none(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_encode({'alg': 'none', 'typ': 'JWT'})}.{_encode(claims)}."


def _hs256_with_public_key(idp: OidcTestProvider) -> Callable[..., str]:
    """The key-confusion attack: an HMAC keyed with the provider's public key (PEM)."""

    def tamper(header: dict[str, Any], claims: dict[str, Any]) -> str:
        secret = idp.key.as_pem(private=False)
        signed = f"{_encode({'alg': 'HS256', 'kid': header['kid']})}.{_encode(claims)}"
        mac = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
        return f"{signed}.{b64url(mac)}"

    return tamper


def _claims(**changes: Any) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def tamper(header: dict[str, Any], claims: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value(claims) if callable(value) else value

    return tamper


def _unpublished_key(header: dict[str, Any], claims: dict[str, Any]) -> str:
    from joserfc import jwt

    ghost = RSAKey.generate_key(2048, parameters={"kid": "ghost"})
    return jwt.encode({"alg": "RS256", "kid": "ghost"}, claims, ghost)


def _swapped_payload(idp: OidcTestProvider) -> Callable[..., str]:
    """A real signature under a payload that names someone else."""

    def tamper(header: dict[str, Any], claims: dict[str, Any]) -> str:
        head, _, sig = idp.sign(claims, header).split(".")
        return f"{head}.{_encode({**claims, 'preferred_username': ADMIN})}.{sig}"

    return tamper


#: attack -> (the tampering, what the refusal says)
ATTACKS: dict[str, tuple[Callable[[OidcTestProvider], Any], str]] = {
    "alg-none": (lambda idp: _alg_none, "algorithm 'none'"),
    "hs256-with-the-public-key": (_hs256_with_public_key, "algorithm 'HS256'"),
    "unpublished-key": (lambda idp: _unpublished_key, "no key"),
    "swapped-payload": (_swapped_payload, "signature"),
    "wrong-audience": (lambda idp: _claims(aud="another-client"), "another client"),
    "several-audiences-other-azp": (
        lambda idp: _claims(aud=["clew", "other"], azp="other"), "authorized party"),
    "expired": (lambda idp: _claims(exp=lambda c: c["iat"] - 3600,
                                    iat=lambda c: c["iat"] - 4000), "expired"),
    "issued-in-the-future": (lambda idp: _claims(iat=lambda c: c["iat"] + 3600), "future"),
    "issued-long-ago": (lambda idp: _claims(iat=lambda c: c["iat"] - 3600), "too long ago"),
    "issuer-mix-up": (lambda idp: _claims(iss="https://another-provider.example"),
                      "another issuer"),
    "wrong-nonce": (lambda idp: _claims(nonce="not-this-logins"), "nonce"),
    "no-nonce": (lambda idp: _claims(nonce=None), "nonce"),
    "no-subject": (lambda idp: _claims(sub=None), "subject"),
}  # fmt: skip


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_forged_or_misdirected_id_token_is_refused(
    server: TestClient, idp: OidcTestProvider, attack: str
) -> None:
    tamper, why = ATTACKS[attack]
    idp.tamper = tamper(idp)
    before = _written(server)
    refused = _sign_in(server)
    _refused(refused, 401, "OIDC_TOKEN_INVALID")
    assert why in refused.json()["error"]["message"]
    assert _written(server) == before
    assert server.get(f"{API}/auth/me").status_code == 401


def test_another_logins_id_token_cannot_be_replayed(
    server: TestClient, idp: OidcTestProvider
) -> None:
    assert _sign_in(server).status_code == 303
    earlier = idp.issued[-1]
    idp.tamper = lambda header, claims: earlier  # valid, signed, for alice, but the old nonce
    browser = _browser(server)
    _refused(_sign_in(browser), 401, "OIDC_TOKEN_INVALID")


def test_a_provider_whose_discovery_names_another_issuer(
    server: TestClient, idp: OidcTestProvider
) -> None:
    idp.discovery_issuer = "https://another-provider.example"
    before = _written(server)
    _refused(server.get(f"{API}/auth/oidc/login", follow_redirects=False), 502,
             "OIDC_PROVIDER_ERROR")  # fmt: skip
    assert _written(server) == before


def test_a_wrong_client_secret_gets_no_tokens(settings: Settings, idp: OidcTestProvider) -> None:
    with _server(settings, idp, oidc_client_secret="not-the-secret") as client:
        client.post(f"{API}/users", json={"name": "alice"}, auth=ROOT)
        _refused(_sign_in(client), 401, "OIDC_CODE_REJECTED")


def test_a_rotated_key_is_fetched(server: TestClient, idp: OidcTestProvider) -> None:
    assert _sign_in(server).status_code == 303
    idp.rotate()
    browser = _browser(server)
    assert _sign_in(browser).status_code == 303
    assert browser.get(f"{API}/auth/me").json()["name"] == "alice"


def test_es256(settings: Settings) -> None:
    with OidcTestProvider(algorithm="ES256") as idp, _server(settings, idp) as client:
        client.post(f"{API}/users", json={"name": "alice"}, auth=ROOT)
        assert _sign_in(client).status_code == 303
        assert client.get(f"{API}/auth/me").json()["name"] == "alice"


def test_unknown_users_are_made_only_if_allowed(settings: Settings, idp: OidcTestProvider) -> None:
    idp.user = {"sub": "s-bob", "preferred_username": "bob", "name": "Bob B",
                "email": "bob@example.com", "email_verified": True}  # fmt: skip
    with _server(settings, idp) as client:
        before = _written(client)
        _refused(_sign_in(client), 403, "OIDC_USER_UNKNOWN")
        assert _written(client) == before
    with _server(settings, idp, oidc_auto_create=True) as client:
        assert _sign_in(client).status_code == 303
        users = client.get(f"{API}/users", auth=ROOT).json()["users"]
        bob = next(u for u in users if u["name"] == "bob")
        assert bob["kind"] == "user" and not bob["has_password"] and not bob["is_admin"]
        assert bob["email"] == "bob@example.com" and bob["display_name"] == "Bob B"


def test_the_linked_subject_decides_who_logs_in(server: TestClient, idp: OidcTestProvider) -> None:
    assert _sign_in(server).status_code == 303  # s-alice is now alice's
    idp.user = {"sub": "s-mallory", "preferred_username": "alice"}
    browser = _browser(server)
    _refused(_sign_in(browser), 403, "OIDC_ACCOUNT_MISMATCH")
    idp.user = {"sub": "s-alice", "preferred_username": "renamed-at-the-provider"}
    browser = _browser(server)
    assert _sign_in(browser).status_code == 303
    assert browser.get(f"{API}/auth/me").json()["name"] == "alice"


def test_a_disabled_user_or_a_service_account_cannot_sign_in(
    server: TestClient, idp: OidcTestProvider
) -> None:
    platform = server.app.state.platform  # type: ignore[attr-defined]
    platform.users.update_user(Actor(ADMIN), "alice", disabled=True)
    _refused(_sign_in(server), 403, "OIDC_USER_DISABLED")
    server.post(f"{API}/users", json={"name": "ci-bot", "kind": "service"}, auth=ROOT)
    idp.user = {"sub": "s-bot", "preferred_username": "ci-bot"}
    _refused(_sign_in(server), 403, "OIDC_ACCOUNT_MISMATCH")


def test_an_unverified_email_is_no_user_name(settings: Settings, idp: OidcTestProvider) -> None:
    idp.user = {"sub": "s-alice", "email": "alice", "email_verified": False}
    with _server(settings, idp, oidc_username_claim="email") as client:
        client.post(f"{API}/users", json={"name": "alice"}, auth=ROOT)
        _refused(_sign_in(client), 401, "OIDC_CLAIM_INVALID")
        idp.user["email_verified"] = True
        assert _sign_in(client).status_code == 303


def test_the_groups_claim_sets_the_users_teams(settings: Settings, idp: OidcTestProvider) -> None:
    idp.user = {"sub": "s-alice", "preferred_username": "alice", "groups": ["ml", "no-team"]}
    with _server(settings, idp, oidc_groups_claim="groups") as client:
        client.post(f"{API}/users", json={"name": "alice"}, auth=ROOT)
        for team in ("ml", "ops"):
            client.post(f"{API}/teams", json={"name": team}, auth=ROOT)
        client.put(f"{API}/teams/ops/members/alice", auth=ROOT)
        assert _sign_in(client).status_code == 303
        teams = {t["name"]: t["members"] for t in client.get(f"{API}/teams", auth=ROOT).json()
                 ["teams"]}  # fmt: skip
        assert teams == {"ml": ["alice"], "ops": []}


def test_the_pkce_challenge_is_the_verifiers_s256(server: TestClient) -> None:
    start = server.get(f"{API}/auth/oidc/login", follow_redirects=False)
    challenge = parse_qs(urlsplit(start.headers["location"]).query)["code_challenge"][0]
    with server.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        verifier = conn.execute(select(schema.oidc_logins.c.verifier)).scalar_one()
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge == digest.decode() and 43 <= len(verifier) <= 128
