from __future__ import annotations

import pytest

from clew.core.actor import Actor
from clew.core.db import Database
from clew.tracking.service import TrackingService


@pytest.fixture
def tracking(db: Database) -> TrackingService:
    return TrackingService(db)


@pytest.fixture
def alice() -> Actor:
    return Actor("alice")
