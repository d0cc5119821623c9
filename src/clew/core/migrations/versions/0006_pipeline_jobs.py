"""Pipeline versions, jobs (runs requested through the API) and schedules.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_versions",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("pipeline", sa.String(500), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_pipeline_versions"),
    )
    op.create_index(
        "ix_pipeline_versions_pipeline_created_at", "pipeline_versions", ["pipeline", "created_at"]
    )
    op.create_table(
        "pipeline_schedules",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("pipeline", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("interval_s", sa.Integer, nullable=True),
        sa.Column("catchup", sa.Boolean, nullable=False),
        sa.Column("max_concurrency", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("next_fire_at", sa.BigInteger, nullable=False),
        sa.Column("last_fire_at", sa.BigInteger, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_schedules"),
        sa.UniqueConstraint("name", name="uq_pipeline_schedules_name"),
    )
    op.create_index(
        "ix_pipeline_schedules_enabled_next_fire_at",
        "pipeline_schedules",
        ["enabled", "next_fire_at"],
    )
    op.create_table(
        "pipeline_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("pipeline", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
        sa.Column("worker", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("resume_from", sa.String(32), nullable=True),
        sa.Column("schedule_id", sa.String(32), nullable=True),
        sa.Column("fire_at", sa.BigInteger, nullable=True),
        sa.ForeignKeyConstraint(
            ["digest"],
            ["pipeline_versions.digest"],
            name="fk_pipeline_jobs_digest_pipeline_versions",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["pipeline_schedules.id"],
            name="fk_pipeline_jobs_schedule_id_pipeline_schedules",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_jobs"),
        sa.UniqueConstraint("schedule_id", "fire_at", name="uq_pipeline_jobs_schedule_id_fire_at"),
    )
    op.create_index("ix_pipeline_jobs_state_created_at", "pipeline_jobs", ["state", "created_at"])
    op.create_index(
        "ix_pipeline_jobs_pipeline_created_at", "pipeline_jobs", ["pipeline", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("pipeline_jobs")
    op.drop_table("pipeline_schedules")
    op.drop_table("pipeline_versions")
