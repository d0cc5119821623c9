"""A pipeline step that opens a promotion request and waits for people to decide (issue 6
item 3, "human in the loop"): approved, the pipeline goes on and applies it; rejected, the
branch stops with the reason and the pipeline still succeeds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sklearn.linear_model import LogisticRegression

from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.actor import Actor
from clew.core.errors import NotFound
from clew.core.settings import Settings
from clew.pipelines import PipelineState, StepState, pipeline, run, step
from clew.pipelines.gates import register_model, request_promotion

BOB = Actor("bob")
POLICY = "protect: {aliases: [champion]}\napprovals: {required: 1, role: maintainer}\n"


@step
def fit() -> LogisticRegression:
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


@pipeline
def gated(apply: bool = True) -> str:
    version = register_model(fit(), name="gated")
    return request_promotion(version, name="gated", alias="champion", justification="nightly",
                             poll_s=0.05, timeout_s=60, apply=apply)  # fmt: skip


@pytest.fixture
def local(settings: Settings) -> Iterator[Client]:
    with Client(transport=LocalTransport(settings)) as client:
        client.create_registered_model("gated")
        client.set_model_policy("gated", POLICY)
        yield client


def _decide(client: Client, approve: bool) -> threading.Thread:
    """Bob, watching for the request, decides on it."""
    platform = client.transport.platform  # type: ignore[attr-defined]

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pending = platform.promotions.list_requests(BOB, "gated", "PENDING")
            if pending:
                platform.promotions.decide(BOB, pending[0].id, approve=approve)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_an_approved_request_lets_the_pipeline_apply_it(local: Client) -> None:
    watcher = _decide(local, approve=True)
    result = run(gated, client=local)
    watcher.join(60)
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.step("request_promotion").state is StepState.SUCCEEDED
    assert local.get_model_version_by_alias("gated", "champion").version == 1
    assert local.list_promotions("gated")[0]["state"] == "APPLIED"


def test_a_rejected_request_stops_the_branch(local: Client) -> None:
    watcher = _decide(local, approve=False)
    result = run(gated, client=local)
    watcher.join(60)
    assert result.state is PipelineState.SUCCEEDED
    step_run = result.step("request_promotion")
    assert step_run.state is StepState.SKIPPED and "REJECTED" in (step_run.reason or "")
    with pytest.raises(NotFound):
        local.get_model_version_by_alias("gated", "champion")
