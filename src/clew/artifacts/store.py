"""The SQL of the ``artifact_files`` table, and nothing else: ``(owner_id, path) -> digest, size``.

One instance wraps one connection inside the caller's transaction. Paths arrive canonical
(``clew.artifacts.paths``); directories are not stored, they are the prefixes of file paths.

Directory reads are range scans on the primary key: everything under ``d`` is
``d/ <= path < d0``, because ``0`` is the character right after ``/``. That needs paths to
compare by code point: SQLite's BINARY collation does, and on PostgreSQL the schema declares the
column ``COLLATE "C"``, whatever the database's default (a linguistic ``en-US`` collation would
put ``A/x`` and ``a+b`` inside ``a/ .. a0``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from clew.artifacts.model import FileInfo
from clew.core import schema
from clew.core.prepared import Prepared, per_dialect

F = schema.artifact_files

# Stay far under SQLite's bound-parameter limit per statement.
_CHUNK = 400
_FIRST_PAGE, _MAX_PAGE = 128, 8192


def _after(prefix: str) -> str:
    """The smallest string greater than every ``prefix/…``."""
    return prefix + "0"


def _to_file(row: Any) -> FileInfo:
    return FileInfo(path=row.path, is_dir=False, size=row.size, digest=row.digest)


@functools.cache
def _upsert(dialect: str) -> Any:
    """Insert or replace files, built once per dialect (building it cost more than running
    it on SQLite, once per upload)."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(F)
    return stmt.on_conflict_do_update(
        index_elements=[F.c.owner_id, F.c.path],
        set_={
            "digest": stmt.excluded.digest,
            "size": stmt.excluded.size,
            "created_at": stmt.excluded.created_at,
        },
    )


@per_dialect
def _walk_statements(dialect: Dialect) -> tuple[Prepared, Prepared]:
    """A whole tree's files, and those in ``low <= path < high``, in path order."""
    files = select(F.c.path, F.c.digest, F.c.size).where(F.c.owner_id == bindparam("owner"))
    below = files.where(F.c.path >= bindparam("low"), F.c.path < bindparam("high"))
    return (
        Prepared(files.order_by(F.c.path), dialect),
        Prepared(below.order_by(F.c.path), dialect),
    )


class ArtifactFileStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._path: ColumnElement[str] = F.c.path

    def _under(self, prefix: str) -> ColumnElement[bool]:
        """Rows strictly below directory ``prefix`` (everything, for the root ``""``)."""
        if not prefix:
            return true()
        return and_(self._path >= prefix + "/", self._path < _after(prefix))

    # ---- writes --------------------------------------------------------------------------------

    def put(self, owner_id: str, path: str, digest: str, size: int, created_at: int) -> None:
        """Insert or replace one file: logging the same path again points it at the new blob."""
        self.put_many(owner_id, [FileInfo(path, False, size, digest)], created_at)

    def put_many(self, owner_id: str, rows: Iterable[FileInfo], created_at: int) -> None:
        """Upsert many files; a path given twice keeps the last."""
        latest = {row.path: row for row in rows}
        values = [
            {
                "owner_id": owner_id,
                "path": row.path,
                "digest": row.digest,
                "size": row.size,
                "created_at": created_at,
            }
            for row in latest.values()
        ]
        stmt = _upsert(self.conn.dialect.name)
        for i in range(0, len(values), _CHUNK):
            self.conn.execute(stmt, values[i : i + _CHUNK])

    def delete(self, owner_id: str, path_or_prefix: str) -> int:
        """Delete a file, or every file under a directory (all of them for ``""``)."""
        cond = F.c.owner_id == owner_id
        if path_or_prefix:
            cond = and_(cond, or_(F.c.path == path_or_prefix, self._under(path_or_prefix)))
        return int(self.conn.execute(delete(F).where(cond)).rowcount)

    # ---- reads ---------------------------------------------------------------------------------

    def get(self, owner_id: str, path: str) -> FileInfo | None:
        row = self.conn.execute(
            select(F.c.path, F.c.digest, F.c.size).where(F.c.owner_id == owner_id, F.c.path == path)
        ).one_or_none()
        return None if row is None else _to_file(row)

    def is_dir(self, owner_id: str, path: str) -> bool:
        """Whether any file lives below ``path`` (the root is a directory once anything does)."""
        q = select(F.c.path).where(F.c.owner_id == owner_id, self._under(path)).limit(1)
        return self.conn.execute(q).first() is not None

    def walk(self, owner_id: str, prefix: str = "") -> list[FileInfo]:
        """Every file below directory ``prefix`` (the whole tree for ``""``), in path order.
        A prepared statement: a cache hit walks its outputs, and compiling the query cost
        more than running it."""
        if not prefix:
            rows = _walk_statements(self.conn.dialect)[0](self.conn, {"owner": owner_id})
        else:
            below = {"owner": owner_id, "low": prefix + "/", "high": _after(prefix)}
            rows = _walk_statements(self.conn.dialect)[1](self.conn, below)
        return [_to_file(row) for row in rows]

    def clashes(self, owner_id: str, paths: Sequence[str]) -> str | None:
        """The first of ``paths`` that would make a file and a directory share a name.

        That is: an ancestor directory of a path is already a file, or a path is already a
        directory. Logging both ``a`` and ``a/b`` would make ``a`` unlistable and undownloadable.
        """
        ancestors = sorted({p.rsplit("/", i)[0] for p in paths for i in range(1, p.count("/") + 1)})
        for i in range(0, len(ancestors), _CHUNK):
            q = select(F.c.path).where(
                F.c.owner_id == owner_id, F.c.path.in_(ancestors[i : i + _CHUNK])
            )
            hit = self.conn.execute(q.limit(1)).scalar_one_or_none()
            if hit is not None:
                return str(hit)
        for i in range(0, len(paths), _CHUNK // 2):
            chunk = paths[i : i + _CHUNK // 2]
            q = select(F.c.path).where(F.c.owner_id == owner_id, or_(*map(self._under, chunk)))
            hit = self.conn.execute(q.limit(1)).scalar_one_or_none()
            if hit is not None:
                return next(p for p in chunk if hit.startswith(p + "/"))
        return None

    def referenced_digests(self) -> Iterator[str]:
        """Every digest anything references, once each (for garbage collection): run and
        logged-model files, and the files registered model versions keep (``BLOB_REFERENCES``)."""
        q = union(*(select(column) for column in schema.BLOB_REFERENCES)).execution_options(
            yield_per=10_000
        )
        for digest in self.conn.execute(q).scalars():
            yield str(digest)

    # Last in the class: below this line, ``list`` would name the method, not the builtin.
    def list(self, owner_id: str, prefix: str = "") -> list[FileInfo]:
        """The direct children of directory ``prefix``, files and directories, in path order.

        A page of rows is read at a time; when a page ends inside a subdirectory the next read
        starts just past it (``sub0``), so a subdirectory with a million files costs one short
        read, not a million rows. Pages grow while they hold only direct children.
        """
        base = prefix + "/" if prefix else ""
        out: list[FileInfo] = []
        lower: ColumnElement[bool] = self._path >= base
        page = _FIRST_PAGE
        while True:
            q = select(F.c.path, F.c.digest, F.c.size).where(F.c.owner_id == owner_id, lower)
            if prefix:
                q = q.where(self._path < _after(prefix))
            rows = self.conn.execute(q.order_by(self._path).limit(page)).all()
            current_dir: str | None = None
            for row in rows:
                name, sep, _ = row.path[len(base) :].partition("/")
                if not sep:
                    out.append(_to_file(row))
                    current_dir = None
                elif base + name != current_dir:
                    current_dir = base + name
                    out.append(FileInfo(current_dir, is_dir=True))
            if len(rows) < page:
                # Rows come in full-path order, where "a.txt" precedes "a/…"; entries sort by name.
                return sorted(out, key=lambda f: f.path)
            if current_dir is not None:
                lower, page = self._path >= _after(current_dir), _FIRST_PAGE
            else:
                lower, page = self._path > rows[-1].path, min(page * 2, _MAX_PAGE)
