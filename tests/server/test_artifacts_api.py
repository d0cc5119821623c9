"""Run artifacts over HTTP: round trips, response headers, and traversal in every encoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio
import orjson
import pytest

from clew.core import schema
from clew.core.settings import Settings
from clew.server.app import create_app

from .conftest import TestClient, assert_error, audit_count, count_rows

API = "/api/v1"
OCTETS = {"content-type": "application/octet-stream"}


def _url(run_id: str, path: str) -> str:
    return f"{API}/runs/{run_id}/artifacts/{quote(path, safe='/')}"


def raw_call(
    app: Any, method: str, raw_path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Call the ASGI app with a request target exactly as given: HTTP clients normalize ``..``
    and drop ``#`` before sending, so traversal payloads must bypass them. The path is decoded
    once, as uvicorn does."""
    all_headers = {"host": "testserver", "content-length": str(len(body)), **(headers or {})}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()],
    }
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await anyio.sleep_forever()  # the client stays connected until the response ends
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _blob_files(settings: Settings) -> list[Path]:
    root = Path(settings.resolved_artifact_root())
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_list_download_delete(api: TestClient, run_id: str) -> None:
    data = b"<html><script>alert(1)</script></html>"
    response = api.put(_url(run_id, "web/page.html"), content=data, headers=OCTETS)
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["path"], info["is_dir"], info["size"]) == ("web/page.html", False, len(data))

    assert api.get(f"{API}/runs/{run_id}/artifacts").json() == {
        "files": [{"path": "web", "is_dir": True, "size": None, "digest": None}]
    }
    listed = api.get(f"{API}/runs/{run_id}/artifacts", params={"path": "web"}).json()
    assert [f["path"] for f in listed["files"]] == ["web/page.html"]

    got = api.get(_url(run_id, "web/page.html"))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["etag"] == f'"{info["digest"]}"'
    assert got.headers["x-clew-digest"] == f"sha256:{info['digest']}"
    assert got.headers["x-content-type-options"] == "nosniff"

    assert api.delete(_url(run_id, "web/page.html")).status_code == 204
    assert_error(api.get(_url(run_id, "web/page.html")), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(api.delete(_url(run_id, "web/page.html")), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    "name", ["dog%step%100%timestamp%100", "a b/ü.txt", "a%41.txt", "x/step:10.png", "100%"]
)
def test_legit_names_round_trip_byte_identical(app: Any, run_id: str, name: str) -> None:
    # Not through TestClient: it percent-decodes the path twice (Starlette 1.10 takes httpx's
    # already-decoded ``url.path`` and unquotes it again), which real servers do not.
    data = name.encode() * 3
    status, body = raw_call(app, "PUT", _url(run_id, name), data, OCTETS)
    assert status == 200, body
    assert orjson.loads(body)["path"] == name
    status, body = raw_call(app, "GET", _url(run_id, name))
    assert (status, body) == (200, data)


def test_dot_segments_are_stored_at_the_canonical_path(
    app: Any, api: TestClient, run_id: str
) -> None:
    status, body = raw_call(app, "PUT", f"{API}/runs/{run_id}/artifacts/a/./b//c.txt", b"x", OCTETS)
    assert status == 200, body
    assert api.get(f"{API}/runs/{run_id}/artifacts", params={"path": "a/b"}).json()["files"] == [
        {
            "path": "a/b/c.txt",
            "is_dir": False,
            "size": 1,
            "digest": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
        }
    ]


TRAVERSALS = [
    "../../../../etc/passwd",
    "a/../../x",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "%252E%252E%252F%252E%252E%252Fetc%252Fpasswd",
    "%25252E%25252E%25252Fx",
    "%2%0952e%2%0952e/%2%0A52e%2%0A52e/x",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "/etc/passwd%00.jpg",
    "file:///proc/version",
    "C:..%5Cx",
    "..%5Cx",
    "%5C%5C127.0.0.1%5Cc$%5Cx",
    "a%23/../../x",
    "a%3F/../x",
    "a;/../x",
    "%EF%BC%8E%EF%BC%8E/x",
]


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_traversal_is_rejected_and_nothing_written(
    app: Any, api: TestClient, run_id: str, settings: Settings, method: str
) -> None:
    """Every encoding in one test per method: an app per case would cost minutes."""
    before = audit_count(api)
    blobs_before = _blob_files(settings)
    body = b"root:x:0:0" if method == "PUT" else b""
    headers = OCTETS if method == "PUT" else {}
    for raw in TRAVERSALS:
        target = f"{API}/runs/{run_id}/artifacts/{raw}"
        status, response = raw_call(app, method, target, body, headers)
        assert status == 400, (raw, response)
        assert b'"INVALID_PATH"' in response and b"root:" not in response, raw
    assert count_rows(api, schema.artifact_files) == 0
    assert audit_count(api) == before
    assert _blob_files(settings) == blobs_before


@pytest.mark.parametrize("path", ["../x", "/etc", "%2E%2E/x", "a#/../x"])
def test_traversal_in_list_query_is_rejected(api: TestClient, run_id: str, path: str) -> None:
    response = api.get(f"{API}/runs/{run_id}/artifacts", params={"path": path})
    assert_error(response, 400, "INVALID_PATH")


def test_upload_needs_octet_stream(api: TestClient, run_id: str) -> None:
    for content_type in ("application/json", "text/plain", "multipart/form-data; boundary=x"):
        response = api.put(
            _url(run_id, "x.bin"), content=b"{}", headers={"content-type": content_type}
        )
        assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert count_rows(api, schema.artifact_files) == 0


def test_upload_to_unknown_or_malformed_run(api: TestClient) -> None:
    response = api.put(_url("0" * 32, "x.bin"), content=b"x", headers=OCTETS)
    assert_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    response = api.put(_url("nope", "x.bin"), content=b"x", headers=OCTETS)
    assert_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_download_of_a_directory_is_400(api: TestClient, run_id: str) -> None:
    api.put(_url(run_id, "d/f.txt"), content=b"x", headers=OCTETS)
    assert_error(api.get(_url(run_id, "d")), 400, "INVALID_PARAMETER_VALUE")


def test_declared_size_over_the_upload_limit_is_refused_unread(
    app: Any, api: TestClient, run_id: str
) -> None:
    headers = {**OCTETS, "content-length": str(Settings().max_artifact_bytes + 1)}
    status, body = raw_call(app, "PUT", _url(run_id, "big.bin"), b"", headers)
    assert status == 413 and b"PAYLOAD_TOO_LARGE" in body


def test_streamed_upload_over_the_limit_is_413_and_writes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"max_artifact_bytes": 1000})
    with TestClient(create_app(settings)) as api:
        run_id = api.post(f"{API}/runs", json={}).json()["info"]["run_id"]
        before = audit_count(api)
        chunks = (b"x" * 300 for _ in range(5))
        response = api.put(_url(run_id, "big.bin"), content=chunks, headers=OCTETS)
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert count_rows(api, schema.artifact_files) == 0 and audit_count(api) == before
        ok = api.put(_url(run_id, "small.bin"), content=b"x" * 1000, headers=OCTETS)
        assert ok.status_code == 200


def test_streamed_upload_in_many_chunks(api: TestClient, run_id: str) -> None:
    chunks = [bytes([i]) * 70_000 for i in range(40)]
    response = api.put(_url(run_id, "model.bin"), content=iter(chunks), headers=OCTETS)
    assert response.status_code == 200, response.text
    assert response.json()["size"] == 40 * 70_000
    assert api.get(_url(run_id, "model.bin")).content == b"".join(chunks)
