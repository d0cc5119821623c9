"""The security replay's parts (``test_security.py``): the canary outside the store, the
loopback listener that records connections, requests sent byte for byte, and what "refused"
and "safe" mean for an answer.

Request targets with ``..`` go out exactly as written (``http.client``): httpx would
normalise them away before they reach the server.
"""

from __future__ import annotations

import http.client
import secrets
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

RPC = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
UP = "../" * 24  # enough to leave any root on this machine


# ---- the environment: canary, listener, raw requests ---------------------------------------------


@dataclass
class Outside:
    """A directory outside the server's store holding the canary file and a sibling whose name
    no request carries (so a listing of the directory is caught even where an error message
    echoes the requested path)."""

    root: Path
    canary: Path
    secret: bytes
    sibling: str

    def snapshot(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in self.root.rglob("*")
            if p.is_file()
        }


def make_outside(root: Path) -> Outside:
    secret = b"CANARY-" + secrets.token_hex(16).encode()
    canary = root / f"canary-{secrets.token_hex(4)}.txt"
    canary.write_bytes(secret)
    sibling = f"sibling-{secrets.token_hex(6)}"
    (root / sibling).write_bytes(secret)
    return Outside(root, canary, secret, sibling)


class Listener:
    """A loopback TCP listener that records every connection it accepts (and answers none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.connections.append(peer)
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None


def raw(url: str, method: str, target: str, body: bytes | None = None) -> Answer:
    """One request with ``target`` sent exactly as written (no dot-segment normalisation)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.read())
    finally:
        conn.close()


def call(url: str, method: str, rpc: str, fields: dict[str, Any] | None = None) -> Answer:
    """An MLflow RPC: GET fields in the query string, the others as a JSON body."""
    fields = fields or {}
    with httpx.Client(base_url=url, timeout=30) as client:
        if method == "GET":
            response = client.get(RPC + rpc, params=fields)
        else:
            response = client.request(method, RPC + rpc, json=fields)
    return Answer(response.status_code, response.content)


# ---- what a refusal and a safe answer are ------------------------------------------------------


@dataclass
class Target:
    url: str
    kind: str  # "clew" or "mlflow"
    store: Path
    outside: Outside
    listener: Listener
    experiment_id: str
    run_id: str
    run_path: str  # "<exp>/<run>/artifacts", the run's root under the proxy
    model: str

    @property
    def strict(self) -> bool:
        """Refusal is asserted against Clew; against MLflow only the absence of side effects
        (MLflow accepts some of these, e.g. an ``http://`` source, and relies on later checks)."""
        return self.kind == "clew"

    def store_files(self) -> dict[str, int]:
        return {str(p): p.stat().st_size for p in self.store.rglob("*") if p.is_file()}


def assert_safe(target: Target, answer: Answer) -> None:
    assert target.outside.secret not in answer.body, "the canary's bytes were served"
    assert target.outside.sibling.encode() not in answer.body, "the outside directory was listed"
    assert b"root:x:0:0" not in answer.body, "/etc/passwd was served"
    assert target.listener.connections == [], "the server connected to a private address"


def assert_refused(target: Target, answer: Answer) -> None:
    """MLflow's error JSON with a 4xx; a 404 ENDPOINT_NOT_FOUND (no such route) does not count."""
    assert_safe(target, answer)
    if not target.strict:
        return
    assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
    body = answer.json()
    assert isinstance(body, dict) and isinstance(body.get("error_code"), str), answer.body[:300]
    assert body["error_code"] != "ENDPOINT_NOT_FOUND", body
    assert isinstance(body.get("message"), str) and body["message"]


def seed_target(compat_server: Any, outside: Outside, listener: Listener) -> Target:
    """An experiment, a run with one file, and a registered model. On Clew they are made
    through the native API (the same store), so a family's tests fail only when that family's
    MLflow routes are missing; on MLflow through its RPCs."""
    url, kind = compat_server.url, getattr(compat_server, "kind", "clew")
    tag = uuid.uuid4().hex[:8]
    model = f"sec-model-{tag}"
    if kind == "clew":
        with httpx.Client(base_url=url + "/api/v1", timeout=30) as native:
            made = native.post("/experiments", json={"name": f"sec-{tag}"})
            assert made.status_code == 201, made.text
            eid = made.json()["experiment_id"]
            run = native.post("/runs", json={"experiment_id": eid})
            assert run.status_code == 201, run.text
            run_id = run.json()["info"]["run_id"]
            put = native.put(
                f"/runs/{run_id}/artifacts/ok.txt",
                content=b"fine",
                headers={"content-type": "application/octet-stream"},
            )
            assert put.status_code == 200, put.text
            assert native.post("/registered-models", json={"name": model}).status_code == 201
        run_path = f"{eid}/{run_id}/artifacts"
        store = compat_server.home / "artifacts"
    else:
        created = call(url, "POST", "/experiments/create", {"name": f"sec-{tag}"})
        assert created.status == 200, created.body
        eid = created.json()["experiment_id"]
        started = call(url, "POST", "/runs/create", {"experiment_id": eid, "start_time": 0})
        assert started.status == 200, started.body
        info = started.json()["run"]["info"]
        run_id, run_path = info["run_id"], info["artifact_uri"].split(":", 1)[1].strip("/")
        assert raw(url, "PUT", f"{PROXY}/{run_path}/ok.txt", b"fine").status == 200
        assert call(url, "POST", "/registered-models/create", {"name": model}).status == 200
        store = compat_server.artifact_root
    assert any(store.rglob("*")), f"the artifact store is not at {store}"  # no vacuous check
    return Target(url, kind, store, outside, listener, eid, run_id, run_path, model)
