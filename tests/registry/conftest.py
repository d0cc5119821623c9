"""Registry fixtures: a platform on each database, an actor, and a run with a logged model."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from clew.core import schema
from clew.core.actor import Actor
from clew.core.settings import Settings
from clew.platform import Platform
from clew.registry.service import RegistryService

ALICE = Actor("alice")


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    # ``database_url`` hands over a migrated database: skip Alembic.
    opened = Platform.open(settings, migrate=False)
    yield opened
    opened.close()


@pytest.fixture
def registry(platform: Platform) -> RegistryService:
    return platform.registry


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    files: dict[str, bytes]

    @property
    def source(self) -> str:
        return f"runs:/{self.run_id}/model"


MODEL_FILES = {
    "model/MLmodel": b"flavors: {}\n",
    "model/model.pkl": b"\x80\x04weights",
    "model/sub/conda.yaml": b"name: x\n",
    "other.txt": b"not part of the model",
}


def log_model_run(platform: Platform, files: dict[str, bytes] | None = None) -> LoggedRun:
    """A run with a dataset input and a ``model/`` directory of artifacts."""
    from clew.tracking.model import Dataset, DatasetInput

    run = platform.tracking.create_run(ALICE, run_name="train")
    platform.tracking.log_inputs(
        ALICE,
        run.run_id,
        [DatasetInput(Dataset("iris", "d1"), {"mlflow.data.context": "training"})],
    )
    files = MODEL_FILES if files is None else files
    for path, data in files.items():
        platform.artifacts.log_stream(ALICE, run.run_id, path, io.BytesIO(data))
    return LoggedRun(run.run_id, files)


@pytest.fixture
def model_run(platform: Platform) -> LoggedRun:
    return log_model_run(platform)


def audit_count(platform: Platform) -> int:
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.audit_events)).scalar_one())
