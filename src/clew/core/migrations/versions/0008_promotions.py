"""Model policies, promotion requests and their approvals.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "model_policies",
        sa.Column("model_id", BigId, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("parsed", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["contexts.id"],
            name="fk_model_policies_model_id_contexts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_id", "version", name="pk_model_policies"),
    )
    op.create_table(
        "promotion_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model_id", BigId, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("target_kind", sa.String(8), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("previous", sa.Integer, nullable=True),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("checks", sa.Text, nullable=False),
        sa.Column("applied_checks", sa.Text, nullable=True),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("decided_at", sa.BigInteger, nullable=True),
        sa.Column("applied_at", sa.BigInteger, nullable=True),
        sa.Column("applied_by", sa.String(256), nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["contexts.id"],
            name="fk_promotion_requests_model_id_contexts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_promotion_requests"),
    )
    op.create_index(
        "ix_promotion_requests_model_id_state", "promotion_requests", ["model_id", "state"]
    )
    op.create_table(
        "promotion_approvals",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("approver", sa.String(256), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["promotion_requests.id"],
            name="fk_promotion_approvals_request_id_promotion_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "approver", name="pk_promotion_approvals"),
    )


def downgrade() -> None:
    for table in ("promotion_approvals", "promotion_requests", "model_policies"):
        op.drop_table(table)
