"""Which Studio process owns a running answer or run, and which app an uploaded file belongs to.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("owner", sa.String(36), nullable=True))
    with op.batch_alter_table("workflow_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(36), nullable=True))
    with op.batch_alter_table("upload_files") as batch:
        batch.add_column(sa.Column("app_id", sa.String(36), nullable=True))


def downgrade() -> None:
    for table, column in (("upload_files", "app_id"), ("workflow_runs", "owner"), ("messages", "owner")):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
