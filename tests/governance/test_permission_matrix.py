"""The permission matrix (security.md §4.3), over HTTP with authentication on: every role by
every kind of action, on the native API, the MLflow API and the artifact routes, allowed or
403. Each role acts on resources of its own, so a delete by one does not hide another's."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from clew.core.actor import Actor
from clew.core.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

ROLES = ("none", "viewer", "editor", "maintainer", "admin")
PASSWORD = "correct horse battery"
ML = "/api/2.0/mlflow"
Call = Callable[[TestClient, dict[str, str], dict[str, Any]], httpx.Response]

#: action → (the least role allowed, the request)
ACTIONS: dict[str, tuple[str, Call]] = {
    "read a run (MLflow)": ("viewer", lambda c, h, r: c.get(f"{ML}/runs/get",
                            params={"run_id": r["run"]}, headers=h)),
    "read a run (native)": ("viewer", lambda c, h, r: c.get(f"/api/v1/runs/{r['run']}",
                            headers=h)),
    "download an artifact": ("viewer", lambda c, h, r: c.get(
        f"/api/v1/runs/{r['run']}/artifacts/seed.txt", headers=h)),
    "preview a table artifact": ("viewer", lambda c, h, r: c.get(
        f"/api/v1/runs/{r['run']}/artifacts-preview/seed.csv", headers=h)),
    "read a run's metric series": ("viewer", lambda c, h, r: c.post(
        "/api/v1/metrics/history-bulk", json={"run_ids": [r["run"]], "keys": ["m"]}, headers=h)),
    "list run keys": ("viewer", lambda c, h, r: c.post("/api/v1/runs/keys", json={
        "experiment_ids": [r["experiment"]]}, headers=h)),
    "count runs": ("viewer", lambda c, h, r: c.post("/api/v1/runs/count", json={
        "experiment_ids": [r["experiment"]]}, headers=h)),
    "log a metric (MLflow)": ("editor", lambda c, h, r: c.post(f"{ML}/runs/log-metric", json={
        "run_id": r["run"], "key": "m", "value": 1, "timestamp": 1, "step": 0}, headers=h)),
    "upload an artifact": ("editor", lambda c, h, r: c.put(
        f"/api/v1/runs/{r['run']}/artifacts/new.txt", content=b"x",
        headers={**h, "content-type": "application/octet-stream"})),
    "register a model version": ("editor", lambda c, h, r: c.post(
        f"{ML}/model-versions/create", json={"name": r["model"], "source": "s3://b/m"},
        headers=h)),
    "submit a pipeline job": ("editor", lambda c, h, r: c.post("/api/v1/pipeline-jobs",
                              json={"pipeline": "nothing-registered"}, headers=h)),
    "set an alias": ("maintainer", lambda c, h, r: c.post(f"{ML}/registered-models/alias",
                     json={"name": r["model"], "alias": "champion", "version": "1"},
                     headers=h)),
    "delete an artifact": ("maintainer", lambda c, h, r: c.delete(
        f"/api/v1/runs/{r['run']}/artifacts/seed.txt", headers=h)),
    "delete a run": ("maintainer", lambda c, h, r: c.post(f"{ML}/runs/delete",
                     json={"run_id": r["run"]}, headers=h)),
    "delete a model": ("maintainer", lambda c, h, r: c.request(
        "DELETE", f"{ML}/registered-models/delete", json={"name": r["model"]}, headers=h)),
    "read the audit log": ("admin", lambda c, h, r: c.get("/api/v1/audit/events", headers=h)),
    "create a user": ("admin", lambda c, h, r: c.post("/api/v1/users", json={
        "name": f"new-{r['role']}", "password": PASSWORD}, headers=h)),
    "make a token for someone else": ("admin", lambda c, h, r: c.post(
        "/api/v1/users/root/tokens", json={"name": "stolen"}, headers=h)),
}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    from clew.server.app import create_app

    settings = Settings(home=tmp_path_factory.mktemp("matrix"), auth=True, allowed_hosts="testserver", auth_cache_s=0.0,
                        password_hash_memory_kib=1024, password_hash_time_cost=1)  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as client:
        platform = app.state.platform
        root = Actor("root")
        platform.users.bootstrap_admin("root", PASSWORD)
        eid = platform.tracking.create_experiment(root, "matrix")
        made: dict[str, Any] = {}
        for role in ROLES:
            name = f"u-{role}"
            platform.users.create_user(root, name, password=PASSWORD, admin=role == "admin")
            if role not in ("none", "admin"):
                platform.access.grant(root, name, role)
            run = platform.tracking.create_run(root, eid).info.run_id
            platform.artifacts.log_stream(root, run, "seed.txt", iter([b"seed"]))
            platform.artifacts.log_stream(root, run, "seed.csv", iter([b"a\n1\n"]))
            model = f"model-{role}"
            platform.registry.create_registered_model(root, model)
            platform.registry.create_model_version(root, model, "s3://b/seed")
            token = platform.users.create_token(root, name, "matrix").secret
            made[role] = {"role": role, "run": run, "model": model, "experiment": eid,
                          "headers": {"authorization": f"Bearer {token}"}}  # fmt: skip
        yield client, made


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_role_may_do_what_the_matrix_says(
    world: tuple[TestClient, dict[str, Any]], role: str, action: str
) -> None:
    client, made = world
    least, call = ACTIONS[action]
    allowed = role != "none" and ROLES.index(role) >= ROLES.index(least)
    response = call(client, made[role]["headers"], made[role])
    if allowed:
        assert response.status_code not in (401, 403), (role, action, response.text)
        assert response.status_code < 400 or action == "submit a pipeline job", response.text
    else:
        assert response.status_code == 403, (role, action, response.status_code, response.text)
