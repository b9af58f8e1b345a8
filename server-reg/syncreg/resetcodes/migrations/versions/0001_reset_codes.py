"""Create the reset_codes table.

Revision ID: reset_codes_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from synccore.schema import exact_string

revision = "reset_codes_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reset_codes",
        sa.Column("username", exact_string(255), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_reset_codes"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_index("ix_reset_codes_expires_at", "reset_codes", ["expires_at"])


def downgrade() -> None:
    op.drop_table("reset_codes")
