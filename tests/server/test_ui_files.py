"""The UI's files next to the APIs: the app for any page path, hashed assets cached for good,
and nothing of the API ever answered by the UI."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from clew.core.settings import Settings
from clew.server import ui
from clew.server.ui import is_ui_path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = tmp_path / "ui_dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><script src="/assets/app-1a2b.js"></script>')
    (root / "assets" / "app-1a2b.js").write_text("console.log('clew');" * 200)
    return root


@pytest.fixture
def client(built: Path, tmp_path: Path) -> TestClient:
    from clew.server.app import create_app

    settings = Settings(home=tmp_path / "home", allowed_hosts="testserver", ui_dir=built)
    return TestClient(create_app(settings))


def test_a_page_path_gets_the_app_with_a_strict_policy(client: TestClient) -> None:
    for path in ("/", "/experiments/1", "/runs/abc", "/lineage?node=x"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.text.startswith("<!doctype html>")
        assert response.headers["cache-control"] == "no-cache"
        policy = response.headers.get_list("content-security-policy")
        assert ui.UI_CSP in policy and "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in ui.UI_CSP and "unsafe-eval" not in ui.UI_CSP


def test_hashed_assets_are_cached_for_good_and_gzipped(client: TestClient) -> None:
    response = client.get("/assets/app-1a2b.js", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"].endswith("immutable")
    assert response.text.startswith("console.log")  # httpx decodes it
    assert response.headers["content-type"].startswith("text/javascript")
    assert client.head("/assets/app-1a2b.js").content == b""


def test_a_missing_asset_is_a_404_not_the_app(client: TestClient) -> None:
    assert client.get("/assets/gone-9z9z.js").status_code == 404


def test_the_ui_never_answers_for_the_api(client: TestClient) -> None:
    assert client.get("/api/v1/runs").status_code == 405  # POST-only: the API's own answer
    assert client.get("/api/v1/no-such-thing").json()["error"]["code"]
    assert client.get("/api/2.0/mlflow/no-such-thing").status_code == 404
    assert client.get("/health").json()["status"] == "ok"
    assert client.post("/experiments", json={}).status_code in (404, 405)


def test_files_outside_the_build_are_not_served(client: TestClient, built: Path) -> None:
    (built.parent / "secret.txt").write_text("not yours")
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
        assert "not yours" not in client.get(path).text


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/", True), ("/runs/x", True), ("/api/v1/runs", False), ("/ajax-api/2.0/x", False),
     ("/health", False), ("/metrics", False), ("/invocations", False), ("/api", False)],
)  # fmt: skip
def test_which_paths_are_the_uis(path: str, expected: bool) -> None:
    assert is_ui_path(path) is expected


def test_without_a_build_the_root_says_how_to_build_it(tmp_path: Path) -> None:
    from clew.server.app import create_app

    settings = Settings(home=tmp_path / "home", allowed_hosts="testserver", ui_dir=tmp_path / "x")
    client = TestClient(create_app(settings))
    assert "make ui" in client.get("/").text
