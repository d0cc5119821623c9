"""The artifact proxy and ``artifacts/list`` on the wire: MLflow's shapes, statuses and errors.

These drive the routes with httpx exactly as MLflow's client and UI call them (reference/
mlflow.md §1.2, §1.4 "Artifact proxy"), against whichever server the suite targets; what only
Clew does (refusing paths outside every run's artifacts, checking the owner exists, digests) is
behind ``clew_only``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

RPC = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


@dataclass(frozen=True)
class Run:
    run_id: str
    root: str  # the run's mlflow-artifacts: URI
    path: str  # the same, as a path under the proxy: "<exp>/<run>/artifacts"


@pytest.fixture
def http(compat_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=compat_server.url, timeout=60) as client:
        yield client


@pytest.fixture
def run(http: httpx.Client) -> Run:
    """A fresh run in a fresh experiment, made through MLflow's own RPCs."""
    name = f"wire-{uuid.uuid4().hex[:10]}"
    created = http.post(RPC + "/experiments/create", json={"name": name})
    assert created.status_code == 200, created.text
    body = {"experiment_id": created.json()["experiment_id"]}
    info = http.post(RPC + "/runs/create", json=body).json()["run"]["info"]
    root = info["artifact_uri"]
    assert root.startswith("mlflow-artifacts:/"), root
    return Run(info["run_id"], root, root.split(":", 1)[1].strip("/"))


def put(http: httpx.Client, path: str, data: bytes, media_type: str) -> httpx.Response:
    return http.put(f"{PROXY}/{path}", content=data, headers={"content-type": media_type})


def proxy_list(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    listed = http.get(PROXY, params={"path": path})
    assert listed.status_code == 200, listed.text
    return sorted(listed.json().get("files", []), key=lambda f: f["path"])


def test_put_get_list_and_delete_through_the_proxy(http: httpx.Client, run: Run) -> None:
    csv, weights = b"a,b\n1,2\n", uuid.uuid4().bytes * 64
    # MLflow's client sends the media type it guesses from the name; any is accepted.
    assert put(http, f"{run.path}/data.csv", csv, "text/csv").status_code == 200
    assert put(http, f"{run.path}/model/w.bin", weights, "application/octet-stream").is_success
    bad_json = b"{not json"
    assert put(http, f"{run.path}/model/meta.json", bad_json, "application/json").is_success

    got = http.get(f"{PROXY}/{run.path}/model/w.bin")
    assert got.status_code == 200
    assert got.content == weights
    assert http.get(f"{PROXY}/{run.path}/model/meta.json").content == bad_json

    assert proxy_list(http, run.path) == [
        {"path": "data.csv", "is_dir": False, "file_size": len(csv)},
        {"path": "model", "is_dir": True},
    ]
    # Names relative to the listed directory, as MLflow's proxy answers.
    assert proxy_list(http, f"{run.path}/model") == [
        {"path": "meta.json", "is_dir": False, "file_size": len(bad_json)},
        {"path": "w.bin", "is_dir": False, "file_size": len(weights)},
    ]

    deleted = http.request("DELETE", f"{PROXY}/{run.path}/model/meta.json")
    assert deleted.status_code == 200, deleted.text
    assert [f["path"] for f in proxy_list(http, f"{run.path}/model")] == ["w.bin"]
    assert http.request("DELETE", f"{PROXY}/{run.path}/model").status_code == 200
    assert [f["path"] for f in proxy_list(http, run.path)] == ["data.csv"]


def test_artifacts_list_answers_paths_from_the_run_root(http: httpx.Client, run: Run) -> None:
    put(http, f"{run.path}/model/MLmodel", b"flavors: {}\n", "application/octet-stream")
    put(http, f"{run.path}/model/sub/x.txt", b"x", "text/plain")
    put(http, f"{run.path}/top.txt", b"top", "text/plain")

    def listed(**query: str) -> dict[str, Any]:
        answer = http.get(RPC + "/artifacts/list", params={"run_id": run.run_id, **query})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        body["files"] = sorted(body.get("files", []), key=lambda f: f["path"])
        return body

    assert listed() == {
        "root_uri": run.root,
        "files": [
            {"path": "model", "is_dir": True},
            {"path": "top.txt", "is_dir": False, "file_size": 3},
        ],
    }
    assert listed(path="model") == {
        "root_uri": run.root,
        "files": [
            {"path": "model/MLmodel", "is_dir": False, "file_size": 12},
            {"path": "model/sub", "is_dir": True},
        ],
    }
    assert listed(path="model/sub")["files"] == [
        {"path": "model/sub/x.txt", "is_dir": False, "file_size": 1}
    ]


def test_artifacts_list_errors_in_mlflows_shape(http: httpx.Client) -> None:
    missing = http.get(RPC + "/artifacts/list")
    assert missing.status_code == 400
    assert missing.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown = http.get(RPC + "/artifacts/list", params={"run_id": uuid.uuid4().hex})
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    "escape",
    [
        pytest.param("a/%2e%2e/%2e%2e/%2e%2e/%2e%2e/escape.txt", id="encoded-dot-dot"),
        pytest.param("..%2f..%2f..%2fescape.txt", id="encoded-slash"),
    ],
)
def test_traversal_out_of_a_run_is_refused(http: httpx.Client, run: Run, escape: str) -> None:
    put(http, f"{run.path}/kept.txt", b"kept", "text/plain")
    # Encoded, since httpx resolves a literal "../" before sending (test_security sends raw
    # payloads); the server decodes each of these to a path that climbs out of the run.
    url = http.base_url.copy_with(raw_path=f"{PROXY}/{run.path}/{escape}".encode())
    answer = http.put(url, content=b"escaped", headers={"content-type": "text/plain"})
    assert 400 <= answer.status_code < 500, answer.text
    if answer.headers.get("content-type", "").startswith("application/json"):
        assert answer.json().get("error_code") in {"INVALID_PARAMETER_VALUE", "BAD_REQUEST"}
    assert proxy_list(http, run.path) == [{"path": "kept.txt", "is_dir": False, "file_size": 4}]


