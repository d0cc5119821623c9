"""The quality gate stops a branch with its reason; registration links a version to its run."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression

from clew.client.client import Client
from clew.core.errors import InvalidInput
from clew.pipelines import PipelineState, StepState, pipeline, run, step
from clew.pipelines.gates import quality_gate, register_model
from clew.pipelines.run_tags import PIPELINE_RUN_TAG

X, Y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]


@step
def fit(c: float) -> LogisticRegression:
    return LogisticRegression(C=c).fit(X, Y)


@step
def evaluate(model: LogisticRegression, accuracy: float) -> dict[str, float]:
    return {"accuracy": accuracy, "loss": 1 - accuracy}


@pipeline
def promote(accuracy: float = 0.95, bar: float = 0.9) -> int:
    model = fit(1.0)
    checked = quality_gate(
        evaluate(model, accuracy),
        thresholds={"accuracy": ">= 0.9"},
        model_name="churn",
        against="champion",
        lower_is_better=["loss"],
    )
    return register_model(model, checked, name="churn", alias="champion")


def test_a_passing_gate_registers_and_moves_the_alias(client: Client) -> None:
    result = run(promote, client=client)
    assert result.state is PipelineState.SUCCEEDED and result.output == 1
    version = client.get_model_version_by_alias("churn", "champion")
    assert version.version == 1
    step_run = client.get_run(version.run_id)  # the version links to the registration step
    assert step_run.info.run_name == "register_model"
    assert step_run.data.metrics["accuracy"].value == 0.95
    root = step_run.data.tags[PIPELINE_RUN_TAG]
    assert client.get_pipeline_run(root).pipeline == "promote"
    assert version.tags["clew.pipeline.run"] == root


def test_a_failing_gate_stops_the_branch_and_the_pipeline_still_succeeds(client: Client) -> None:
    result = run(promote, {"accuracy": 0.8}, client=client)
    assert result.state is PipelineState.SUCCEEDED
    gate = result.step("quality_gate")
    assert gate.state is StepState.SKIPPED and gate.reason == "gate: accuracy = 0.8, needs >= 0.9"
    assert result.step("register_model").state is StepState.SKIPPED
    gate_runs = client.search_runs(filter_string="attributes.run_name = 'quality_gate'")
    assert [r.info.status for r in gate_runs] == ["FINISHED"]
    assert [r.data.tags["clew.pipeline.state"] for r in gate_runs] == ["SKIPPED"]


def test_the_gate_compares_against_the_champion(client: Client) -> None:
    assert run(promote, {"accuracy": 0.97}, client=client).output == 1
    worse = run(promote, {"accuracy": 0.93}, client=client)
    assert worse.step("quality_gate").reason == (
        "gate: accuracy = 0.93 is worse than churn@champion's 0.97"
    )
    better = run(promote, {"accuracy": 0.99}, client=client)
    assert (
        better.output == 2 and client.get_model_version_by_alias("churn", "champion").version == 2
    )


def test_a_malformed_threshold_fails_the_gate_step() -> None:
    with pytest.raises(InvalidInput, match=r"write it as '>= 0.9'"):
        quality_gate({"accuracy": 1.0}, thresholds={"accuracy": "at least 0.9"})


def test_a_rerun_with_the_same_model_is_the_same_version(client: Client) -> None:
    first = run(promote, client=client)
    again = run(promote, client=client)  # the gate runs again; the registration is cached
    assert again.step("quality_gate").state is StepState.SUCCEEDED
    assert again.step("register_model").state is StepState.CACHED
    assert first.output == again.output == 1
    assert [v.version for v in client.search_model_versions("name = 'churn'")] == [1]
    fresh = run(promote, client=client, cache=False)
    assert fresh.output == 2 and client.get_model_version_by_alias("churn", "champion").version == 2
