"""The job API over HTTP, with the worker that ``clew server`` runs: register, submit, watch a
job end, cancel, resume, schedules; and bad requests refused with stable codes."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from clew.core.settings import Settings
from clew.pipelines import serialize
from tests.pipelines import job_steps

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

API = "/api/v1"


@pytest.fixture
def http(settings: Settings) -> Iterator[TestClient]:
    from clew.server.app import create_app

    served = settings.model_copy(update={
        "pipeline_modules": "tests.pipelines.job_steps",
        "pipeline_lease_s": 0.6,
        "pipeline_poll_interval_s": 0.05,
    })  # fmt: skip
    with TestClient(create_app(served)) as client:
        yield client
    job_steps.release.clear()
    job_steps.entered.clear()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _ended(http: TestClient, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = _ok(http.get(f"{API}/pipeline-jobs/{job_id}"))
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELED"):
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_submit_and_watch_a_job_run_on_the_server(http: TestClient) -> None:
    spec = serialize.to_dict(job_steps.arithmetic.spec)
    version = _ok(http.post(f"{API}/pipelines/versions", json={"spec": spec}), 201)
    assert version["digest"] == serialize.digest(job_steps.arithmetic.spec)
    listed = _ok(http.get(f"{API}/pipelines/versions", params={"pipeline": "arithmetic"}))
    assert [v["digest"] for v in listed["versions"]] == [version["digest"]]
    assert "spec" not in listed["versions"][0]

    job = _ok(http.post(f"{API}/pipeline-jobs", json={"pipeline": "arithmetic",
                                                      "params": {"y": 1}}), 201)  # fmt: skip
    assert job["state"] == "QUEUED" and job["digest"] == version["digest"]
    done = _ended(http, job["id"])
    assert done["state"] == "SUCCEEDED", done["message"]
    steps = _ok(http.get(f"{API}/pipeline-jobs/{job['id']}/steps"))["steps"]
    assert sorted((s["step"], s["state"]) for s in steps) == [
        ("add", "SUCCEEDED"), ("double", "SUCCEEDED")
    ]  # fmt: skip
    run = _ok(http.get(f"{API}/runs/{done['run_id']}"))
    assert run["data"]["params"] == {"x": "3", "y": "1"}
    assert run["info"]["status"] == "FINISHED"
    jobs = _ok(http.get(f"{API}/pipeline-jobs", params={"state": "SUCCEEDED"}))["jobs"]
    assert [j["id"] for j in jobs] == [job["id"]]


def test_cancel_and_resume_through_the_api(http: TestClient) -> None:
    spec = serialize.to_dict(job_steps.blocking.spec)
    _ok(http.post(f"{API}/pipelines/versions", json={"spec": spec}), 201)
    job = _ok(http.post(f"{API}/pipeline-jobs", json={"pipeline": "blocking"}), 201)
    assert job_steps.entered.wait(60)
    asked = _ok(http.post(f"{API}/pipeline-jobs/{job['id']}/cancel"))
    assert asked["cancel_requested"] is True
    time.sleep(0.5)  # more than a lease renewal: the engine has been told
    job_steps.release.set()
    canceled = _ended(http, job["id"])
    assert canceled["state"] == "CANCELED"
    again = _ok(http.post(f"{API}/pipeline-jobs/{job['id']}/resume"), 201)
    assert again["resume_from"] == canceled["run_id"]
    resumed = _ended(http, again["id"])
    assert resumed["state"] == "SUCCEEDED", resumed["message"]
    steps = _ok(http.get(f"{API}/pipeline-jobs/{again['id']}/steps"))["steps"]
    assert {s["step"]: s["state"] for s in steps} == {"blocker": "CACHED", "double": "SUCCEEDED"}


def test_schedules_crud(http: TestClient) -> None:
    spec = serialize.to_dict(job_steps.arithmetic.spec)
    _ok(http.post(f"{API}/pipelines/versions", json={"spec": spec}), 201)
    body = {"name": "nightly", "pipeline": "arithmetic", "cron": "0 3 * * *"}
    made = _ok(http.post(f"{API}/pipeline-schedules", json=body), 201)
    assert made["enabled"] is True and made["next_fire_at"] % 86_400_000 == 3 * 3_600_000
    duplicate = http.post(f"{API}/pipeline-schedules", json=body)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "RESOURCE_ALREADY_EXISTS"
    paused = _ok(http.patch(f"{API}/pipeline-schedules/nightly", json={"enabled": False}))
    assert paused["enabled"] is False
    names = [s["name"] for s in _ok(http.get(f"{API}/pipeline-schedules"))["schedules"]]
    assert names == ["nightly"]
    _ok(http.delete(f"{API}/pipeline-schedules/nightly"), 204)
    assert http.get(f"{API}/pipeline-schedules/nightly").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/pipeline-jobs", {"pipeline": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("post", "/pipeline-jobs", {"pipeline": "arithmetic", "params": {"z": 1}}, 400,
         "INVALID_PIPELINE"),
        ("post", "/pipeline-jobs", {"pipeline": "arithmetic", "executor": "gpu-farm"}, 400,
         "INVALID_PARAMETER_VALUE"),
        ("post", "/pipeline-jobs", {"pipeline": "arithmetic", "digest": "xyz"}, 400,
         "INVALID_PARAMETER_VALUE"),
        ("get", "/pipeline-jobs/" + "0" * 32, None, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("post", "/pipeline-jobs/" + "0" * 32 + "/cancel", None, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("get", "/pipeline-jobs?page_token=garbage", None, 400, "INVALID_PAGE_TOKEN"),
        ("post", "/pipelines/versions", {"spec": {"name": "x"}}, 400, "INVALID_PIPELINE"),
        ("post", "/pipeline-schedules",
         {"name": "s", "pipeline": "arithmetic", "cron": "61 * * * *"}, 400,
         "INVALID_PARAMETER_VALUE"),
        ("post", "/pipeline-schedules", {"name": "s", "pipeline": "arithmetic"}, 400,
         "INVALID_PARAMETER_VALUE"),
    ],
)  # fmt: skip
def test_bad_requests_get_stable_codes_and_write_nothing(
    http: TestClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    spec = serialize.to_dict(job_steps.arithmetic.spec)
    _ok(http.post(f"{API}/pipelines/versions", json={"spec": spec}), 201)
    response = http.request(method.upper(), API + path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert _ok(http.get(f"{API}/pipeline-jobs"))["jobs"] == []
    assert _ok(http.get(f"{API}/pipeline-schedules"))["schedules"] == []
