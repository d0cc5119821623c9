"""Running the server: ``serve(settings)``, called by ``clew server`` and ``python -m`` here.

uvicorn builds each worker's app from ``create_app_from_env`` (an import string, so that
``workers > 1`` works); the settings travel to the workers as JSON in an environment variable.
The database is migrated once here, before any worker starts.

Until authentication exists, binding anything but a loopback address is refused: an
unauthenticated tracking server on a network interface is how MLflow servers get owned
(security.md §1e).
"""

from __future__ import annotations

import argparse
import os

import orjson
import uvicorn

from clew.core import migrate
from clew.core.db import Database, wait_for_database
from clew.core.errors import InvalidInput
from clew.core.settings import Settings
from clew.server.app import SETTINGS_ENV
from clew.server.middleware import is_loopback


def check_bind(host: str, settings: Settings) -> None:
    """Raise ``InvalidInput`` if ``host`` is not loopback while authentication is off."""
    if not settings.auth and not is_loopback(host):
        raise InvalidInput(
            f"Refusing to listen on {host!r}: authentication is disabled (CLEW_AUTH=false), so "
            "anyone who can reach this address could read and change everything. Bind "
            "127.0.0.1 (the default), or enable authentication first.",
            code="INSECURE_BIND",
        )


def serve(
    settings: Settings | None = None,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    *,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Run the server in the foreground until interrupted.

    Args:
        settings: where the data lives and the limits; ``host``/``port``/``workers`` default to
            ``settings.host``/``port``/``workers``.
        access_log: one log line per request; off by default because it costs more than the
            request itself on the logging hot path.

    Raises:
        InvalidInput: for a non-loopback ``host`` while ``settings.auth`` is false.
    """
    settings = settings or Settings()
    host = host or settings.host
    port = settings.port if port is None else port
    workers = workers or settings.workers
    check_bind(host, settings)
    if workers < 1:
        raise InvalidInput("workers must be at least 1")
    db = Database(settings.resolved_database_url(), settings)
    try:
        wait_for_database(db)
        migrate.upgrade(db)
    finally:
        db.dispose()
    os.environ[SETTINGS_ENV] = orjson.dumps(settings.model_dump(mode="json")).decode()
    uvicorn.run(
        "clew.server.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=30,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m clew.server.main", description=__doc__)
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    serve(
        Settings(),
        args.host,
        args.port,
        args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
    )


if __name__ == "__main__":
    main()
