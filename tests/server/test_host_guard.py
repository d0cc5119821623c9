"""DNS rebinding (security.md §1f): a server on loopback answers only requests whose Host names
it, so a page whose own name resolves to 127.0.0.1 cannot drive it from a browser."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from clew.core.settings import Settings
from clew.server.middleware import host_name

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient


def _client(tmp_path: Path, **settings: object) -> TestClient:
    from clew.server.app import create_app

    return TestClient(create_app(Settings(home=tmp_path, **settings)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:5000", "127.0.0.1"), ("[::1]:5000", "[::1]"), ("LocalHost", "localhost"),
     ("clew.corp:443", "clew.corp"), ("::1", "::1")],
)  # fmt: skip
def test_host_names_are_read_without_their_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_a_loopback_server_refuses_other_host_names(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        for host in ("127.0.0.1:5000", "localhost:5000", "[::1]:5000"):
            assert client.get("/health", headers={"host": host}).status_code == 200, host
        for host in ("evil.example", "evil.example:5000", "127.0.0.1.evil.example", ""):
            refused = client.get("/api/v1/experiments/search", headers={"host": host})
            assert refused.status_code == 400, host
            assert refused.json()["error"]["code"] == "HOST_NOT_ALLOWED"
        mlflow = client.post("/api/2.0/mlflow/experiments/create", json={"name": "x"},
                             headers={"host": "evil.example"})  # fmt: skip
        assert (
            mlflow.status_code == 400 and mlflow.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        )
        assert client.get("/api/2.0/mlflow/experiments/search", params={"max_results": 10},
                          headers={"host": "localhost"}).json().get("experiments") is not None  # fmt: skip


def test_listed_names_are_answered_and_a_public_server_answers_any(tmp_path: Path) -> None:
    with _client(tmp_path / "a", allowed_hosts="clew.corp, mlflow.corp") as client:
        assert client.get("/health", headers={"host": "clew.corp"}).status_code == 200
        assert client.get("/health", headers={"host": "evil.example"}).status_code == 400
    with _client(tmp_path / "b", host="0.0.0.0", auth=True) as client:
        assert client.get("/health", headers={"host": "anything.example"}).status_code == 200
