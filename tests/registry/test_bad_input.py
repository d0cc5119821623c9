"""Bad input to the registry API: a stable code and status, and nothing written.

Payloads are security.md §5 items 11, 12, 14, 15, 16 and 18 (MLflow's source and name CVEs).
"""

from __future__ import annotations

from typing import Any

import pytest

from clew.core import schema
from tests.server.conftest import (  # noqa: F401  (fixtures)
    TestClient,
    api,
    app,
    assert_error,
    audit_count,
    count_rows,
    run_id,
)

API = "/api/v1"
M = f"{API}/registered-models"


@pytest.fixture
def model(api: TestClient) -> str:  # noqa: F811
    response = api.post(M, json={"name": "churn"})
    assert response.status_code == 201, response.text
    response = api.post(f"{M}/churn/versions", json={"source": "s3://bucket/churn/1"})
    assert response.status_code == 201, response.text
    return "churn"


BAD_SOURCES = [
    pytest.param("file:///etc/", id="file-etc"),
    pytest.param("file:///etc/passwd", id="file-etc-passwd"),
    pytest.param("//proc/self/root", id="empty-scheme-proc"),
    pytest.param("file://./etc", id="file-dot-host"),
    pytest.param("file://somehost/etc", id="file-remote-host"),
    pytest.param("/etc", id="bare-absolute"),
    pytest.param("etc/passwd", id="bare-relative"),
    pytest.param("dbfs:/R/artifacts/a%3f/../../..", id="dbfs-encoded-query"),
    pytest.param("mlflow-artifacts://h/models/../../../", id="remote-traversal"),
    pytest.param("s3://b/x/../../y", id="s3-traversal"),
    pytest.param("s3://b/..%2f..%2fetc", id="encoded-traversal"),
    pytest.param("s3://b/%252e%252e/etc", id="double-encoded-traversal"),
    pytest.param("s3://b/%2%0952e%2%0952e/etc", id="tab-split-escape"),
    pytest.param("https://h/a%00", id="encoded-nul"),
    pytest.param("https://h/a?x=/../../etc", id="query"),
    pytest.param("https://h/a#/../../etc", id="fragment"),
    pytest.param("https://h/;..%2F..%2Fetc", id="params"),
    pytest.param("https://h\\..\\etc", id="backslash"),
    pytest.param("https://user:pw@h/m", id="credentials"),
    pytest.param("https:///etc", id="no-host"),
    pytest.param("http://h/m", id="plain-http"),
    pytest.param("https://127.0.0.1/m", id="loopback"),
    pytest.param("https://127.1/m", id="short-loopback"),
    pytest.param("https://0x7f000001/m", id="hex-loopback"),
    pytest.param("https://2130706433/m", id="integer-loopback"),
    pytest.param("https://169.254.169.254/latest/meta-data/", id="metadata-address"),
    pytest.param("https://metadata.google.internal/computeMetadata/v1/", id="metadata-name"),
    pytest.param("https://localhost:8443/m", id="localhost"),
    pytest.param("https://10.1.2.3/m", id="private"),
    pytest.param("ftp://h/m", id="ftp"),
    pytest.param("gopher://h/m", id="gopher"),
    pytest.param("jar:file:///x!/y", id="jar"),
    pytest.param("data:text/plain,hi", id="data"),
    pytest.param("runs:/" + "a" * 32 + "/../other", id="run-traversal"),
    pytest.param("runs:/" + "a" * 32 + "/%2e%2e/other", id="run-encoded-traversal"),
    pytest.param("models:/m-123", id="bad-logged-model-id"),
    pytest.param("models:/churn/1", id="registry-indirection"),
    pytest.param("s3://b/\u2025/etc", id="nfkc-two-dot-leader"),
]


@pytest.mark.parametrize("source", BAD_SOURCES)
def test_bad_sources_are_400_invalid_source(
    api: TestClient,  # noqa: F811
    model: str,
    source: str,
) -> None:
    before = audit_count(api)
    versions = count_rows(api, schema.model_versions)
    response = api.post(f"{M}/{model}/versions", json={"source": source})
    error = assert_error(response, 400, "INVALID_SOURCE")
    assert source not in error["message"]
    assert audit_count(api) == before and count_rows(api, schema.model_versions) == versions


def test_a_user_tag_does_not_switch_validation_off(api: TestClient, model: str) -> None:  # noqa: F811
    body = {"source": "/etc", "tags": {"mlflow.prompt.is_prompt": "true"}}
    assert_error(api.post(f"{M}/{model}/versions", json=body), 400, "INVALID_SOURCE")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a/b", id="slash"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("..", id="dotdot"),
        pytest.param("../../../../etc", id="traversal"),
        pytest.param("/etc", id="absolute"),
        pytest.param("m%6fdel", id="percent-escape"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\u202eb", id="bidi"),
        pytest.param(".", id="dot"),
        pytest.param("   ", id="blank"),
        pytest.param("a\uff0e\uff0eb", id="fullwidth-dots"),
    ],
)
def test_bad_names_are_400_and_write_nothing(api: TestClient, name: str) -> None:  # noqa: F811
    before = audit_count(api)
    assert_error(api.post(M, json={"name": name}), 400, "INVALID_MODEL_NAME")
    assert audit_count(api) == before and count_rows(api, schema.registered_models) == 0


