"""The seeded ``world``: the rows of ``world.py`` on each backend of the ``db`` fixture."""

from __future__ import annotations

import pytest

from clew.core.db import Database
from tests.tracking.search.world import seed


@pytest.fixture
def world(db: Database) -> Database:
    seed(db)
    return db
