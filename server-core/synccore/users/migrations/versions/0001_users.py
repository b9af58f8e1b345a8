"""Create the users table.

Revision ID: users_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from synccore.schema import exact_string

revision = "users_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("userid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", exact_string(255), nullable=False),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("userid", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4", sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("users")
