"""Promotion requests through ``Client`` over HTTP with roles on, and ``clew policy`` /
``clew promote`` on the local store."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clew.cli.main import app
from clew.client.client import Client
from clew.client.http import HttpTransport
from clew.core.actor import Actor
from clew.core.errors import Conflict, PermissionDenied
from clew.core.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

ROOT = Actor("root")
PASSWORD = "correct horse battery"
POLICY = "protect: {aliases: [champion]}\napprovals: {required: 1, role: maintainer}\n"


@pytest.fixture
def clients(settings: Settings) -> Iterator[dict[str, Client]]:
    from clew.server.app import create_app

    on = settings.model_copy(update={"auth": True, "auth_cache_s": 0.0,
                                     "password_hash_memory_kib": 1024,
                                     "password_hash_time_cost": 1})  # fmt: skip
    server = create_app(on)
    with TestClient(server) as http:
        platform = server.state.platform
        platform.users.bootstrap_admin("root", PASSWORD)
        made = {}
        for name, role in (("alice", "editor"), ("bob", "maintainer")):
            platform.users.create_user(ROOT, name, password=PASSWORD)
            platform.access.grant(ROOT, name, role, "registered_model", "churn")
        for name in ("root", "alice", "bob"):
            token = platform.users.create_token(ROOT, name, "t").secret
            made[name] = Client(transport=HttpTransport("http://testserver", client=http,
                                                        token=token))  # fmt: skip
        run = platform.tracking.create_run(ROOT, platform.tracking.create_experiment(ROOT, "e"))
        platform.artifacts.log_stream(ROOT, run.info.run_id, "m/MLmodel", io.BytesIO(b"x"))
        platform.registry.create_registered_model(ROOT, "churn")
        platform.registry.create_model_version(ROOT, "churn", f"runs:/{run.info.run_id}/m")
        yield made


def test_request_approve_apply_over_http(clients: dict[str, Client]) -> None:
    root, alice, bob = clients["root"], clients["alice"], clients["bob"]
    with pytest.raises(PermissionDenied):
        alice.set_model_policy("churn", POLICY)
    assert root.set_model_policy("churn", POLICY)["version"] == 1
    assert alice.get_model_policy("churn")["policy"]["protect"]["aliases"] == ["champion"]
    with pytest.raises(PermissionDenied, match="protected"):
        bob.set_registered_model_alias("churn", "champion", 1)
    request = alice.request_promotion("churn", 1, alias="champion", justification="ready")
    assert request["state"] == "PENDING" and request["checks"][0]["name"] == "digests"
    none = {"approve": False, "reject": False, "cancel": False, "apply": False}
    assert alice.get_promotion(request["id"])["allowed"] == {**none, "cancel": True}
    assert bob.get_promotion(request["id"])["allowed"] == {**none, "approve": True,
                                                           "reject": True, "cancel": True}  # fmt: skip
    with pytest.raises(PermissionDenied):
        alice.approve_promotion(request["id"])
    assert bob.approve_promotion(request["id"], "looks good")["state"] == "APPROVED"
    with pytest.raises(PermissionDenied):  # applying moves an alias: a maintainer's
        alice.apply_promotion(request["id"])
    assert bob.apply_promotion(request["id"])["state"] == "APPLIED"
    with pytest.raises(Conflict):
        bob.apply_promotion(request["id"])
    assert root.get_model_version_by_alias("churn", "champion").version == 1
    origin = alice.alias_provenance("churn", "champion")
    assert origin["version"] == 1 and origin["promotion"]["approvals"][0]["approver"] == "bob"
    assert [r["state"] for r in root.list_promotions("churn")] == ["APPLIED"]


def test_policy_and_promote_on_the_command_line(clew_home: Path, tmp_path: Path) -> None:
    with Client() as local:
        run = local.create_run(local.create_experiment("e"))
        local.log_text(run.info.run_id, "x", "m/MLmodel")
        local.create_registered_model("churn")
        local.create_model_version("churn", f"runs:/{run.info.run_id}/m")
    runner = CliRunner()
    (tmp_path / "policy.yaml").write_text(POLICY)
    made = runner.invoke(app, ["policy", "set", "churn", str(tmp_path / "policy.yaml")])
    assert made.exit_code == 0 and "policy version 1" in made.output, made.output
    assert "champion" in runner.invoke(app, ["policy", "show", "churn"]).output
    opened = runner.invoke(app, ["promote", "request", "churn", "1", "--alias", "champion",
                                 "--why", "ready", "--json"])  # fmt: skip
    assert opened.exit_code == 0, opened.output
    request_id = json.loads(opened.output)["id"]
    own = runner.invoke(app, ["promote", "approve", request_id])
    assert own.exit_code != 0  # the same user asked for it
    listed = json.loads(runner.invoke(app, ["promote", "list", "--json"]).output)
    assert [r["id"] for r in listed] == [request_id]
    shown = runner.invoke(app, ["promote", "get", request_id])
    assert "PENDING" in shown.output and "digests ok" in shown.output
    written = runner.invoke(app, ["report", "churn", "1", "--out", str(tmp_path / "pack")])
    assert written.exit_code == 0, written.output
    page = (tmp_path / "pack" / "churn-v1-report.html").read_text()
    assert "Risk management and human oversight" in page and f"request {request_id}" in page
    assert (
        "## 6. Integrity of this record" in (tmp_path / "pack" / "churn-v1-report.md").read_text()
    )
