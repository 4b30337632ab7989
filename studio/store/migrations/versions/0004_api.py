"""Service API: keys (hashes only), message feedback, uploaded files, and the end user of each workflow run.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("app_id", sa.String(36), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("hint", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_used_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_api_keys_key_hash", "api_keys", ["key_hash"], unique=True)
    op.create_index("ix_api_keys_app", "api_keys", ["app_id", "created_at"])
    op.create_table(
        "message_feedbacks",
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("app_id", sa.String(36), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rating", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_message_feedbacks_app_created", "message_feedbacks", ["app_id", "created_at"])
    op.create_table(
        "upload_files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("extension", sa.String(32), nullable=False),
        sa.Column("mime_type", sa.String(255), nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("workflow_runs") as batch:
        batch.add_column(sa.Column("user", sa.String(255), nullable=False, server_default=""))
    op.create_index("ix_workflow_runs_app_user", "workflow_runs", ["app_id", "user", "created_at"])
    op.create_index("ix_conversations_app_user_updated", "conversations", ["app_id", "user", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_app_user_updated", "conversations")
    op.drop_index("ix_workflow_runs_app_user", "workflow_runs")
    with op.batch_alter_table("workflow_runs") as batch:
        batch.drop_column("user")
    for table in ("upload_files", "message_feedbacks", "api_keys"):
        op.drop_table(table)
