"""The importer-only keywords the services grew: a run and a LoggedModel may be created with
the id they had in MLflow, once; a taken id or a malformed one is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from clew.core.errors import AlreadyExists, InvalidInput
from clew.core.settings import Settings
from clew.platform import Platform
from tests.importers.clew_view import ACTOR


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.open(Settings(home=tmp_path))
    yield p
    p.close()


def test_a_run_keeps_the_id_it_is_given(platform: Platform) -> None:
    run_id = uuid.uuid4().hex
    run = platform.tracking.create_run(ACTOR, run_id=run_id, status="FINISHED", end_time=5)
    assert run.info.run_id == run_id
    assert platform.tracking.get_run(ACTOR, run_id).info.end_time == 5
    with pytest.raises(AlreadyExists):
        platform.tracking.create_run(ACTOR, run_id=run_id)
    with pytest.raises(InvalidInput):
        platform.tracking.create_run(ACTOR, run_id="not-hex")
    assert platform.tracking.create_run(ACTOR).info.run_id != run_id


def test_a_logged_model_keeps_the_id_it_is_given(platform: Platform) -> None:
    model_id = "m-" + uuid.uuid4().hex
    made = platform.logged_models.create(ACTOR, experiment_id="0", name="m", model_id=model_id)
    assert made.model_id == model_id
    assert platform.logged_models.get(ACTOR, model_id).name == "m"
    with pytest.raises(AlreadyExists):
        platform.logged_models.create(ACTOR, experiment_id="0", model_id=model_id)
    with pytest.raises(InvalidInput):
        platform.logged_models.create(ACTOR, experiment_id="0", model_id=uuid.uuid4().hex)
