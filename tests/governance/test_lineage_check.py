"""A policy's ``lineage: {datasets: true}`` check walks upstream: a version registered by a
pipeline step passes when the pipeline's first step read a logged data set, through the runs
that made what each later step read, and fails, saying how far it looked, when none did."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import clew
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.actor import Actor
from clew.core.settings import Settings
from clew.pipelines import PipelineState, pipeline, run, step
from clew.pipelines.gates import register_model

POLICY = "protect: {aliases: [champion]}\nlineage: {datasets: true}\n"


@step
def load() -> pd.DataFrame:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    clew.log_input(clew.data.from_pandas(frame, source="memory://rows", name="rows"))
    return frame


@step
def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(x=frame.x * 2)


@step
def fit(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame[["x"]], frame.y)


@step
def fit_alone() -> LogisticRegression:
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


@pipeline
def traced() -> int:
    return register_model(fit(prepare(load())), name="traced")


@pipeline
def untraced() -> int:
    return register_model(fit_alone(), name="untraced")


@pytest.fixture
def local(settings: Settings) -> Iterator[Client]:
    with Client(transport=LocalTransport(settings)) as client:
        for name in ("traced", "untraced"):
            client.create_registered_model(name)
            client.set_model_policy(name, POLICY)
        yield client


def _lineage_check(client: Client, flow: object, name: str) -> dict[str, object]:
    done = run(flow, client=client)  # type: ignore[arg-type]
    assert done.state is PipelineState.SUCCEEDED, done.reason
    platform = client.transport.platform  # type: ignore[attr-defined]
    request = platform.promotions.request(Actor("ann"), name, int(done.outputs["output"]),
                                          alias="champion", justification="j")  # fmt: skip
    return next(c for c in request.checks if c["name"] == "lineage")


def test_a_pipeline_version_traces_back_to_the_data_its_first_step_read(local: Client) -> None:
    check = _lineage_check(local, traced, "traced")
    assert check["ok"] is True, check
    evidence = check["evidence"]
    assert isinstance(evidence, dict)
    assert [d["name"] for d in evidence["datasets"]] == ["rows"]
    load_run = evidence["datasets"][0]["read_by"]
    assert local.get_run(load_run).data.tags["clew.pipeline.step"] == "load"
    assert evidence["runs_walked"] >= 4  # register, fit, prepare, load


def test_a_version_with_no_data_upstream_fails_and_says_how_far_it_looked(
    local: Client,
) -> None:
    check = _lineage_check(local, untraced, "untraced")
    assert check["ok"] is False
    assert "no logged data set upstream" in str(check["detail"])
    assert check["evidence"] == {"datasets": [], "runs_walked": 2}  # register, fit_alone
