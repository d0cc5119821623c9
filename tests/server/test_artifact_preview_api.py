"""The table preview route over HTTP, and the download headers the UI's own previews rely on:
stored HTML and SVG never render on the server's origin."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import TestClient, assert_error
from .test_artifacts_api import OCTETS, TRAVERSALS, _url, raw_call

API = "/api/v1"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def _put(api: TestClient, run_id: str, path: str, data: bytes) -> None:
    response = api.put(_url(run_id, path), content=data, headers=OCTETS)
    assert response.status_code == 200, response.text


def _preview_url(run_id: str, path: str) -> str:
    return f"{API}/runs/{run_id}/artifacts-preview/{path}"


def test_preview_each_table_format(api: TestClient, run_id: str) -> None:
    _put(api, run_id, "eval/scores.csv", b"model,auc\na,0.9\nb,0.8\nc,0.7\n")
    got = api.get(_preview_url(run_id, "eval/scores.csv"), params={"rows": 2})
    assert got.status_code == 200, got.text
    assert got.json() == {"format": "csv", "columns": ["model", "auc"],
                          "rows": [["a", "0.9"], ["b", "0.8"]], "total_rows": 3,
                          "truncated": True}  # fmt: skip
    sink = io.BytesIO()
    pq.write_table(pa.table({"x": [1.0, float("inf")], "y": ["p", None]}), sink)
    _put(api, run_id, "data.parquet", sink.getvalue())
    body = api.get(_preview_url(run_id, "data.parquet")).json()
    assert body["rows"] == [[1.0, "p"], ["Infinity", None]] and body["total_rows"] == 2
    _put(api, run_id, "rows.jsonl", b'{"a": 1}\n{"a": 2}\n')
    assert api.get(_preview_url(run_id, "rows.jsonl")).json()["rows"] == [[1], [2]]


def test_preview_refusals(api: TestClient, run_id: str) -> None:
    _put(api, run_id, "model.pkl", b"\x80\x04.")
    assert_error(api.get(_preview_url(run_id, "model.pkl")), 400, "PREVIEW_UNSUPPORTED")
    assert_error(api.get(_preview_url(run_id, "absent.csv")), 404, "RESOURCE_DOES_NOT_EXIST")
    _put(api, run_id, "dir/a.csv", b"a\n1\n")
    assert_error(api.get(_preview_url(run_id, "dir")), 400, "INVALID_PARAMETER_VALUE")
    assert api.get(_preview_url(run_id, "dir/a.csv"), params={"rows": 0}).status_code == 400
    assert api.get(_preview_url(run_id, "dir/a.csv"), params={"rows": 1001}).status_code == 400


def test_preview_paths_go_through_the_validator(app: Any, run_id: str) -> None:
    for raw in TRAVERSALS:
        status, body = raw_call(app, "GET", f"{API}/runs/{run_id}/artifacts-preview/{raw}")
        assert status == 400 and b'"INVALID_PATH"' in body and b"root:" not in body, raw


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param("page.html", b"<html><script>alert(1)</script></html>", id="html"),
        pytest.param("pic.svg", SVG, id="svg"),
        pytest.param("notes.txt", b"plain", id="text"),
    ],
)
def test_downloads_never_render_in_the_origin(
    api: TestClient, run_id: str, name: str, data: bytes
) -> None:
    """security.md section 5 item 37: octets, attachment and nosniff, whatever the name says."""
    _put(api, run_id, name, data)
    got = api.get(_url(run_id, name))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
