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

# ---- model registry (issue 3) ------------------------------------------------------------------
# A registered model is a context (type "registered_model"); its name and times live there and
# its tags in ``context_tags``. Each version points at an ``artifacts`` node of type "model" (the
# graph's view of it) and lists the files it was registered with. Version numbers come from
# ``registered_models.last_version`` (incremented under the row lock), so a number is never
# handed out twice, not even after the version holding it was deleted.

registered_models = Table(
    "registered_models",
    metadata,
    Column("context_id", BigId, ForeignKey("contexts.id", ondelete="CASCADE"), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("user_id", String(256), nullable=False, default=""),
    Column("last_version", BigInteger, nullable=False, default=0),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model_id", BigId, ForeignKey("contexts.id"), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("artifact_id", BigId, ForeignKey("artifacts.id"), nullable=False),
    Column("source", Text, nullable=False),
    Column("run_id", String(32), nullable=True),
    Column("logged_model_id", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("status_message", Text, nullable=False, default=""),
    Column("stage", String(16), nullable=False, default="None"),
    Column("description", Text, nullable=False, default=""),
    Column("user_id", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # A URL to the producing run in some UI, as an MLflow client registered it (0005).
    Column("run_link", Text, nullable=False, default="", server_default=""),
    UniqueConstraint("model_id", "version"),
    Index(None, "model_id", "stage", "version"),
    Index(None, "run_id"),
    Index(None, "logged_model_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("version_id", BigId, ForeignKey("model_versions.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

# The files a version was registered with: its own copy of the manifest, so deleting or
# re-logging the run's artifacts later cannot change what the version is.
model_version_files = Table(
    "model_version_files",
    metadata,
    Column("version_id", BigId, ForeignKey("model_versions.id"), primary_key=True),
    Column("path", PathString, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index(None, "digest"),
    sqlite_with_rowid=False,
)

#: Every column that holds a blob digest something still needs. Garbage collection keeps a
#: blob while any of these names it; a new table that references blobs must be listed here.
BLOB_REFERENCES = (artifact_files.c.digest, model_version_files.c.digest)


model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", BigId, ForeignKey("contexts.id"), primary_key=True),
    Column("alias", String(256), primary_key=True),
    Column("version_id", BigId, ForeignKey("model_versions.id"), nullable=False),
    Index(None, "version_id"),
    sqlite_with_rowid=False,
)
# ---- end of model registry -----------------------------------------------------------------------

# ---- logged models (issue 3, MLflow 3's LoggedModel) ---------------------------------------------
# A model logged from a run, or straight into an experiment: its own id ("m-<32 hex>"), a status
# (PENDING until its files are in, then READY or FAILED), params, metrics and tags. Its files
# are ``artifact_files`` rows whose owner is that id. ``artifact_id`` is its node in the graph:
# an ``artifacts`` row of type "model", which the source run's execution OUTPUTs when there is
# one, so lineage walks model -> run -> datasets. Optional strings (dataset, run of a metric) are
# stored as '' so that they can be part of a primary key on both databases.

logged_models = Table(
    "logged_models",
    metadata,
    Column("id", String(34), primary_key=True),
    Column("experiment_id", BigId, ForeignKey("contexts.id"), nullable=False),
    Column("artifact_id", BigId, ForeignKey("artifacts.id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("model_type", String(500), nullable=False, default=""),
    Column("source_run_id", String(32), ForeignKey("executions.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_message", Text, nullable=False, default=""),
    Column("artifact_location", Text, nullable=False),
    Column("user_id", String(256), nullable=False, default=""),
    Column("lifecycle_stage", String(16), nullable=False, default="active"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("artifact_id"),
    # The default search order (newest first, then id), per experiment and across them all.
    Index(None, "experiment_id", "lifecycle_stage", "created_at", "id"),
    Index(None, "lifecycle_stage", "created_at", "id"),
    Index(None, "source_run_id"),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_id", String(34), ForeignKey("logged_models.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_id", String(34), ForeignKey("logged_models.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

# Full history; a series is (model, key, dataset). NaN as in ``metrics``; an exact retry is a no-op.
logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("model_id", String(34), ForeignKey("logged_models.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("dataset_name", String(500), primary_key=True),
    Column("dataset_digest", String(128), primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("timestamp", BigInteger, primary_key=True),
    Column("value", Float, primary_key=True),
    Column("is_nan", Boolean, primary_key=True),
    Column("run_id", String(32), nullable=False, default=""),
    sqlite_with_rowid=False,
)

# The latest point of each series, by the same rule as ``latest_metrics``. Search reads this.
logged_model_latest_metrics = Table(
    "logged_model_latest_metrics",
    metadata,
    Column("model_id", String(34), ForeignKey("logged_models.id"), primary_key=True),
    Column("key", String(KEY_LEN), primary_key=True),
    Column("dataset_name", String(500), primary_key=True),
    Column("dataset_digest", String(128), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False),
    Column("run_id", String(32), nullable=False, default=""),
    Index(None, "key", "is_nan", "value"),
    sqlite_with_rowid=False,
)
# ---- end of logged models ------------------------------------------------------------------------

# ---- webhooks (issue 3, item 7) ----------------------------------------------------------------
# Subscriptions to registry events, and their outbox. ``webhook.enqueue`` inserts one delivery
# row per matching subscription inside the registry change's own transaction, so an event is
# never lost to a crash and never sent for a change that rolled back. The dispatcher claims due
# rows by moving ``next_attempt_at`` forward (a lease), posts, and records the outcome; a
# finished delivery has ``next_attempt_at`` NULL. ``secret`` is the HMAC key, so it is stored as
# is: it is shown once at creation and never returned by a read.

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # canonical JSON list of event types
    Column("model_name", String(500), nullable=True),  # NULL: every model
    Column("description", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "active", "model_name"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),  # time-ordered hex; the X-Clew-Delivery header
    Column("webhook_id", String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON posted, identical on every attempt
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=True),  # NULL: CLEW_WEBHOOK_MAX_ATTEMPTS
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Index(None, "next_attempt_at"),
    Index(None, "webhook_id", "id"),
)
# ---- end of webhooks ---------------------------------------------------------------------------

# ---- pipeline jobs and schedules (issue 5, items 8 and 9) --------------------------------------
# A pipeline version is a registered definition, keyed by its graph's digest. A job is a request
# to run one with parameters; a worker (in ``clew server`` or ``clew scheduler``) claims it by
# taking its lease and, once the engine starts, records the pipeline's tracked run as ``run_id``.
# A schedule makes jobs: firing one moves ``next_fire_at`` by compare-and-set, and the job it
# makes carries ``(schedule_id, fire_at)``, unique, so several replicas firing at once make one.

pipeline_versions = Table(
    "pipeline_versions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("pipeline", String(500), nullable=False),
    Column("spec", Text, nullable=False),  # serialize.to_dict, canonical JSON
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "pipeline", "created_at"),
)

pipeline_schedules = Table(
    "pipeline_schedules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("pipeline", String(500), nullable=False),
    Column("digest", String(64), nullable=True),  # NULL: the newest version when it fires
    Column("params", Text, nullable=False),
    Column("options", Text, nullable=False),
    Column("cron", String(200), nullable=True),
    Column("interval_s", Integer, nullable=True),
    Column("catchup", Boolean, nullable=False),
    Column("max_concurrency", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("next_fire_at", BigInteger, nullable=False),
    Column("last_fire_at", BigInteger, nullable=True),
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "enabled", "next_fire_at"),
)

pipeline_jobs = Table(
    "pipeline_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("pipeline", String(500), nullable=False),
    Column("digest", String(64), ForeignKey("pipeline_versions.digest"), nullable=False),
    Column("params", Text, nullable=False),
    Column("options", Text, nullable=False),  # {"cache": bool, "executor": name}
    Column("state", String(16), nullable=False),  # QUEUED RUNNING SUCCEEDED FAILED CANCELED
    Column("message", Text, nullable=False, default=""),
    Column("requested_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    Column("worker", String(128), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("run_id", String(32), nullable=True),  # the pipeline run's tracked run
    Column("resume_from", String(32), nullable=True),
    Column(
        "schedule_id",
        String(32),
        ForeignKey("pipeline_schedules.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("fire_at", BigInteger, nullable=True),
    UniqueConstraint("schedule_id", "fire_at"),
    Index(None, "state", "created_at"),
    Index(None, "pipeline", "created_at"),
)
# ---- end of pipeline jobs ----------------------------------------------------------------------

# ---- identity (issue 6, item 1) -----------------------------------------------------------------
# People and service accounts, their access tokens, browser sessions, teams, and role bindings
# of a user or a team on a scope. Secrets are never stored: a password as its Argon2id hash, a
# token and a session id as their SHA-256 (256-bit random secrets need no slow hash), which is
# unique-indexed so a request's credential is found in one lookup.

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # user, service
    Column("display_name", String(250), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("password_hash", Text, nullable=True),  # NULL: no password login (service accounts)
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_login_at", BigInteger, nullable=True),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", String(32), primary_key=True),  # the token's display id, not secret
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("last_used_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index(None, "user_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("secret_sha256", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "user_id"),
)

teams = Table(
    "teams",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

team_members = Table(
    "team_members",
    metadata,
    Column(
        "team_id",
        String(32),
        ForeignKey("teams.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "user_id",
        String(32),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("added_at", BigInteger, nullable=False),
    Index(None, "user_id"),
)

role_bindings = Table(
    "role_bindings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("principal_kind", String(8), nullable=False),  # user, team
    Column("principal_id", String(32), nullable=False),
    Column("role", String(16), nullable=False),  # viewer, editor, maintainer, admin
    Column("scope_type", String(32), nullable=False),  # all, experiment, registered_model, pipeline
    Column("scope_id", String(500), nullable=False, default=""),
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint(
        "principal_kind", "principal_id", "scope_type", "scope_id", name="uq_role_bindings_key"
    ),
    Index(None, "scope_type", "scope_id"),
)
# Single sign-on (OIDC): a login in flight (its one-time ``state``, the browser it is bound
# to, its nonce and PKCE verifier) and the link from a provider's subject to a Clew user.

oidc_logins = Table(
    "oidc_logins",
    metadata,
    Column("state_sha256", String(64), primary_key=True),
    Column("browser_sha256", String(64), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("verifier", String(128), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("return_to", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "expires_at"),
)

oidc_identities = Table(
    "oidc_identities",
    metadata,
    Column("issuer", String(500), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column(
        "user_id",
        String(32),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("created_at", BigInteger, nullable=False),
    Column("last_login_at", BigInteger, nullable=False),
)
# ---- end of identity -----------------------------------------------------------------------------

# ---- promotion requests (issue 6, item 3) ------------------------------------------------------
# A registered model's policy is a YAML document, versioned: each ``policy set`` adds a row.
# A promotion request asks to move a protected alias (or enter a protected stage); its checks'
# results and the evidence they read are frozen into ``checks`` when it is made and into
# ``applied_checks`` when it is applied, which moves the alias in the same transaction.

model_policies = Table(
    "model_policies",
    metadata,
    Column("model_id", BigId, ForeignKey("contexts.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", Text, nullable=False),  # the YAML as given
    Column("parsed", Text, nullable=False),  # its canonical JSON
    Column("created_by", String(256), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("model_id", BigId, ForeignKey("contexts.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),  # the model version to promote
    Column("target_kind", String(8), nullable=False),  # alias, stage
    Column("target", String(256), nullable=False),
    Column("previous", Integer, nullable=True),  # what the target named when requested
    Column("justification", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("checks", Text, nullable=False),
    Column("applied_checks", Text, nullable=True),
    Column("requested_by", String(256), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("decided_at", BigInteger, nullable=True),
    Column("applied_at", BigInteger, nullable=True),
    Column("applied_by", String(256), nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Index(None, "model_id", "state"),
)

promotion_approvals = Table(
    "promotion_approvals",
    metadata,
    Column(
        "request_id",
        String(32),
        ForeignKey("promotion_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("approver", String(256), primary_key=True),
    Column("decision", String(8), nullable=False),  # approve, reject
    Column("comment", Text, nullable=False, default=""),
    Column("role", String(16), nullable=False),
    Column("at", BigInteger, nullable=False),
)
# ---- end of promotion requests ------------------------------------------------------------------
