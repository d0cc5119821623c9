"""Single sign-on (OIDC): logins in flight and the links from a provider's subjects to users.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_logins",
        sa.Column("state_sha256", sa.String(64), nullable=False),
        sa.Column("browser_sha256", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("verifier", sa.String(128), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("return_to", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("state_sha256", name="pk_oidc_logins"),
    )
    op.create_index("ix_oidc_logins_expires_at", "oidc_logins", ["expires_at"])
    op.create_table(
        "oidc_identities",
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_login_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_oidc_identities_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("issuer", "subject", name="pk_oidc_identities"),
        sa.UniqueConstraint("user_id", name="uq_oidc_identities_user_id"),
    )


def downgrade() -> None:
    op.drop_table("oidc_identities")
    op.drop_index("ix_oidc_logins_expires_at", table_name="oidc_logins")
    op.drop_table("oidc_logins")
