"""``make demo`` end to end on a small grid: the training pipeline runs twice, the second time
from its cache; the best model is registered once, as ``challenger``, scores rows when loaded
back by alias, and its lineage leads back through the pipeline run to the data set.
(``clew.demo`` imports scikit-learn and pandas, as the dev extras do.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import clew
from clew import demo
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.settings import Settings
from clew.pipelines import PipelineState, StepState
from clew.pipelines.run_tags import PIPELINE_RUN_TAG, PIPELINE_TAG

SMALL = {
    "grid": [{"n_estimators": 5, "max_depth": depth, "max_features": "sqrt"} for depth in (2, 4)],
    "folds": 2,
}
STEPS = ["load", "validate", "split", "train[0]", "train[1]", "evaluate", "quality_gate",
         "register_model"]  # fmt: skip


def test_demo_runs_twice_from_the_cache_and_registers_one_challenger(
    clew_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(transport=LocalTransport(Settings(home=clew_home))) as client:
        with clew.use_client(client):
            first, second = demo.run_twice(SMALL, client=client)
            demo.show_runs([first, second])
            demo.show_best(second)
            demo.score_challenger(rows=4)

        assert first.state is second.state is PipelineState.SUCCEEDED
        assert list(first.steps) == list(second.steps) == STEPS
        assert {r.state for r in first.steps.values()} == {StepState.SUCCEEDED}
        again = {key: r.state for key, r in second.steps.items()}
        assert again.pop("quality_gate") is StepState.SUCCEEDED  # never cached
        assert set(again.values()) == {StepState.CACHED}

        # Registered once: the second run's cached registration is the same version.
        assert first.output == second.output == 1
        versions = client.search_model_versions(f"name = '{demo.MODEL_NAME}'")
        assert [v.version for v in versions] == [1]
        mv = client.get_model_version_by_alias(demo.MODEL_NAME, demo.ALIAS)
        assert mv.version == 1
        frame = demo.load_breast_cancer(as_frame=True).frame
        predicted = client.load_model(f"models:/{demo.MODEL_NAME}@{demo.ALIAS}").predict(
            demo.features(frame)
        )
        assert (predicted == frame[demo.TARGET]).mean() > 0.85

        # The version links to the first pipeline run, and its lineage reaches the data.
        roots = client.search_runs(
            filter_string=f"tags.`{PIPELINE_TAG}` = '{demo.MODEL_NAME}'",
            order_by=["attributes.start_time ASC"],
        ).items
        assert len(roots) == 2
        assert mv.tags[PIPELINE_RUN_TAG] == roots[0].info.run_id
        assert client.get_pipeline_run(roots[0].info.run_id).pipeline == demo.MODEL_NAME
        step_run = client.get_run(mv.run_id or "")
        assert step_run.info.run_name == "register_model"
        assert step_run.data.tags[PIPELINE_RUN_TAG] == roots[0].info.run_id
        upstream = client.get_lineage(mv.run_id or "", direction="upstream")
        names = {n.name for n in upstream.nodes}
        assert {"load", "validate", "split", "train[0]", "train[1]", "evaluate"} <= names
        assert "breast-cancer" in {n.name for n in upstream.nodes if n.type == "dataset"}

    out = capsys.readouterr().out
    assert "CACHED" in out and f"Scored by models:/{demo.MODEL_NAME}@{demo.ALIAS}" in out


def test_validation_names_every_problem_with_the_data() -> None:
    bad = pd.DataFrame({"size": [1.0, None, 3.0, 4.0], "kind": ["a", "b", "a", "b"]})
    bad[demo.TARGET] = [0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"not numeric: \['kind'\]; nulls \(per column\)"):
        demo.validate(bad)
    skewed = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], demo.TARGET: [0, 1, 1, 1, 1, 1]})
    with pytest.raises(ValueError, match="a class is 17% of the rows, under 20%"):
        demo.validate(skewed)
