"""The metadata graph, tracking, artifact files and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "contexts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("parent_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["contexts.id"], name="fk_contexts_parent_id_contexts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contexts"),
        sa.UniqueConstraint("type", "name", name="uq_contexts_type_name"),
    )
    op.create_table(
        "context_tags",
        sa.Column("context_id", BigId, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["contexts.id"],
            name="fk_context_tags_context_id_contexts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("context_id", "key", name="pk_context_tags"),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("context_id", BigId, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("artifact_uri", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"], ["contexts.id"], name="fk_executions_context_id_contexts"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["executions.id"], name="fk_executions_parent_id_executions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
    )
    op.create_index(
        "ix_executions_context_id_lifecycle_stage_start_time_id",
        "executions",
        ["context_id", "lifecycle_stage", "start_time", "id"],
    )
    op.create_index(
        "ix_executions_lifecycle_stage_start_time_id",
        "executions",
        ["lifecycle_stage", "start_time", "id"],
    )
    op.create_index("ix_executions_parent_id", "executions", ["parent_id"])
    for name in ("execution_params", "execution_tags"):
        op.create_table(
            name,
            sa.Column("execution_id", sa.String(32), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            sa.ForeignKeyConstraint(
                ["execution_id"], ["executions.id"], name=f"fk_{name}_execution_id_executions"
            ),
            sa.PrimaryKeyConstraint("execution_id", "key", name=f"pk_{name}"),
            sqlite_with_rowid=False,
        )
        op.create_index(f"ix_{name}_key_value", name, ["key", "value"])
    op.create_table(
        "metrics",
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name="fk_metrics_execution_id_executions"
        ),
        sa.PrimaryKeyConstraint(
            "execution_id", "key", "step", "timestamp", "value", "is_nan", name="pk_metrics"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "latest_metrics",
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name="fk_latest_metrics_execution_id_executions"
        ),
        sa.PrimaryKeyConstraint("execution_id", "key", name="pk_latest_metrics"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_latest_metrics_key_is_nan_value", "latest_metrics", ["key", "is_nan", "value"]
    )
    op.create_table(
        "artifacts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("properties", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("dedup_key", sa.String(800), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.UniqueConstraint("dedup_key", name="uq_artifacts_dedup_key"),
    )
    op.create_index("ix_artifacts_type_name", "artifacts", ["type", "name"])
    op.create_index("ix_artifacts_digest", "artifacts", ["digest"])
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("artifact_id", BigId, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("properties", sa.Text, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name="fk_events_execution_id_executions"
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name="fk_events_artifact_id_artifacts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint(
            "execution_id",
            "artifact_id",
            "type",
            "name",
            name="uq_events_execution_id_artifact_id_type_name",
        ),
    )
    op.create_index(
        "ix_events_artifact_id_type_name_execution_id",
        "events",
        ["artifact_id", "type", "name", "execution_id"],
    )
    op.create_table(
        "artifact_files",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column(
            "path",
            sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "path", name="pk_artifact_files"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_artifact_files_digest", "artifact_files", ["digest"])
    op.create_table(
        "audit_events",
        sa.Column("seq", BigId, nullable=False, autoincrement=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.String(256), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
    )
    op.create_index(
        "ix_audit_events_resource_type_resource_id",
        "audit_events",
        ["resource_type", "resource_id"],
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_time", "audit_events", ["time"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    # MLflow's clients assume experiment "0" named Default exists.
    op.execute(
        "INSERT INTO contexts (id, type, name, lifecycle_stage, created_at, updated_at) "
        "VALUES (0, 'experiment', 'Default', 'active', 0, 0)"
    )
    if op.get_bind().dialect.name == "postgresql":
        # The audit log is append-only: refuse UPDATE and DELETE at the database itself.
        op.execute(
            """
            CREATE FUNCTION clew_audit_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION clew_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("The first revision is not reversible: it would drop the audit log")
