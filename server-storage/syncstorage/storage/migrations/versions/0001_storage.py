"""Create the record and per-collection tables.

Revision ID: storage_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from synccore.schema import exact_string
from syncstorage.storage.schema import payload_text

revision = "storage_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bso",
        sa.Column("userid", sa.BigInteger, nullable=False),
        sa.Column("collection", exact_string(32), nullable=False),
        sa.Column("id", exact_string(64), nullable=False),
        sa.Column("sortindex", sa.Integer, nullable=True),
        sa.Column("modified", sa.BigInteger, nullable=True),
        sa.Column("payload", payload_text(), nullable=True),
        sa.Column("payload_size", sa.Integer, nullable=False, server_default="0"),
        sa.Column("parentid", exact_string(64), nullable=True),
        sa.Column("predecessorid", exact_string(64), nullable=True),
        sa.Column("expiry", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("userid", "collection", "id", name="pk_bso"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_index("ix_bso_modified", "bso", ["userid", "collection", "modified"])
    op.create_index("ix_bso_user_expiry", "bso", ["userid", "expiry"])
    op.create_index("ix_bso_expiry", "bso", ["expiry"])
    op.create_table(
        "user_collections",
        sa.Column("userid", sa.BigInteger, nullable=False),
        sa.Column("collection", exact_string(32), nullable=False),
        sa.Column("last_modified", sa.BigInteger, nullable=False),
        sa.Column("record_count", sa.Integer, nullable=False),
        sa.Column("payload_bytes", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("userid", "collection", name="pk_user_collections"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("user_collections")
    op.drop_table("bso")
