"""Knowledge tags and declared metadata fields (Dify's knowledge API: /datasets/tags, /datasets/{id}/metadata).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_tags",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "kb_tag_bindings",
        sa.Column("tag_id", sa.String(36), sa.ForeignKey("kb_tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dataset_id", sa.String(36), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_kb_tag_bindings_dataset", "kb_tag_bindings", ["dataset_id"])
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("metadata_fields", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("built_in_metadata", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("built_in_metadata")
        batch.drop_column("metadata_fields")
    op.drop_index("ix_kb_tag_bindings_dataset", "kb_tag_bindings")
    op.drop_table("kb_tag_bindings")
    op.drop_table("kb_tags")
