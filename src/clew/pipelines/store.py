"""The SQL of pipeline lineage: pipeline and pipeline-run contexts, output nodes, their edges.

All in the metadata graph's own tables: a pipeline is a ``contexts`` row of type
``pipeline``, a pipeline run one of type ``pipeline_run`` under it (named by its tracked run's
id), each step output an ``artifacts`` node of type ``pipeline_output`` (one per producing step
run and output name), and ``events`` join step runs to the outputs they wrote (OUTPUT) and read
(INPUT). So "what produced this and what read it" is the same query as for datasets and models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from clew.core import schema
from clew.core.prepared import Prepared, per_dialect
from clew.tracking.search.hints import unindexed_number, unindexed_text

C, CT = schema.contexts, schema.context_tags
E, A, EV = schema.executions, schema.artifacts, schema.events
ET, EP = schema.execution_tags, schema.execution_params

PIPELINE: Final = "pipeline"
PIPELINE_RUN: Final = "pipeline_run"
OUTPUT_NODE: Final = "pipeline_output"


@dataclass(frozen=True)
class _Statements:
    """What every step run's record runs, as driver SQL compiled once (``core.prepared``):
    building them per call cost more than SQLite running them."""

    context: Prepared
    context_tags: Prepared
    execution_exists: Prepared
    output_node: Prepared
    insert_output_node: Prepared
    insert_event: Prepared
    keyed_runs: Prepared
    keyed_run: Prepared
    run_tags: Prepared
    run_params: Prepared


@per_dialect
def _statements(dialect: Dialect) -> _Statements:
    insert: Any = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    node_columns = ("type", "name", "uri", "digest", "properties", "created_at", "dedup_key")
    event_columns = ("execution_id", "artifact_id", "type", "name", "properties", "time")
    by_name = (C.c.type == bindparam("type"), C.c.name == bindparam("name"))
    # A cache lookup: the runs tagged with a key, found through the tags' (key, value) index.
    # On SQLite the executions columns are hidden from the planner (``hints.Unindexed``):
    # it would otherwise walk the experiment's runs in start-time order, probing each for the
    # tag (a cache hit of a 3,000-step fan-out read every run of it), where a key has a few.
    keyed = select(E.c.id, E.c.start_time).join(ET, ET.c.execution_id == E.c.id)
    keyed = keyed.where(ET.c.key == bindparam("tag"), ET.c.value == bindparam("value"))
    start = unindexed_number(E.c.start_time)
    newest = keyed.where(
        unindexed_number(E.c.context_id) == bindparam("experiment_id"),
        unindexed_text(E.c.status) == "FINISHED",
        unindexed_text(E.c.lifecycle_stage) == "active",
        start >= bindparam("since"),
    )
    one = keyed.where(E.c.id == bindparam("run_id"), E.c.context_id == bindparam("experiment_id"))
    return _Statements(
        context=Prepared(select(C).where(*by_name), dialect),
        context_tags=Prepared(
            select(CT.c.key, CT.c.value).where(CT.c.context_id == bindparam("context_id")),
            dialect,
        ),
        execution_exists=Prepared(select(E.c.id).where(E.c.id == bindparam("run_id")), dialect),
        output_node=Prepared(select(A.c.id).where(A.c.dedup_key == bindparam("key")), dialect),
        insert_output_node=Prepared(
            insert(A).values({c: bindparam(c) for c in node_columns}).on_conflict_do_nothing(),
            dialect,
        ),
        insert_event=Prepared(
            insert(EV).values({c: bindparam(c) for c in event_columns}).on_conflict_do_nothing(),
            dialect,
        ),
        keyed_runs=Prepared(
            newest.order_by(start.desc(), E.c.id).limit(bindparam("limit")), dialect
        ),
        keyed_run=Prepared(one, dialect),
        run_tags=Prepared(
            select(ET.c.key, ET.c.value).where(ET.c.execution_id == bindparam("run_id")), dialect
        ),
        run_params=Prepared(
            select(EP.c.key, EP.c.value).where(EP.c.execution_id == bindparam("run_id")), dialect
        ),
    )


class PipelineStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._insert: Any = (
            postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        )
        self._sql = _statements(conn.dialect)

    def context_id(self, type_: str, name: str) -> int | None:
        found = self.context(type_, name)
        return None if found is None else int(found.id)

    def context(self, type_: str, name: str) -> Any:
        return self._sql.context(self.conn, {"type": type_, "name": name}).first()

    def ensure_context(self, type_: str, name: str, parent_id: int | None, now: int) -> int:
        self.conn.execute(
            self._insert(C)
            .values(
                type=type_,
                name=name,
                lifecycle_stage="active",
                created_at=now,
                updated_at=now,
                parent_id=parent_id,
            )
            .on_conflict_do_nothing()
        )
        found = self.context_id(type_, name)
        assert found is not None
        return found

    def set_context_tags(self, context_id: int, tags: Mapping[str, str]) -> None:
        if not tags:
            return
        insert = self._insert(CT)
        self.conn.execute(
            insert.on_conflict_do_update(
                index_elements=[CT.c.context_id, CT.c.key], set_={"value": insert.excluded.value}
            ),
            [{"context_id": context_id, "key": k, "value": v} for k, v in sorted(tags.items())],
        )

    def context_tags(self, context_id: int) -> dict[str, str]:
        rows = self._sql.context_tags(self.conn, {"context_id": context_id})
        return {key: value for key, value in rows}

    def execution_exists(self, run_id: str) -> bool:
        return self._sql.execution_exists(self.conn, {"run_id": run_id}).first() is not None

    @staticmethod
    def output_key(step_run_id: str, name: str) -> str:
        return f"{OUTPUT_NODE}:{step_run_id}:{name}"

    def output_node(self, step_run_id: str, name: str) -> int | None:
        key = self.output_key(step_run_id, name)
        found = self._sql.output_node(self.conn, {"key": key}).scalar_one_or_none()
        return None if found is None else int(found)

    def ensure_output_node(
        self, step_run_id: str, name: str, digest: str, properties: Mapping[str, Any], now: int
    ) -> int:
        self._sql.insert_output_node(self.conn, {
            "type": OUTPUT_NODE,
            "name": name,
            "uri": f"runs:/{step_run_id}/outputs/{name}",
            "digest": digest,
            "properties": orjson.dumps(dict(properties), option=orjson.OPT_SORT_KEYS).decode(),
            "created_at": now,
            "dedup_key": self.output_key(step_run_id, name),
        })  # fmt: skip
        found = self.output_node(step_run_id, name)
        assert found is not None
        return found

    def add_event(self, run_id: str, node_id: int, type_: str, name: str, now: int) -> None:
        self._sql.insert_event(self.conn, {
            "execution_id": run_id,
            "artifact_id": node_id,
            "type": type_,
            "name": name,
            "properties": "{}",
            "time": now,
        })  # fmt: skip

    def keyed_runs(
        self, experiment_id: int, tag: str, value: str, since: int, limit: int
    ) -> list[tuple[str, int]]:
        """``(run id, start time)`` of the FINISHED, active runs of ``experiment_id`` tagged
        ``tag=value`` that started at ``since`` or later: newest first, at most ``limit``."""
        params = {"tag": tag, "value": value, "experiment_id": experiment_id}
        params.update(since=since, limit=limit)
        return [(r[0], int(r[1])) for r in self._sql.keyed_runs(self.conn, params)]

    def keyed_run(self, experiment_id: int, tag: str, value: str, run_id: str) -> int | None:
        """The start time of run ``run_id`` if it is in ``experiment_id`` and tagged
        ``tag=value`` (whatever its status)."""
        params = {"tag": tag, "value": value, "experiment_id": experiment_id, "run_id": run_id}
        row = self._sql.keyed_run(self.conn, params).first()
        return None if row is None else int(row[1])

    def run_tags(self, run_id: str) -> dict[str, str]:
        return {k: v for k, v in self._sql.run_tags(self.conn, {"run_id": run_id})}

    def run_params(self, run_id: str) -> dict[str, str]:
        return {k: v for k, v in self._sql.run_params(self.conn, {"run_id": run_id})}

    def events_of(self, run_ids: list[str]) -> list[Any]:
        """``(execution_id, type, name, node id, node digest, node uri)`` of output nodes."""
        return list(
            self.conn.execute(
                select(EV.c.execution_id, EV.c.type, EV.c.name, A.c.id, A.c.digest, A.c.uri)
                .join(A, A.c.id == EV.c.artifact_id)
                .where(EV.c.execution_id.in_(run_ids), A.c.type == OUTPUT_NODE)
                .order_by(EV.c.id)
            )
        )
