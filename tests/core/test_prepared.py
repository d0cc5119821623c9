"""Driver-SQL statements: the same rows as SQLAlchemy's own execution, on both databases."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from clew.core import schema
from clew.core.db import Database
from clew.core.prepared import Prepared, PreparedIn

H = schema.audit_head
E = schema.audit_events


def test_prepared_binds_its_own_literals_and_the_callers(db: Database) -> None:
    head = Prepared(select(H.c.seq, H.c.hash).where(H.c.id == 1), db.engine.dialect)
    with db.read() as conn:
        assert head(conn).one() == conn.execute(select(H.c.seq, H.c.hash)).one()
        by_id = Prepared(select(H.c.seq).where(H.c.id == bindparam("id")), db.engine.dialect)
        assert by_id(conn, {"id": 1}).scalar_one() == 0
        assert by_id(conn, {"id": 2}).first() is None


def test_prepared_in_matches_the_expanding_statement_for_every_length(db: Database) -> None:
    statement = select(H.c.id, H.c.seq).where(H.c.id.in_(bindparam("ids", expanding=True)))
    reads = PreparedIn(statement, db.engine.dialect)
    with db.read() as conn:
        for ids in ([1], [1, 2, 3], [5, 1], [1], list(range(1, 100))):
            ordinary = conn.execute(statement, {"ids": ids}).all()
            assert [tuple(r) for r in reads(conn, ids)] == [tuple(r) for r in ordinary]


def test_prepared_in_runs_statements_with_other_parameters_the_ordinary_way(db: Database) -> None:
    statement = select(E.c.seq).where(
        E.c.seq.in_(bindparam("ids", expanding=True)), E.c.action == bindparam("action")
    )
    reads = PreparedIn(statement.params(action="x"), db.engine.dialect)
    with db.read() as conn:
        assert reads(conn, [1, 2]).all() == []
