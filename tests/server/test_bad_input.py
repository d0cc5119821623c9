"""Bad input gets a clear error with a stable code, and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clew.core import schema
from clew.core.settings import Settings
from clew.server.app import create_app

from .conftest import TestClient, assert_error, audit_count, count_rows

API = "/api/v1"
MISSING_RUN = "0" * 32


def _batch(api: TestClient, run_id: str, body: object) -> Any:
    return api.post(f"{API}/runs/{run_id}/batch", json=body)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{", id="truncated"),
        pytest.param(b"not json", id="garbage"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"metrics"', id="string"),
    ],
)
def test_malformed_json_is_400(api: TestClient, run_id: str, raw: bytes) -> None:
    before = audit_count(api)
    response = api.post(
        f"{API}/runs/{run_id}/batch", content=raw, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "INVALID_PARAMETER_VALUE")
    assert audit_count(api) == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"metrics": [{"key": "m", "value": "1.5", "timestamp": 1}]}, id="str-value"),
        pytest.param({"metrics": [{"key": "m", "value": True, "timestamp": 1}]}, id="bool-value"),
        pytest.param({"metrics": [{"key": "m", "value": 1.0}]}, id="missing-timestamp"),
        pytest.param({"metrics": [{"key": "m", "value": 1.0, "timestamp": "1"}]}, id="str-ts"),
        pytest.param({"metrics": [{"key": "m", "value": 10**400, "timestamp": 1}]}, id="huge"),
        pytest.param({"metrics": [{"value": 1.0, "timestamp": 1}]}, id="missing-key"),
        pytest.param({"metrics": {"key": "m"}}, id="metrics-not-list"),
        pytest.param({"params": [{"key": "p", "value": 1}]}, id="param-not-str"),
        pytest.param({"tags": [["k", "v"]]}, id="tag-as-pair"),
        pytest.param({"metrics": [], "surprise": 1}, id="unknown-field"),
        pytest.param({"metrics": [{"key": "m", "value": 1.0, "timestamp": 2**63}]}, id="ts-int64"),
    ],
)
def test_wrong_types_are_400_and_write_nothing(
    api: TestClient, run_id: str, body: dict[str, object]
) -> None:
    before = audit_count(api)
    error = assert_error(_batch(api, run_id, body), 400, "INVALID_PARAMETER_VALUE")
    assert "input_value" not in error["message"]
    assert count_rows(api, schema.metrics) == 0 and audit_count(api) == before


def test_validation_errors_do_not_echo_input(api: TestClient, run_id: str) -> None:
    payload = "<script>alert(1)</script>" * 100
    response = _batch(api, run_id, {"metrics": [{"key": "m", "value": payload, "timestamp": 1}]})
    assert "<script>" not in response.text and len(response.text) < 2000


def test_oversized_batch_is_limit_exceeded_and_writes_nothing(
    api: TestClient, run_id: str, settings: Settings
) -> None:
    before = audit_count(api)
    n = settings.max_batch_metrics + 1
    metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": i} for i in range(n)]
    error = assert_error(_batch(api, run_id, {"metrics": metrics}), 400, "LIMIT_EXCEEDED")
    assert error["details"]["limit"] == settings.max_batch_metrics
    assert count_rows(api, schema.metrics) == 0
    assert audit_count(api) == before


def test_overlong_key_is_limit_exceeded(api: TestClient, run_id: str) -> None:
    body = {"params": [{"key": "k" * 251, "value": "v"}]}
    assert_error(_batch(api, run_id, body), 400, "LIMIT_EXCEEDED")
    response = api.post(f"{API}/experiments", json={"name": "x" * 1_000_000})
    assert_error(response, 400, "LIMIT_EXCEEDED")
    assert len(response.text) < 2000


def test_param_overwrite_rejects_the_whole_batch(api: TestClient, run_id: str) -> None:
    assert _batch(api, run_id, {"params": [{"key": "lr", "value": "0.1"}]}).status_code == 204
    before = audit_count(api)
    body = {
        "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}],
        "params": [{"key": "new", "value": "1"}, {"key": "lr", "value": "0.2"}],
        "tags": [{"key": "t", "value": "v"}],
    }
    assert_error(_batch(api, run_id, body), 400, "PARAM_OVERWRITE")
    run = api.get(f"{API}/runs/{run_id}").json()
    assert run["data"]["params"] == {"lr": "0.1"}
    assert "t" not in run["data"]["tags"] and run["data"]["metrics"] == []
    assert audit_count(api) == before


def test_unknown_run_is_404(api: TestClient) -> None:
    assert_error(api.get(f"{API}/runs/{MISSING_RUN}"), 404, "RESOURCE_DOES_NOT_EXIST")
    body = {"metrics": [{"key": "m", "value": 1.0, "timestamp": 1}]}
    assert_error(_batch(api, MISSING_RUN, body), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(api.get(f"{API}/experiments/424242"), 404, "RESOURCE_DOES_NOT_EXIST")
    response = api.get(f"{API}/experiments/by-name", params={"name": "nope"})
    assert_error(response, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    "bad", ["abc", "0" * 31, "0" * 33, "G" * 32, "A" * 32, "%2E%2E", "1;DROP TABLE x"]
)
def test_malformed_run_id_is_400(api: TestClient, bad: str) -> None:
    assert_error(api.get(f"{API}/runs/{bad}"), 400, "INVALID_PARAMETER_VALUE")


def test_malformed_experiment_id_is_400(api: TestClient) -> None:
    assert_error(api.get(f"{API}/experiments/-1"), 400, "INVALID_PARAMETER_VALUE")
    assert_error(api.get(f"{API}/experiments/{'9' * 40}"), 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "filter_string",
    [
        pytest.param("params.x = '1' OR 1=1 --", id="or-1-eq-1"),
        pytest.param("params.x = '1'; DROP TABLE executions", id="stacked"),
        pytest.param("params.x = '1", id="unbalanced-quote"),
        pytest.param("bogus.x = '1'", id="unknown-entity"),
        pytest.param("metrics.m > 'a' UNION SELECT * FROM audit_events", id="union"),
        pytest.param("params.x = '1' /* comment */", id="comment"),
    ],
)
def test_hostile_filters_are_invalid_filter(api: TestClient, filter_string: str) -> None:
    response = api.post(f"{API}/runs/search", json={"filter": filter_string})
    assert_error(response, 400, "INVALID_FILTER")
    response = api.post(f"{API}/experiments/search", json={"filter": filter_string})
    assert response.status_code == 400
    assert count_rows(api, schema.executions) == 0  # the table is still there


def test_forged_page_token_and_huge_page_size(api: TestClient) -> None:
    response = api.post(f"{API}/runs/search", json={"page_token": "forged"})
    assert_error(response, 400, "INVALID_PAGE_TOKEN")
    response = api.post(f"{API}/runs/search", json={"max_results": 10**9})
    assert response.status_code == 400


def test_body_over_the_limit_is_413(clew_home: object, database_url: str) -> None:
    settings = Settings(database_url=database_url, max_body_bytes=1024, allowed_hosts="testserver")
    with TestClient(create_app(settings)) as api:
        run_id = api.post(f"{API}/runs", json={}).json()["info"]["run_id"]
        before = audit_count(api)
        big = {"tags": [{"key": "k", "value": "v" * 2000}]}
        assert_error(_batch(api, run_id, big), 413, "PAYLOAD_TOO_LARGE")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"tags": [{"key": "k", "value": "'
            for _ in range(10):
                yield b"v" * 200
            yield b'"}]}'

        response = api.post(
            f"{API}/runs/{run_id}/batch",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert audit_count(api) == before
        assert api.get(f"{API}/runs/{run_id}").json()["data"]["tags"].get("k") is None


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/html<script>x</script>",
        "application/jsonx",
    ],
)
def test_json_routes_refuse_other_content_types(
    api: TestClient, run_id: str, content_type: str | None
) -> None:
    before = audit_count(api)
    headers = {"content-type": content_type} if content_type else {}
    body = b'{"tags": [{"key": "k", "value": "v"}]}'
    response = api.post(f"{API}/runs/{run_id}/batch", content=body, headers=headers)
    error = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "<script>" not in response.text and "script" not in error["message"]
    assert audit_count(api) == before


def test_json_with_charset_is_fine(api: TestClient, run_id: str) -> None:
    response = api.post(
        f"{API}/runs/{run_id}/tags",
        content=b'{"key": "k", "value": "v"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 204


def test_bodyless_posts_need_no_content_type(api: TestClient, run_id: str) -> None:
    api.delete(f"{API}/runs/{run_id}")
    assert api.post(f"{API}/runs/{run_id}/restore").status_code == 204


def test_logging_to_a_deleted_run_is_a_conflict(api: TestClient, run_id: str) -> None:
    api.delete(f"{API}/runs/{run_id}")
    response = api.post(f"{API}/runs/{run_id}/tags", json={"key": "k", "value": "v"})
    assert_error(response, 409, "INVALID_STATE")


def test_duplicate_experiment_is_409(api: TestClient) -> None:
    api.post(f"{API}/experiments", json={"name": "dup"})
    assert_error(
        api.post(f"{API}/experiments", json={"name": "dup"}), 409, "RESOURCE_ALREADY_EXISTS"
    )
