"""What is specific to the HTTP transport: error rebuilding, retries, streaming, hostile servers.

The SDK suite (``tests/client``) already runs every client method over HTTP; these tests cover
what only HTTP can get wrong. Fake servers are ``httpx.MockTransport`` handlers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from clew.client.http import HttpTransport
from clew.core.errors import (
    BadGateway,
    ClewError,
    Conflict,
    InvalidInput,
    InvalidPath,
    LimitExceeded,
    NotFound,
    ParamOverwrite,
    TemporarilyUnavailable,
)
from clew.core.settings import Settings
from clew.platform import Platform
from clew.server.app import create_app
from clew.tracking.model import Metric
from tests.server.conftest import TestClient

RUN = "ab" * 16


@pytest.fixture
def http(settings: Settings) -> Iterator[HttpTransport]:
    platform = Platform.open(settings, migrate=False)
    with TestClient(create_app(settings, platform)) as client:
        yield HttpTransport("http://testserver", client=client)
    platform.close()


def fake(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> HttpTransport:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpTransport("http://clew.test", client=client, backoff=0.0, **kwargs)


def _error(status: int, code: str, message: str = "m") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


# ---- against the real app ------------------------------------------------------------------------


def test_errors_are_the_local_classes(http: HttpTransport, settings: Settings) -> None:
    run = http.create_run()
    with pytest.raises(NotFound):
        http.get_run("0" * 32)
    with pytest.raises(InvalidInput):
        http.get_run("not-a-run-id")  # refused before any request, as the local transport does
    http.log_batch(run.run_id, params={"lr": "0.1"})
    with pytest.raises(ParamOverwrite) as caught:
        http.log_batch(run.run_id, params=[("lr", "0.2")])
    assert caught.value.details == {"key": "lr"}
    too_many = [Metric("m", 1.0, 1, i) for i in range(settings.max_batch_metrics + 1)]
    with pytest.raises(LimitExceeded):
        http.log_batch(run.run_id, metrics=too_many)
    with pytest.raises(InvalidPath):
        http.log_artifact_stream(run.run_id, "../x", io.BytesIO(b"x"))


def test_non_finite_values_round_trip(http: HttpTransport) -> None:
    run = http.create_run()
    values = [float("nan"), float("inf"), float("-inf"), 1.5, 2]
    http.log_batch(run.run_id, metrics=[Metric("m", v, i, i) for i, v in enumerate(values)])
    history = http.get_metric_history(run.run_id, "m")
    assert math.isnan(history.values[0]) and history.values[1:] == [math.inf, -math.inf, 1.5, 2.0]


def test_param_values_become_text(http: HttpTransport) -> None:
    run = http.create_run()
    http.log_batch(run.run_id, params={"n": 3, "f": 0.5, "b": True})  # type: ignore[dict-item]
    assert http.get_run(run.run_id).data.params == {"n": "3", "f": "0.5", "b": "True"}


def test_artifact_round_trip_from_a_file_and_a_pipe(http: HttpTransport, tmp_path: Path) -> None:
    run = http.create_run()
    local = tmp_path / "model.bin"
    local.write_bytes(b"m" * 3_000_000)
    with local.open("rb") as stream:
        info = http.log_artifact_stream(run.run_id, "model/model.bin", stream)
    assert info.size == 3_000_000

    class Pipe(io.RawIOBase):  # not seekable: goes out chunked, never retried
        def __init__(self) -> None:
            self.left = 5

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            if not self.left:
                return 0
            self.left -= 1
            b[:3] = b"abc"
            return 3

    http.log_artifact_stream(run.run_id, "model/pipe.txt", Pipe())  # type: ignore[arg-type]
    with http.open_artifact(run.run_id, "model/pipe.txt") as chunks:
        assert b"".join(chunks) == b"abc" * 5

    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    uploaded = http.log_artifact_dir(run.run_id, src, "tree")
    assert sorted(f.path for f in uploaded) == ["tree/a.txt", "tree/sub/b.txt"]

    everything = http.download_artifacts(run.run_id, "", tmp_path / "all")
    assert (everything / "model" / "model.bin").read_bytes() == b"m" * 3_000_000
    assert (everything / "tree" / "sub" / "b.txt").read_text() == "b"
    one = http.download_artifacts(run.run_id, "tree/a.txt", tmp_path / "one")
    assert one == (tmp_path / "one" / "tree" / "a.txt").resolve() and one.read_text() == "a"
    sub = http.download_artifacts(run.run_id, "tree/sub", tmp_path / "sub")
    assert (sub / "b.txt").read_text() == "b"
    with pytest.raises(NotFound):
        http.download_artifacts(run.run_id, "missing", tmp_path / "none")


def test_audit_over_http(http: HttpTransport) -> None:
    run = http.create_run()
    events = http.list_audit(resource_id=run.run_id)
    assert [e.action for e in events] == ["run.create"] and events[0].actor == "anonymous"
    assert http.verify_audit().ok


# ---- against fake servers ----------------------------------------------------------------------


def test_retries_503_then_succeeds() -> None:
    calls: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) < 3:
            return _error(503, "TEMPORARILY_UNAVAILABLE")
        return httpx.Response(204)

    fake(handler).log_batch(RUN, metrics=[Metric("m", 1.0, 1, 0)])
    assert len(calls) == 3 and calls[0] == calls[2]
    body = orjson.loads(calls[0])
    assert body["metrics"] == [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}]


def test_gives_up_after_the_retry_budget() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _error(503, "TEMPORARILY_UNAVAILABLE")

    with pytest.raises(TemporarilyUnavailable):
        fake(handler, retries=2).get_run(RUN)
    assert len(calls) == 3


def test_connection_failures() -> None:
    calls = []

    def refused(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TemporarilyUnavailable, match="Cannot reach"):
        fake(refused, retries=2).create_experiment("e")
    assert len(calls) == 3  # never sent: safe to retry even a create

    calls.clear()

    def dropped(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("reset", request=request)

    with pytest.raises(TemporarilyUnavailable):
        fake(dropped, retries=2).create_experiment("e")
    assert calls == ["POST"]  # may have been applied: a create is not repeated
    calls.clear()
    with pytest.raises(TemporarilyUnavailable):
        fake(dropped, retries=2).log_batch(RUN, tags={"a": "b"})
    assert len(calls) == 3  # log_batch is idempotent on the server


def test_upload_retry_rewinds_the_stream() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        if len(bodies) == 1:
            return _error(503, "TEMPORARILY_UNAVAILABLE")
        return httpx.Response(
            200, json={"path": "a.bin", "is_dir": False, "size": 6, "digest": "d"}
        )

    stream = io.BytesIO(b"header" + b"abcdef")
    stream.seek(6)
    info = fake(handler).log_artifact_stream(RUN, "a.bin", stream)
    assert bodies == [b"abcdef", b"abcdef"] and info.size == 6


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, b"<html>nginx</html>", NotFound),
        (502, b"Bad Gateway", BadGateway),
        (500, b"Internal Server Error", ClewError),
        (400, b'{"error": "flat string"}', InvalidInput),
        (409, b'{"error": {"code": "INVALID_STATE", "message": "deleted"}}', Conflict),
    ],
)
def test_non_clew_error_bodies(status: int, body: bytes, expected: type[ClewError]) -> None:
    transport = fake(lambda request: httpx.Response(status, content=body), retries=0)
    with pytest.raises(expected) as caught:
        transport.get_run(RUN)
    assert type(caught.value) is expected


@pytest.mark.parametrize("hostile", ["../../evil", "/etc/cron.d/x", "other/x"])
def test_hostile_listing_never_writes_outside(tmp_path: Path, hostile: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/artifacts"):
            if request.url.params.get("path") == "d":
                return httpx.Response(
                    200,
                    json={"files": [{"path": hostile, "is_dir": False, "size": 1, "digest": "x"}]},
                )
            return httpx.Response(200, json={"files": []})
        return httpx.Response(200, content=b"pwned")

    dest = tmp_path / "dest"
    with pytest.raises((Conflict, InvalidPath)):
        fake(handler).download_artifacts(RUN, "d", dest)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_closes_only_its_own_client() -> None:
    client = httpx.Client()
    HttpTransport("http://x", client=client).close()
    assert not client.is_closed
    own = HttpTransport("http://x")
    own.close()
    assert own._client.is_closed
