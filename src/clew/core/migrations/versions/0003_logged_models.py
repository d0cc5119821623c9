"""Logged models (MLflow 3's LoggedModel): the model, its params, tags and metrics.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ModelId = sa.String(34)


def _model_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["model_id"], ["logged_models.id"], name=f"fk_{table}_model_id_logged_models"
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("id", ModelId, nullable=False),
        sa.Column("experiment_id", BigId, nullable=False),
        sa.Column("artifact_id", BigId, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("model_type", sa.String(500), nullable=False),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["contexts.id"], name="fk_logged_models_experiment_id_contexts"
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name="fk_logged_models_artifact_id_artifacts"
        ),
        sa.ForeignKeyConstraint(
            ["source_run_id"],
            ["executions.id"],
            name="fk_logged_models_source_run_id_executions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_logged_models"),
        sa.UniqueConstraint("artifact_id", name="uq_logged_models_artifact_id"),
    )
    op.create_index(
        "ix_logged_models_experiment_id_lifecycle_stage_created_at_id",
        "logged_models",
        ["experiment_id", "lifecycle_stage", "created_at", "id"],
    )
    op.create_index(
        "ix_logged_models_lifecycle_stage_created_at_id",
        "logged_models",
        ["lifecycle_stage", "created_at", "id"],
    )
    op.create_index("ix_logged_models_source_run_id", "logged_models", ["source_run_id"])
    for name in ("logged_model_params", "logged_model_tags"):
        op.create_table(
            name,
            sa.Column("model_id", ModelId, nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            _model_fk(name),
            sa.PrimaryKeyConstraint("model_id", "key", name=f"pk_{name}"),
            sqlite_with_rowid=False,
        )
        op.create_index(f"ix_{name}_key_value", name, ["key", "value"])
    series = ("model_id", "key", "dataset_name", "dataset_digest")
    op.create_table(
        "logged_model_metrics",
        *_series_columns(),
        _model_fk("logged_model_metrics"),
        sa.PrimaryKeyConstraint(
            *series, "step", "timestamp", "value", "is_nan", name="pk_logged_model_metrics"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "logged_model_latest_metrics",
        *_series_columns(),
        _model_fk("logged_model_latest_metrics"),
        sa.PrimaryKeyConstraint(*series, name="pk_logged_model_latest_metrics"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_logged_model_latest_metrics_key_is_nan_value",
        "logged_model_latest_metrics",
        ["key", "is_nan", "value"],
    )


def _series_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("model_id", ModelId, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("dataset_name", sa.String(500), nullable=False),
        sa.Column("dataset_digest", sa.String(128), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
    ]


def downgrade() -> None:
    for table in (
        "logged_model_latest_metrics",
        "logged_model_metrics",
        "logged_model_tags",
        "logged_model_params",
        "logged_models",
    ):
        op.drop_table(table)
