"""A model version's ``run_link``: the URL MLflow clients may register with a version.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("run_link", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("run_link")
