"""``clew pipelines run`` loads a pipeline from a file, runs it tracked, and says how it went."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from clew.cli.main import app
from clew.client.client import Client

runner = CliRunner()

PIPELINE = textwrap.dedent(
    """
    from clew.pipelines import pipeline, step

    @step
    def numbers(n: int) -> list[int]:
        return list(range(n))

    @step
    def total(values: list[int]) -> int:
        if len(values) > 100:
            raise ValueError("too many")
        return sum(values)

    @pipeline
    def counting(n: int = 3) -> int:
        return total(numbers(n))
    """
)


def test_run_a_pipeline_file_with_parameters_then_from_cache(
    clew_home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "flow.py"
    source.write_text(PIPELINE)
    target = f"{source}:counting"
    first = runner.invoke(app, ["pipelines", "run", target, "-p", "n=5", "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["state"] == "SUCCEEDED" and data["params"] == {"n": 5}
    assert {k: v["state"] for k, v in data["steps"].items()} == {
        "numbers": "SUCCEEDED",
        "total": "SUCCEEDED",
    }
    again = json.loads(
        runner.invoke(app, ["pipelines", "run", target, "-p", "n=5", "--json"]).output
    )
    assert {v["state"] for v in again["steps"].values()} == {"CACHED"}
    forced = runner.invoke(app, ["pipelines", "run", target, "-p", "n=5", "--no-cache"])
    assert forced.exit_code == 0 and "counting: SUCCEEDED" in forced.output
    with Client() as client:
        experiment = client.get_experiment_by_name("counting")
        assert experiment is not None
        assert (
            len(client.search_runs([experiment.experiment_id], "tags.`clew.pipeline` = 'counting'"))
            == 3
        )


def test_a_failed_pipeline_exits_1_and_bad_targets_are_one_line(
    clew_home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "flow.py"
    source.write_text(PIPELINE)
    failed = runner.invoke(app, ["pipelines", "run", f"{source}:counting", "-p", "n=500"])
    assert failed.exit_code == 1
    assert "ValueError: too many" in failed.output
    with Client() as client:
        experiment = client.get_experiment_by_name("counting")
        assert experiment is not None
        roots = client.search_runs(
            [experiment.experiment_id],
            "tags.`clew.pipeline` = 'counting' and tags.`clew.pipeline.state` = 'FAILED'",
        )
        failed_id = roots.items[0].info.run_id
    resumed = runner.invoke(app, ["pipelines", "run", f"{source}:counting", "--resume", failed_id,
                                  "-p", "n=4", "--json"])  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.output)["params"] == {"n": 4}
    missing = runner.invoke(app, ["pipelines", "run", f"{tmp_path}/nope.py:x"])
    assert missing.exit_code != 0 and "No such file" in str(missing.exception or missing.output)
    not_a_pipeline = runner.invoke(app, ["pipelines", "run", f"{source}:numbers"])
    assert "is not a @pipeline" in str(not_a_pipeline.exception or not_a_pipeline.output)
