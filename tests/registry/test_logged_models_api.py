"""The logged-model routes through HTTP (TestClient), on each database: the happy path, files,
and bad input (400 with a stable code, 404, nothing written)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clew.core.settings import Settings
from clew.platform import Platform
from clew.server.app import create_app
from tests.server.conftest import TestClient, assert_error, audit_count

API = "/api/v1"
MISSING = "m-" + "0" * 32


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    platform = Platform.open(settings, migrate=False)
    with TestClient(create_app(settings, platform)) as client:
        yield client
    platform.close()


def _create(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post(f"{API}/logged-models", json={"experiment_id": "0", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_lifecycle(api: TestClient) -> None:
    run = api.post(f"{API}/runs", json={}).json()["info"]["run_id"]
    model = _create(
        api,
        source_run_id=run,
        name="clf",
        model_type="classifier",
        params=[{"key": "lr", "value": "0.1"}],
        tags={"team": "a"},
    )
    mid = model["model_id"]
    assert model["status"] == "PENDING" and model["source_run_id"] == run
    assert api.get(f"{API}/logged-models/{mid}").json() == model

    body = {"tags": {"b": "2"}}
    assert api.post(f"{API}/logged-models/{mid}/tags", json=body).status_code == 204
    response = api.delete(f"{API}/logged-models/{mid}/tags", params={"key": "team"})
    assert response.status_code == 204
    params = {"params": [{"key": "depth", "value": "3"}]}
    assert api.post(f"{API}/logged-models/{mid}/params", json=params).status_code == 204
    metrics = {
        "metrics": [
            {"key": "acc", "value": 0.9, "timestamp": 1, "dataset_name": "val", "run_id": run},
            {"key": "loss", "value": "NaN", "timestamp": 1},
        ]
    }
    assert api.post(f"{API}/logged-models/{mid}/metrics", json=metrics).status_code == 204

    up = api.put(
        f"{API}/logged-models/{mid}/artifacts/model/MLmodel",
        content=b"flavors: {}",
        headers={"content-type": "application/octet-stream"},
    )
    assert up.status_code == 200, up.text
    assert up.json()["path"] == "model/MLmodel" and up.json()["size"] == 11
    listing = api.get(f"{API}/logged-models/{mid}/artifacts", params={"path": "model"}).json()
    assert [f["path"] for f in listing["files"]] == ["model/MLmodel"]
    down = api.get(f"{API}/logged-models/{mid}/artifacts/model/MLmodel")
    assert down.content == b"flavors: {}"
    assert down.headers["x-clew-digest"] == f"sha256:{up.json()['digest']}"
    assert down.headers["content-disposition"].startswith("attachment")

    ready = api.patch(f"{API}/logged-models/{mid}", json={"status": "LOGGED_MODEL_READY"})
    assert ready.status_code == 200 and ready.json()["status"] == "READY"
    got = ready.json()
    assert (got["tags"], got["params"]) == ({"b": "2"}, {"lr": "0.1", "depth": "3"})
    assert {(m["key"], m["dataset_name"]) for m in got["metrics"]} == {
        ("acc", "val"),
        ("loss", None),
    }
    assert next(m for m in got["metrics"] if m["key"] == "loss")["value"] == "NaN"

    found = api.post(
        f"{API}/logged-models/search",
        json={
            "filter": "metrics.acc > 0.5 AND status = 'READY'",
            "order_by": [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "val"}],
        },
    ).json()
    assert [m["model_id"] for m in found["models"]] == [mid] and found["next_page_token"] is None

    assert api.delete(f"{API}/logged-models/{mid}").status_code == 204
    assert api.delete(f"{API}/logged-models/{mid}").status_code == 204
    assert_error(api.get(f"{API}/logged-models/{mid}"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_search_pages(api: TestClient) -> None:
    for name in ("a", "b", "c"):
        _create(api, name=name)
    body = {"order_by": ["name"], "max_results": 2}
    first = api.post(f"{API}/logged-models/search", json=body).json()
    assert [m["name"] for m in first["models"]] == ["a", "b"]
    second = api.post(
        f"{API}/logged-models/search", json={**body, "page_token": first["next_page_token"]}
    ).json()
    assert [m["name"] for m in second["models"]] == ["c"] and second["next_page_token"] is None


def test_files_are_frozen_once_finalized(api: TestClient) -> None:
    mid = _create(api)["model_id"]
    api.patch(f"{API}/logged-models/{mid}", json={"status": "FAILED", "status_message": "oops"})
    before = audit_count(api)
    response = api.put(
        f"{API}/logged-models/{mid}/artifacts/x.bin",
        content=b"x",
        headers={"content-type": "application/octet-stream"},
    )
    assert_error(response, 409, "INVALID_STATE")
    assert audit_count(api) == before


@pytest.mark.parametrize(
    ("first", "then"),
    [
        pytest.param("READY", "FAILED", id="ready-failed"),
        pytest.param("FAILED", "LOGGED_MODEL_READY", id="failed-ready"),
    ],
)
def test_invalid_transition_is_400_with_a_stable_code(
    api: TestClient, first: str, then: str
) -> None:
    mid = _create(api)["model_id"]
    assert api.patch(f"{API}/logged-models/{mid}", json={"status": first}).status_code == 200
    before = audit_count(api)
    response = api.patch(f"{API}/logged-models/{mid}", json={"status": then})
    error = assert_error(response, 400, "INVALID_STATUS_TRANSITION")
    assert error["details"]["current"] == first
    assert audit_count(api) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", "/logged-models/m-123", None, id="short"),
        pytest.param("GET", "/logged-models/" + "0" * 32, None, id="run-shaped"),
        pytest.param("GET", "/logged-models/M-" + "0" * 32, None, id="upper"),
        pytest.param("PATCH", f"/logged-models/{MISSING}", {"status": "PENDING"}, id="pending"),
        pytest.param("PATCH", f"/logged-models/{MISSING}", {"status": "DONE"}, id="bad-status"),
        pytest.param("PATCH", f"/logged-models/{MISSING}", {}, id="no-status"),
        pytest.param("POST", "/logged-models", {}, id="no-experiment-no-run"),
        pytest.param("POST", "/logged-models", {"experiment_id": "x"}, id="bad-experiment"),
        pytest.param("POST", "/logged-models", {"experiment_id": 0}, id="int-experiment"),
        pytest.param("POST", "/logged-models", {"source_run_id": "zz"}, id="bad-run"),
        pytest.param("POST", "/logged-models", {"experiment_id": "0", "x": 1}, id="unknown-field"),
        pytest.param(
            "POST",
            f"/logged-models/{MISSING}/metrics",
            {"metrics": [{"key": "a", "value": "1", "timestamp": 1}]},
            id="metric-str-value",
        ),
        pytest.param("POST", "/logged-models/search", {"filter": "name = 1"}, id="bad-filter"),
        pytest.param("POST", "/logged-models/search", {"max_results": 0}, id="max-results"),
        pytest.param(
            "POST", "/logged-models/search", {"order_by": [{"ascending": True}]}, id="order"
        ),
    ],
)
def test_bad_input_is_400_and_writes_nothing(
    api: TestClient, method: str, path: str, body: Any
) -> None:
    before = audit_count(api)
    response = api.request(method, API + path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in {
        "INVALID_PARAMETER_VALUE",
        "INVALID_FILTER",
        "INVALID_STATUS_TRANSITION",
    }
    assert audit_count(api) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", f"/logged-models/{MISSING}", None, id="get"),
        pytest.param("DELETE", f"/logged-models/{MISSING}", None, id="delete"),
        pytest.param("PATCH", f"/logged-models/{MISSING}", {"status": "READY"}, id="finalize"),
        pytest.param("POST", f"/logged-models/{MISSING}/tags", {"tags": {"a": "b"}}, id="tags"),
        pytest.param("GET", f"/logged-models/{MISSING}/artifacts", None, id="list"),
        pytest.param("GET", f"/logged-models/{MISSING}/artifacts/a", None, id="download"),
        pytest.param("POST", "/logged-models", {"experiment_id": "999"}, id="experiment"),
        pytest.param("POST", "/logged-models", {"source_run_id": "a" * 32}, id="run"),
    ],
)
def test_unknown_is_404(api: TestClient, method: str, path: str, body: Any) -> None:
    before = audit_count(api)
    assert_error(api.request(method, API + path, json=body), 404, "RESOURCE_DOES_NOT_EXIST")
    assert audit_count(api) == before


def test_traversal_in_a_file_path_is_refused(api: TestClient) -> None:
    mid = _create(api)["model_id"]
    before = audit_count(api)
    response = api.put(
        f"{API}/logged-models/{mid}/artifacts/a/%2E%2E%2F%2E%2E%2Fetc",
        content=b"x",
        headers={"content-type": "application/octet-stream"},
    )
    assert_error(response, 400, "INVALID_PATH")
    assert audit_count(api) == before
