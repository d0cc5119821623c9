"""The registry's hot-path statements, built once per dialect instead of once per call.

Creating a version, moving an alias and reading a version are the calls a deployment pipeline
makes in a loop; building their SQLAlchemy constructs cost more than running them on SQLite
(tracking measured the same), so they are built here once and bound by name.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from clew.core import schema
from clew.core.prepared import Prepared, PreparedIn, per_dialect

C, CT = schema.contexts, schema.context_tags
RM = schema.registered_models
MV, MVT, MVF = schema.model_versions, schema.model_version_tags, schema.model_version_files
MA = schema.model_aliases
A, EV = schema.artifacts, schema.events
F = schema.artifact_files
_IDS: Any = bindparam("ids", expanding=True)

REGISTERED_MODEL = "registered_model"

#: The columns a ``ModelVersion`` is built from (the version row, its model's name, its digest).
VERSION_COLUMNS = (
    MV.c.id,
    MV.c.model_id,
    C.c.name,
    MV.c.version,
    MV.c.created_at,
    MV.c.updated_at,
    MV.c.user_id,
    MV.c.stage,
    MV.c.description,
    MV.c.source,
    MV.c.run_id,
    MV.c.status,
    MV.c.status_message,
    MV.c.logged_model_id,
    A.c.digest,
    MV.c.run_link,
)


def _versions() -> Any:
    return (
        select(*VERSION_COLUMNS)
        .select_from(MV)
        .join(C, C.c.id == MV.c.model_id)
        .join(A, A.c.id == MV.c.artifact_id)
    )


@dataclass(frozen=True)
class Statements:
    model_by_name: Any
    bump_version: Any
    insert_context: Any
    insert_model: Any
    insert_files: Any
    upsert_version_tags: Any
    version_id: Any
    versions_by_ids: Any
    version_tags: Any
    version_aliases: Any
    alias_target: Any
    touch_model: Any
    touch_version: Any
    owner_files: Any
    owner_files_at: Any
    models_by_ids: Any
    model_tags: Any
    model_aliases: Any
    latest_per_stage: Any


@functools.cache
def statements(dialect: str) -> Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tags = insert(MVT)
    return Statements(
        model_by_name=select(C.c.id).where(
            C.c.type == REGISTERED_MODEL, C.c.name == bindparam("name")
        ),
        # The row lock this takes orders concurrent creators of one model's versions on
        # PostgreSQL; SQLite's write transactions are serial already (BEGIN IMMEDIATE).
        bump_version=update(RM)
        .where(RM.c.context_id == bindparam("model_id"))
        .values(last_version=RM.c.last_version + 1)
        .returning(RM.c.last_version),
        insert_context=C.insert(),
        insert_model=RM.insert(),
        insert_files=MVF.insert(),
        upsert_version_tags=tags.on_conflict_do_update(
            index_elements=[MVT.c.version_id, MVT.c.key], set_={"value": tags.excluded.value}
        ),
        version_id=select(MV.c.id).where(
            MV.c.model_id == bindparam("model_id"), MV.c.version == bindparam("version")
        ),
        versions_by_ids=_versions().where(MV.c.id.in_(_IDS)),
        version_tags=select(MVT.c.version_id, MVT.c.key, MVT.c.value).where(
            MVT.c.version_id.in_(_IDS)
        ),
        version_aliases=select(MA.c.version_id, MA.c.alias)
        .where(MA.c.version_id.in_(_IDS))
        .order_by(MA.c.alias),
        alias_target=select(MA.c.version_id, MV.c.version)
        .join(MV, MV.c.id == MA.c.version_id)
        .where(MA.c.model_id == bindparam("model_id"), MA.c.alias == bindparam("alias")),
        touch_model=update(C)
        .where(C.c.id == bindparam("model_id"))
        .values(updated_at=bindparam("now")),
        touch_version=update(MV)
        .where(MV.c.id == bindparam("version_id"))
        .values(updated_at=bindparam("now")),
        # A source's files in one range scan of artifact_files' primary key: the file at
        # ``path`` or everything below it (``path/ <= p < path0``, as artifacts.store reads
        # directories). Here rather than through ArtifactFileStore because registering a
        # version is a hot path and that store builds its statements per call.
        owner_files=select(F.c.path, F.c.digest, F.c.size)
        .where(F.c.owner_id == bindparam("owner"))
        .order_by(F.c.path),
        owner_files_at=select(F.c.path, F.c.digest, F.c.size)
        .where(
            F.c.owner_id == bindparam("owner"),
            or_(
                F.c.path == bindparam("path"),
                and_(F.c.path >= bindparam("lo"), F.c.path < bindparam("hi")),
            ),
        )
        .order_by(F.c.path),
        models_by_ids=select(C.c.id, C.c.name, C.c.created_at, C.c.updated_at, RM.c.description)
        .add_columns(RM.c.user_id)
        .join(RM, RM.c.context_id == C.c.id)
        .where(C.c.type == REGISTERED_MODEL, C.c.id.in_(_IDS)),
        model_tags=select(CT.c.context_id, CT.c.key, CT.c.value).where(CT.c.context_id.in_(_IDS)),
        model_aliases=select(MA.c.model_id, MA.c.alias, MV.c.version)
        .join(MV, MV.c.id == MA.c.version_id)
        .where(MA.c.model_id.in_(_IDS))
        .order_by(MA.c.alias),
        latest_per_stage=latest_per_stage(),
    )


def latest_per_stage(stages: Any = None) -> Any:
    """The id of the newest version in each (model, stage) of the ``ids`` models."""
    newest = select(MV.c.model_id, MV.c.stage, func.max(MV.c.version).label("version")).where(
        MV.c.model_id.in_(_IDS)
    )
    if stages is not None:
        newest = newest.where(MV.c.stage.in_(stages))
    sub = newest.group_by(MV.c.model_id, MV.c.stage).subquery()
    return select(MV.c.id).join(
        sub, (sub.c.model_id == MV.c.model_id) & (sub.c.version == MV.c.version)
    )


@dataclass(frozen=True)
class PageReads:
    """The reads that turn a page of version or model ids into versions and models, with their
    ``IN`` lists compiled once per length (``core.prepared.PreparedIn``). Building the model
    reads per call cost ~1 ms of a 1.7 ms ``registered-models/get``."""

    versions_by_ids: PreparedIn
    version_tags: PreparedIn
    version_aliases: PreparedIn
    models_by_ids: PreparedIn
    model_tags: PreparedIn
    model_aliases: PreparedIn
    latest_per_stage: PreparedIn


@per_dialect
def page_reads(dialect: Dialect) -> PageReads:
    sql = statements(dialect.name)
    return PageReads(
        versions_by_ids=PreparedIn(sql.versions_by_ids, dialect),
        version_tags=PreparedIn(sql.version_tags, dialect),
        version_aliases=PreparedIn(sql.version_aliases, dialect),
        models_by_ids=PreparedIn(sql.models_by_ids, dialect),
        model_tags=PreparedIn(sql.model_tags, dialect),
        model_aliases=PreparedIn(sql.model_aliases, dialect),
        latest_per_stage=PreparedIn(sql.latest_per_stage, dialect),
    )


def _insert_returning_id(table: Any, columns: tuple[str, ...]) -> Any:
    """An insert binding exactly ``columns`` by name and returning the new row's id (SQLite
    has had ``RETURNING`` since 3.35), for ``Prepared``, which binds no defaults."""
    return table.insert().values({c: bindparam(c) for c in columns}).returning(table.c.id)


ARTIFACT_COLUMNS = ("type", "name", "uri", "digest", "properties", "created_at", "dedup_key")
EVENT_COLUMNS = ("execution_id", "artifact_id", "type", "name", "properties", "time")
VERSION_INSERT_COLUMNS = (
    "model_id",
    "version",
    "artifact_id",
    "source",
    "run_id",
    "logged_model_id",
    "status",
    "status_message",
    "stage",
    "description",
    "user_id",
    "created_at",
    "updated_at",
    "run_link",
)


@dataclass(frozen=True)
class HotPath:
    """What creating a version and moving an alias run, as driver SQL (``core.prepared``):
    SQLAlchemy's per-execution bookkeeping was a quarter of a version's creation."""

    model_by_name: Prepared
    bump_version: Prepared
    insert_artifact: Prepared
    insert_event: Prepared
    insert_version: Prepared
    touch_model: Prepared
    version_id: Prepared
    touch_version: Prepared
    alias_target: Prepared
    upsert_alias: Prepared


@per_dialect
def hot_path(dialect: Dialect) -> HotPath:
    sql = statements(dialect.name)
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    alias = insert(MA).values(
        model_id=bindparam("model_id"), alias=bindparam("alias"), version_id=bindparam("version_id")
    )
    upsert_alias = alias.on_conflict_do_update(
        index_elements=[MA.c.model_id, MA.c.alias], set_={"version_id": alias.excluded.version_id}
    )
    event = EV.insert().values({c: bindparam(c) for c in EVENT_COLUMNS})
    return HotPath(
        model_by_name=Prepared(sql.model_by_name, dialect),
        bump_version=Prepared(sql.bump_version, dialect),
        insert_artifact=Prepared(_insert_returning_id(A, ARTIFACT_COLUMNS), dialect),
        insert_event=Prepared(event, dialect),
        insert_version=Prepared(_insert_returning_id(MV, VERSION_INSERT_COLUMNS), dialect),
        touch_model=Prepared(sql.touch_model, dialect),
        version_id=Prepared(sql.version_id, dialect),
        touch_version=Prepared(sql.touch_version, dialect),
        alias_target=Prepared(sql.alias_target, dialect),
        upsert_alias=Prepared(upsert_alias, dialect),
    )
