"""Every table Clew has, as SQLAlchemy Core. Migrations under ``migrations/`` create them.

The metadata graph is the centre: ``contexts`` group (an experiment is a context), ``executions``
ran (a tracking run is an execution), ``artifacts`` were read or written (a dataset is an
artifact) and ``events`` are the INPUT/OUTPUT edges between executions and artifacts. Params,
metrics and tags hang off executions; ``artifact_files`` maps an owner's paths to blob digests;
``audit_events`` is the hash-chained log of every change.

Times are UTC milliseconds. JSON-valued columns are ``Text`` holding canonical JSON, so the
same bytes round-trip on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Autoincrementing 64-bit key: SQLite only autoincrements a column declared INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

KEY_LEN = 250
PathString = String(1024).with_variant(String(1024, collation="C"), "postgresql")

contexts = Table(
    "contexts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("type", String(32), nullable=False),
    Column("name", String(500), nullable=False),
    Column("lifecycle_stage", String(16), nullable=False, default="active"),
    Column("artifact_location", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("parent_id", BigId, ForeignKey("contexts.id"), nullable=True),
    UniqueConstraint("type", "name"),
)

context_tags = Table(
    "context_tags",
    metadata,
    Column("context_id", BigId, ForeignKey("contexts.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("type", String(32), nullable=False, default="run"),
    Column("context_id", BigId, ForeignKey("contexts.id"), nullable=False),
    Column("name", String(500), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("user_id", String(256), nullable=False, default=""),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(16), nullable=False, default="active"),
    Column("deleted_at", BigInteger, nullable=True),
    Column("parent_id", String(32), ForeignKey("executions.id"), nullable=True),
    Column("artifact_uri", Text, nullable=False, default=""),
    # Covering indexes for the default search order (start_time DESC, id), per experiment and
    # across all experiments: a page is an index range scan with no table lookups.
    Index(None, "context_id", "lifecycle_stage", "start_time", "id"),
    Index(None, "lifecycle_stage", "start_time", "id"),
    Index(None, "parent_id"),
)

execution_params = Table(
    "execution_params",
    metadata,
    Column("execution_id", String(32), ForeignKey("executions.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

execution_tags = Table(
    "execution_tags",
    metadata,
    Column("execution_id", String(32), ForeignKey("executions.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

# Full history. NaN is stored as value 0 with is_nan set (SQLite turns a NaN REAL into NULL);
# +-Inf are stored as themselves. The key makes an exact retry of the same point a no-op.
metrics = Table(
    "metrics",
    metadata,
    Column("execution_id", String(32), ForeignKey("executions.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("timestamp", BigInteger, primary_key=True),
    Column("value", Float, primary_key=True),
    Column("is_nan", Boolean, primary_key=True),
    sqlite_with_rowid=False,
)

# One row per (run, key): the point with the highest (step, timestamp, value). Search reads this.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("execution_id", String(32), ForeignKey("executions.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False),
    Index(None, "key", "is_nan", "value"),  # covers metric filters and ordering by a metric
    sqlite_with_rowid=False,
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("type", String(32), nullable=False),
    Column("name", String(500), nullable=False, default=""),
    Column("uri", Text, nullable=False, default=""),
    Column("digest", String(128), nullable=False, default=""),
    Column("properties", Text, nullable=False, default="{}"),
    Column("created_at", BigInteger, nullable=False),
    # Identity of a node that must not be duplicated (e.g. "dataset:<name>:<digest>"); NULL if none.
    Column("dedup_key", String(800), nullable=True, unique=True),
    Index(None, "type", "name"),
    Index(None, "digest"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("execution_id", String(32), ForeignKey("executions.id"), nullable=False),
    Column("artifact_id", BigId, ForeignKey("artifacts.id"), nullable=False),
    Column("type", String(8), nullable=False),
    Column("name", String(500), nullable=False, default=""),
    Column("properties", Text, nullable=False, default="{}"),
    Column("time", BigInteger, nullable=False),
    UniqueConstraint("execution_id", "artifact_id", "type", "name"),
    Index(None, "artifact_id", "type", "name", "execution_id"),  # dataset filters, index-only
)

# (owner, path) -> blob digest. The owner is a run id today; logged models and pipelines later.
artifact_files = Table(
    "artifact_files",
    metadata,
    Column("owner_id", String(64), primary_key=True),
    # Byte order on PostgreSQL too, so a folder listing is one range scan of the primary key.
    Column("path", PathString, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "digest"),
    sqlite_with_rowid=False,
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("time", BigInteger, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(256), nullable=False),
    Column("summary", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "resource_type", "resource_id"),
    Index(None, "action"),
    Index(None, "time"),
)

# A single row: the chain's head. Appending locks it, which orders concurrent writers.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
