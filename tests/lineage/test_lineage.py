"""Lineage walks from a run across datasets, pipeline step outputs and model versions, on both
transports and both databases; ``clew lineage show`` prints them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from clew.cli.main import app
from clew.client.client import Client
from clew.core.errors import InvalidInput, NotFound
from clew.lineage.model import node_key
from clew.pipelines import pipeline, run, step
from clew.pipelines.gates import register_model
from clew.tracking.model import Dataset, DatasetInput

X, Y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]


@step
def load(rows: int) -> list[float]:
    return [float(i) for i in range(rows)]


@step
def fit(values: list[float]) -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


@pipeline
def trained(rows: int = 4) -> int:
    return register_model(fit(load(rows)), name="lineage-model")


def _names(graph: object, kind: str) -> set[str]:
    return {n.name for n in graph.nodes if n.kind == kind}  # type: ignore[attr-defined]


def test_a_walk_from_a_step_run_reaches_both_ends_of_the_pipeline(client: Client) -> None:
    run(trained, client=client)
    fit_run = client.search_runs(filter_string="attributes.run_name = 'fit'").items[0]
    graph = client.get_lineage(fit_run.info.run_id)
    assert graph.start == node_key("run", fit_run.info.run_id)
    assert {"load", "fit", "register_model"} <= _names(graph, "run")
    kinds = {n.type for n in graph.nodes if n.kind == "artifact"}
    assert "pipeline_output" in kinds  # the list load wrote, the model fit wrote
    assert kinds & {"model", "model_version"}  # what register_model logged and registered
    up = client.get_lineage(fit_run.info.run_id, direction="upstream")
    assert "register_model" not in _names(up, "run") and "load" in _names(up, "run")


def test_a_dataset_input_is_upstream_of_its_run(client: Client) -> None:
    experiment = client.create_experiment("datasets")
    reader = client.create_run(experiment)
    dataset = Dataset("train", "d" * 16, source_type="local", source="/data/train.csv")
    client.log_inputs(reader.info.run_id, [DatasetInput(dataset)])
    graph = client.get_lineage(reader.info.run_id, direction="upstream")
    assert [(n.type, n.name) for n in graph.nodes if n.kind == "artifact"] == [("dataset", "train")]
    assert [(e.type, e.name) for e in graph.edges] == [("INPUT", "")]


def test_bad_walks_are_refused(client: Client) -> None:
    with pytest.raises(NotFound):
        client.get_lineage("0" * 32)
    run_id = client.create_run(client.create_experiment("walks")).info.run_id
    with pytest.raises(InvalidInput):
        client.get_lineage(run_id, direction="sideways")
    with pytest.raises(InvalidInput):
        client.get_lineage(run_id, depth=0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_clew_lineage_show_prints_the_trees(clew_home: Path, database_url: str) -> None:
    with Client() as client:
        run(trained, client=client)
    runner = CliRunner()
    shown = runner.invoke(app, ["lineage", "show", "models:/lineage-model/1"])
    assert shown.exit_code == 0, shown.output
    assert "upstream of" in shown.output and "downstream of" in shown.output
    assert "pipeline_output" in shown.output and "fit" in shown.output
    as_json = json.loads(
        runner.invoke(app, ["lineage", "show", "models:/lineage-model/1", "--json"]).output
    )
    assert {n["name"] for n in as_json["nodes"] if n["kind"] == "run"} >= {"fit", "register_model"}


def test_a_walk_from_an_artifact_by_digest_or_uri(client: Client) -> None:
    """A step's output named by its URI or by its bytes: upstream is the step that wrote it
    and what that read; downstream the step that read it and what came of that."""
    run(trained, client=client)
    load_run = client.search_runs(filter_string="attributes.run_name = 'load'").items[0]
    uri = f"runs:/{load_run.info.run_id}/outputs/output"
    graph = client.get_artifact_lineage(uri)
    start = graph.node(graph.start)
    assert (start.type, start.uri) == ("pipeline_output", uri)
    assert {"load", "fit", "register_model"} <= _names(graph, "run")
    up = client.get_artifact_lineage(uri, direction="upstream")
    assert _names(up, "run") == {"load"}
    down = client.get_artifact_lineage(f"sha256:{start.digest}", direction="downstream", depth=1)
    assert _names(down, "run") == {"fit"}  # one run away: the step that read it
    by_prefix = client.get_artifact_lineage(f"sha256:{start.digest[:12]}", direction="upstream")
    assert by_prefix.start == up.start
    with pytest.raises(NotFound):
        client.get_artifact_lineage("sha256:" + "0" * 64)
    with pytest.raises(InvalidInput):
        client.get_artifact_lineage("sha256:nothex")
    with pytest.raises(InvalidInput):
        client.get_artifact_lineage("sha256:abc")  # too short to name anything


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_clew_lineage_show_from_an_artifact(clew_home: Path, database_url: str) -> None:
    with Client() as client:
        run(trained, client=client)
        load_run = client.search_runs(filter_string="attributes.run_name = 'load'").items[0]
    uri = f"runs:/{load_run.info.run_id}/outputs/output"
    shown = CliRunner().invoke(app, ["lineage", "show", uri])
    assert shown.exit_code == 0, shown.output
    upstream, _, downstream = shown.output.partition("downstream of")
    assert "load" in upstream and "fit" not in upstream
    assert "fit" in downstream and "register_model" in downstream


def test_a_graph_as_json_reads_back_as_itself() -> None:
    """``to_dict`` copies each record's fields (no deep copy); ``from_dict`` inverts it."""
    from clew.lineage.model import LineageEdge, LineageGraph, LineageNode

    graph = LineageGraph(
        "run:" + "a" * 32,
        [LineageNode("run", "a" * 32, "run", "fit", status="FINISHED"),
         LineageNode("artifact", "7", "dataset", "iris", "ab" * 8, "s3://b/iris")],
        [LineageEdge("a" * 32, "7", "INPUT", "train")],
        truncated=True,
    )  # fmt: skip
    data = graph.to_dict()
    assert data["nodes"][1] == {"kind": "artifact", "id": "7", "type": "dataset", "name": "iris",
                                "digest": "ab" * 8, "uri": "s3://b/iris", "status": ""}  # fmt: skip
    assert data["edges"] == [{"run": "a" * 32, "artifact": "7", "type": "INPUT", "name": "train"}]
    assert LineageGraph.from_dict(data) == graph
    data["nodes"][0]["name"] = "changed"  # a copy: the graph is untouched
    assert graph.nodes[0].name == "fit"
