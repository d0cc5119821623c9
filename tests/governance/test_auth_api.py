"""Authentication over HTTP with ``CLEW_AUTH`` on: tokens, passwords, browser sessions with
CSRF, and what an unauthenticated or unprivileged caller is refused (security.md §1e, §1f)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from clew.core.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

API = "/api/v1"
ADMIN, PASSWORD = "root", "correct horse battery"


@pytest.fixture
def http(settings: Settings) -> Iterator[TestClient]:
    from clew.server.app import create_app

    on = settings.model_copy(update={
        "auth": True, "admin_username": ADMIN, "admin_password": PASSWORD,
        "auth_cache_s": 0.0, "password_hash_memory_kib": 1024, "password_hash_time_cost": 1,
    })  # fmt: skip
    with TestClient(create_app(on)) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _token(http: TestClient, user: str = ADMIN, auth: tuple[str, str] = (ADMIN, PASSWORD)) -> str:
    made = http.post(f"{API}/users/{user}/tokens", json={"name": "t"}, auth=auth)
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


def test_no_credentials_is_401_and_health_stays_open(http: TestClient) -> None:
    refused = http.get(f"{API}/experiments/search")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
    assert "Basic" in refused.headers["www-authenticate"]
    mlflow = http.get("/api/2.0/mlflow/experiments/search", params={"max_results": 1})
    assert mlflow.status_code == 401 and mlflow.json()["error_code"] == "UNAUTHENTICATED"
    assert http.get("/health").status_code == 200


def test_a_token_a_password_or_a_token_as_password(http: TestClient) -> None:
    token = _token(http)
    assert http.get(f"{API}/auth/me", headers=_bearer(token)).json()["name"] == ADMIN
    assert http.get(f"{API}/auth/me", auth=(ADMIN, PASSWORD)).status_code == 200
    assert http.get(f"{API}/auth/me", auth=(ADMIN, token)).json()["token_id"]
    for bad in (_bearer(token[:-1] + "Z"), _bearer("nonsense"), {"authorization": "Digest x"},
                {"authorization": "Basic !!!"}):  # fmt: skip
        assert http.get(f"{API}/auth/me", headers=bad).status_code == 401
    assert http.get(f"{API}/auth/me", auth=(ADMIN, PASSWORD + "x")).status_code == 401
    assert http.get(f"{API}/auth/me", auth=("someone-else", token)).status_code == 401
    token_id = http.get(f"{API}/auth/me", headers=_bearer(token)).json()["token_id"]
    assert http.delete(f"{API}/tokens/{token_id}", headers=_bearer(token)).status_code == 200
    assert http.get(f"{API}/auth/me", headers=_bearer(token)).status_code == 401


def test_only_an_admin_creates_users_and_never_with_a_weak_password(http: TestClient) -> None:
    root = _bearer(_token(http))
    for password in ("", "            ", "elevenchars"):
        weak = http.post(f"{API}/users", json={"name": "u", "password": password}, headers=root)
        assert weak.status_code == 400, password
    made = http.post(f"{API}/users", json={"name": "alice", "password": PASSWORD}, headers=root)
    assert made.status_code == 201 and PASSWORD not in made.text and "argon2" not in made.text
    alice = _bearer(_token(http, "alice", ("alice", PASSWORD)))
    denied = http.post(f"{API}/users", json={"name": "mallory", "password": PASSWORD},
                       headers=alice)  # fmt: skip
    assert denied.status_code == 403
    unauthenticated = http.post(f"{API}/users", json={"name": "u", "password": PASSWORD})
    assert unauthenticated.status_code == 401
    assert http.get(f"{API}/users", headers=alice).status_code == 403
    assert (
        http.post(f"{API}/users/{ADMIN}/tokens", json={"name": "x"}, headers=alice).status_code
        == 403
    )
    names = [u["name"] for u in http.get(f"{API}/users", headers=root).json()["users"]]
    assert names == ["alice", "root"]


def test_an_admin_lists_everyones_tokens_and_the_login_page_knows_the_password_rules(
    http: TestClient, settings: Settings
) -> None:
    root = _bearer(_token(http))
    http.post(f"{API}/users", json={"name": "alice", "password": PASSWORD}, headers=root)
    alice = _bearer(_token(http, "alice", ("alice", PASSWORD)))
    everyone = http.get(f"{API}/tokens", params={"all": "true"}, headers=root).json()["tokens"]
    assert sorted(t["user_name"] for t in everyone) == ["alice", ADMIN]
    mine = http.get(f"{API}/tokens", headers=root).json()["tokens"]
    assert [t["user_name"] for t in mine] == [ADMIN]
    assert http.get(f"{API}/tokens", params={"all": "true"}, headers=alice).status_code == 403
    config = http.get(f"{API}/auth/config").json()
    assert config["password_min_length"] == settings.password_min_length
    assert config["password_max_length"] == 1024


def test_a_browser_session_needs_its_csrf_token_to_change_anything(http: TestClient) -> None:
    assert http.post(f"{API}/auth/login", json={"username": ADMIN, "password": "nope nope nope"}
                     ).status_code == 401  # fmt: skip
    login = http.post(f"{API}/auth/login", json={"username": ADMIN, "password": PASSWORD})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    csrf = login.json()["csrf_token"]
    me = http.get(f"{API}/auth/me").json()  # the cookie, kept by the client
    assert me["name"] == ADMIN
    assert me["csrf_token"] == csrf  # a reloaded page gets it back
    config = http.get(f"{API}/auth/config").json()
    assert config["auth"] and config["user"]["name"] == ADMIN
    assert config["user"]["csrf_token"] == csrf
    assert http.get(f"{API}/auth/me", auth=(ADMIN, PASSWORD)).json()["csrf_token"] is None
    body = {"name": "from-browser"}
    assert http.post(f"{API}/experiments", json=body).status_code == 403
    forged = http.post(f"{API}/experiments", json=body, headers={"x-csrf-token": "guess"})
    assert forged.status_code == 403
    text = http.post(f"{API}/experiments", content=b'{"name": "x"}',
                     headers={"content-type": "text/plain", "x-csrf-token": csrf})  # fmt: skip
    assert text.status_code == 415  # a form post from another site cannot be JSON
    made = http.post(f"{API}/experiments", json=body, headers={"x-csrf-token": csrf})
    assert made.status_code == 201, made.text
    assert http.post(f"{API}/auth/logout", headers={"x-csrf-token": csrf}).status_code == 204
    http.cookies.clear()
    assert http.get(f"{API}/auth/me").status_code == 401
    signed_out = http.get(f"{API}/auth/config")  # never a 401: the login page asks it first
    assert signed_out.status_code == 200 and signed_out.json()["user"] is None


def test_an_admin_manages_teams_and_roles_over_http(http: TestClient) -> None:
    root = _bearer(_token(http))
    http.post(f"{API}/users", json={"name": "alice", "password": PASSWORD}, headers=root)
    alice = _bearer(_token(http, "alice", ("alice", PASSWORD)))
    eid = http.post(f"{API}/experiments", json={"name": "team-work"}, headers=root).json()[
        "experiment_id"
    ]
    run = http.post(f"{API}/runs", json={"experiment_id": eid}, headers=root).json()
    run_id = run["info"]["run_id"] if "info" in run else run["run"]["info"]["run_id"]
    log = {"metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}]}
    assert http.post(f"{API}/runs/{run_id}/batch", json=log, headers=alice).status_code == 403
    assert http.post(f"{API}/teams", json={"name": "ml"}, headers=alice).status_code == 403
    assert http.post(f"{API}/teams", json={"name": "ml"}, headers=root).status_code == 201
    team = http.put(f"{API}/teams/ml/members/alice", headers=root).json()
    assert team["members"] == ["alice"]
    binding = {"principal": "ml", "role": "editor", "scope_type": "experiment",
               "scope_id": eid, "team": True}  # fmt: skip
    assert http.put(f"{API}/role-bindings", json=binding, headers=alice).status_code == 403
    made = http.put(f"{API}/role-bindings", json=binding, headers=root)
    assert made.status_code == 200 and made.json()["role"] == "editor"
    assert http.post(f"{API}/runs/{run_id}/batch", json=log, headers=alice).status_code < 300
    listed = http.get(f"{API}/role-bindings", headers=root).json()["bindings"]
    assert [(b["principal"], b["role"]) for b in listed] == [("ml", "editor")]
    gone = http.delete(f"{API}/role-bindings", headers=root,
                       params={"principal": "ml", "scope_type": "experiment", "scope_id": eid,
                               "team": "true"})  # fmt: skip
    assert gone.status_code == 204
    assert http.post(f"{API}/runs/{run_id}/batch", json=log, headers=alice).status_code == 403
    assert http.delete(f"{API}/teams/ml", headers=root).status_code == 204


def test_an_admin_disables_promotes_and_resets_a_user_over_http(http: TestClient) -> None:
    admin = (ADMIN, PASSWORD)
    made = http.post(f"{API}/users", json={"name": "ann", "password": "ann's long passphrase"},
                     auth=admin)  # fmt: skip
    assert made.status_code == 201
    ann = _token(http, "ann", ("ann", "ann's long passphrase"))
    assert http.get(f"{API}/users/ann", headers=_bearer(ann)).json()["name"] == "ann"
    assert http.get(f"{API}/users/{ADMIN}", headers=_bearer(ann)).status_code == 403
    refused = http.patch(f"{API}/users/ann", json={"admin": True}, headers=_bearer(ann))
    assert (
        refused.status_code == 403
        and not http.get(f"{API}/users/ann", auth=admin).json()["is_admin"]
    )
    empty = http.patch(f"{API}/users/ann", json={}, auth=admin)
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
    last = http.patch(f"{API}/users/{ADMIN}", json={"admin": False}, auth=admin)
    assert last.status_code == 409  # the only admin stays one

    # her own password: only with the current one
    wrong = http.put(f"{API}/users/ann/password", headers=_bearer(ann),
                     json={"password": "a new long passphrase", "current": "nope"})  # fmt: skip
    assert wrong.status_code == 403
    own = http.put(f"{API}/users/ann/password", headers=_bearer(ann),
                   json={"password": "a new long passphrase", "current": "ann's long passphrase"})  # fmt: skip
    assert own.status_code == 204
    assert http.get(f"{API}/auth/me", auth=("ann", "a new long passphrase")).status_code == 200
    weak = http.put(f"{API}/users/ann/password", json={"password": "short"}, auth=admin)
    assert weak.status_code == 400

    disabled = http.patch(f"{API}/users/ann", json={"disabled": True}, auth=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert http.get(f"{API}/auth/me", headers=_bearer(ann)).status_code == 401  # token revoked
    assert http.get(f"{API}/auth/me", auth=("ann", "a new long passphrase")).status_code == 401
    enabled = http.patch(f"{API}/users/ann", json={"disabled": False, "admin": True}, auth=admin)
    assert enabled.json()["disabled"] is False and enabled.json()["is_admin"] is True
    assert http.get(f"{API}/auth/me", auth=("ann", "a new long passphrase")).status_code == 200
    events = http.get(f"{API}/audit/events", params={"resource_type": "user", "resource_id": "ann"},
                      auth=admin).json()["events"]  # fmt: skip
    assert {"user.update", "user.password"} <= {e["action"] for e in events}


def test_a_change_made_on_this_server_does_not_wait_for_its_credential_cache(
    settings: Settings,
) -> None:
    """With a minute of caching, a revoked token, a reset password and a disabled user stop
    working on the next request to the server that made the change."""
    from clew.server.app import create_app

    on = settings.model_copy(update={
        "auth": True, "admin_username": ADMIN, "admin_password": PASSWORD, "auth_cache_s": 60.0,
        "password_hash_memory_kib": 1024, "password_hash_time_cost": 1,
    })  # fmt: skip
    with TestClient(create_app(on)) as http:
        admin, ann = (ADMIN, PASSWORD), ("ann", "ann's long passphrase")
        http.post(f"{API}/users", json={"name": "ann", "password": ann[1]}, auth=admin)
        token = _token(http, "ann", ann)
        assert http.get(f"{API}/auth/me", headers=_bearer(token)).status_code == 200  # cached
        assert http.get(f"{API}/auth/me", auth=ann).status_code == 200
        revoked = http.get(f"{API}/tokens", params={"user": "ann"}, auth=admin).json()["tokens"]
        http.delete(f"{API}/tokens/{revoked[0]['id']}", auth=admin)
        assert http.get(f"{API}/auth/me", headers=_bearer(token)).status_code == 401
        http.put(f"{API}/users/ann/password", json={"password": "a new long passphrase"},
                 auth=admin)  # fmt: skip
        assert http.get(f"{API}/auth/me", auth=ann).status_code == 401
        assert http.get(f"{API}/auth/me", auth=("ann", "a new long passphrase")).status_code == 200
        http.patch(f"{API}/users/ann", json={"disabled": True}, auth=admin)
        assert http.get(f"{API}/auth/me", auth=("ann", "a new long passphrase")).status_code == 401
