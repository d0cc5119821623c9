"""``Client`` identity methods over HTTP against a server with authentication on: the
transport sends its token, an admin manages users, teams and roles, and a user then acts
within their role."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from clew.client.client import Client
from clew.client.http import HttpTransport
from clew.core.errors import PermissionDenied, Unauthenticated
from clew.core.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


@pytest.fixture
def server(settings: Settings) -> Iterator[TestClient]:
    from clew.server.app import create_app

    on = settings.model_copy(update={"auth": True, "admin_username": "root",
                                     "admin_password": PASSWORD, "auth_cache_s": 0.0,
                                     "password_hash_memory_kib": 1024,
                                     "password_hash_time_cost": 1})  # fmt: skip
    with TestClient(create_app(on)) as client:
        yield client


def _as(server: TestClient, token: str | None) -> Client:
    return Client(transport=HttpTransport("http://testserver", client=server, token=token or ""))


def test_a_client_authenticates_with_its_token_and_acts_within_its_role(
    server: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = server.post("/api/v1/users/root/tokens", json={"name": "t"}, auth=("root", PASSWORD))
    root = _as(server, made.json()["secret"])
    assert root.whoami()["name"] == "root"
    with pytest.raises(Unauthenticated):
        _as(server, None).whoami()
    root.create_user("alice", password=PASSWORD)
    alice = _as(server, root.create_token("alice", "laptop").secret)
    assert alice.whoami()["name"] == "alice"
    with pytest.raises(PermissionDenied):
        alice.list_users()
    assert [u.name for u in root.list_users()] == ["alice", "root"]

    eid = root.create_experiment("shared")
    with pytest.raises(PermissionDenied):
        alice.create_run(eid)
    root.create_team("ml")
    assert root.add_team_member("ml", "alice").members == ("alice",)
    binding = root.grant_role("ml", "editor", "experiment", eid, team=True)
    assert (binding.principal, binding.role) == ("ml", "editor")
    run = alice.create_run(eid)
    alice.log_metric(run.info.run_id, "loss", 0.5)
    assert [b.principal for b in root.list_role_bindings()] == ["ml"]
    root.revoke_role("ml", "experiment", eid, team=True)
    with pytest.raises(PermissionDenied):
        alice.log_metric(run.info.run_id, "loss", 0.4)
    assert [t.name for t in root.list_teams()] == ["ml"]
    assert root.remove_team_member("ml", "alice").members == ()

    tokens = alice.list_tokens("alice")
    assert [t.name for t in tokens] == ["laptop"]
    assert alice.revoke_token(tokens[0].id).revoked_at is not None
    with pytest.raises(Unauthenticated):
        alice.whoami()
    monkeypatch.setenv("CLEW_TRACKING_TOKEN", made.json()["secret"])
    from_env = Client(transport=HttpTransport("http://testserver", client=server))
    assert from_env.whoami()["name"] == "root"
