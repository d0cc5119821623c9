"""The webhooks REST API in-process: shapes, cursors, errors, and the SSRF refusals over HTTP."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from clew.core import schema
from clew.core.settings import Settings
from clew.platform import Platform
from clew.registry.webhooks import enqueue, verify_signature
from clew.server.app import create_app

from .conftest import Receiver

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

BASE = "/api/v1/webhooks"


@contextmanager
def _client(settings: Settings) -> Iterator[TestClient]:
    platform = Platform.open(settings, migrate=False)
    try:
        with TestClient(create_app(settings, platform)) as client:
            yield client
    finally:
        platform.close()


@pytest.fixture
def api(open_settings: Settings) -> Iterator[TestClient]:
    with _client(open_settings.model_copy(update={"webhook_dispatcher": False})) as client:
        yield client


@pytest.fixture
def closed_api(settings: Settings) -> Iterator[TestClient]:
    with _client(settings.model_copy(update={"webhook_dispatcher": False})) as client:
        yield client


def _rows(api: TestClient, table: Any) -> int:
    platform = api.app.state.platform  # type: ignore[attr-defined]
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def _create(api: TestClient, url: str, **extra: Any) -> dict[str, Any]:
    response = api.post(BASE, json={"url": url, "events": ["alias.set"], **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_read_update_delete(api: TestClient, receiver: Receiver) -> None:
    created = _create(api, receiver.url, model_name="churn", description="to CI")
    hook, secret = created["webhook"], created["secret"]
    assert secret.startswith("whsec_")
    assert hook["events"] == ["alias.set"] and hook["model_name"] == "churn"
    assert hook["created_by"] == "anonymous" and hook["active"] is True
    got = api.get(f"{BASE}/{hook['id']}").json()
    assert got == hook and "secret" not in got
    patched = api.patch(f"{BASE}/{hook['id']}", json={"active": False, "model_name": None})
    assert patched.status_code == 200
    assert patched.json()["active"] is False and patched.json()["model_name"] is None
    assert patched.json()["description"] == "to CI"  # absent fields stay
    assert api.delete(f"{BASE}/{hook['id']}").status_code == 204
    _error(api.get(f"{BASE}/{hook['id']}"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_list_pages_with_next(api: TestClient, receiver: Receiver) -> None:
    ids = [_create(api, receiver.url)["webhook"]["id"] for _ in range(3)]
    first = api.get(BASE, params={"limit": 2}).json()
    assert [h["id"] for h in first["webhooks"]] == ids[:2] and first["next"] == ids[1]
    rest = api.get(BASE, params={"limit": 2, "after": first["next"]}).json()
    assert [h["id"] for h in rest["webhooks"]] == ids[2:] and rest["next"] is None
    assert all("secret" not in h for h in first["webhooks"])


def test_test_ping_and_the_delivery_log(api: TestClient, receiver: Receiver) -> None:
    created = _create(api, receiver.url)
    hook_id = created["webhook"]["id"]
    ping = api.post(f"{BASE}/{hook_id}/test")
    assert ping.status_code == 200, ping.text
    assert ping.json()["status"] == "delivered" and ping.json()["last_status_code"] == 204
    [request] = receiver.requests
    assert verify_signature(created["secret"], request.headers["X-Clew-Signature"], request.body)
    platform = api.app.state.platform  # type: ignore[attr-defined]
    with platform.db.write() as conn:
        enqueue(conn, "alias.set", {"name": "m", "alias": "champion", "version": 2})
    log = api.get(f"{BASE}/{hook_id}/deliveries").json()
    assert [d["status"] for d in log["deliveries"]] == ["pending", "delivered"]
    assert log["next"] is None
    pending = api.get(f"{BASE}/{hook_id}/deliveries", params={"status": "pending"}).json()
    assert [d["event_type"] for d in pending["deliveries"]] == ["alias.set"]
    page = api.get(f"{BASE}/{hook_id}/deliveries", params={"limit": 1}).json()
    older = api.get(f"{BASE}/{hook_id}/deliveries", params={"before": page["next"]}).json()
    assert [d["event_type"] for d in older["deliveries"]] == ["ping"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"events": ["alias.set"]}, "INVALID_PARAMETER_VALUE", id="no-url"),
        pytest.param({"url": "U", "events": []}, "INVALID_PARAMETER_VALUE", id="no-events"),
        pytest.param({"url": "U", "events": ["nope"]}, "INVALID_PARAMETER_VALUE", id="bad-event"),
        pytest.param({"url": "U", "events": ["ping"]}, "INVALID_PARAMETER_VALUE", id="ping"),
        pytest.param(
            {"url": "U", "events": ["alias.set"], "secret": "x"},
            "INVALID_PARAMETER_VALUE",
            id="client-chosen-secret",
        ),
        pytest.param(
            {"url": "U", "events": ["alias.set"], "active": "yes"},
            "INVALID_PARAMETER_VALUE",
            id="active-not-bool",
        ),
        pytest.param(
            {"url": "U", "events": ["alias.set"], "description": "d" * 1001},
            "LIMIT_EXCEEDED",
            id="long-description",
        ),
        pytest.param({"url": "ftp://x/", "events": ["alias.set"]}, "URL_NOT_ALLOWED", id="ftp"),
    ],
)
def test_bad_requests_write_nothing(
    api: TestClient, receiver: Receiver, body: dict[str, Any], code: str
) -> None:
    if body.get("url") == "U":
        body = {**body, "url": receiver.url}
    _error(api.post(BASE, json=body), 400, code)
    assert _rows(api, schema.webhooks) == 0 and _rows(api, schema.audit_events) == 0


def test_bad_ids_and_cursors_are_refused(api: TestClient) -> None:
    assert api.get(f"{BASE}/not-an-id").status_code == 400
    assert api.get(BASE, params={"after": "x"}).status_code == 400
    assert api.get(BASE, params={"limit": 0}).status_code == 400
    _error(api.post(f"{BASE}/{'0' * 32}/test"), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://0251.0376.0251.0376/",
        "http://127.0.0.1:5432/",
        "http://0x7f000001/",
        "http://localhost:5000/api/v1/runs",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://user@example.com/",
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the HTTP layer's job
def test_ssrf_targets_are_refused_when_private_is_closed(closed_api: TestClient, url: str) -> None:
    response = closed_api.post(BASE, json={"url": url, "events": ["alias.set"]})
    _error(response, 400, "URL_NOT_ALLOWED")
    assert url not in response.text  # the message does not reflect the URL
    assert _rows(closed_api, schema.webhooks) == 0


def test_an_update_to_a_refused_url_changes_nothing(
    open_settings: Settings, receiver: Receiver
) -> None:
    """Created while open; once closed, moving it to another private URL is refused too."""
    settings = open_settings.model_copy(update={"webhook_dispatcher": False})
    with _client(settings) as client:
        hook_id = _create(client, receiver.url)["webhook"]["id"]
    closed = settings.model_copy(update={"webhook_allow_private": False})
    with _client(closed) as client:
        _error(
            client.patch(f"{BASE}/{hook_id}", json={"url": "http://169.254.169.254/"}),
            400,
            "URL_NOT_ALLOWED",
        )
        assert client.get(f"{BASE}/{hook_id}").json()["url"] == receiver.url


def test_the_server_lifespan_runs_the_dispatcher(
    open_settings: Settings, receiver: Receiver
) -> None:
    settings = open_settings.model_copy(update={"webhook_poll_interval_s": 0.02})
    platform = Platform.open(settings, migrate=False)
    try:
        with TestClient(create_app(settings, platform)) as client:
            assert platform.webhooks.dispatcher.running
            _create(client, receiver.url)
            with platform.db.write() as conn:
                enqueue(conn, "alias.set", {"name": "m"})
            deadline = time.monotonic() + 10
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(receiver.requests) == 1
        assert not platform.webhooks.dispatcher.running
    finally:
        platform.close()
