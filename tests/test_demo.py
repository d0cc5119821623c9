"""``make demo`` end to end on a small grid: runs, the best model logged, registered, aliased,
loaded back by alias and used to score rows."""

from __future__ import annotations

from pathlib import Path

import pytest

import clew
from clew import demo
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.settings import Settings
from tests.conftest import need


def test_demo_logs_registers_and_scores_the_best_model(
    clew_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    need("sklearn")
    need("pandas")
    monkeypatch.setattr(
        demo, "GRID", {"n_estimators": [5], "max_depth": [2, 3], "max_features": ["sqrt"]}
    )
    monkeypatch.setattr(demo, "FOLDS", 2)
    client = Client(transport=LocalTransport(Settings(home=clew_home)))
    with clew.use_client(client):
        parent = demo.train_grid()
        demo.show_best(parent)
        demo.score_challenger(rows=4)
    mv = client.get_model_version_by_alias(demo.MODEL_NAME, demo.ALIAS)
    assert mv.version == 1 and mv.run_id == parent
    model = client.get_logged_model(mv.logged_model_id or "")
    assert (model.status, model.name, model.source_run_id) == ("READY", "best-forest", parent)
    lineage = client.get_model_version_lineage(demo.MODEL_NAME, 1)
    assert lineage.run is not None and lineage.run.inputs[0].dataset.name == "breast-cancer"
    out = capsys.readouterr().out
    assert f"models:/{demo.MODEL_NAME}@{demo.ALIAS}" in out
    client.close()
