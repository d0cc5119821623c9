"""``clew db …``: schema migrations for the configured database."""

from __future__ import annotations

from typing import Annotated

import typer

from clew.cli.output import console
from clew.core import migrate
from clew.core.db import Database
from clew.core.settings import Settings

app = typer.Typer(help="The metadata database.", no_args_is_help=True)

UrlOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Default: CLEW_DATABASE_URL, else CLEW_HOME/clew.db."),
]


def _database(url: str | None) -> Database:
    settings = Settings()
    return Database(url or settings.resolved_database_url(), settings)


@app.command()
def upgrade(database_url: UrlOpt = None) -> None:
    """Apply pending migrations (servers and clients also do this when they start)."""
    db = _database(database_url)
    try:
        applied = migrate.upgrade(db)
        state = "upgraded to" if applied else "already at"
        console.print(
            f"Database {db.engine.url.render_as_string()} {state} {migrate.head_revision()}"
        )
    finally:
        db.dispose()


@app.command()
def current(database_url: UrlOpt = None) -> None:
    """Print the database's schema revision and the newest one this Clew knows."""
    db = _database(database_url)
    try:
        with db.engine.connect() as conn:
            rev = migrate.current_revision(conn)
        console.print(f"current: {rev or '(empty)'}  head: {migrate.head_revision()}")
    finally:
        db.dispose()
