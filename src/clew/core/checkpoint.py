"""SQLite WAL checkpoints on a background thread, off the request path (server only).

By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages: that
request copies ~4 MB into the database file and waits for ``fsync``, so one run creation in
every hundred or so took 10-30 ms instead of 3. The server instead checkpoints every
``CLEW_SQLITE_CHECKPOINT_INTERVAL_S`` on its own thread with ``PASSIVE`` mode, which never
blocks writers or readers; the in-commit checkpoint stays as a backstop at a much larger WAL
(``BACKSTOP_PAGES``) in case the thread falls behind. Durability is unchanged: a commit is
durable in the WAL, whoever later copies it into the database file.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final

from sqlalchemy import event

from clew.core.db import Database

log = logging.getLogger(__name__)

#: The in-commit checkpoint's threshold while the thread runs (~80 MB of WAL with 4 KiB pages).
BACKSTOP_PAGES: Final = 20_000


class WalCheckpointer:
    """Start it once per process that serves requests; ``stop()`` ends the thread."""

    def __init__(self, db: Database, interval_s: float) -> None:
        if not db.is_sqlite:
            raise ValueError("WAL checkpoints are a SQLite matter")
        self.db = db
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        @event.listens_for(self.db.engine, "connect")
        def _backstop(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

        # Connections already in the pool still checkpoint in their commits: replace them.
        self.db.engine.dispose()
        self._thread = threading.Thread(target=self._run, name="clew-wal-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self) -> tuple[int, int, int]:
        """One ``PASSIVE`` checkpoint: (busy, WAL frames, frames copied), SQLite's answer."""
        raw = self.db.engine.raw_connection()
        try:
            # The pool's connections run in autocommit (``isolation_level = None``), so this
            # runs outside any transaction, as a checkpoint must.
            driver = raw.driver_connection
            assert driver is not None
            row = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            raw.close()
        return int(row[0]), int(row[1]), int(row[2])

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.checkpoint()
            except Exception:  # a busy or closing database: try again next time
                log.debug("WAL checkpoint failed; retrying", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
