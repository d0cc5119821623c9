"""The server's background WAL checkpointer: it copies committed pages without blocking writes."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from clew.core import migrate
from clew.core.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from clew.core.db import Database
from clew.core.settings import Settings


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'clew.db'}", Settings(home=tmp_path))
    migrate.upgrade(db)
    return db


def test_a_checkpoint_copies_the_wal_and_connections_get_the_backstop(tmp_path: Path) -> None:
    db = _db(tmp_path)
    checkpointer = WalCheckpointer(db, interval_s=3600)  # the thread never fires in this test
    checkpointer.start()
    try:
        with db.write() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with db.read() as conn:
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        busy, frames, copied = checkpointer.checkpoint()
        assert (busy, pages) == (0, BACKSTOP_PAGES)
        assert frames > 0 and copied == frames
        with db.read() as conn:  # the data is intact and the next write still works
            assert conn.exec_driver_sql("SELECT x FROM t").scalar_one() == 1
        with db.write() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    finally:
        checkpointer.stop()
        db.dispose()


def test_the_thread_copies_commits_into_the_database_file(tmp_path: Path) -> None:
    db = _db(tmp_path)
    main_file = tmp_path / "clew.db"
    checkpointer = WalCheckpointer(db, interval_s=0.02)
    with sqlite3.connect(main_file) as raw:  # start from an empty WAL
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = main_file.stat().st_size
    checkpointer.start()
    try:
        with db.write() as conn:  # ~1 MB of new pages, far below the backstop
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.exec_driver_sql(
                "INSERT INTO t SELECT randomblob(1000) FROM "
                "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
                "SELECT i FROM n)"
            )
        deadline = time.monotonic() + 10
        while main_file.stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert main_file.stat().st_size > before + 900_000  # only a checkpoint writes it
    finally:
        checkpointer.stop()
        db.dispose()
