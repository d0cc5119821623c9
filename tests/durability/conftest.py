"""Fixtures for the durability tests: a migrated SQLite file, a platform on it, a work folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clew.core import migrate
from clew.core.db import Database
from clew.core.settings import Settings
from clew.platform import Platform


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database (the SQLite-only tests; the others use ``database_url``)."""
    url = f"sqlite:///{tmp_path / 'clew.db'}"
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    return url


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where workers put their logs, results, barrier and ack files."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def open_platform(clew_home: Path) -> Iterator[Callable[..., Platform]]:
    """``open_platform(url, migrate=False)`` → a Platform in this process, on the workers' home."""
    opened: list[Platform] = []

    def _open(url: str, *, migrate: bool = False) -> Platform:
        platform = Platform.open(Settings(home=clew_home, database_url=url), migrate=migrate)
        opened.append(platform)
        return platform

    yield _open
    for platform in opened:
        platform.close()
