"""Storage 1.5: the per-user storage timestamp and batch uploads.

Revision ID: storage_0002
Revises: storage_0001
"""
import sqlalchemy as sa
from alembic import op

from synccore.schema import exact_string
from syncstorage.storage.schema import payload_text

revision = "storage_0002"
down_revision = "storage_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_storage",
        sa.Column("userid", sa.BigInteger, nullable=False),
        sa.Column("last_modified", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("userid", name="pk_user_storage"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_table(
        "batch_uploads",
        sa.Column("userid", sa.BigInteger, nullable=False),
        sa.Column("batch", exact_string(64), nullable=False),
        sa.Column("collection", exact_string(32), nullable=False),
        sa.Column("expiry", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("userid", "batch", name="pk_batch_uploads"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_index("ix_batch_uploads_expiry", "batch_uploads", ["expiry"])
    op.create_table(
        "batch_upload_items",
        sa.Column("userid", sa.BigInteger, nullable=False),
        sa.Column("batch", exact_string(64), nullable=False),
        sa.Column("id", exact_string(64), nullable=False),
        sa.Column("sortindex", sa.Integer, nullable=True),
        sa.Column("payload", payload_text(), nullable=True),
        sa.Column("payload_size", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ttl_seconds", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("userid", "batch", "id", name="pk_batch_upload_items"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("batch_upload_items")
    op.drop_index("ix_batch_uploads_expiry", table_name="batch_uploads")
    op.drop_table("batch_uploads")
    op.drop_table("user_storage")