def test_long_name_is_limit_exceeded(api: TestClient) -> None:  # noqa: F811
    assert_error(api.post(M, json={"name": "x" * 10_000}), 400, "LIMIT_EXCEEDED")
    assert count_rows(api, schema.registered_models) == 0


def test_rename_to_a_bad_name(api: TestClient, model: str) -> None:  # noqa: F811
    before = audit_count(api)
    response = api.post(f"{M}/{model}/rename", json={"new_name": "a/b"})
    assert_error(response, 400, "INVALID_MODEL_NAME")
    assert audit_count(api) == before


def test_encoded_slash_in_a_path_never_reaches_a_model(api: TestClient) -> None:  # noqa: F811
    api.post(M, json={"name": "etc"})
    response = api.get(f"{M}/..%2Fetc")
    assert response.status_code in (400, 404)
    assert "etc" not in response.json().get("name", "")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", "/registered-models/nope", None, id="get-model"),
        pytest.param("PATCH", "/registered-models/nope", {"description": "d"}, id="update-model"),
        pytest.param("DELETE", "/registered-models/nope", None, id="delete-model"),
        pytest.param("POST", "/registered-models/nope/versions", {"source": "s3://b/k"}, id="new"),
        pytest.param("GET", "/registered-models/churn/versions/9", None, id="get-version"),
        pytest.param("DELETE", "/registered-models/churn/versions/9", None, id="delete-version"),
        pytest.param("PUT", "/registered-models/churn/aliases/a", {"version": 9}, id="alias-to-9"),
        pytest.param("GET", "/registered-models/churn/aliases/none", None, id="get-alias"),
        pytest.param("DELETE", "/registered-models/churn/aliases/none", None, id="delete-alias"),
        pytest.param(
            "POST", "/registered-models/churn/versions/9/stage", {"stage": "Staging"}, id="stage"
        ),
        pytest.param("DELETE", "/registered-models/churn/tags?key=x", None, id="model-tag"),
        pytest.param(
            "DELETE", "/registered-models/churn/versions/1/tags?key=x", None, id="version-tag"
        ),
        pytest.param("GET", "/model-versions/resolve?uri=models:/churn@none", None, id="resolve"),
    ],
)
def test_unknown_things_are_404_and_write_nothing(
    api: TestClient,  # noqa: F811
    model: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    before = audit_count(api)
    response = api.request(method, API + path, json=body)
    assert_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    assert audit_count(api) == before


def test_duplicate_model_is_409_and_writes_nothing(api: TestClient, model: str) -> None:  # noqa: F811
    before = audit_count(api)
    assert_error(api.post(M, json={"name": model}), 409, "RESOURCE_ALREADY_EXISTS")
    assert audit_count(api) == before


def test_unknown_run_is_404(api: TestClient, model: str) -> None:  # noqa: F811
    body = {"source": f"runs:/{'0' * 32}/model"}
    assert_error(api.post(f"{M}/{model}/versions", json=body), 404, "RESOURCE_DOES_NOT_EXIST")


def test_empty_run_path_is_invalid_source(api: TestClient, model: str, run_id: str) -> None:  # noqa: F811
    body = {"source": f"runs:/{run_id}/model"}
    assert_error(api.post(f"{M}/{model}/versions", json=body), 400, "INVALID_SOURCE")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        pytest.param("/aliases/latest", {"version": 1}, "INVALID_MODEL_NAME", id="alias-latest"),
        pytest.param("/aliases/v2", {"version": 1}, "INVALID_MODEL_NAME", id="alias-versionish"),
        pytest.param("/aliases/a.b", {"version": 1}, "INVALID_MODEL_NAME", id="alias-dot"),
        pytest.param("/aliases/ok", {"version": "x"}, "INVALID_PARAMETER_VALUE", id="version"),
        pytest.param("/aliases/ok", {"version": 0}, "INVALID_PARAMETER_VALUE", id="version-0"),
        pytest.param("/aliases/ok", {}, "INVALID_PARAMETER_VALUE", id="missing-version"),
    ],
)
def test_bad_alias_requests(
    api: TestClient,  # noqa: F811
    model: str,
    path: str,
    body: Any,
    code: str,
) -> None:
    before = audit_count(api)
    assert_error(api.put(f"{M}/{model}{path}", json=body), 400, code)
    assert audit_count(api) == before and count_rows(api, schema.model_aliases) == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"stage": "Prod"}, id="unknown-stage"),
        pytest.param({"stage": "Archived", "archive_existing_versions": True}, id="archive-arch"),
        pytest.param({"stage": "Staging", "archive_existing_versions": "yes"}, id="not-bool"),
    ],
)
def test_bad_stage_requests(api: TestClient, model: str, body: Any) -> None:  # noqa: F811
    before = audit_count(api)
    response = api.post(f"{M}/{model}/versions/1/stage", json=body)
    assert_error(response, 400, "INVALID_PARAMETER_VALUE")
    assert audit_count(api) == before


def test_bad_search_is_invalid_filter(api: TestClient) -> None:  # noqa: F811
    response = api.post(f"{API}/model-versions/search", json={"filter": "name = 'a' OR"})
    assert_error(response, 400, "INVALID_FILTER")
    response = api.post(f"{M}/search", json={"filter": "", "page_token": "garbage"})
    assert_error(response, 400, "INVALID_PAGE_TOKEN")
