"""Driver-SQL statements: the same rows as SQLAlchemy's own execution, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound

from clew.core import schema
from clew.core.db import Database
from clew.core.prepared import Prepared, PreparedIn, plain

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


def test_rows_answer_by_name_and_position_like_sqlalchemy_rows(db: Database) -> None:
    head = Prepared(select(H.c.seq, H.c.hash).where(H.c.id == 1), db.engine.dialect)
    with db.read() as conn:
        row = head(conn).first()
        assert (row.seq, row.hash) == (row[0], row[1])
        seq, digest = head(conn).one()
        assert (seq, digest) == (row.seq, row.hash)
        assert [tuple(r) for r in head(conn)] == [(seq, digest)]


def test_one_and_scalar_one_refuse_no_rows_and_many_rows(db: Database) -> None:
    seqs = Prepared(select(H.c.seq).where(H.c.id >= bindparam("low")), db.engine.dialect)
    with db.read() as conn:
        assert seqs(conn, {"low": 5}).scalar_one_or_none() is None
        with pytest.raises(NoResultFound):
            seqs(conn, {"low": 5}).scalar_one()
    with db.write() as conn:
        conn.execute(insert(H).values(id=2, seq=0, hash="x"))
        with pytest.raises(MultipleResultsFound):
            seqs(conn, {"low": 1}).one()
        conn.rollback()


def test_driver_errors_are_sqlalchemys_and_the_transaction_stays_whole(db: Database) -> None:
    """A constraint broken through the driver raises SQLAlchemy's ``IntegrityError`` (what
    services catch), and rolls back with the rest of the transaction."""
    add = Prepared(
        insert(H).values(id=bindparam("id"), seq=bindparam("seq"), hash=bindparam("hash")),
        db.engine.dialect,
    )
    with pytest.raises(IntegrityError), db.write() as conn:
        add(conn, {"id": 7, "seq": 1, "hash": "a"})
        add(conn, {"id": 7, "seq": 2, "hash": "b"})  # the same primary key
    with db.read() as conn:
        assert conn.execute(select(H.c.id).where(H.c.id == 7)).first() is None


def test_many_inserts_every_row_inside_the_transaction(db: Database) -> None:
    add = Prepared(
        insert(H).values(id=bindparam("id"), seq=bindparam("seq"), hash=bindparam("hash")),
        db.engine.dialect,
    )
    if add.names is None:  # PostgreSQL binds by name: many() is for positional drivers
        with pytest.raises(TypeError), db.write() as conn:
            add.many(conn, [(11, 11, "h11")])
        return
    order = {name: i for i, name in enumerate(add.names)}
    rows = [{"id": i, "seq": i, "hash": f"h{i}"} for i in (11, 12, 13)]
    with db.write() as conn:
        add.many(conn, [tuple(r[n] for n in sorted(order, key=order.__getitem__)) for r in rows])
    with db.read() as conn:
        found = conn.execute(select(H.c.id).where(H.c.id > 10).order_by(H.c.id)).scalars().all()
    assert found == [11, 12, 13]


def test_prepared_in_keeps_values_the_statement_binds_itself(db: Database) -> None:
    """``type == 'run'`` beside the list: compiled once per length, the literal in its place."""
    statement = select(H.c.id).where(
        H.c.id.in_(bindparam("ids", expanding=True)), H.c.hash != "not-this"
    )
    reads = PreparedIn(statement, db.engine.dialect)
    with db.read() as conn:
        for ids in ([1], [2, 1], [1]):
            ordinary = conn.execute(statement, {"ids": ids}).all()
            assert [tuple(r) for r in plain(reads(conn, ids))] == [tuple(r) for r in ordinary]
    if db.is_sqlite:
        assert reads._sql_for(2) is not None  # the fast path, not the fallback


def test_prepared_in_is_one_array_parameter_on_postgres(db: Database) -> None:
    """PostgreSQL gets ``= ANY(%(ids)s)``: one SQL text (prepared once) for every list length."""
    statement = select(H.c.id).where(H.c.id.in_(bindparam("ids", expanding=True)))
    reads = PreparedIn(statement, db.engine.dialect)
    seen = []
    with db.read() as conn:
        for ids in ([1], [2, 1], list(range(50))):
            seen.append(sorted(r[0] for r in plain(reads(conn, ids))))
    assert seen == [[1], [1], [1]]  # the chain has one head row
    if not db.is_sqlite:
        assert reads._any is not None and "= ANY (%(ids)s" in reads._any.sql


def test_prepared_in_per_item_reads_the_same_rows(db: Database) -> None:
    """``per_item`` (a lookup per item on PostgreSQL, plain ``IN`` on SQLite): the rows of the
    expanding statement, a repeated item read once, and no ORDER BY accepted."""
    statement = select(H.c.id, H.c.seq).where(
        H.c.id.in_(bindparam("ids", expanding=True)), H.c.hash != "not-this"
    )
    reads = PreparedIn(statement, db.engine.dialect, per_item=True)
    with db.read() as conn:
        for ids in ([1], [1, 2, 3], [5, 1, 1], list(range(1, 100))):
            ordinary = conn.execute(statement, {"ids": ids}).all()
            assert sorted(tuple(r) for r in plain(reads(conn, ids))) == sorted(
                tuple(r) for r in ordinary
            )
    if not db.is_sqlite:
        assert reads._any is not None and "JOIN LATERAL" in reads._any.sql
        with pytest.raises(ValueError, match="ORDER BY"):
            PreparedIn(statement.order_by(H.c.id), db.engine.dialect, per_item=True)


def test_prepared_in_needs_the_named_list() -> None:
    from sqlalchemy.dialects import postgresql

    with pytest.raises(ValueError, match="no IN list"):
        PreparedIn(select(H.c.id).where(H.c.id == 1), postgresql.dialect())
