"""Agent steps: each thought, tool call and observation of an agent app's answer (Dify's message_agent_thoughts).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_agent_thoughts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("thought", sa.Text, nullable=False),
        sa.Column("tool", sa.Text, nullable=False),
        sa.Column("tool_labels", sa.JSON, nullable=False),
        sa.Column("tool_input", sa.Text, nullable=False),
        sa.Column("observation", sa.Text, nullable=False),
        sa.Column("message_files", sa.JSON, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_message_agent_thoughts_message", "message_agent_thoughts", ["message_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_message_agent_thoughts_message", "message_agent_thoughts")
    op.drop_table("message_agent_thoughts")
