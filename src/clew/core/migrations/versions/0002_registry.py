"""The model registry: registered models, versions, their tags and files, aliases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PathString = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("context_id", BigId, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("last_version", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["contexts.id"],
            name="fk_registered_models_context_id_contexts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("context_id", name="pk_registered_models"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("model_id", BigId, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("artifact_id", BigId, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("logged_model_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["contexts.id"], name="fk_model_versions_model_id_contexts"
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name="fk_model_versions_artifact_id_artifacts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )
    op.create_index(
        "ix_model_versions_model_id_stage_version",
        "model_versions",
        ["model_id", "stage", "version"],
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index("ix_model_versions_logged_model_id", "model_versions", ["logged_model_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("version_id", BigId, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_version_tags_version_id_model_versions",
        ),
        sa.PrimaryKeyConstraint("version_id", "key", name="pk_model_version_tags"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_model_version_tags_key_value", "model_version_tags", ["key", "value"])
    op.create_table(
        "model_version_files",
        sa.Column("version_id", BigId, nullable=False),
        sa.Column("path", PathString, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_version_files_version_id_model_versions",
        ),
        sa.PrimaryKeyConstraint("version_id", "path", name="pk_model_version_files"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_model_version_files_digest", "model_version_files", ["digest"])
    op.create_table(
        "model_aliases",
        sa.Column("model_id", BigId, nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("version_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["contexts.id"], name="fk_model_aliases_model_id_contexts"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_aliases_version_id_model_versions",
        ),
        sa.PrimaryKeyConstraint("model_id", "alias", name="pk_model_aliases"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_model_aliases_version_id", "model_aliases", ["version_id"])


def downgrade() -> None:
    for table in (
        "model_aliases",
        "model_version_files",
        "model_version_tags",
        "model_versions",
        "registered_models",
    ):
        op.drop_table(table)