def test_a_chunked_upload_streams_in(http: httpx.Client, run: Run) -> None:
    """A body with no length (as a streaming client sends it) is stored whole."""
    blocks = [uuid.uuid4().bytes * 65536 for _ in range(8)]  # 8 MiB in 1 MiB pieces
    answer = http.put(
        f"{PROXY}/{run.path}/stream.bin",
        content=iter(blocks),
        headers={"content-type": "application/octet-stream"},
    )
    assert answer.status_code == 200, answer.text
    back = hashlib.sha256()
    size = 0
    with http.stream("GET", f"{PROXY}/{run.path}/stream.bin") as got:
        assert got.status_code == 200
        for chunk in got.iter_bytes():
            back.update(chunk)
            size += len(chunk)
    assert (size, back.hexdigest()) == (8 << 20, hashlib.sha256(b"".join(blocks)).hexdigest())


# ---- what Clew adds --------------------------------------------------------------------------


def test_a_download_carries_its_length_and_digest(
    clew_only: Any, http: httpx.Client, run: Run
) -> None:
    data = uuid.uuid4().bytes * 100
    put(http, f"{run.path}/d.bin", data, "application/octet-stream")
    got = http.get(f"{PROXY}/{run.path}/d.bin")
    digest = hashlib.sha256(data).hexdigest()
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["x-clew-digest"] == f"sha256:{digest}"
    assert got.headers["content-type"] == "application/octet-stream"  # never rendered
    native = http.get(f"/api/v1/runs/{run.run_id}/artifacts").json()["files"]
    assert native == [{"path": "d.bin", "is_dir": False, "size": len(data), "digest": digest}]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("PUT", "0/escape.txt", id="put-experiment-level"),
        pytest.param("PUT", "escape.txt", id="put-proxy-root"),
        pytest.param("GET", "0/models/escape.txt", id="get-models-dir"),
        pytest.param("DELETE", "0", id="delete-experiment"),
    ],
)
def test_paths_outside_every_owner_are_refused(
    clew_only: Any, http: httpx.Client, run: Run, method: str, path: str
) -> None:
    """MLflow's proxy serves a folder, so these would touch it; Clew serves its store, and a
    path that names no run's or model's artifacts is refused before anything is read."""
    body = b"x" if method == "PUT" else None
    answer = http.request(method, f"{PROXY}/{path}", content=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    for listing in ("", "0", "0/models"):
        refused = http.get(PROXY, params={"path": listing})
        assert refused.status_code == 400
        assert refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_an_unknown_run_takes_no_files(clew_only: Any, http: httpx.Client, run: Run) -> None:
    experiment = run.path.split("/", 1)[0]
    stray = f"{experiment}/{uuid.uuid4().hex}/artifacts/x.txt"
    answer = put(http, stray, b"x", "text/plain")
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert http.get(f"{PROXY}/{stray}").status_code == 404
