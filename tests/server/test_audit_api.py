"""Audit events and chain verification over HTTP."""

from __future__ import annotations

from .conftest import TestClient, assert_error

API = "/api/v1"


def test_events_filters_and_cursor(api: TestClient) -> None:
    ids = [api.post(f"{API}/runs", json={}).json()["info"]["run_id"] for _ in range(3)]
    api.post(f"{API}/runs/{ids[0]}/tags", json={"key": "k", "value": "v"})

    page = api.get(f"{API}/audit/events", params={"action": "run.create", "limit": 2}).json()
    assert [e["resource_id"] for e in page["events"]] == [ids[2], ids[1]]
    assert page["next_after_seq"] == page["events"][-1]["seq"]
    rest = api.get(
        f"{API}/audit/events",
        params={"action": "run.create", "limit": 2, "after_seq": page["next_after_seq"]},
    ).json()
    assert [e["resource_id"] for e in rest["events"]] == [ids[0]]
    assert rest["next_after_seq"] is None

    mine = api.get(f"{API}/audit/events", params={"resource_id": ids[0]}).json()["events"]
    assert [e["action"] for e in mine] == ["run.log", "run.create"]
    assert all(e["actor"] == "anonymous" for e in mine)
    by_actor = api.get(f"{API}/audit/events", params={"actor": "nobody"}).json()
    assert by_actor["events"] == []
    first = mine[-1]
    window = api.get(
        f"{API}/audit/events",
        params={"resource_type": "run", "since": first["time"], "until": first["time"] + 1},
    ).json()["events"]
    assert first["seq"] in [e["seq"] for e in window]


def test_verify(api: TestClient) -> None:
    api.post(f"{API}/runs", json={})
    body = api.get(f"{API}/audit/verify").json()
    head = api.get(f"{API}/audit/events").json()["events"][0]["hash"]
    assert body == {
        "ok": True,
        "checked": 1,
        "head_seq": 1,
        "broken_seq": None,
        "reason": "",
        "head_hash": head,
    }


def test_bad_limits(api: TestClient) -> None:
    for params in ({"limit": 0}, {"limit": 10_001}, {"after_seq": -1}, {"since": "yesterday"}):
        assert_error(api.get(f"{API}/audit/events", params=params), 400, "INVALID_PARAMETER_VALUE")
