"""The SQL of the model registry, and nothing else.

A registered model is a ``contexts`` row (type ``registered_model``) plus a ``registered_models``
row; its tags live in ``context_tags``. A version is a ``model_versions`` row pointing at an
``artifacts`` node of type ``model``, with its tags, its file manifest and the aliases that
name it. One instance wraps one connection inside the caller's transaction; reads of many
models or versions are a fixed handful of queries, whatever the page size (no N+1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from clew.core import schema
from clew.core.errors import NotFound
from clew.core.prepared import plain
from clew.registry.model import ModelVersion, RegisteredModel, VersionFile
from clew.registry.statements import (
    REGISTERED_MODEL,
    hot_path,
    latest_per_stage,
    page_reads,
    statements,
)

C, CT = schema.contexts, schema.context_tags
RM = schema.registered_models
MV, MVT, MVF = schema.model_versions, schema.model_version_tags, schema.model_version_files
MA = schema.model_aliases

MODEL_ARTIFACT = "model"
_CHUNK = 900  # under SQLite's bound-parameter limit per statement


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _version(row: Any, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    """A version from a row of ``statements.VERSION_COLUMNS`` (unpacked by position: a page of
    100 versions spent a fifth of its time on the rows' attribute lookups)."""
    (_, _, name, version, created, updated, user, stage, text, source, run, status, message,
     logged, digest, run_link) = row  # fmt: skip
    return ModelVersion(
        name, version, created, updated, user, stage, text, source, run, status, message,
        logged, digest, tags, tuple(aliases), run_link,
    )  # fmt: skip


class RegistryStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        self._sql = statements(conn.dialect.name)
        self._hot = hot_path(conn.dialect)

    # ---- registered models -----------------------------------------------------------------

    def model_id(self, name: str) -> int | None:
        found = self._hot.model_by_name(self.conn, {"name": name}).scalar_one_or_none()
        return None if found is None else int(found)

    def require_model(self, name: str) -> int:
        model_id = self.model_id(name)
        if model_id is None:
            raise NotFound("Registered model does not exist", name=name)
        return model_id

    def insert_model(self, name: str, description: str, user_id: str, now: int) -> int:
        result = self.conn.execute(
            self._sql.insert_context,
            {
                "type": REGISTERED_MODEL,
                "name": name,
                "lifecycle_stage": "active",
                "artifact_location": None,
                "created_at": now,
                "updated_at": now,
                "parent_id": None,
            },
        )
        key = result.inserted_primary_key
        assert key is not None
        model_id = int(key[0])
        self.conn.execute(
            self._sql.insert_model,
            {
                "context_id": model_id,
                "description": description,
                "user_id": user_id,
                "last_version": 0,
            },
        )
        return model_id

    def get_models(self, ids: Sequence[int]) -> dict[int, RegisteredModel]:
        """Whole models (tags, aliases, newest version per stage) in seven queries."""
        reads = page_reads(self.conn.dialect)
        rows: list[Any] = []
        for chunk in _chunks(list(ids)):
            rows += reads.models_by_ids(self.conn, chunk).all()
        found = [r.id for r in rows]
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        aliases: dict[int, dict[str, int]] = defaultdict(dict)
        latest_ids: list[int] = []
        for chunk in _chunks(found):
            for model_id, key, value in plain(reads.model_tags(self.conn, chunk)):
                tags[model_id][key] = value
            for model_id, alias, version in plain(reads.model_aliases(self.conn, chunk)):
                aliases[model_id][alias] = version
            latest_ids += self.latest_version_ids(chunk)
        latest: dict[int, list[ModelVersion]] = defaultdict(list)
        versions = self.get_versions(latest_ids)
        model_of = {r.id: r.name for r in rows}
        by_name = {name: mid for mid, name in model_of.items()}
        for v in sorted(versions, key=lambda v: v.version):
            latest[by_name[v.name]].append(v)
        return {
            r.id: RegisteredModel(
                name=r.name,
                creation_timestamp=r.created_at,
                last_updated_timestamp=r.updated_at,
                user_id=r.user_id,
                description=r.description,
                tags=tags[r.id],
                aliases=aliases[r.id],
                latest_versions=tuple(latest[r.id]),
            )
            for r in rows
        }

    def latest_version_ids(
        self, model_ids: Sequence[int], stages: Sequence[str] | None = None
    ) -> list[int]:
        """The id of the newest version in each (model, stage) that has one."""
        if stages is None:
            rows = page_reads(self.conn.dialect).latest_per_stage(self.conn, model_ids)
            return [int(i) for (i,) in plain(rows)]
        q = latest_per_stage(list(stages))
        return [int(i) for i in self.conn.execute(q, {"ids": list(model_ids)}).scalars()]

    def update_model(self, model_id: int, now: int, **values: Any) -> None:
        """``name`` goes to the context; ``description`` to the registered model row.

        The registered-model row first, then the context: the order version creation locks
        them in, so the two cannot deadlock on PostgreSQL.
        """
        if "description" in values:
            self.conn.execute(
                update(RM)
                .where(RM.c.context_id == model_id)
                .values(description=values["description"])
            )
        context = {k: v for k, v in values.items() if k == "name"}
        self.conn.execute(update(C).where(C.c.id == model_id).values(updated_at=now, **context))

    def touch_model(self, model_id: int, now: int) -> None:
        self._hot.touch_model(self.conn, {"model_id": model_id, "now": now})

    def set_model_tags(self, model_id: int, tags: Mapping[str, str]) -> None:
        if not tags:
            return
        stmt = self._insert(CT)
        stmt = stmt.on_conflict_do_update(
            index_elements=[CT.c.context_id, CT.c.key], set_={"value": stmt.excluded.value}
        )
        self.conn.execute(
            stmt, [{"context_id": model_id, "key": k, "value": v} for k, v in sorted(tags.items())]
        )

    def delete_model_tag(self, model_id: int, key: str) -> int:
        return int(
            self.conn.execute(
                delete(CT).where(CT.c.context_id == model_id, CT.c.key == key)
            ).rowcount
        )

    def delete_model(self, model_id: int) -> None:
        """The model, its versions (with their tags and files) and its aliases.

        The versions' ``artifacts`` nodes and OUTPUT events stay: lineage is append-only, and
        a deleted version's past (which run produced it) is still true.
        """
        versions = select(MV.c.id).where(MV.c.model_id == model_id).scalar_subquery()
        self.conn.execute(delete(MA).where(MA.c.model_id == model_id))
        self.conn.execute(delete(MVT).where(MVT.c.version_id.in_(versions)))
        self.conn.execute(delete(MVF).where(MVF.c.version_id.in_(versions)))
        self.conn.execute(delete(MV).where(MV.c.model_id == model_id))
        self.conn.execute(delete(CT).where(CT.c.context_id == model_id))
        self.conn.execute(delete(RM).where(RM.c.context_id == model_id))
        self.conn.execute(delete(C).where(C.c.id == model_id))

    def aliases_of_model(self, model_id: int) -> dict[str, int]:
        rows = self.conn.execute(
            select(MA.c.alias, MV.c.version)
            .join(MV, MV.c.id == MA.c.version_id)
            .where(MA.c.model_id == model_id)
            .order_by(MA.c.alias)
        )
        return {r.alias: r.version for r in rows}

    def version_count(self, model_id: int) -> int:
        return int(
            self.conn.execute(
                select(func.count()).select_from(MV).where(MV.c.model_id == model_id)
            ).scalar_one()
        )

    # ---- versions ----------------------------------------------------------------------------

    def next_version(self, model_id: int) -> int:
        """Allocate the model's next version number (never one handed out before)."""
        return int(self._hot.bump_version(self.conn, {"model_id": model_id}).scalar_one())

    def insert_model_artifact(
        self, *, name: str, uri: str, digest: str, properties: Mapping[str, Any], now: int
    ) -> int:
        """The version's node in the metadata graph: an ``artifacts`` row of type ``model``."""
        result = self._hot.insert_artifact(
            self.conn,
            {
                "type": MODEL_ARTIFACT,
                "name": name,
                "uri": uri,
                "digest": digest,
                "properties": orjson.dumps(dict(properties)).decode(),
                "created_at": now,
                "dedup_key": None,
            },
        )
        return int(result.scalar_one())

    def insert_output_event(self, run_id: str, artifact_id: int, name: str, now: int) -> None:
        """The edge run → model: the run's execution wrote this model (lineage walks it)."""
        self._hot.insert_event(
            self.conn,
            {
                "execution_id": run_id,
                "artifact_id": artifact_id,
                "type": "OUTPUT",
                "name": name,
                "properties": "{}",
                "time": now,
            },
        )

    def insert_version(self, values: Mapping[str, Any]) -> int:
        return int(self._hot.insert_version(self.conn, values).scalar_one())

    def insert_files(self, version_id: int, files: Sequence[VersionFile]) -> None:
        rows = [
            {"version_id": version_id, "path": f.path, "digest": f.digest, "size": f.size}
            for f in files
        ]
        for chunk in _chunks(rows, 200):
            self.conn.execute(self._sql.insert_files, list(chunk))

    def owner_files(self, owner_id: str, path: str) -> list[VersionFile]:
        """The files an artifact owner (a run, a logged model) holds at ``path``, relative to it:
        the one file if ``path`` is a file, else every file below it (all of them for "")."""
        if not path:
            rows = self.conn.execute(self._sql.owner_files, {"owner": owner_id}).all()
            return [VersionFile(r.path, r.digest, r.size) for r in rows]
        bound = {"owner": owner_id, "path": path, "lo": path + "/", "hi": path + "0"}
        rows = self.conn.execute(self._sql.owner_files_at, bound).all()
        if len(rows) == 1 and rows[0].path == path:
            return [VersionFile(path.rsplit("/", 1)[-1], rows[0].digest, rows[0].size)]
        cut = len(path) + 1
        return [VersionFile(r.path[cut:], r.digest, r.size) for r in rows if r.path != path]

    def version_files(self, version_id: int) -> list[VersionFile]:
        rows = self.conn.execute(
            select(MVF.c.path, MVF.c.digest, MVF.c.size)
            .where(MVF.c.version_id == version_id)
            .order_by(MVF.c.path)
        )
        return [VersionFile(r.path, r.digest, r.size) for r in rows]

    def version_id(self, model_id: int, version: int) -> int | None:
        found = self._hot.version_id(
            self.conn, {"model_id": model_id, "version": version}
        ).scalar_one_or_none()
        return None if found is None else int(found)

    def require_version(self, model_id: int, name: str, version: int) -> int:
        version_id = self.version_id(model_id, version)
        if version_id is None:
            raise NotFound("Model version does not exist", name=name, version=version)
        return version_id

    def get_versions(self, ids: Sequence[int]) -> list[ModelVersion]:
        """Versions with tags and aliases, in the order of ``ids``, in three queries."""
        rows: dict[int, Any] = {}
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        aliases: dict[int, list[str]] = defaultdict(list)
        reads = page_reads(self.conn.dialect)
        for chunk in _chunks(list(ids)):
            rows.update((r[0], r) for r in plain(reads.versions_by_ids(self.conn, chunk)))
            for vid, key, value in plain(reads.version_tags(self.conn, chunk)):
                tags[vid][key] = value
            for vid, alias in plain(reads.version_aliases(self.conn, chunk)):
                aliases[vid].append(alias)
        return [_version(rows[i], tags[i], aliases[i]) for i in ids if i in rows]

    def get_version(self, version_id: int) -> ModelVersion:
        return self.get_versions([version_id])[0]

    def update_version(self, version_id: int, now: int, **values: Any) -> None:
        self.conn.execute(update(MV).where(MV.c.id == version_id).values(updated_at=now, **values))

    def touch_version(self, version_id: int, now: int) -> None:
        self._hot.touch_version(self.conn, {"version_id": version_id, "now": now})

    def set_version_tags(self, version_id: int, tags: Mapping[str, str]) -> None:
        if tags:
            self.conn.execute(
                self._sql.upsert_version_tags,
                [{"version_id": version_id, "key": k, "value": v} for k, v in sorted(tags.items())],
            )

    def delete_version_tag(self, version_id: int, key: str) -> int:
        return int(
            self.conn.execute(
                delete(MVT).where(MVT.c.version_id == version_id, MVT.c.key == key)
            ).rowcount
        )

    def delete_version(self, version_id: int) -> list[str]:
        """Delete a version, its tags, files and aliases; returns the aliases it held."""
        held = list(
            self.conn.execute(
                select(MA.c.alias).where(MA.c.version_id == version_id).order_by(MA.c.alias)
            ).scalars()
        )
        self.conn.execute(delete(MA).where(MA.c.version_id == version_id))
        self.conn.execute(delete(MVT).where(MVT.c.version_id == version_id))
        self.conn.execute(delete(MVF).where(MVF.c.version_id == version_id))
        self.conn.execute(delete(MV).where(MV.c.id == version_id))
        return held

    # ---- aliases and stages ------------------------------------------------------------------

    def alias_target(self, model_id: int, alias: str) -> tuple[int, int] | None:
        """``(version_id, version)`` the alias names, or None."""
        row: Any = self._hot.alias_target(self.conn, {"model_id": model_id, "alias": alias})
        found = row.first()
        return None if found is None else (int(found[0]), int(found[1]))

    def set_alias(self, model_id: int, alias: str, version_id: int) -> None:
        self._hot.upsert_alias(
            self.conn, {"model_id": model_id, "alias": alias, "version_id": version_id}
        )

    def delete_alias(self, model_id: int, alias: str) -> int:
        return int(
            self.conn.execute(
                delete(MA).where(MA.c.model_id == model_id, MA.c.alias == alias)
            ).rowcount
        )

    def versions_in_stage(self, model_id: int, stage: str) -> list[tuple[int, int]]:
        """``(version_id, version)`` of every version in ``stage``, oldest first."""
        rows = self.conn.execute(
            select(MV.c.id, MV.c.version)
            .where(MV.c.model_id == model_id, MV.c.stage == stage)
            .order_by(MV.c.version)
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    def set_stage(self, version_ids: Sequence[int], stage: str, now: int) -> None:
        if version_ids:
            self.conn.execute(
                update(MV)
                .where(MV.c.id.in_(sorted(version_ids)))
                .values(stage=stage, updated_at=now)
            )

    # ---- search ------------------------------------------------------------------------------

    def run_search(self, statement: Any) -> list[Any]:
        return list(self.conn.execute(statement).all())
